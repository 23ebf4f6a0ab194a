"""Whatever ends a case, nothing is left behind: no process, namespace, socket file or changed sysctl."""

import os
import signal
import subprocess
import json
import time

from . import lab

SLOW_CASE = {"case": "cleanup", "mode": "no-accept", "clients": 50, "proxy_timeout": 30, "deadline": 60}


def start_module(args):
    e = lab.env()
    cmd = [os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_proxy_case", "-a", json.dumps(args)]
    return subprocess.Popen(cmd, cwd=lab.ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_running():
    """Wait until the case has nginx and the upstream up; return the module's PID."""
    assert lab.wait_for(lambda: len([p for p, c in lab.lab_processes() if "nginx" in c or "upstream" in c]) >= 3, 30)
    time.sleep(1.0)
    pid = lab.module_process()
    assert pid, "the module process was not found"
    return pid


def sigkill_mid_case(args, host_somaxconn, while_running):
    """Start a case, check it with while_running(), SIGKILL the module; return what is left after 20 s."""
    proc = start_module(args)
    try:
        module = wait_until_running()
        while_running()
        os.kill(module, signal.SIGKILL)
        return lab.wait_for_leftovers_to_go(host_somaxconn, seconds=20)
    finally:
        proc.kill()
        proc.wait()


def test_success_leaves_nothing(host_somaxconn):
    result = lab.run_module({"case": "ok", "mode": "ok", "clients": 10})
    assert result.get("failed") is not True, result.get("msg")
    assert lab.leftovers(host_somaxconn) == {}


def test_sigkill_of_the_module_leaves_nothing(host_somaxconn):
    def while_running():
        assert lab.lab_namespaces(), "the case's namespace should exist while it runs"

    assert sigkill_mid_case(SLOW_CASE, host_somaxconn, while_running) == {}


def test_sigint_of_ansible_playbook_leaves_nothing(host_somaxconn):
    e = lab.env()
    proc = subprocess.Popen(
        [os.path.join(lab.VENV_BIN, "ansible-playbook"), "playbooks/cases_only.yml", "-e",
         '{"npl_cases": ["case2-no-accept"], "npl_case_overrides": {"proxy_timeout": 30, "deadline": 60}, '
         '"npl_parallel": false, "npl_repeat": 1}',
         "-e", "npl_results_dir=/tmp/npl-sigint-results"],
        cwd=lab.ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_until_running()
        lab.ctrl_c(proc)
        assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=20) == {}
    finally:
        if proc.poll() is None:
            lab.ctrl_c(proc, 0)
        subprocess.run(["rm", "-rf", "/tmp/npl-sigint-results"])


def test_failure_inside_the_case_leaves_nothing(host_somaxconn):
    # A size of the right grammar that nginx rejects (too large), after the namespace and the upstream exist.
    result = lab.run_module({"case": "bad-conf", "mode": "ok", "clients": 1, "client_max_body_size": "99999999999g"})
    assert result.get("failed") is True
    assert "nginx rejected the case's configuration" in result["msg"]
    assert lab.leftovers(host_somaxconn) == {}


def test_case_deadline_stops_clients_and_leaves_nothing(host_somaxconn):
    result = lab.run_module({"case": "deadline", "mode": "no-accept", "clients": 5, "proxy_timeout": 30,
                             "deadline": 2, "client_timeout": 30})
    assert result.get("failed") is not True, result.get("msg")
    doc = result["case_result"]
    assert doc["summary"]["clients"]["status_counts"] == {"case-deadline": 5}
    assert any("deadline" in w for w in doc["meta"]["warnings"])
    assert lab.leftovers(host_somaxconn) == {}


def test_host_isolation_restores_somaxconn_even_after_sigkill(host_somaxconn):
    def while_running():
        assert lab.somaxconn() == 64

    args = dict(SLOW_CASE, isolation="host", nginx_port=18080, somaxconn=64)
    assert sigkill_mid_case(args, host_somaxconn, while_running) == {}


def test_host_isolation_warns_loudly(host_somaxconn):
    result = lab.run_module({"case": "host", "mode": "ok", "clients": 3, "isolation": "host", "nginx_port": 18081,
                             "somaxconn": 128})
    assert result.get("failed") is not True, result.get("msg")
    assert any("isolation=host" in w and "disposable VM" in w for w in result.get("warnings", []))
    assert result["case_result"]["meta"]["somaxconn"] == 128
    assert lab.leftovers(host_somaxconn) == {}


def _stopped_lab_processes():
    """Lab processes in state T (stopped)."""
    out = []
    for pid, cmdline in lab.lab_processes():
        try:
            with open("/proc/%d/stat" % pid) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "T":
                    out.append(pid)
        except OSError:
            continue
    return out


def test_sigkill_while_a_case_action_has_the_worker_stopped_leaves_nothing(host_somaxconn):
    args = {"case": "stopped", "mode": "ok", "clients": 20, "client_behaviour": "hold-idle", "client_hold_s": 30,
            "actions": [{"at_s": 0, "action": "stop-workers", "seconds": 40}], "deadline": 60}

    def while_running():
        assert lab.wait_for(lambda: _stopped_lab_processes(), 15), "the action should have stopped the worker"

    assert sigkill_mid_case(args, host_somaxconn, while_running) == {}


def test_a_case_that_ends_while_its_worker_is_stopped_continues_it(host_somaxconn):
    result = lab.run_module({"case": "stopped-end", "mode": "ok", "clients": 5, "client_timeout": 2,
                             "actions": [{"at_s": 0, "action": "stop-workers", "seconds": 8}], "deadline": 10})
    assert result.get("failed") is not True, result.get("msg")
    assert lab.leftovers(host_somaxconn) == {}
    done = result["case_result"]["meta"]["actions"]["done"]
    # the clients gave up after 2 s, so the case cut the 8 s stop short and continued the worker
    assert done[0]["pids"] and done[0]["ended"] - done[0]["began"] < 7.5


def test_sigkill_after_a_reload_while_old_and_new_workers_serve_leaves_nothing(host_somaxconn):
    # A valid reload 0.5 s in, with requests waiting 20 s on the upstream: the old worker drains while the new
    # one serves; the module is killed then, and both workers, the master and the namespace must go.
    args = {"case": "reloading", "mode": "delay", "upstream_delay_ms": 20000, "clients": 10, "proxy_timeout": 30,
            "actions": [{"at_s": 0.5, "action": "reload", "config": "changed"}], "deadline": 40}

    def while_running():
        assert lab.wait_for(lambda: len([c for _, c in lab.lab_processes() if "nginx: worker" in c]) >= 2, 15), \
            "after the reload the old and the new worker should both be there"

    assert sigkill_mid_case(args, host_somaxconn, while_running) == {}


def test_a_reload_with_a_broken_configuration_leaves_nothing(host_somaxconn):
    result = lab.run_module({"case": "reload-broken", "mode": "ok", "clients": 10, "client_ramp_s": 2,
                             "actions": [{"at_s": 0.5, "action": "reload", "config": "broken"}], "deadline": 10})
    assert result.get("failed") is not True, result.get("msg")
    assert lab.leftovers(host_somaxconn) == {}
    done = result["case_result"]["meta"]["actions"]["done"]
    assert done[0]["workers_before"] == done[0]["workers_after_1s"] and done[0]["master_alive_after_1s"]
