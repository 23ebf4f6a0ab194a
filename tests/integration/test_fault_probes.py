"""The fault probes of issue 18, injected for real: a killed case runner, a full results disk, a journal that names
what the kit never made, malformed journals, two runs started together, a sampler that only times out."""

import glob
import json
import os
import signal
import subprocess
import time

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import journal

from . import lab

ONE_CASE = ["-e", "npl_repeat=1", "-e", '{"npl_case_overrides": {"proxy_timeout": 1}}']


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def runner_of(case):
    """The case runner of `case`: found by its process name and its short command line, as a person would
    (`ps -C npl-runner -o pid,args`)."""
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        if _comm(pid) == "npl-runner" and (" %s " % case) in lab._cmdline(pid):
            return pid
    return None


def start_run(results, case, *extra):
    cmd = [os.path.join(lab.VENV_BIN, "ansible-playbook"), "run_cases.yml", "-e", "npl_results_dir=%s" % results,
           "-e", "npl_cases=%s" % case] + list(extra)
    return subprocess.Popen(cmd, cwd=lab.ROOT, env=lab.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def test_a_killed_runner_of_the_only_case_is_recorded_failed_the_run_ends_and_gives_the_host_up(tmp_path,
                                                                                              host_somaxconn):
    proc = start_run(tmp_path, "lab-reload-broken", "-e", "npl_repeat=1")
    try:
        pid = lab.wait_for(lambda: runner_of("lab-reload-broken.r1"), 180, 0.05)
        assert pid, "no process named npl-runner whose command line names lab-reload-broken.r1"
        assert len(lab._cmdline(pid)) < 300 and "run=" in lab._cmdline(pid), lab._cmdline(pid)
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            lab.ctrl_c(proc, 0)
    assert proc.returncode != 0
    assert "killed by signal 9" in out and "PLAY [Finish the run]" in out, out[-3000:]
    [run_dir] = [d for d in tmp_path.iterdir() if d.name != "latest"]
    with open(str(run_dir / "run.json")) as handle:
        record = json.load(handle)
    assert [f.split(":")[0] for f in record["failed"]] == ["localhost/lab-reload-broken.r1"]
    assert not (run_dir / "localhost").exists(), "a host folder with no result is removed"
    assert not (tmp_path / "latest").exists(), "latest names only complete runs"
    assert not os.path.exists("/run/nginx-proxy-lab/run.lock"), "the run gave the host up"
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def test_a_full_results_disk_names_the_path_and_the_fix_and_latest_stays_on_a_complete_run(tmp_path, host_somaxconn):
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], check=True)
    try:
        results = disk / "results"
        results.mkdir()
        # an earlier complete run, which latest names
        (results / "complete").mkdir()
        os.symlink("complete", str(results / "latest"))
        out = lab.playbook("-e", "npl_results_dir=%s" % results, "-e", "npl_cases=lab-single-request", *ONE_CASE)
        assert out.returncode != 0
        assert "No space left on device" in out.stdout and "npl_results_dir=<a folder with room>" in out.stdout
        assert str(results) in out.stdout
        assert os.readlink(str(results / "latest")) == "complete", "latest moved to a run without its report"
        assert not glob.glob(str(results / "**" / ".tmp-*"), recursive=True), "temporary files were left"
        [run_dir] = [d for d in results.iterdir() if d.name not in ("latest", "complete")]
        assert (run_dir / "localhost" / "lab-single-request.r1.json").exists(), "the finished case result is kept"
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert not os.path.exists("/run/nginx-proxy-lab/run.lock")
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def test_two_runs_started_together_the_refused_one_provisions_nothing(tmp_path, host_somaxconn):
    # the first holds the host for about 9 s, however unevenly the two start
    runs = [start_run(tmp_path / name, "lab-single-request", "-e", "npl_repeat=1",
                      "-e", '{"npl_case_overrides": {"proxy_timeout": 8}}') for name in ("a", "b")]
    outs = [proc.communicate(timeout=300)[0] for proc in runs]
    codes = [proc.returncode for proc in runs]
    assert sorted(c != 0 for c in codes) == [False, True], [o[-2000:] for o in outs]
    refused = outs[codes.index(max(codes))]
    assert "holds this host" in refused
    assert "lab_packages : " not in refused, "the refused run provisioned the host"
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def _dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _lock_task():
    from .test_reaper import take_the_host
    return take_the_host()


def test_a_journal_naming_what_the_kit_never_made_leaves_it_all_and_says_which_journal(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    subprocess.run(["ip", "netns", "add", "probevictim"], check=True)
    path = journal.path_for(_dead_pid())
    try:
        os.makedirs(journal.JOURNAL_DIR, exist_ok=True)
        with open(path, "w") as handle:
            json.dump({"guardian_pid": int(os.path.basename(path)[:-5]), "guardian_start": 1, "state": {
                "pgids": [], "pids": [], "netns": ["probevictim"], "paths": [str(victim)], "sysctls": {},
                "starts": {}}}, handle)
        result = _lock_task()
        assert result.get("failed") is not True, result.get("msg")
        assert victim.is_dir() and "probevictim" in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                                    text=True).stdout
        warnings = " ".join(result.get("warnings", []))
        assert path in warnings and "probevictim" in warnings and "untouched" in warnings, warnings
        assert not os.path.exists(path) and glob.glob(path + ".refused-*")
    finally:
        subprocess.run(["ip", "netns", "delete", "probevictim"], capture_output=True)
        for name in glob.glob(path + "*"):
            os.unlink(name)


def test_a_malformed_journal_is_set_aside_with_a_warning_and_the_run_goes_on():
    path = os.path.join(journal.JOURNAL_DIR, "999999999.json")
    os.makedirs(journal.JOURNAL_DIR, exist_ok=True)
    try:
        with open(path, "w") as handle:
            handle.write("[1,2]")
        result = _lock_task()
        assert result.get("failed") is not True, result.get("msg")
        warnings = " ".join(result.get("warnings", []))
        assert path in warnings and "malformed" in warnings, warnings
        [moved] = glob.glob(path + ".malformed-*")
        with open(moved) as handle:
            assert handle.read() == "[1,2]"
    finally:
        for name in glob.glob(path + "*"):
            os.unlink(name)


def test_a_worker_stopped_for_3_s_shows_as_a_gap_between_answered_status_samples(host_somaxconn):
    result = lab.run_module({"case": "stopped-3s", "mode": "ok", "clients": 20, "client_ramp_s": 5,
                             "actions": [{"at_s": 0.5, "action": "stop-workers", "seconds": 3}], "deadline": 20})
    assert result.get("failed") is not True, result.get("msg")
    timing = result["case_result"]["meta"]["validity"]["samplers"]
    assert timing["stub_status"]["max_gap_s"] >= 2.5, timing
    assert timing["proc"]["max_gap_s"] < 1.0, timing
    assert lab.leftovers(host_somaxconn) == {}
