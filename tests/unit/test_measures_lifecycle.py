"""The reload measures (O8, O9) on real results of their labs (tests/data/run-6.18-lifecycle), and on the same
results changed where a test needs the measure to see something else."""

import copy
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_lifecycle as ml
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measure_common import Missing

from .helpers import DATA, assert_every_claim_decided, stored_results

FOLDER = os.path.join(DATA, "run-6.18-lifecycle", "localhost")


@pytest.fixture(scope="module")
def results():
    return stored_results(FOLDER)


def test_a_broken_reload_leaves_the_old_configuration_and_workers_serving(results):
    share, evidence = ml.reload_old_config_share(results, "lab-reload-broken")
    assert share == 1.0 and evidence["clients_after"] > 20
    assert evidence["status_config_counts"] == {"200/1": 60}
    assert any("unknown directive" in line for line in evidence["emerg_lines"])
    assert ml.reload_workers_replaced(results, "lab-reload-broken")[0] == 0


def test_a_valid_reload_finishes_old_requests_on_old_workers_and_serves_new_ones_with_the_new_config(results):
    old, evidence = ml.reload_in_flight_old_config(results, "lab-reload-graceful")
    assert old == 1.0 and evidence["in_flight"] >= 10
    # the old worker left only after its last request had ended
    assert evidence["old_workers_gone_after_s"] >= evidence["last_in_flight_end_after_s"]
    assert ml.reload_new_config_share(results, "lab-reload-graceful")[0] == 1.0
    assert ml.reload_failures(results, "lab-reload-graceful")[0] == 0


def test_a_request_that_failed_around_the_reload_counts(results):
    changed = copy.deepcopy(results)
    doc = changed["lab-reload-graceful"]
    t = doc["meta"]["actions"]["done"][0]["signalled"]
    victim = next(c for c in doc["clients"] if c["connected"] < t < c["end"])
    victim.update(status=502, complete=False)
    failures, evidence = ml.reload_failures(changed, "lab-reload-graceful")
    assert failures == 1 and evidence["failed_examples"][0]["status"] == 502
    assert ml.reload_in_flight_old_config(changed, "lab-reload-graceful")[0] < 1.0


def test_a_case_without_a_reload_is_missing_not_zero(results):
    changed = copy.deepcopy(results)
    changed["lab-reload-broken"]["meta"]["actions"] = {"done": [], "errors": []}
    with pytest.raises(Missing, match="no reload was sent"):
        ml.reload_old_config_share(changed, "lab-reload-broken")


def test_every_reload_claim_gets_a_verdict_with_numbers(results):
    assert_every_claim_decided(results, ["O8a", "O8b", "O9a", "O9b", "O9c"])
