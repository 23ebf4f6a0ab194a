"""One run at a time on a host: /run/nginx-proxy-lab/run.lock names the run that holds the host.

A second run is refused while the holder lives, so two runs never measure each other's load nor
collide in host isolation. The holder is gone when its ansible-playbook process has ended (checked
by PID and start time where the controller is this host) or when it has not been heard of for
`stale_after_s` and no case of it can still be running (each case stamps the lock at its start,
with the time by which it will have ended).
"""

import contextlib
import fcntl
import json
import os
import socket
import time

from . import procnet

LOCK = "/run/nginx-proxy-lab/run.lock"


class Held(Exception):
    """Another live run holds the host; the message says which and what to do."""


class Malformed(ValueError):
    """The lock file is not a lock document (a run of the kit writes one atomically, so it was not a run)."""


def read(path=LOCK):
    """The lock document, or None when there is no lock; Malformed when the file holds something else."""
    try:
        with open(path) as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise Malformed("it is not JSON (%s)" % exc)
    if not isinstance(doc, dict) or not isinstance(doc.get("run_id"), str):
        raise Malformed("it holds no run_id")
    return doc


def _set_aside(path, why):
    target = "%s.malformed-%s" % (path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    os.replace(path, target)
    return {"path": path, "moved_to": target, "why": why}


def _write(path, doc):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(doc, handle)
    os.replace(tmp, path)


@contextlib.contextmanager
def _serialized(path):
    """Hold an exclusive flock on the lock's folder: two runs taking the host at the same moment must not both
    see no live holder (one read the file between the other's create and its write, and took it over)."""
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def holder_alive(doc, now=None, stale_after_s=900.0):
    """Whether the run recorded in lock document `doc` may still be running, and why."""
    now = time.time() if now is None else now
    if doc.get("controller_host") == socket.gethostname() and doc.get("controller_pid"):
        alive_now = procnet.alive(doc["controller_pid"], doc.get("controller_start"))
        return alive_now, "its ansible-playbook (PID %s on this host) %s" % (
            doc["controller_pid"], "is running" if alive_now else "has ended")
    quiet = now - float(doc.get("updated", 0))
    busy = float(doc.get("busy_until", 0)) - now
    recent = quiet < stale_after_s or busy > 0
    return recent, "last heard of %.0f s ago from %s%s" % (quiet, doc.get("controller_host"),
                                                         ", a case may run %.0f s more" % busy if busy > 0 else "")


def hold(run_id, controller_host=None, controller_pid=None, controller_start=None, stale_after_s=900.0, path=LOCK):
    """Take (or refresh) the host for `run_id`; raises Held naming the holder when another live run has it.
    Returns {"taken_over": the previous holder's document when a dead run's lock was taken over, else None,
    "set_aside": {path, moved_to, why} when the lock file was malformed and renamed aside, else None}."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _serialized(path):
        return _hold(run_id, controller_host, controller_pid, controller_start, stale_after_s, path)


def _hold(run_id, controller_host, controller_pid, controller_start, stale_after_s, path):
    doc = {"run_id": run_id, "controller_host": controller_host, "controller_pid": controller_pid,
           "controller_start": controller_start, "updated": time.time(), "busy_until": 0}
    out = {"taken_over": None, "set_aside": None}
    try:
        old = read(path)
    except Malformed as exc:
        out["set_aside"] = _set_aside(path, str(exc))
        old = None
    if old is None:
        _write(path, doc)
        return out
    if old.get("run_id") == run_id:
        old.update(updated=time.time())
        _write(path, old)
        return out
    live, why = holder_alive(old, stale_after_s=stale_after_s)
    if live:
        raise Held("run %s holds this host (%s, %s): wait for it to end; if no such run is going on, remove %s"
                   % (old.get("run_id"), path, why, path))
    _write(path, doc)
    out["taken_over"] = old
    return out


def stamp(run_id, busy_s, path=LOCK):
    """A case of `run_id` starts and will be over within `busy_s`; raises Held if another run holds the host."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _serialized(path):
        _stamp(run_id, busy_s, path)


def _stamp(run_id, busy_s, path):
    try:
        old = read(path)
    except Malformed as exc:
        raise Held("the host lock %s is malformed (%s), so run %s does not hold this host: run cases through "
                   "run_cases.yml, whose first task sets such a file aside" % (path, exc, run_id))
    if old is None:
        raise Held("run %s does not hold this host (no %s): run cases through run_cases.yml, or leave run_id unset"
                   % (run_id, path))
    if old.get("run_id") != run_id:
        raise Held("run %s holds this host, not run %s: wait for it to end, or remove %s if it is gone"
                   % (old.get("run_id"), run_id, path))
    old.update(updated=time.time(), busy_until=max(float(old.get("busy_until", 0)), time.time() + busy_s))
    _write(path, old)


def release(run_id, path=LOCK):
    """Give the host up if `run_id` holds it; True when a lock was removed."""
    if not os.path.isdir(os.path.dirname(path)):
        return False
    with _serialized(path):
        try:
            old = read(path)
        except Malformed:
            return False
        if old is not None and old.get("run_id") == run_id:
            os.unlink(path)
            return True
    return False
