"""The operator-article measures (O1-O5, O12, O13) on real results of their labs (tests/data/run-6.18-operators),
and on the same results changed where a test needs the measure to see something else."""

import copy
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims, measures_capacity, measures_kernel

from .helpers import DATA, stored_results

FOLDER = os.path.join(DATA, "run-6.18-operators", "localhost")
SLOTS = ["lab-slots-wc16", "lab-slots-wc32", "lab-slots-wc64"]


@pytest.fixture(scope="module")
def results():
    return stored_results(FOLDER)


def test_beyond_worker_connections_every_client_fails_at_once(results):
    value, evidence = measures_capacity.cliff(results, SLOTS)
    assert value == 1.0
    for case in SLOTS:
        assert evidence[case]["served_late"] == 0 and evidence[case]["failed_fast"] > 0
        assert evidence[case]["time_to_failure_s"]["max"] < 0.1


def test_a_client_that_waited_counts_against_the_cliff(results):
    changed = copy.deepcopy(results)
    doc = changed["lab-slots-wc16"]
    failed = [c for c in doc["clients"] if c["status"] != 200]
    assert failed
    for c in failed:  # as if they had queued and been served late
        c.update(status=200, complete=True, error=None, end=c["start"] + 5.0)
    value, _ = measures_capacity.cliff(changed, SLOTS)
    assert value == 0.0


def test_with_too_few_descriptors_clients_wait_rather_than_fail(results):
    value, evidence = measures_capacity.cliff(results, ["lab-nofile-32"])
    assert evidence["lab-nofile-32"]["served_late"] > 0 and value < 0.9


def test_a_proxied_request_holds_two_slots_and_two_descriptors(results):
    slots, slot_evidence = measures_capacity.slots_per_request(results, SLOTS)
    fds, _ = measures_capacity.fds_per_request(results, SLOTS)
    assert slots == 2.0 and fds == 2.0
    assert [slot_evidence[c]["proxied_at_once_peak"] for c in SLOTS] == [7, 15, 31]
    over, _ = measures_capacity.capacity_over_half(results, SLOTS)
    assert over < 1.0


def test_slots_per_request_follows_worker_connections(results):
    changed = copy.deepcopy(results)
    changed["lab-slots-wc32"]["meta"]["params"]["worker_connections"] = 64  # as if half the slots sat unused
    value, _ = measures_capacity.slots_per_request(changed, SLOTS)
    assert value > 4.0


def test_accepts_minus_handled_counts_slot_drops_not_descriptor_failures(results):
    gap, evidence = measures_capacity.accepts_handled_gap(results, SLOTS)
    assert gap > 0 and all(evidence[c]["clients_not_served"] > 0 for c in SLOTS)
    gap, evidence = measures_capacity.accepts_handled_gap(results, ["lab-nofile-32"])
    assert gap == 0 and evidence["lab-nofile-32"]["clients_not_served"] > 0


def test_failed_calls_names_each_call_that_ran_out_of_descriptors(results):
    accepts, evidence = measures_kernel.failed_calls(results, "lab-nofile-32", "accept4")
    assert accepts > 0 and evidence["failed_calls"]["socket"] > 0
    assert measures_kernel.failed_calls(results, "lab-slots-wc16", "accept4")[0] == 0


def test_listen_overflow_rises_while_the_error_log_is_silent(results):
    grown, _ = measures_kernel.netstat_growth(results, "lab-listen-overflow", "TcpExtListenOverflows")
    assert grown > 0
    lines, evidence = measures_kernel.error_log_lines(results, "lab-listen-overflow")
    assert lines == 0 and evidence["lines_by_level"]
    changed = copy.deepcopy(results)
    changed["lab-listen-overflow"]["logs"]["error"].append(
        "2026/11/22 10:59:59 [warn] 1#1: listen queue of 127.0.0.1:80 overflowed")
    assert measures_kernel.error_log_lines(changed, "lab-listen-overflow")[0] == 1


def test_memory_per_idle_connection_is_the_slope_over_the_three_labs(results):
    cases = ["lab-idle-keepalive-1k", "lab-idle-keepalive-5k", "lab-idle-keepalive-10k"]
    slope, evidence = measures_kernel.memory_per_connection(results, cases)
    held = [evidence[c]["connections"] for c in cases]
    assert held[0] >= 900 and held[2] >= 9000
    own = [evidence[c]["vmrss_kb_per_connection"] for c in cases]
    assert min(own) <= slope <= max(own)
    mb, ev = measures_kernel.memory_held_mb(results, "lab-idle-keepalive-10k")
    assert mb == pytest.approx(ev["vmrss_growth_kb"] / 1024.0)


def test_every_operator_claim_gets_a_verdict_with_numbers(results):
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims
    from .helpers import CLAIMS_FILE
    # the labs that read nginx's accept record were captured again with it (tests/data/run-6.18-accept)
    results = dict(results, **stored_results(os.path.join(DATA, "run-6.18-accept", "localhost")))
    shipped = [c for c in load_claims(CLAIMS_FILE) if c["id"].startswith("O")
               and all(case in results for case in c["tested_by"])]
    assert {c["id"].rstrip("abcde") for c in shipped} == {"O1", "O2", "O3", "O4", "O5", "O9", "O12", "O13"}
    for claim in shipped:
        row = claims.evaluate_claim(claim, results)
        assert row["verdict"] in (claims.CONFIRMED, claims.REFUTED), (claim["id"], row["reason"])
        assert all(c["value"] is not None for c in row["checks"])
