"""A broken case is never scored; a case spoiled only by the host's pace runs again; bad runs are refused before
anything changes (issue 25). Every fault is injected for real: a load generator killed, a case folder whose file
system is too small or fills during the case (a tmpfs in a mount namespace of the test's own), the case's processes
stopped, a host that cannot be reached, SIGTERM to ansible-playbook."""

import glob
import json
import os
import signal
import subprocess
import time

import pytest

from . import lab
from .test_fault_probes import _comm, runner_of

QUICK = '{"npl_case_overrides": {"proxy_timeout": 2}}'


def pid_named(name):
    return next((int(p) for p in os.listdir("/proc") if p.isdigit() and _comm(int(p)) == name), None)


def start(results, *args):
    cmd = [os.path.join(lab.VENV_BIN, "ansible-playbook"), "run_cases.yml", "-e", "npl_results_dir=%s" % results,
           "-e", "npl_repeat=1"] + list(args)
    return subprocess.Popen(cmd, cwd=lab.ROOT, env=lab.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def finish(proc, timeout=300):
    try:
        return proc.communicate(timeout=timeout)[0]
    finally:
        if proc.poll() is None:
            lab.ctrl_c(proc, 0)


def only_run(results):
    [run_dir] = [d for d in results.iterdir() if d.name != "latest"]
    return run_dir


def verdict(run_dir, claim, host="localhost"):
    with open(str(run_dir / "verdicts.json")) as handle:
        rows = json.load(handle)["verdicts"][host]
    return next(r for r in rows if r["id"] == claim)


def test_a_load_generator_killed_mid_case_makes_the_case_invalid_and_its_claims_inconclusive(tmp_path, host_somaxconn):
    """Fault probe: SIGKILL of npl-loadgen left every client `case-deadline` with no start, the case valid and R11c
    CONFIRMED. The load generator's own death is the case's failure: invalid, never run again."""
    proc = start(tmp_path, "-e", "npl_cases=lab-flood-1mb-100", "-e", QUICK)
    try:
        loadgen = lab.wait_for(lambda: pid_named("npl-loadgen"), 180, 0.05)
        assert loadgen, "no npl-loadgen process"
        time.sleep(1.0)
        os.kill(loadgen, signal.SIGKILL)
    finally:
        out = finish(proc)
    run_dir = only_run(tmp_path)
    [path] = glob.glob(str(run_dir / "localhost" / "lab-flood-1mb-100.r1.json"))
    with open(path) as handle:
        meta = json.load(handle)["meta"]
    assert meta["validity"]["valid"] is False and meta["validity"]["retryable"] is False
    assert any("load generator ended (killed by signal 9" in p for p in meta["validity"]["case_problems"]), meta["validity"]
    assert meta["tries"]["count"] == 1, "a case that failed on its own was run again"
    for claim in ("R11", "R11b", "R11c"):
        assert verdict(run_dir, claim)["verdict"] == "INCONCLUSIVE", claim
    assert "load generator ended" in out
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def in_small_run_dir(size, script, timeout=300):
    """Run `script` (sh) in a mount namespace of its own where /run/nginx-proxy-lab is a tmpfs of `size`: the host's
    own folder, lock and journals are not touched, and the mount goes with the namespace."""
    wrapper = ("set -e; mkdir -p /run/nginx-proxy-lab; mount -t tmpfs -o size=%s tmpfs /run/nginx-proxy-lab; %s"
               % (size, script))
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", wrapper], cwd=lab.ROOT,
                          env=lab.env(), capture_output=True, text=True, timeout=timeout)


def test_a_case_folder_without_room_for_the_case_is_refused_before_anything_changes(tmp_path, host_somaxconn):
    """Up front: 100 bodies of 1 MB that nginx spools to the case folder do not fit a 4 MB file system."""
    out = in_small_run_dir("4m", "exec ansible-playbook run_cases.yml -e npl_results_dir=%s -e npl_cases=lab-flood-1mb-100"
                           % (tmp_path / "results"))
    assert out.returncode != 0
    assert "write up to 104 MB in the case folder" in out.stdout and "has 4 MB free" in out.stdout, out.stdout[-3000:]
    assert "free space there, or send smaller bodies or fewer clients" in out.stdout
    assert "lab_packages : " not in out.stdout and not (tmp_path / "results").exists()
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=5) == {}


