"""One verdict over the repetitions: the rule, and the numbers (median, range, pass count) on real results."""

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import repetitions as reps
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, judged_by_the_sampler, run_results, stored_repetitions


@pytest.mark.parametrize("per, verdict", [
    (["CONFIRMED"] * 3, "CONFIRMED"), (["REFUTED"] * 3, "REFUTED"), (["CONFIRMED", "REFUTED", "CONFIRMED"], "VARIES"),
    (["CONFIRMED", "CONFIRMED", "INCONCLUSIVE"], "CONFIRMED"), (["CONFIRMED", "INCONCLUSIVE", "INCONCLUSIVE"], "INCONCLUSIVE"),
    (["REFUTED", "INCONCLUSIVE", "REFUTED"], "REFUTED"), (["INCONCLUSIVE"] * 2, "INCONCLUSIVE"), (["CONFIRMED"], "CONFIRMED"),
])
def test_the_rule(per, verdict):
    assert reps.decide(per) == verdict


@pytest.fixture(scope="module")
def claims():
    return {c["id"]: c for c in load_claims(CLAIMS_FILE)}


def test_three_identical_repetitions_give_one_verdict_with_no_spread(claims):
    results = run_results()
    row = reps.evaluate_host(claims["R5"], {case: [doc] * 3 for case, doc in results.items()})
    assert row["verdict"] == "CONFIRMED" and row["per_repetition"] == ["CONFIRMED"] * 3
    check = row["checks"][0]
    assert check["passed"] == 3 and check["min"] == check["max"] == check["value"]
    assert "3 of 3 >= 0.9" in row["ours"]


def test_real_quiet_repetitions_agree(claims):
    row = reps.evaluate_host(judged_by_the_sampler(claims["R4"]), stored_repetitions("quiet"))
    assert row["verdict"] == "CONFIRMED" and row["counts"]["CONFIRMED"] == 3


def test_real_repetitions_that_disagree_under_load_vary_with_the_load_beside_them(claims):
    row = reps.evaluate_host(judged_by_the_sampler(claims["R4"]), stored_repetitions("loaded"))
    assert row["verdict"] == "VARIES"
    assert row["counts"]["CONFIRMED"] >= 1 and row["counts"]["REFUTED"] >= 1
    share = row["checks"][0]
    assert share["min"] < 0.9 <= share["max"] and share["passed"] == row["counts"]["CONFIRMED"]
    assert all(c["cpu_busy_share"] > 0.9 for c in row["conditions"])
    assert "[%s–%s]" % (share["min"], share["max"]) in row["ours"]
