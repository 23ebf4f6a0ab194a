"""A watchdog process that removes everything a case created, whatever happens to the case.

The module forks the guardian before it changes anything and tells it, over a
pipe, about each thing it creates (process groups, a network namespace, files,
a changed sysctl). When the pipe closes, because the module finished, raised,
got SIGINT or was SIGKILLed, the guardian undoes all of it. It runs in its own
session and ignores SIGINT/SIGTERM/SIGHUP so a Ctrl-C or a group kill aimed at
the run does not stop the clean-up.
"""

import json
import os
import shutil
import signal
import time

from . import netns
from .procnet import process_table, read_file


def _alive(pid):
    text = read_file("/proc/%d/stat" % pid)
    return bool(text) and text.rpartition(")")[2].split()[0] not in ("Z", "X")


def _group_members(pgid):
    return [pid for pid, (_, state, _, pgrp) in process_table().items() if pgrp == pgid and state not in ("Z", "X")]


def _wait_gone(pids_fn, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
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


def clean(state, exclude=()):
    """Undo `state` (the guardian's record). Returns a list of what could not be undone."""
    problems = []
    exclude = set(exclude)
    # Process groups: polite first (nginx and the upstream exit on SIGTERM), then SIGKILL.
    groups = [g for g in state["pgids"]]
    for pgid in groups:
        _signal([p for p in _group_members(pgid) if p not in exclude], signal.SIGTERM)
    if not _wait_gone(lambda: [p for g in groups for p in _group_members(g) if p not in exclude], 3.0):
        for pgid in groups:
            _signal([p for p in _group_members(pgid) if p not in exclude], signal.SIGKILL)
        _wait_gone(lambda: [p for g in groups for p in _group_members(g) if p not in exclude], 3.0)
    _signal([p for p in state["pids"] if p not in exclude and _alive(p)], signal.SIGKILL)
    # Anything else still inside the case's namespace (clients, strays) goes too.
    for name in state["netns"]:
        if netns.exists(name):
            ino = netns.inode(name)
            members = lambda: [p for p in netns.members(ino) if p not in exclude and _alive(p)]
            _signal(members(), signal.SIGKILL)
            if not _wait_gone(members, 3.0):
                problems.append("processes still in namespace %s: %s" % (name, members()))
            netns.delete(name)
            if netns.exists(name):
                problems.append("namespace %s could not be deleted" % name)
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


def _run(read_fd, parent, report_fd):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    state = {"pgids": [], "pids": [], "netns": [], "paths": [], "sysctls": {}}
    with os.fdopen(read_fd, "r") as pipe:
        for line in pipe:
            item = json.loads(line)
            kind, value = item["kind"], item["value"]
            if kind == "sysctl":
                # Only the first value seen is the original.
                state["sysctls"].setdefault(value[0], value[1])
            elif value not in state[kind]:
                state[kind].append(value)
    problems = clean(state, exclude=(parent,))
    try:
        os.write(report_fd, json.dumps(problems).encode() + b"\n")
    except OSError:
        pass


class Guardian(object):
    """Fork the watchdog; track() what you create; finish() to undo it all and learn what failed."""

    def __init__(self):
        read_fd, self._write_fd = os.pipe()
        report_r, report_w = os.pipe()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setsid()
                os.close(self._write_fd)
                os.close(report_r)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                self._keep_only(read_fd, report_w)
                _run(read_fd, parent, report_w)
            finally:
                os._exit(0)
        os.close(read_fd)
        os.close(report_w)
        self._report_r = report_r
        self._pipe = os.fdopen(self._write_fd, "w", buffering=1)

    @staticmethod
    def _keep_only(*keep):
        for fd in os.listdir("/proc/self/fd"):
            fd = int(fd)
            if fd > 2 and fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def track(self, kind, value):
        self._pipe.write(json.dumps({"kind": kind, "value": value}) + "\n")
        self._pipe.flush()

    def finish(self):
        """Close the pipe, wait for the clean-up; returns the list of problems it met."""
        self._pipe.close()
        with os.fdopen(self._report_r, "r") as report:
            line = report.readline()
        os.waitpid(self.pid, 0)
        return json.loads(line) if line else ["the guardian ended without a report"]