def test_a_case_folder_that_fills_during_the_case_makes_it_invalid_quoting_nginx(tmp_path, host_somaxconn):
    """Fault probe: with a full /run nginx logged `[crit] pwrite() ... (28: No space left on device)`, and the case
    was scored. The file system fills once the case has started (a file of the test's takes all but 300 KB)."""
    results = tmp_path / "results"
    script = ("ansible-playbook run_cases.yml -e npl_results_dir=%s -e npl_cases=lab-flood-1mb-100 -e npl_repeat=1 "
              "-e '{\"npl_case_overrides\": {\"clients\": 20}}' > %s 2>&1 & pb=$!; "
              "for i in $(seq 1 1200); do ls /run/nginx-proxy-lab | grep -q '^npl-' && break; sleep 0.05; done; "
              "free=$(df -B1 --output=avail /run/nginx-proxy-lab | tail -1); "
              "fallocate -l $((free - 300000)) /run/nginx-proxy-lab/filler; wait $pb"
              % (results, tmp_path / "out.txt"))
    out = in_small_run_dir("64m", script)
    text = (tmp_path / "out.txt").read_text()
    assert out.returncode == 0, text[-3000:] + out.stderr
    with open(str(only_run(results) / "localhost" / "lab-flood-1mb-100.r1.json")) as handle:
        validity = json.load(handle)["meta"]["validity"]
    assert validity["valid"] is False and validity["retryable"] is False
    problems = " ".join(validity["case_problems"])
    assert "the host ran out of room" in problems and "(28: No space left on device)" in problems, problems
    assert "[crit]" in problems, "the nginx line is quoted"
    assert verdict(only_run(results), "R11c")["verdict"] == "INCONCLUSIVE"
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


def test_a_repetition_the_hosts_pace_spoiled_runs_again_and_both_tries_are_reported(tmp_path, host_somaxconn):
    """The host's pace, for real: the case's process (its samplers) stopped for 3 s while the clients run, as a
    starved emulated CPU would leave it. The try is refused (a gap in the samples), kept, and the repetition runs
    again; the verdict is judged on the valid try and says how many runs it took."""
    proc = start(tmp_path, "-e", "npl_cases=case2-no-accept")
    try:
        assert lab.wait_for(lambda: pid_named("npl-loadgen"), 180, 0.05)
        case = pid_named("npl-case")
        time.sleep(1.0)
        os.kill(case, signal.SIGSTOP)
        time.sleep(3.0)
        os.kill(case, signal.SIGCONT)
    finally:
        out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert "case2-no-accept.r1 (try 2)" in out and "was spoiled by the host's pace and run again" in out
    run_dir = only_run(tmp_path)
    with open(str(run_dir / "localhost" / "case2-no-accept.r1.json")) as handle:
        meta = json.load(handle)["meta"]
    assert meta["validity"]["valid"] is True and meta["tries"]["count"] == 2
    [early] = meta["tries"]["earlier"]
    assert "left a gap" in " ".join(early["problems"]) and early["saved_as"] == "tries/case2-no-accept.r1.t1.json"
    with open(str(run_dir / "localhost" / early["saved_as"])) as handle:
        spoiled = json.load(handle)["meta"]["validity"]
    assert spoiled["valid"] is False and spoiled["retryable"] is True
    with open(str(run_dir / "run.json")) as handle:
        [retried] = json.load(handle)["retried"]
    assert retried["case"] == "localhost/case2-no-accept.r1" and retried["tries"] == 2 and retried["valid"] is True
    row = verdict(run_dir, "R5")
    assert row["verdict"] == "CONFIRMED" and row["tries"]["tries"] == 2 and row["tries"]["retried"] == 1
    report = (run_dir / "report.md").read_text()
    assert "try 1 was spoiled by the host's pace and ran again" in report and "2 case runs for its 1" in report
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}


