"""The evaluator's logic on a real run (tests/data/run-6.18) and on claims written for the test."""

import copy
import os
import re

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims as ev
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, run_results


@pytest.fixture(scope="module")
def results():
    return run_results()


def claim(*checks, cid="T1"):
    return {"id": cid, "source": {"document": "test", "section": "-"}, "statement": "-", "tested_by": [],
            "checks": list(checks)}


def test_shipped_claims_file_is_valid_and_covers_every_r_claim():
    claims = load_claims(CLAIMS_FILE)
    assert ev.validate_claims(claims) == []
    ids = {c["id"] for c in claims}
    for n in range(1, 15):
        assert any(re.fullmatch(r"R%d[a-z]*" % n, i) for i in ids), "R%d has no claim" % n


def test_validate_names_unknown_measures_and_operators():
    errors = ev.validate_claims([claim({"measure": "vibes", "op": "~", "value": 1})])
    assert any("unknown measure vibes" in e for e in errors)
    assert any("unknown op ~" in e for e in errors)


def test_all_checks_passing_confirms(results):
    row = ev.evaluate_claim(claim({"measure": "status_share", "args": {"case": "case2-no-accept", "status": 504},
                                   "op": ">=", "value": 0.5}), results)
    assert row["verdict"] == "CONFIRMED"
    assert row["checks"][0]["value"] == 1.0


def test_one_failing_check_refutes_even_beside_a_missing_one(results):
    row = ev.evaluate_claim(claim(
        {"measure": "status_share", "args": {"case": "case2-no-accept", "status": 200}, "op": ">=", "value": 0.5},
        {"measure": "status_share", "args": {"case": "no-such-case", "status": 200}, "op": ">=", "value": 0.5}),
        results)
    assert row["verdict"] == "REFUTED"


def test_missing_case_is_inconclusive_with_the_reason(results):
    row = ev.evaluate_claim(claim({"measure": "state_share", "args": {"case": "no-such-case", "state": "01"},
                                   "op": ">=", "value": 0.9}), results)
    assert row["verdict"] == "INCONCLUSIVE"
    assert "no result for no-such-case" in row["reason"]


def test_share_over_too_few_samples_is_inconclusive(results):
    # The asyncio burst of case 1 is over within a few 10 ms samples.
    row = ev.evaluate_claim(claim({"measure": "state_share", "args": {"case": "case1-ok", "state": "01"},
                                   "op": ">=", "value": 0.9}), results)
    assert row["verdict"] == "INCONCLUSIVE"
    assert "fewer than the 20 a share needs" in row["reason"]


def test_queue_measure_tells_02_from_03_on_real_samples(results):
    cases = ["case2-no-accept", "case3-no-read"]
    share02, per02 = ev.MEASURES["state_matches_queue"](results, cases, "02")
    share03, per03 = ev.MEASURES["state_matches_queue"](results, cases, "03")
    # In case 2 the queue holds every connection; in case 3 it is empty and the lines are accepted sockets.
    assert per02["case2-no-accept"]["median_queue_len"] == per02["case2-no-accept"]["median_02_lines"] == 100
    assert per03["case3-no-read"]["median_queue_len"] == 0 and per03["case3-no-read"]["median_03_lines"] == 100
    assert share02 > 0.9 > share03


def test_listen_ratio_from_real_start_up_traces(results):
    ratio, evidence = ev.MEASURES["listen_ratio"](results, "lab-strace-startup-1-location", "lab-strace-startup-3-locations")
    assert evidence["locations"] == 3
    assert ratio == evidence["listen_calls_3_locations"] / float(evidence["listen_calls_1_location"])


def test_release_delay_explains_a_missing_switch(results):
    with pytest.raises(ev.Missing, match="the upstream holds its sockets"):
        ev.MEASURES["release_delay"](results, "case4-no-write", after="case3-no-read")


def test_evaluate_gives_every_claim_a_verdict_per_host(results):
    claims = load_claims(CLAIMS_FILE)
    out = ev.evaluate(claims, {"a": results, "b": copy.deepcopy(results)})
    assert set(out) == {"a", "b"}
    for rows in out.values():
        assert [r["id"] for r in rows] == [c["id"] for c in claims]
        assert all(r["verdict"] in ("CONFIRMED", "REFUTED", "INCONCLUSIVE") for r in rows)


def test_somaxconn_readings_use_the_value_at_listen_or_the_one_in_force(results):
    _, evidence = ev.MEASURES["active_minus_somaxconn"](results, "lab-somaxconn-8-after-listen", which="now")
    assert evidence["somaxconn_at_listen"] == 4096 and evidence["somaxconn_now"] == 8
    value_now, _ = ev.MEASURES["active_minus_somaxconn"](results, "lab-somaxconn-8-after-listen", which="now")
    value_listen, _ = ev.MEASURES["active_minus_somaxconn"](results, "lab-somaxconn-8-after-listen")
    assert value_listen == value_now - 4096 + 8


def test_client_outcomes_of_a_case_cut_by_its_deadline_are_not_judged(results):
    doc = copy.deepcopy(results["case1-ok-curl"])
    for c in doc["clients"]:
        c.update(status=None, error="case-deadline")
    with pytest.raises(ev.Missing, match="hit its case deadline"):
        ev.MEASURES["status_share"]({"case1-ok-curl": doc}, "case1-ok-curl", 200)


def test_the_catalogue_uses_no_yaml_merge_keys():
    """Ansible warns "Found duplicate mapping key" on every run for `<<: *anchor` entries that override a key."""
    import os
    from .helpers import ROOT
    with open(os.path.join(ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        assert "<<:" not in handle.read()


def test_the_cases_a_claim_reads_come_from_its_checks_and_a_differing_list_is_refused():
    import yaml
    from .helpers import ROOT
    with open(os.path.join(ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        catalogue = yaml.safe_load(handle)["npl_catalogue"]
    for c in load_claims(CLAIMS_FILE):
        assert c["tested_by"] and set(c["tested_by"]) <= set(catalogue), c["id"]
    r4 = [c for c in load_claims(CLAIMS_FILE) if c["id"] == "R4"][0]
    assert r4["tested_by"] == ["case1-ok-curl"]
    wrong = dict(r4, tested_by=["case1-ok"])
    assert any("tested_by is derived" in e for e in ev.validate_claims([wrong]))
