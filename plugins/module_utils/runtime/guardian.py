"""Run a case's work in a supervised process tree that is always cleaned up.

    module process M ──fork──► guardian G (own session, child subreaper, ignores SIGINT/TERM/HUP)
                                  └─fork──► worker W: does the case, tells G about everything it
                                            creates (process groups, namespace, files, sysctls)

W sends its result straight to M. G undoes everything W created as soon as W
ends (normally or not), or kills W first if M goes away (M finished, raised,
got Ctrl-C, or was SIGKILLed). G is the subreaper of W's tree, so the nginx
and upstream processes that outlive W are reaped by G, not left as orphans.
G keeps what it must undo in a journal on disk (journal.py), so that if G itself is killed the next
run undoes it (reaper.py).
"""

import ctypes
import json
import os
import select
import shutil
import signal
import time
import traceback

from . import ftrace, journal, netns
from .procnet import alive, process_table, start_ticks

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NAME = 15


def set_process_name(name):
    """The name `ps -C`, `pgrep -x` and top show for this process (at most 15 bytes); the command line stays."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


class CaseError(Exception):
    """A refusal or failure with a message meant for the user."""


def _group_members(pgid):
    return [pid for pid, (_, state, _, pgrp) in process_table().items() if pgrp == pgid and state not in ("Z", "X")]


def _wait_gone(pids_fn, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap()
        if not pids_fn():
            return True
        time.sleep(0.02)
    return not pids_fn()


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap():
    """Collect every exited child (as subreaper, orphans of the worker are ours)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reap_all(seconds):
    """Wait until every child (the worker and the orphans we adopted) has been collected."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def new_state():
    # "starts": start time (clock ticks) of each tracked PID and group leader, so that a reaper acting long after
    # (journal.py) never signals a process that merely reuses the number.
    # "ftrace": the case's ftrace instances (ftrace.py), kernel objects that outlive every process of the case.
    return {"pgids": [], "pids": [], "netns": [], "paths": [], "sysctls": {}, "starts": {}, "ftrace": []}


def record(state, kind, value):
    if kind == "sysctls":
        state["sysctls"].setdefault(value[0], value[1])  # only the first value seen is the original
    elif value not in state.setdefault(kind, []):
        state[kind].append(value)
        if kind in ("pgids", "pids"):
            state.setdefault("starts", {})[str(value)] = start_ticks(value)


def _same_process(state, pid):
    """False when `pid` now belongs to another process than the one tracked (its start time differs)."""
    started = state.get("starts", {}).get(str(pid))
    return started is None or not alive(pid) or alive(pid, started)


def clean(state):
    """Undo `state`. Returns a list of what could not be undone."""
    problems = []
    # A group whose leader is alive but started at another time is a new group with a reused number (the
    # kernel keeps a PID out of use while a group of that number has members, so a dead leader's group is ours).
    groups = [g for g in state["pgids"] if _same_process(state, g)]
    members = lambda: [p for g in groups for p in _group_members(g)]
    # Polite first (nginx and the upstream exit on SIGTERM), then SIGKILL.
    _signal(members(), signal.SIGTERM)
    _signal(members(), signal.SIGCONT)  # a worker a case action stopped acts on SIGTERM only once continued
    if not _wait_gone(members, 3.0):
        _signal(members(), signal.SIGKILL)
        if not _wait_gone(members, 3.0):
            problems.append("processes that would not die: %s" % members())
    _signal([p for p in state["pids"] if alive(p, state.get("starts", {}).get(str(p)))], signal.SIGKILL)
    for name in state["netns"]:
        if not netns.exists(name):
            continue
        ino = netns.inode(name)
        inside = lambda: [p for p in netns.members(ino) if alive(p)]
        _signal(inside(), signal.SIGKILL)  # clients, strays: nothing may stay in the case's namespace
        if not _wait_gone(inside, 3.0):
            problems.append("processes still in namespace %s: %s" % (name, inside()))
        netns.delete(name)
        if netns.exists(name):
            problems.append("namespace %s could not be deleted" % name)
    for name in state.get("ftrace", []):
        problem = ftrace.remove(name)
        if problem:
            problems.append(problem)
    for key, value in state["sysctls"].items():
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "w") as handle:
                handle.write(str(value))
        except OSError as exc:
            problems.append("could not restore %s=%s: %s" % (key, value, exc))
    for path in reversed(state["paths"]):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            try:
                os.unlink(path)
            except OSError:
                pass
        if os.path.lexists(path):
            problems.append("could not remove %s" % path)
    return problems


def keep_only_fds(*keep):
    """Close every descriptor above 2 but `keep` (in a freshly forked child)."""
    for fd in os.listdir("/proc/self/fd"):
        fd = int(fd)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


class Tracker(object):
    """The worker's line to the guardian: call it for everything you create, before you create it."""

    def __init__(self, fd):
        self.fd = fd
        self._pipe = os.fdopen(fd, "w", buffering=1)

    def __call__(self, kind, value):
        self._pipe.write(json.dumps({"kind": kind, "value": value}) + "\n")
        self._pipe.flush()


