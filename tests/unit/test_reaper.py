"""The reaper's choices on real folders: what a dead guardian's journal names goes, nothing else does."""

import json
import os
import subprocess

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import journal, reaper
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import start_ticks


def _dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _somaxconn():
    with open("/proc/sys/net/core/somaxconn") as handle:
        return int(handle.read())


def _layout(tmp_path):
    dirs = {name: tmp_path / name for name in ("netns", "run", "journal")}
    for folder in dirs.values():
        folder.mkdir()
    return dirs


def _reap(dirs, grace_s=30):
    return reaper.reap(run_dir=str(dirs["run"]), netns_dir=str(dirs["netns"]), journal_dir=str(dirs["journal"]), ftrace_sweep=False,
                       grace_s=grace_s)


def _backdate(path, seconds=3600):
    old = os.path.getmtime(path) - seconds
    os.utime(path, (old, old))


def test_a_folder_named_like_a_case_and_old_goes_other_names_and_young_ones_stay(tmp_path):
    dirs = _layout(tmp_path)
    for name in ("npl-0badc0de", "npl-matrix", "capture", "npl-bench-42", "npl-1234abcd"):
        (dirs["run"] / name).mkdir()
    (dirs["run"] / "npl-0badc0de" / "nginx.conf").write_text("x")
    for name in ("npl-0badc0de", "npl-matrix", "capture", "npl-bench-42"):
        _backdate(dirs["run"] / name)
    done = _reap(dirs)
    assert [(item["kind"], item["paths"]) for item in done] == [("folder", [str(dirs["run"] / "npl-0badc0de")])]
    assert sorted(os.listdir(dirs["run"])) == ["capture", "npl-1234abcd", "npl-bench-42", "npl-matrix"]


def test_a_dead_guardians_journal_is_undone_and_removed_a_live_ones_claims_stay(tmp_path):
    dirs = _layout(tmp_path)
    dead_case, live_case = dirs["run"] / "npl-00000001", dirs["run"] / "npl-00000002"
    for folder in (dead_case, live_case):
        folder.mkdir()
        _backdate(folder)
    dead = {"guardian_pid": _dead_pid(), "guardian_start": 1,
            "state": {"pgids": [], "pids": [], "netns": [], "paths": [str(dead_case)], "sysctls": {}, "starts": {}}}
    live = {"guardian_pid": os.getpid(), "guardian_start": start_ticks(os.getpid()),
            "state": {"pgids": [], "pids": [], "netns": [], "paths": [str(live_case)], "sysctls": {}, "starts": {}}}
    (dirs["journal"] / "1.json").write_text(json.dumps(dead))
    (dirs["journal"] / ("%d.json" % os.getpid())).write_text(json.dumps(live))
    done = _reap(dirs)
    assert [(item["kind"], item["paths"], item["problems"]) for item in done] == [("journal", [str(dead_case)], [])]
    assert os.listdir(dirs["run"]) == ["npl-00000002"]
    assert os.listdir(dirs["journal"]) == ["%d.json" % os.getpid()]


