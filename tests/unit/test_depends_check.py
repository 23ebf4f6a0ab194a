"""claims.yml's depends_on checked against numbers that moved along an axis, on a real full-cross matrix run
(tests/data/matrix-full-tcg: every case on 6.1 and 6.12) and a real run over three nginx releases."""

import gzip
import json
import os

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import depends_check, report_md
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, DATA


def _load(name):
    path = os.path.join(DATA, name)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        doc = json.load(handle)
    hosts = sorted(doc["verdicts"])
    return doc, hosts, {h: {r["id"]: r for r in doc["verdicts"][h]} for h in hosts}


def test_a_kernel_diff_flags_an_nginx_only_claim_whose_numbers_moved_and_not_one_within_its_noise():
    doc, hosts, by_id = _load("matrix-full-tcg/verdicts.json.gz")
    claims = {c["id"]: c for c in load_claims(CLAIMS_FILE)}
    assert hosts == ["debian-6.1", "debian-6.12"]
    # O10c (nginx only): the body's lead over the upstream, 15.5 ms on 6.1 and 39.1 ms on 6.12, against a limit of 0
    rows = [by_id[h]["O10c"] for h in hosts]
    assert {r["verdict"] for r in rows} == {"CONFIRMED"} and claims["O10c"]["depends_on"] == ["nginx"]
    assert depends_check.differing_checks(rows) == [("upstream_lead", [0.0155, 0.0391])]
    lines = report_md._changes([claims["O10c"]], by_id, hosts, lambda h: h, axis="kernel")
    assert len(lines) == 1 and "numbers changed with the kernel" in lines[0] and "debian-6.12 0.0391" in lines[0]
    # O7b: 14 against 12 upstream connections for 400 requests (0.035, 0.03) under a limit of 0.2: not a move
    assert depends_check.differing_checks([by_id[h]["O7b"] for h in hosts]) == []
    # a claim that says it depends on the kernel is not flagged for moving with it
    assert report_md._changes([dict(claims["O10c"], depends_on=["kernel", "nginx"])], by_id, hosts, lambda h: h,
                              axis="kernel") == []


def test_every_flag_of_the_full_cross_run_names_a_claim_the_axis_contradicts():
    doc, hosts, by_id = _load("matrix-full-tcg/verdicts.json.gz")
    claims = load_claims(CLAIMS_FILE)
    lines = report_md._differing(claims, by_id, hosts, doc)
    flagged = {line.split("**")[1] for line in lines if "**flag**" in line}
    tagged = {c["id"] for c in claims if depends_check.contradicts(c, "kernel")}
    assert flagged and flagged <= tagged


def test_overlapping_spans_or_close_medians_are_the_same_number():
    assert not depends_check.differ((1.0, 0.9, 1.1), (1.05, 1.0, 1.2))  # ranges overlap
    assert not depends_check.differ((1.0, 1.0, 1.0), (1.05, 1.05, 1.05))  # 5 % apart
    assert depends_check.differ((1.0, 1.0, 1.0), (1.5, 1.5, 1.5))
    assert not depends_check.differ((0.035, 0.035, 0.035), (0.03, 0.03, 0.03), threshold=0.2)
    assert not depends_check.differ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))


def test_no_number_moved_between_releases_for_a_kernel_only_claim_in_the_release_run():
    doc, hosts, by_id = _load("releases-6.18/verdicts.json")
    claims = [c for c in load_claims(CLAIMS_FILE) if depends_check.contradicts(c, "nginx")]
    assert claims
    lines = report_md._differing(claims, by_id, hosts, doc)
    assert not [line for line in lines if "numbers changed" in line]
