"""What makes a case invalid for its own failure and what only for the host's pace (issue 25), on real captures and
real processes: nginx's error-log lines from real runs, a load generator's real exit status, real build trees."""

import gzip
import json
import os
import signal
import subprocess
import sys

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import build_stamp, clientrun, errorlog, params, validity

from .helpers import DATA, data


def _errors(path):
    with gzip.open(os.path.join(DATA, path), "rt") as handle:
        doc = json.load(handle)
    return doc["logs"]["error"], doc["meta"]["params"]


def test_lines_the_lab_asks_for_are_findings_not_failures():
    """Slots exhausted (lab-wc-2), descriptors exhausted where the case sets worker_rlimit_nofile (lab-nofile-32), the
    [emerg] of a reload that loads a broken configuration (lab-reload-broken): real runs, all valid."""
    for path in ("run-6.18/localhost/lab-wc-2.json.gz", "run-6.18-operators/localhost/lab-nofile-32.json.gz",
                 "run-6.18-lifecycle/localhost/lab-reload-broken.json.gz"):
        lines, p = _errors(path)
        assert any("[alert]" in line or "[crit]" in line or "[emerg]" in line for line in lines), path
        assert errorlog.unasked(lines, p) == [], path


def test_a_host_out_of_descriptors_and_of_room_is_not_the_lab_asking():
    """lab-flood-1mb-wc4096 on a 6.12 VM (kit 0.1.0, scored then): its soft open-files limit was 1024, and nginx's
    `(24: Too many open files)` lines with no worker_rlimit_nofile of the case's own are the host's limit; one body
    also met a full /run (28: No space left on device), which is named first."""
    lines, p = _errors("run-vm-tcg/debian-6.12/lab-flood-1mb-wc4096.json.gz")
    assert p.get("worker_rlimit_nofile") is None
    [problem] = errorlog.unasked(lines, p)
    assert problem.startswith("the host ran out of room for the case (1 such lines") and "(28: No space" in problem
    descriptors = [line for line in lines if "(28:" not in line]
    [problem] = errorlog.unasked(descriptors, p)
    assert "that the case did not ask for" in problem and "(24: Too many open files)" in problem
    assert problem.count(" | ") == 2, "the first three lines are quoted"


def test_a_full_case_folder_is_named_as_the_host_out_of_room():
    """A real capture: lab-flood-1mb-100 with 20 clients whose tmpfs filled during the case."""
    lines = data("errorlog/full-case-folder.txt").splitlines()
    [problem] = errorlog.unasked(lines, params.defaults(case="lab-flood-1mb-100", mode="no-accept"))
    assert problem.startswith("the host ran out of room for the case")
    assert "(28: No space left on device)" in problem and "[crit]" in problem


def _child_status(sig=None, code=0):
    """The waitpid status of a real child that exits with `code` or dies of `sig`."""
    pid = os.fork()
    if pid == 0:
        if sig:
            os.kill(os.getpid(), sig)
        os._exit(code)
    return os.waitpid(pid, 0)[1]


def test_a_load_generator_without_its_records_is_the_cases_failure(tmp_path):
    path = str(tmp_path / "clients.json")
    records, stats, problems = clientrun.collect(path, 3, _child_status(signal.SIGKILL))
    assert stats is None and [r["start"] for r in records] == [None] * 3
    assert problems == ["the load generator ended (killed by signal 9 (SIGKILL)) without writing its clients' records "
                        "to %s: their outcomes are unknown" % path]
    _, _, problems = clientrun.collect(path, 3, _child_status(code=0), stopped=True, kept=False)
    assert "did not answer SIGTERM at the case deadline" in problems[0]


def test_clients_that_never_started_are_a_failure_unless_the_deadline_stopped_them(tmp_path):
    path = tmp_path / "clients.json"
    records = [{"id": i, "start": 0.1 if i else None, "end": None, "status": None, "error": None} for i in range(3)]
    path.write_text(json.dumps({"records": records, "stats": {"mode": "python"}}))
    _, _, problems = clientrun.collect(str(path), 3, _child_status(code=0))
    assert problems == ["1 of 3 clients never started, though nothing stopped the load generator (exit code 0)"]
    assert clientrun.collect(str(path), 3, _child_status(code=0), stopped=True)[2] == []
    _, _, problems = clientrun.collect(str(path), 4, _child_status(code=0))
    assert problems == ["the load generator recorded 3 clients where the case ran 4"]


def test_a_client_window_far_shorter_than_its_ramp_is_a_failure():
    p = params.defaults(case="x", mode="delay", clients=11, client_ramp_s=1.0)
    assert "the load generator did not run its clients" in clientrun.window_problems(p, [0.5, 0.58])[0]
    assert clientrun.window_problems(p, [0.5, 1.5]) == []
    assert clientrun.window_problems(params.defaults(case="x", mode="ok"), [0.5, 0.51]) == []


