"""Faults injected for real while cases run: a killed upstream or nginx master, the case deadline,
two runs at once, Ctrl-C in parallel mode. Every one is noticed; nothing is lost or left behind."""

import glob
import json
import os
import signal
import subprocess
import time

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims as ev

from . import lab
from .test_cleanup import wait_until_running

SLOW = {"proxy_timeout": 30, "deadline": 60}


def pids_of(exe):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % pid) == exe:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def module_result(proc):
    out, _ = proc.communicate(timeout=120)
    doc = json.loads(out[out.index("{"):])
    return doc


def kill_mid_case(args, victim, host_somaxconn):
    """Run a case through the module, SIGKILL `victim()`'s PID while the clients wait; return the result."""
    e = lab.env()
    cmd = [os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_proxy_case", "-a", json.dumps(args)]
    proc = subprocess.Popen(cmd, cwd=lab.ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until_running()
        time.sleep(1.0)
        os.kill(victim(), signal.SIGKILL)
        doc = module_result(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}
    return doc


def test_a_killed_upstream_makes_the_case_invalid_and_its_claim_inconclusive(host_somaxconn):
    doc = kill_mid_case({"case": "case3-no-read", "mode": "no-read", "clients": 20, "proxy_timeout": 3,
                         "pace_retries": 2}, lambda: pids_of(lab.UPSTREAM_BINARY)[0], host_somaxconn)
    result = doc["case_result"]
    assert result["meta"]["validity"]["valid"] is False
    # the case's own failure, not the host's pace: never run again, however many retries are allowed
    assert result["meta"]["validity"]["retryable"] is False
    assert doc["tries"] == 1 and result["meta"]["tries"] == {"count": 1, "earlier": []}
    assert any("upstream (mode no-read) ended before the clients did" in p for p in result["meta"]["validity"]["problems"])
    assert any("did not run as designed" in w for w in result["meta"]["warnings"])
    claim = {"id": "R6", "checks": [{"measure": "state_share", "args": {"case": "case3-no-read", "state": "03"},
                                     "op": ">=", "value": 0.9}]}
    assert ev.evaluate_claim(claim, {"case3-no-read": result})["verdict"] == "INCONCLUSIVE"


def test_a_killed_nginx_master_makes_the_case_invalid(host_somaxconn):
    def master():
        nginx = pids_of(lab.NGINX_BINARY)
        return [p for p in nginx if lab._ppid(p) not in nginx][0]

    doc = kill_mid_case({"case": "case2-no-accept", "mode": "no-accept", "clients": 20, "proxy_timeout": 3},
                        master, host_somaxconn)
    problems = doc["case_result"]["meta"]["validity"]["problems"]
    assert any("nginx master process ended" in p for p in problems), problems


def test_finished_clients_keep_their_outcome_at_the_case_deadline(host_somaxconn):
    # 2,000 curl processes started one after another cannot all start and finish in 1 s (about 300 do here on a
    # warm machine): some are done, some running, some not started.
    result = lab.run_module({"case": "curl-deadline", "mode": "ok", "clients": 2000, "client_mode": "curl",
                             "deadline": 1})
    assert result.get("failed") is not True, result.get("msg")
    clients = result["case_result"]["clients"]
    done = [c for c in clients if c["status"] == 200]
    stopped = [c for c in clients if c["error"] == "case-deadline"]
    assert done and stopped and len(done) + len(stopped) == 2000
    assert all(c["start"] is not None and c["end"] is not None for c in done)
    assert any(c["start"] is not None for c in stopped), "stopped clients that had started keep their start time"
    assert lab.leftovers(host_somaxconn) == {}


def cases_playbook(results, cases, *extra):
    e = lab.env()
    cmd = [os.path.join(lab.VENV_BIN, "ansible-playbook"), "playbooks/cases_only.yml", "-e", "npl_results_dir=%s" % results,
           "-e", json.dumps({"npl_cases": cases, "npl_case_overrides": extra[0] if extra else {}})] + list(extra[1:])
    return subprocess.Popen(cmd, cwd=lab.ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_two_runs_at_once_never_share_a_folder_and_the_second_is_refused(tmp_path, host_somaxconn):
    # The case holds the host for about 9 s, so the two runs overlap however unevenly their start-ups go.
    first = cases_playbook(tmp_path, ["lab-single-request"], {"proxy_timeout": 8}, "-e", "npl_repeat=1")
    second = cases_playbook(tmp_path, ["lab-single-request"], {"proxy_timeout": 8}, "-e", "npl_repeat=1")
    out1, _ = first.communicate(timeout=300)
    out2, _ = second.communicate(timeout=300)
    codes = sorted([first.returncode, second.returncode])
    assert codes[0] == 0 and codes[1] != 0, (out1[-2000:], out2[-2000:])
    refused = out2 if second.returncode else out1
    assert "holds this host" in refused
    runs = [d for d in os.listdir(str(tmp_path)) if d != "latest"]
    assert len(runs) == 1, "the refused run left its folder: %s" % runs
    latest = os.path.realpath(str(tmp_path / "latest"))
    assert os.path.basename(latest) == runs[0] and os.path.exists(os.path.join(latest, "run.json"))
    assert os.path.exists(os.path.join(latest, "localhost", "lab-single-request.r1.json"))
    assert not os.path.exists("/run/nginx-proxy-lab/run.lock")
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def test_ctrl_c_in_parallel_mode_stops_every_case_at_once_and_keeps_finished_results(tmp_path, host_somaxconn):
    async_dir = os.path.expanduser("~/.ansible_async")
    async_before = set(os.listdir(async_dir)) if os.path.isdir(async_dir) else set()
    proc = cases_playbook(tmp_path, ["lab-wc-4", "case2-no-accept", "case3-no-read", "case4-no-write"], SLOW,
                          "-e", "npl_parallel=true", "-e", "npl_repeat=1")
    try:
        saved = lambda: glob.glob(str(tmp_path / "*" / "localhost" / "lab-wc-4.r1.json"))
        assert lab.wait_for(saved, 90), "lab-wc-4 was not saved"
        assert lab.wait_for(lambda: len(lab.lab_namespaces()) >= 3, 30), lab.lab_namespaces()
        lab.ctrl_c(proc)
        assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}
    finally:
        if proc.poll() is None:
            lab.ctrl_c(proc, 0)
    with open(saved()[0]) as handle:
        assert json.load(handle)["summary"]["clients"]["count"] == 100
    assert not os.path.exists(str(tmp_path / "latest")), "latest moved to a run that never wrote run.json"
    async_after = set(os.listdir(async_dir)) if os.path.isdir(async_dir) else set()
    assert async_after == async_before