def test_a_journal_is_written_atomically_and_removed(tmp_path):
    state = {"pgids": [os.getpid()], "pids": [], "netns": ["npl-00000003"], "paths": [], "sysctls": {}, "starts": {}}
    journal.write(state, folder=str(tmp_path))
    [(path, doc)], aside = journal.read_all(str(tmp_path))
    assert aside == []
    assert doc["guardian_pid"] == os.getpid() and doc["state"] == state and journal.guardian_alive(doc)
    assert os.listdir(tmp_path) == ["%d.json" % os.getpid()]
    journal.remove(folder=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_a_reused_group_number_is_not_signalled(tmp_path):
    """A group recorded with another start time than the live process of that number now has is left alone."""
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        state = {"pgids": [sleeper.pid], "pids": [sleeper.pid], "netns": [], "paths": [], "sysctls": {},
                 "starts": {str(sleeper.pid): start_ticks(sleeper.pid) - 1}}
        assert reaper.guardian.clean(state) == []
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dead_guardians_journal_naming_what_the_kit_does_not_create_touches_none_of_it(tmp_path):
    """Fault probe: a journal naming a folder outside the kit and a namespace `probevictim` got both deleted."""
    dirs = _layout(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    nested = dirs["run"] / "npl-0000000a" / "npl-0000000b"
    nested.mkdir(parents=True)
    case = dirs["run"] / "npl-0000000c"
    case.mkdir()
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        doc = {"guardian_pid": _dead_pid(), "guardian_start": 1, "state": {
            "pgids": [sleeper.pid, 1], "pids": [], "netns": ["probevictim", "npl-0000000d"],
            "paths": [str(victim), str(nested), str(dirs["run"] / "npl-0000000c" / ".." / "npl-0000000a"),
                      str(case)],
            # the host's own value: restoring it changes nothing on this machine
            "sysctls": {"kernel.panic": 1, "net.core.somaxconn": _somaxconn()}, "starts": {}}}
        journal_file = dirs["journal"] / "4242.json"
        journal_file.write_text(json.dumps(doc))
        done = _reap(dirs)
        assert sleeper.poll() is None, "a group without its start time must never be signalled"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (victim / "keep.txt").read_text() == "mine" and nested.is_dir()
    assert not case.exists(), "the case folder the journal names is the kit's own and goes"
    [item] = done
    assert item["kind"] == "journal" and item["journal"] == str(journal_file) and item["paths"] == [str(case)]
    refused = " ".join(item["refused"])
    for name in ("probevictim", str(victim), str(nested), "kernel.panic", "group %d" % sleeper.pid, "group 1"):
        assert name in refused, (name, refused)
    assert "net.core.somaxconn=" not in refused and item["sysctls_restored"] == {"net.core.somaxconn": _somaxconn()}
    assert not journal_file.exists() and os.path.exists(item["journal_moved_to"])
    undone, alarms = reaper.describe(done)
    assert str(journal_file) in alarms[0] and "probevictim" in alarms[0]
    assert undone.count("npl-0000000c") == 1, undone


@pytest.mark.parametrize("content", ["[1,2]", "garbage", '{"guardian_pid": 7, "state": {"paths": "x"}}',
                                     '{"guardian_pid": "7", "state": {}}', '{"guardian_pid": 7, "state": {"starts": {"1": "a"}}}'])
def test_a_malformed_journal_is_set_aside_with_a_warning_naming_it_and_the_rest_goes_on(tmp_path, content):
    dirs = _layout(tmp_path)
    (dirs["journal"] / "13.json").write_text(content)
    leftover = dirs["run"] / "npl-0000000e"
    leftover.mkdir()
    _backdate(leftover)
    done = _reap(dirs)
    assert [item["kind"] for item in done] == ["malformed-journal", "folder"]
    assert done[0]["journal"] == str(dirs["journal"] / "13.json") and done[0]["why"]
    [moved] = os.listdir(dirs["journal"])
    assert moved.startswith("13.json.malformed-") and (dirs["journal"] / moved).read_text() == content
    _, alarms = reaper.describe(done)
    assert str(dirs["journal"] / "13.json") in alarms[0] and "malformed" in alarms[0]
    assert _reap(dirs) == [], "a journal set aside is not read again"


def _wait_alive(pid, seconds=5.0):
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and start_ticks(pid) is None:
        time.sleep(0.01)
    return start_ticks(pid)


def _orphaned_group(seconds):
    """A process group whose leader has exited, with one member left (`setsid sh -c 'sleep N & exit 0'`): (group,
    the member's PID)."""
    out = subprocess.run(["setsid", "sh", "-c", "sleep %d >/dev/null 2>&1 & echo $$ $!" % seconds],
                         capture_output=True, text=True, check=True)
    leader, member = (int(x) for x in out.stdout.split())
    _wait_alive(member)
    return leader, member


def test_a_journal_cannot_make_the_reaper_signal_a_group_the_kit_did_not_start(tmp_path):
    """Fault probe of issue 25: a journal naming (a) a group whose leader has exited, with a wrong start time, and (b)
    a live `setsid sleep` with its correct start time got both killed. Neither shows anything of a case (no kit
    process name, no case folder in its command line or open files): both stay, the warning says they were left
    alone, and the journal is set aside, not deleted."""
    dirs = _layout(tmp_path)
    case = dirs["run"] / "npl-0000000f"
    case.mkdir()
    leader, orphan = _orphaned_group(1004)
    sleeper = subprocess.Popen(["setsid", "sleep", "1003"])
    try:
        _wait_alive(sleeper.pid)
        doc = {"guardian_pid": _dead_pid(), "guardian_start": 1, "state": {
            "pgids": [leader, sleeper.pid], "pids": [], "netns": [], "paths": [str(case)], "sysctls": {},
            "starts": {str(leader): 12345, str(sleeper.pid): start_ticks(sleeper.pid)}}}
        journal_file = dirs["journal"] / "4343.json"
        journal_file.write_text(json.dumps(doc))
        [item] = _reap(dirs)
        assert sleeper.poll() is None, "a live foreign group named with its start time was signalled"
        assert start_ticks(orphan) is not None, "a member of a leaderless foreign group was signalled"
    finally:
        sleeper.kill()
        sleeper.wait()
        subprocess.run(["kill", "-9", str(orphan)], check=False)
    assert item["groups"] == [] and item["processes"] == []
    refused = " ".join(item["refused"])
    assert "process group %d" % leader in refused and "process group %d" % sleeper.pid in refused, refused
    undone, alarms = reaper.describe([item])
    assert "process group" not in undone, "the warning claims to have undone what it left alone: %s" % undone
    assert str(leader) in alarms[0] and str(sleeper.pid) in alarms[0] and "left untouched" in alarms[0]
    assert not journal_file.exists() and ".refused-" in item["journal_moved_to"]
    assert os.path.exists(item["journal_moved_to"]) and not case.exists()


def test_a_group_that_shows_it_is_a_cases_is_signalled_whole_or_member_by_member(tmp_path):
    """What the reaper still undoes: a live group whose leader runs with the case folder in its command line, and the
    member of a leaderless group that holds a file of the case folder open."""
    dirs = _layout(tmp_path)
    case = dirs["run"] / "npl-0000001f"
    case.mkdir()
    (case / "error.log").write_text("")
    leader = subprocess.Popen(["sh", "-c", "sleep 1005; : %s/upstream.sock" % case], start_new_session=True)
    out = subprocess.run(["setsid", "sh", "-c", "sleep 1006 >>%s/error.log 2>&1 & echo $$ $!" % case],
                         capture_output=True, text=True, check=True)
    gone, member = (int(x) for x in out.stdout.split())
    try:
        _wait_alive(leader.pid)
        _wait_alive(member)
        doc = {"guardian_pid": _dead_pid(), "guardian_start": 1, "state": {
            "pgids": [leader.pid, gone], "pids": [], "netns": [], "paths": [str(case)], "sysctls": {},
            "starts": {str(leader.pid): start_ticks(leader.pid), str(gone): 1}}}
        (dirs["journal"] / "4444.json").write_text(json.dumps(doc))
        [item] = _reap(dirs)
        assert leader.wait(5) is not None
        assert item["groups"] == [leader.pid] and item["processes"] == [member] and item["refused"] == []
        import time
        from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import alive
        deadline = time.monotonic() + 5
        while alive(member) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(member), "the member that holds the case's log open was left"
        undone, _ = reaper.describe([item])
        assert "process groups %d" % leader.pid in undone and str(member) in undone
        assert os.listdir(dirs["journal"]) == [], "a journal fully undone is removed"
    finally:
        leader.kill()
        leader.wait()
        subprocess.run(["kill", "-9", str(member)], check=False)
