"""R2's measure (stub_status Active = Q + A + 1) on real captures: this machine's run and the 6.1 TCG VM's,
where nginx takes about a second to forward 100 accepted clients to the upstream."""

import copy
import gzip
import json
import os

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims as ev
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measures_status import active_formula
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, DATA, run_results

CASES = ["case2-no-accept", "case3-no-read", "case4-no-write", "case5-no-close", "lab-single-request"]
VM_61 = os.path.join(DATA, "run-vm-tcg", "debian-6.1")


def vm_results():
    results = {}
    for case in CASES:
        with gzip.open(os.path.join(VM_61, case + ".json.gz"), "rt") as handle:
            results[case] = json.load(handle)
    return results


def r2():
    return [c for c in load_claims(CLAIMS_FILE) if c["id"] == "R2"][0]


def test_on_the_vm_the_ramp_up_misfits_and_the_steady_part_fits():
    value, evidence = active_formula(vm_results(), CASES)
    # The ramp-up: nginx already counts clients it has not yet connected upstream (Q + A = 0).
    assert evidence["share_all"] < 0.9
    first = evidence["cases"]["case2-no-accept"]["first_misfit"]
    assert first["held"] is False and first["Q"] + first["A"] == 0 and first["active"] > 1
    # The steady part: every sample fits.
    assert value == evidence["share_held"] == 1.0
    for case in CASES[:4]:
        span = evidence["cases"][case]["held_span_s"]
        assert 0.5 < span[0] < 2 and span[1] > 4, (case, span)
    assert ev.evaluate_claim(r2(), vm_results())["verdict"] == "CONFIRMED"


def test_the_whole_window_reading_is_still_available_and_refutes_on_the_vm():
    value, _ = active_formula(vm_results(), CASES, phase="all")
    assert value < 0.9


def test_on_this_machine_the_steady_part_fits():
    value, evidence = active_formula(run_results(), CASES)
    assert value >= 0.9 and evidence["share_all"] >= 0.9


def test_a_count_that_does_not_follow_the_formula_is_refuted():
    results = vm_results()
    wrong = copy.deepcopy(results)
    for case in CASES:
        stub = wrong[case]["samples"]["stub_status"]
        stub["active"] = [None if a is None else a + 5 for a in stub["active"]]
    value, _ = active_formula(wrong, CASES)
    assert value < 0.5
    assert ev.evaluate_claim(r2(), wrong)["verdict"] == "REFUTED"