def test_the_hosts_pace_is_retryable_and_the_cases_own_failure_is_not():
    unix = {"t": [0.3 + 0.01 * i for i in range(50)] + [3.5 + 0.01 * i for i in range(50)]}
    stub = {"t": [0.3 + 0.1 * i for i in range(40)], "error": [None] * 40}
    samples = {"unix": unix, "stub_status": stub}
    observed = {"mode": "ok", "upstream_alive": True, "master_alive": True, "workers_start": [1], "workers_end": [1]}
    late = validity.assess(observed, samples, [0.3, 4.0], 0.01, 0.1)
    assert late["valid"] is False and late["retryable"] is True and late["case_problems"] == []
    broken = validity.assess(observed, samples, [0.3, 4.0], 0.01, 0.1, case_problems=["the load generator ended"])
    assert broken["retryable"] is False and broken["case_problems"] == ["the load generator ended"]
    dead = validity.assess(dict(observed, upstream_alive=False), samples, [0.3, 4.0], 0.01, 0.1)
    assert dead["retryable"] is False and "the upstream (mode ok) ended" in dead["case_problems"][0]


def test_a_ramp_the_host_could_not_keep_is_a_pace_problem():
    p = params.defaults(case="x", mode="delay", clients=3, client_ramp_s=1.0, upstream_delay_ms=3000)
    records = [{"connected": t} for t in (0.4, 1.9, 4.6)]
    assert "the clients arrived over 4.20 s, longer than the upstream's 3.0 s delay" in \
        validity.ramp_problems(p, records)[0]
    assert validity.ramp_problems(p, records[:2]) == []


def test_a_cases_need_of_room_and_the_refusal_that_names_the_fix():
    p = params.defaults(case="x", mode="no-accept", clients=100, request_method="POST", request_body_bytes=1 << 20)
    assert params.needs(p)["disk_bytes"] >> 20 == 104
    [error] = params.check_host(p, None, None, free_run_bytes=4 << 20)
    assert "write up to 104 MB in the case folder" in error and "has 4 MB free" in error
    assert "free space there, or send smaller bodies or fewer clients" in error
    # a body within client_body_buffer_size, or request buffering off, is not spooled
    small = dict(p, client_body_buffer_size="2m")
    off = dict(p, proxy_request_buffering=False)
    assert params.check_host(small, None, None, free_run_bytes=8 << 20) == []
    assert params.check_host(off, None, None, free_run_bytes=8 << 20) == []


def test_what_a_run_gives_a_case_is_checked_before_the_argument_spec_reads_it():
    assert params.check_given({"clients": True}) == ["clients=True is a yes/no, where a number is wanted: give a number"]
    assert "case is set by the kit" in params.check_given({"case": "other"})[0]
    assert "would replace the binary of every release" in params.check_given({"nginx_binary": "/x"}, ["1.18.0", "1.22.1"])[0]
    assert params.check_given({"nginx_binary": "/x"}, ["1.22.1"]) == []
    assert "npl_pace_retries" in params.check_run({"pace_retries": 9})[0]


def test_a_build_tree_that_changed_since_its_stamp_is_named(tmp_path):
    dest = tmp_path / "1.18.0"
    for sub in ("sbin", "conf", "logs"):
        (dest / sub).mkdir(parents=True)
    (dest / "sbin" / "nginx").write_bytes(b"\x7fELF the build")
    (dest / "conf" / "mime.types").write_text("types {}")
    (dest / "logs" / "error.log").write_text("run-time files are not the build")
    stamp = {"files": build_stamp.tree(str(dest))}
    assert sorted(stamp["files"]) == ["conf/mime.types", "sbin/nginx"]
    assert build_stamp.differences(str(dest), stamp) == []
    (dest / "sbin" / "nginx").write_text("#!/bin/sh\nexec /usr/sbin/nginx \"$@\"\n")
    (dest / "conf" / "mime.types").unlink()
    (dest / "conf" / "extra.conf").write_text("")
    assert build_stamp.differences(str(dest), stamp) == ["sbin/nginx changed", "conf/mime.types is missing",
                                                        "conf/extra.conf was added"]
    assert build_stamp.differences(str(dest), stamp, binary_only=True) == ["sbin/nginx changed"]
    assert build_stamp.differences(str(dest), {"identity": {}}) == ["the stamp records no file hashes (a build of an "
                                                                   "older kit)"]


def test_a_staging_folder_is_swept_only_when_its_builder_is_gone(tmp_path):
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.provision import nginx_build
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import start_ticks
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name, pid, start in ((".build-1.18.0-dead", dead.pid, 1), (".build-1.18.0-live", os.getpid(),
                                                                 start_ticks(os.getpid()))):
        (tmp_path / name).mkdir()
        (tmp_path / name / nginx_build.OWNER).write_text(json.dumps({"pid": pid, "start": start}))
    (tmp_path / "1.18.0").mkdir()
    assert nginx_build.sweep_staging(str(tmp_path)) == [str(tmp_path / ".build-1.18.0-dead")]
    assert sorted(os.listdir(tmp_path)) == [".build-1.18.0-live", "1.18.0"]
