"""The protocol measures (O6, O7, O10, O11) on real results of their labs (tests/data/run-6.18-protocol), and on
the same results changed where a test needs the measure to see something else."""

import copy
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_protocol as mp
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measure_common import Missing

from .helpers import DATA, assert_every_claim_decided, stored_results

FOLDER = os.path.join(DATA, "run-6.18-protocol", "localhost")


@pytest.fixture(scope="module")
def results():
    return stored_results(FOLDER)


@pytest.mark.parametrize("case, state", [("lab-states-slow-upstream", "writing"), ("lab-states-slow-headers", "reading"),
                                         ("lab-states-idle-keepalive", "waiting")])
def test_each_cause_puts_the_loaded_connections_in_its_own_state(results, case, state):
    share, evidence = mp.stub_state_share(results, case, state)
    assert share >= 0.9
    assert evidence["peak_connections"] == 40 and evidence["samples"] >= 5


def test_a_trickled_body_is_counted_as_writing_not_reading(results):
    reading, evidence = mp.stub_state_share(results, "lab-states-slow-body", "reading")
    assert reading == 0.0 and evidence["mean_share"]["writing"] >= 0.9


def test_the_stub_status_request_itself_is_not_counted(results):
    changed = copy.deepcopy(results)
    stub = changed["lab-states-idle-keepalive"]["samples"]["stub_status"]
    stub["reading"] = [0 if v is not None else v for v in stub["reading"]]
    stub["waiting"] = [0 if v is not None else v for v in stub["waiting"]]
    stub["writing"] = [1 if v is not None else v for v in stub["writing"]]  # only the status request
    with pytest.raises(Missing, match="no client connection"):
        mp.stub_state_share(changed, "lab-states-idle-keepalive", "waiting")


def test_upstream_connections_per_request_follow_the_keepalive_settings(results):
    close, evidence = mp.upstream_connections_per_request(results, "lab-upstream-close")
    assert close == 1.0 and evidence["upstream_requests"] == evidence["client_answers"] == 400
    pooled, evidence = mp.upstream_connections_per_request(results, "lab-upstream-keepalive")
    assert pooled <= 0.1 and evidence["upstream_accepts"] <= 32
    assert mp.upstream_connections_per_request(results, "lab-upstream-keepalive-no-clear")[0] == 1.0


def test_a_result_without_upstream_events_is_missing_not_zero(results):
    old = copy.deepcopy(results)
    del old["lab-upstream-close"]["upstream"]
    with pytest.raises(Missing, match="no upstream events"):
        mp.upstream_connections_per_request(old, "lab-upstream-close")


def test_each_worker_keeps_its_own_pool(results):
    total, evidence = mp.upstream_pool(results, "lab-upstream-keepalive-2-workers", of="total")
    fullest, _ = mp.upstream_pool(results, "lab-upstream-keepalive-2-workers", of="max_per_worker")
    doc = results["lab-upstream-keepalive-2-workers"]
    workers = {str(pid) for pid in doc["meta"]["validity"]["processes"]["workers_start"]}
    assert set(evidence["open_after_clients_by_worker"]) == workers
    assert total == 8 and fullest == 4


def test_a_worker_that_opened_no_upstream_connection_leaves_the_pools_untried(results):
    changed = copy.deepcopy(results)
    doc = changed["lab-upstream-keepalive-2-workers"]
    ev = doc["upstream"]["events"]
    first = next(v for k, v in zip(ev["kind"], ev["value"]) if k == "accept")
    ev["value"] = [first if k == "accept" else v for k, v in zip(ev["kind"], ev["value"])]  # as if one worker took all
    with pytest.raises(Missing, match="only 1 of the 2 workers"):
        mp.upstream_pool(changed, "lab-upstream-keepalive-2-workers", of="total")


def test_with_one_worker_and_no_keepalive_nothing_stays_open(results):
    assert mp.upstream_pool(results, "lab-upstream-close", of="total")[0] == 0


def test_the_upstream_sees_a_buffered_body_only_after_its_last_byte(results):
    lead, evidence = mp.upstream_lead(results, "lab-body-buffered")
    assert lead > 0 and evidence["upstream_requests"] == 1
    lead, evidence = mp.upstream_lead(results, "lab-body-unbuffered")
    assert lead < -1.0  # about 1.75 s of a 2 s trickle still to come
    assert mp.body_temp_files_peak(results, "lab-body-buffered")[0] >= 1
    assert mp.body_temp_files_peak(results, "lab-body-unbuffered")[0] == 0


def test_nginx_s_defaults_are_measured(results):
    idle, evidence = mp.idle_close_s(results, "lab-default-keepalive-timeout")
    assert 74.5 <= idle <= 75.5 and evidence["clients_closed_by_nginx"] == 10
    answers, evidence = mp.requests_per_connection(results, "lab-default-keepalive-requests")
    assert answers == 1000 and evidence["close_header_after"] == [1000]


def test_an_idle_client_nginx_never_closed_makes_the_timeout_missing(results):
    changed = copy.deepcopy(results)
    client = changed["lab-default-keepalive-timeout"]["clients"][0]
    client.update(closed=None, complete=True, error=None)
    with pytest.raises(Missing, match="hold longer"):
        mp.idle_close_s(changed, "lab-default-keepalive-timeout")


def test_every_protocol_claim_gets_a_verdict_with_numbers(results):
    assert_every_claim_decided(results, ["O6a", "O6b", "O6c", "O6d", "O7a", "O7b", "O7c", "O7d",
                                         "O10a", "O10b", "O10c", "O10d", "O11a", "O11b"])
