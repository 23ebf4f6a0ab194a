"""A case that did not run as designed is marked invalid, and no claim reads it: on real samples."""

import copy
import gzip
import json
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims as ev
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import validity

from .helpers import DATA, run_results

ALIVE = {"mode": "no-read", "upstream_alive": True, "upstream_exit": None, "master_alive": True,
         "workers_start": [10], "workers_end": [10]}


@pytest.fixture(scope="module")
def results():
    return run_results()


def tcg_case():
    with gzip.open(os.path.join(DATA, "run-6.1-tcg", "debian-6.1", "case4-no-write.json.gz"), "rt") as handle:
        return json.load(handle)


@pytest.mark.parametrize("case", ["case2-no-accept", "case3-no-read", "lab-flood-1mb-wc256", "case1-ok-curl"])
def test_real_cases_of_this_machine_are_valid(results, case):
    doc = results[case]
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    assert out["valid"], out["problems"]


def test_the_samplers_of_an_emulated_vm_were_on_time():
    doc = tcg_case()
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    assert out["valid"], out["problems"]
    assert 0.01 <= out["samplers"]["unix"]["achieved_s"] < 0.02


def test_a_sampler_that_fell_far_behind_makes_the_case_invalid(results):
    doc = results["case3-no-read"]
    sparse = copy.deepcopy(doc["samples"])
    sparse["unix"]["t"] = sparse["unix"]["t"][::60]  # one sample every 0.6 s where 0.01 s was asked
    out = validity.assess(ALIVE, sparse, doc["meta"]["clients_window"], 0.01, 0.1)
    assert not out["valid"] and any("unix sampler fell behind" in p for p in out["problems"])


@pytest.mark.parametrize("change, words", [
    ({"upstream_alive": False, "upstream_exit": -9}, "upstream (mode no-read) ended before the clients did"),
    ({"master_alive": False, "workers_end": []}, "nginx master process ended"),
    ({"workers_end": [11]}, "worker(s) 10 ended before the clients did (replaced by 11)"),
])
def test_a_process_that_ended_early_makes_the_case_invalid(change, words):
    problems = validity.process_problems(dict(ALIVE, **change))
    assert any(words in p for p in problems), problems


def test_claims_on_an_invalid_case_are_inconclusive_never_confirmed_or_refuted(results):
    doc = copy.deepcopy(results["case3-no-read"])
    doc["meta"]["validity"] = {"valid": False, "problems": ["the upstream (mode no-read) ended before the clients did"]}
    claim = {"id": "T", "checks": [{"measure": "state_share", "args": {"case": "case3-no-read", "state": "03"},
                                    "op": ">=", "value": 0.9}]}
    row = ev.evaluate_claim(claim, {"case3-no-read": doc})
    assert row["verdict"] == "INCONCLUSIVE" and "did not run as designed" in row["reason"]
    assert ev.evaluate_claim(claim, results)["verdict"] == "CONFIRMED"


def vm_case(host, case):
    with gzip.open(os.path.join(DATA, "run-vm-tcg", host, case + ".json.gz"), "rt") as handle:
        return json.load(handle)


def test_samplers_starved_by_curl_on_an_emulated_vm_spoil_only_the_measures_that_read_them():
    doc = vm_case("debian-6.1", "case1-ok-curl")
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    assert out["process_problems"] == [] and out["sampler_problems"]["unix"], out
    doc["meta"]["validity"] = out
    share = {"id": "T", "checks": [{"measure": "state_share", "args": {"case": "case1-ok-curl", "state": "01"},
                                    "op": ">=", "value": 0.9}]}
    status = {"id": "T", "checks": [{"measure": "status_share", "args": {"case": "case1-ok-curl", "status": 200},
                                     "op": "==", "value": 1.0}]}
    assert ev.evaluate_claim(share, {"case1-ok-curl": doc})["verdict"] == "INCONCLUSIVE"
    assert ev.evaluate_claim(status, {"case1-ok-curl": doc})["verdict"] == "CONFIRMED"


@pytest.mark.parametrize("host, case", [("debian-6.12", "lab-strace-startup-3-locations")])
def test_slow_but_sufficient_sampling_on_an_emulated_vm_is_valid(host, case):
    doc = vm_case(host, case)
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    assert out["valid"], out["problems"]


def test_a_status_page_nginx_left_unanswered_is_reported_as_its_gap_not_as_a_late_sampler():
    """On an emulated 6.12 VM, nginx left stub_status unanswered for 16.5 s while 1,024 bodies came in (eleven
    polls timed out in a row): that gap is reported, but the sampler kept trying on time, so the case stays valid
    and its measures read what nginx answered."""
    doc = vm_case("debian-6.12", "lab-flood-1mb-wc4096")
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    timing = out["samplers"]["stub_status"]
    assert timing["max_gap_s"] > 16.5 and timing["attempt_max_gap_s"] < 2.0, timing
    assert out["valid"], out["problems"]


def test_workers_a_valid_reload_retired_are_meant_to_end():
    assert validity.process_problems(dict(ALIVE, workers_end=[11], workers_retired=[10])) == []
    # a worker the reload did not retire still counts
    assert validity.process_problems(dict(ALIVE, workers_end=[11], workers_retired=[12]))


def test_gaps_are_measured_between_answered_stub_status_samples():
    """Fault probe: a worker stopped for 2 s (lab-listen-overflow, real capture) made four stub_status polls time out
    in a row; counted as samples they hid a 2.1 s gap behind a 0.5 s one."""
    with gzip.open(os.path.join(DATA, "run-6.18-operators", "localhost", "lab-listen-overflow.json.gz"), "rt") as handle:
        doc = json.load(handle)
    stub = doc["samples"]["stub_status"]
    assert sum(1 for e in stub["error"] if e) == 4
    out = validity.assess(ALIVE, doc["samples"], doc["meta"]["clients_window"], 0.01, 0.1)
    timing = out["samplers"]["stub_status"]
    assert timing["max_gap_s"] > 2.0 and timing["samples"] == 5 and timing["attempts"] == 9, timing


def test_the_safety_page_states_the_late_sampler_rule_the_code_applies():
    with open(os.path.join(DATA, "..", "..", "docs", "safety.md")) as handle:
        readme = " ".join(handle.read().split())
    rule = "mean interval at most %g× the one asked, no gap over max(%g s, %g intervals)" % (
        validity.LATE_FACTOR, validity.GAP_FLOOR_S, validity.GAP_FACTOR)
    assert rule in readme, "docs/safety.md must state the rule of validity.py: " + rule
