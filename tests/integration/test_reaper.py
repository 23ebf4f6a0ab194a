"""When a case's guardian is killed with it (every process ended at once), the next run undoes what it left."""

import json
import os
import signal
import subprocess

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import reaper
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import process_table

from . import lab
from .test_cleanup import SLOW_CASE, start_module, wait_until_running


def _descendants(root):
    table = process_table()
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, (_, _, ppid, _) in table.items() if ppid == parent and pid not in found]
        found.update(kids)
        frontier.extend(kids)
    return found


def kill_everything_mid_case(args):
    """Start a case, then stop and SIGKILL the module, its guardian and every process under them at once."""
    proc = start_module(args)
    try:
        module = wait_until_running()
        tree = _descendants(module) | {proc.pid}
        for sig in (signal.SIGSTOP, signal.SIGKILL):  # stopped first, so that nobody reacts to the others dying
            for pid in tree:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        assert lab.wait_for(lambda: not lab.lab_processes(), 10), lab.lab_processes()
    finally:
        proc.kill()
        proc.wait()


def take_the_host():
    """What run_cases.yml does first on a host: nginx_lab_lock state=held (then released again)."""
    results = []
    for state in ("held", "released"):
        e = lab.env()
        e.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
        out = subprocess.run([os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_lab_lock", "-a",
                              json.dumps({"state": state, "run_id": "reaper-test"})],
                             cwd=lab.ROOT, env=e, capture_output=True, text=True, timeout=120)
        results.append(json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"])
    return results[0]


@pytest.mark.parametrize("isolation", ["netns", "host"])
def test_leftovers_of_a_killed_guardian_are_undone_when_the_next_run_takes_the_host(isolation, host_somaxconn):
    # with the kernel's trace of the connects on: its ftrace instance outlives every process of the case too
    args = dict(SLOW_CASE, isolation=isolation, trace_connects=True)
    if isolation == "host":
        args.update(nginx_port=18082, somaxconn=64 if host_somaxconn != 64 else 96)
    kill_everything_mid_case(args)
    left = lab.leftovers(host_somaxconn)
    # The scenario is real: with the guardian dead, nothing undid the case.
    assert left.get("run_dir") and left.get("journals") and left.get("ftrace"), left
    if isolation == "host":
        assert left.get("somaxconn") == args["somaxconn"], left
    else:
        assert left.get("namespaces"), left
    result = take_the_host()
    assert result.get("failed") is not True, result.get("msg")
    assert [item["kind"] for item in result["reaped"]] == ["journal"], result["reaped"]
    assert result["reaped"][0]["problems"] == []
    assert any("killed cases" in w for w in result.get("warnings", [])), result.get("warnings")
    assert lab.leftovers(host_somaxconn) == {}


def test_a_case_namespace_without_a_journal_is_undone_with_what_runs_inside():
    """A case killed before its guardian saved the journal (or by a kit without journals) leaves npl-<hex>."""
    name = "npl-0badc0de"
    subprocess.run(["ip", "netns", "add", name], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "300"])
    try:
        assert lab.wait_for(lambda: name in lab.lab_namespaces(), 5)
        done = reaper.reap(grace_s=0)
        assert [(item["kind"], item["netns"], item["problems"]) for item in done] == [("namespace", [name], [])]
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
        assert name not in lab.lab_namespaces()
    finally:
        sleeper.kill()
        sleeper.wait()
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