def _save_journal(state):
    try:
        journal.write(state)
    except OSError:
        pass  # a read-only or full /run: the clean-up below still runs, only a killed guardian's record is lost


def _worker(work, track_w, result_w):
    set_process_name("npl-case")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        payload = {"ok": work(Tracker(track_w))}
    except CaseError as exc:
        payload = {"error": str(exc)}
    except BaseException:  # anything else is a bug of the kit: say where
        payload = {"error": "internal error in the case runner:\n" + traceback.format_exc()}
    with os.fdopen(result_w, "w") as out:
        json.dump(payload, out)


def _guardian(work, alive_r, result_w, report_w):
    set_process_name("npl-guardian")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    track_r, track_w = os.pipe()
    worker = os.fork()
    if worker == 0:
        code = 1
        try:
            os.close(track_r)
            os.close(alive_r)
            os.close(report_w)
            _worker(work, track_w, result_w)
            code = 0
        finally:
            os._exit(code)
    os.close(track_w)
    os.close(result_w)
    state = new_state()
    buffered = b""
    watching = [alive_r, track_r]
    worker_done = False
    # Until the worker has exited: record what it tracks; if the module goes away first, kill the worker.
    while not worker_done:
        readable, _, _ = select.select(watching, [], [], 0.05)
        if alive_r in readable and not os.read(alive_r, 1):
            watching.remove(alive_r)
            _signal([worker], signal.SIGKILL)
        if track_r in readable:
            data = os.read(track_r, 65536)
            if not data:
                watching.remove(track_r)
            buffered += data
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                try:
                    item = json.loads(line)
                    record(state, item["kind"], item["value"])
                except (ValueError, KeyError, TypeError):
                    pass
            if lines:
                _save_journal(state)
        if track_r not in watching:
            worker_done = os.waitpid(worker, os.WNOHANG)[0] == worker
    problems = clean(state)
    _reap_all(5.0)
    if not problems:
        journal.remove()  # else kept: the next run's reaper tries again
    try:
        os.write(report_w, json.dumps(problems).encode() + b"\n")
    except OSError:
        pass


def run_supervised(work):
    """Run work(track) in a supervised worker process; returns (its return value, clean-up problems).

    `work` must return something JSON can carry; a CaseError it raises is raised here with its message.
    """
    # Ansible may start modules with stdin closed; a pipe must never land on 0-2, which the guardian reuses.
    while True:
        fd = os.open(os.devnull, os.O_RDWR)
        if fd > 2:
            os.close(fd)
            break
    alive_r, alive_w = os.pipe()
    result_r, result_w = os.pipe()
    report_r, report_w = os.pipe()
    guardian = os.fork()
    if guardian == 0:
        try:
            os.setsid()
            os.close(alive_w)
            os.close(result_r)
            os.close(report_r)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            keep_only_fds(alive_r, result_w, report_w)
            _guardian(work, alive_r, result_w, report_w)
        finally:
            os._exit(0)
    os.close(alive_r)
    os.close(result_w)
    os.close(report_w)
    payload = problems = None
    try:
        with os.fdopen(result_r, "r") as result:
            text = result.read()
        payload = json.loads(text) if text else {"error": "the case's worker ended without a result"}
    finally:
        os.close(alive_w)  # tells the guardian to stop the worker, if it still runs
        with os.fdopen(report_r, "r") as report:
            line = report.readline()
        os.waitpid(guardian, 0)
        problems = json.loads(line) if line else ["the guardian ended without a report"]
    if "error" in payload:
        raise CaseError(payload["error"] + ("" if not problems else " (clean-up: %s)" % "; ".join(problems)))
    return payload["ok"], problems
