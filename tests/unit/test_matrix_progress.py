"""The matrix's time breakdown, from the progress events of a real run on the two TCG VMs."""

import json
import os

import jsonschema

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.matrix import progress

from .helpers import DATA, ROOT

EVENTS = os.path.join(DATA, "progress-vm-tcg", "progress.jsonl")


def test_plays_follow_one_another_and_cover_the_run():
    events = progress.read(EVENTS)
    plays = progress.breakdown(events)["plays"]
    assert [p["name"] for p in plays][:2] == ["Check the request", "Provision the lab hosts"]
    for before, after in zip(plays, plays[1:]):
        assert abs(before["start_s"] + before["seconds"] - after["start_s"]) < 0.2
    assert abs(plays[-1]["start_s"] + plays[-1]["seconds"] - (events[-1]["t"] - events[0]["t"])) < 0.2


def test_each_host_has_its_cases_with_their_own_time_and_the_overhead_between():
    events = progress.read(EVENTS)
    hosts = progress.breakdown(events)["hosts"]
    assert sorted(hosts) == ["debian-6.1", "debian-6.12"]
    cases_play = [e["t"] for e in events if e["event"] == "play" and e["name"].startswith("Run the cases")][0]
    for host, row in hosts.items():
        assert len(row["cases"]) == 21
        last = [e["t"] for e in events if e["event"] == "case" and e["host"] == host][-1]
        # the case times and the overheads add up to the host's share of the cases' play
        assert abs(row["case_s"] + row["overhead_s"]["total"] - (last - cases_play)) < 1.0
        assert 0 < row["overhead_s"]["median"] <= row["overhead_s"]["max"]


def test_no_progress_file_gives_an_empty_breakdown(tmp_path):
    assert progress.breakdown(progress.read(str(tmp_path / "missing.jsonl"))) == {"plays": [], "hosts": {}}


def test_the_breakdown_fits_matrix_json_schema():
    with open(os.path.join(ROOT, "docs", "schemas", "matrix.schema.json")) as handle:
        schema = json.load(handle)
    doc = {"schema": "npl-matrix", "schema_version": 2, "kernels": ["debian-6.1", "debian-6.12"], "boots": {},
           "skipped": [], "image": {"key": "k", "inputs": {}, "built_s": 0, "boot": []},
           "timings": {"image_built": False, "image_s": 0.0, "total_s": 1.0}, "progress": progress.breakdown(progress.read(EVENTS))}
    jsonschema.Draft202012Validator(schema).validate(doc)
