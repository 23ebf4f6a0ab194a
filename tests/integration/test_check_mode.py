"""ansible-playbook --check: validates everything, says what provisioning would change, runs no case, exits 0."""

import os

from . import lab


def lock_state():
    """The host lock's content, or None (a dead run's lock may be there: the next real run takes it over)."""
    try:
        with open("/run/nginx-proxy-lab/run.lock") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def test_check_mode_runs_no_case_and_exits_0(tmp_path, host_somaxconn):
    results = tmp_path / "results"
    lock_before = lock_state()
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % results)
    assert out.returncode == 0, out.stdout[-4000:]
    assert "TASK [lab_packages : Install the lab packages]" in out.stdout  # provisioning is checked
    assert "check mode: would run alone case1-ok.r1" in out.stdout and "case2-no-accept.r3" in out.stdout
    assert "Run the case]" not in out.stdout
    assert not os.path.exists(str(results)) or not [p for p in results.rglob("*.json")], "a case ran or a run was recorded"
    assert "[WARNING]" not in out.stdout + out.stderr
    assert lab.leftovers(host_somaxconn) == {}
    assert lock_state() == lock_before, "check mode took or changed the host lock"


def test_check_mode_still_refuses_bad_parameters(tmp_path):
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % (tmp_path / "results"),
                       "-e", '{"npl_case_overrides": {"deadline": 0}}')
    assert out.returncode != 0 and "deadline=0.0 is outside 1..86400" in out.stdout