@pytest.mark.parametrize("extra, words", [
    (["-e", "npl_nginx_versions="], ["npl_nginx_versions names no nginx release"]),
    (["-e", "npl_nginx_versions=1.18.0,1.22.1", "-e", '{"npl_case_overrides": {"nginx_binary": "/usr/sbin/nginx"}}'],
     ["nginx_binary=/usr/sbin/nginx would replace the binary of every release of the run (1.18.0, 1.22.1)"]),
    (["-e", '{"npl_case_overrides": {"clients": true}}'], ["clients=True is a yes/no, where a number is wanted"]),
    (["-e", "npl_parallel=maybe"], ["npl_parallel is true or false", "got maybe"]),
    (["-e", '{"npl_case_overrides": {"case": "other"}}'], ["case is set by the kit for every case"]),
    (["-e", "npl_pace_retries=9"], ["pace_retries=9: a run's pace_retries is a whole number from 0 to 5"]),
    (["-e", "npl_claims_file=BAD"], ["unknown measure no_such_measure", "refused before anything changed"]),
])
def test_a_bad_run_is_refused_before_anything_changes(extra, words, tmp_path, host_somaxconn):
    if "npl_claims_file=BAD" in extra:
        text = open(os.path.join(lab.ROOT, "playbooks", "vars", "claims.yml")).read()
        bad = tmp_path / "claims.yml"
        bad.write_text(text.replace("- measure: state_matches_queue", "- measure: no_such_measure", 1))
        extra = ["-e", "npl_claims_file=%s" % bad]
    results = tmp_path / "results"
    out = lab.playbook("-e", "npl_results_dir=%s" % results, "-e", "npl_cases=lab-single-request", *extra)
    assert out.returncode != 0
    for word in words:
        assert word in out.stdout, out.stdout[-3000:]
    assert "lab_packages : " not in out.stdout and "Take the host's run lock" not in out.stdout
    assert not results.exists() or not list(results.iterdir()), "a run folder was made"
    assert lab.leftovers(host_somaxconn) == {}


def test_a_release_named_twice_runs_once(tmp_path):
    out = lab.playbook("-e", "npl_results_dir=%s" % tmp_path, "-e", "npl_cases=lab-single-request", "-e", "npl_repeat=1",
                       "-e", "npl_nginx_versions=1.22.1,1.22.1", "-e", QUICK)
    assert out.returncode == 0, out.stdout[-3000:]
    run_dir = only_run(tmp_path)
    with open(str(run_dir / "run.json")) as handle:
        record = json.load(handle)
    assert record["nginx_versions"] == ["1.22.1"] and len([u for s in record["slots"] for u in s]) == 1
    assert os.listdir(str(run_dir / "localhost")) == ["lab-single-request.r1.json"]
    with open(str(run_dir / "localhost" / "lab-single-request.r1.json")) as handle:
        params = json.load(handle)["meta"]["params"]
    assert params["nginx_version_expected"] == "1.22.1", "the case checked its binary against its release"


def test_an_unreachable_host_is_recorded_everywhere_and_the_run_ends_non_zero(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "lab:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n"
        "    ghost:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n      ansible_user: nobody\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "complete").mkdir()
    os.symlink("complete", str(results / "latest"))
    out = lab.playbook("-i", str(inventory), "-e", "npl_results_dir=%s" % results, "-e", "npl_cases=lab-single-request",
                       "-e", "npl_repeat=1", "-e", QUICK)
    assert out.returncode != 0
    assert "ghost cannot be reached, so nothing runs there" in out.stdout
    [run_dir] = [d for d in results.iterdir() if d.name not in ("latest", "complete")]
    with open(str(run_dir / "run.json")) as handle:
        assert "Connection refused" in json.load(handle)["unreachable"]["ghost"]
    with open(str(run_dir / "verdicts.json")) as handle:
        doc = json.load(handle)
    assert "ghost" in doc["unreachable"] and doc["verdicts"]["localhost"]
    report = (run_dir / "report.md").read_text()
    assert "**ghost could not be reached**" in report and "ghost<br><small>unreachable</small>" in report
    assert 'name="ghost could be reached"' in (run_dir / "verdicts.junit.xml").read_text()
    assert os.readlink(str(results / "latest")) == "complete", "latest moved to a run that missed a host"


def test_sigterm_stops_the_run_as_ctrl_c_does_says_so_and_leaves_no_empty_run_folder(tmp_path, host_somaxconn):
    proc = start(tmp_path, "-e", "npl_cases=case2-no-accept")
    try:
        assert lab.wait_for(lambda: runner_of("case2-no-accept.r1"), 180, 0.05)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGTERM)
    finally:
        out = finish(proc, 120)
    assert proc.returncode != 0
    assert "ansible-playbook got SIGTERM: stopping every case as Ctrl-C would" in out, out[-2000:]
    assert [d.name for d in tmp_path.iterdir()] == [], "an interrupted run with nothing saved left its folder"
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=20) == {}
