import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import hostlock, reaper
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import first_repetition, load_run

from . import lab


@pytest.fixture(scope="session", autouse=True)
def root_and_clean_machine():
    if os.geteuid() != 0:
        pytest.fail("the integration tests run the lab for real and need root: sudo make test")
    # Cases killed together with their guardian (every process of the machine ended at once) leave their
    # namespace and folder; the kit's reaper undoes them, as every run does when it takes the host.
    reaped = reaper.reap()
    if reaped:
        print("reaped leftovers of killed cases: %s %s" % reaper.describe(reaped))
    before = lab.leftovers(lab.somaxconn())
    assert not before, "leftovers of an earlier run are on this machine, the tests cannot tell theirs apart: %s" % before
    # The tests that call the module directly need what provisioning installs (the upstream built from source):
    # provision once, as run_cases.yml would, so they pass on a fresh machine in any order.
    out = lab.playbook("playbooks/provision.yml", playbook_file=None)
    assert out.returncode == 0, "provisioning this machine failed: " + out.stdout[-4000:] + out.stderr[-2000:]
    yield


@pytest.fixture
def host_somaxconn():
    """The host's somaxconn before the test; the test must leave it so."""
    return lab.somaxconn()


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """One real run of run_cases.yml (provision, every case and lab, verdicts, report) into a temporary folder."""
    somaxconn_before = lab.somaxconn()
    # A lock left by a run an earlier test interrupted (by design: the next run takes it over, with a warning).
    stale_lock = os.path.exists(hostlock.LOCK)
    results = tmp_path_factory.mktemp("results")
    out = lab.playbook("-e", "npl_results_dir=%s" % results)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    run_dir = os.path.realpath(str(results / "latest"))
    by_host, _ = load_run(run_dir)
    return {"docs": first_repetition(by_host)["localhost"], "repetitions": by_host["localhost"], "stdout": out.stdout,
            "stderr": out.stderr, "results": results, "run_dir": run_dir,
            "somaxconn_before": somaxconn_before, "stale_lock": stale_lock}
