"""The guardian's record of what a case created, on disk, so that a later run can undo it if the guardian died.

The guardian undoes a case's processes, namespace, folder and sysctls in every outcome it lives through.
It cannot when it is killed itself (SIGKILL of the whole process tree, every process of the machine ended
at once): what the case created stays. Each guardian therefore keeps its state in
/run/nginx-proxy-lab/journal/<guardian PID>.json, rewritten (atomically) whenever the worker tracks
something and removed once the clean-up succeeded. A journal whose guardian is gone names exactly what
is left; reaper.py undoes it.

A journal that is not such a document (not JSON, or not the shape write() gives) is never acted on: read_all()
renames it aside (<name>.malformed-<UTC time>, which read_all() no longer reads) and says so, so that one bad
file neither blocks every run nor stays unnoticed.
"""

import json
import os
import time

from .procnet import alive, start_ticks

JOURNAL_DIR = "/run/nginx-proxy-lab/journal"
# The lists and maps of a guardian's state (guardian.new_state()), with the type of their items.
STATE_LISTS = {"pgids": int, "pids": int, "netns": str, "paths": str, "ftrace": str}


def path_for(pid, folder=JOURNAL_DIR):
    return os.path.join(folder, "%d.json" % pid)


def write(state, folder=JOURNAL_DIR):
    """Save the calling guardian's `state` (guardian.new_state() plus the start times of its groups)."""
    os.makedirs(folder, exist_ok=True)
    pid = os.getpid()
    doc = {"guardian_pid": pid, "guardian_start": start_ticks(pid), "state": state}
    target = path_for(pid, folder)
    tmp = target + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(doc, handle)
    os.replace(tmp, target)


def remove(folder=JOURNAL_DIR):
    try:
        os.unlink(path_for(os.getpid(), folder))
    except FileNotFoundError:
        pass


def shape_problem(doc):
    """Why `doc` is not a journal as write() makes it, or None when it is."""
    if not isinstance(doc, dict):
        return "it holds a %s, not an object" % type(doc).__name__
    if not isinstance(doc.get("guardian_pid"), int) or isinstance(doc.get("guardian_pid"), bool):
        return "guardian_pid is not a number"
    state = doc.get("state")
    if not isinstance(state, dict):
        return "state is not an object"
    for key, kind in STATE_LISTS.items():
        value = state.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
            return "state.%s is not a list of %s" % (key, "numbers" if kind is int else "strings")
    for key in ("sysctls", "starts"):
        if not isinstance(state.get(key, {}), dict):
            return "state.%s is not an object" % key
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in state.get("starts", {}).values()):
        return "state.starts holds a start time that is not a number"
    return None


def set_aside(path, why):
    """Rename a file that must not be acted on next to itself, with the time; returns the new path."""
    target = "%s.malformed-%s" % (path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    os.replace(path, target)
    return target


def read_all(folder=JOURNAL_DIR):
    """(journals, set_aside): every journal as (path, document), and every malformed one renamed aside as
    {"path": original, "moved_to": new path, "why": reason}. A guardian writes its journal atomically (a .tmp, then a
    rename), so a .json that does not parse was not written by a guardian of the kit."""
    out, aside = [], []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return out, aside
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as handle:
                doc = json.load(handle)
            why = shape_problem(doc)
        except ValueError as exc:
            why = "it is not JSON (%s)" % exc
        except OSError:
            continue  # removed meanwhile by its guardian
        if why is None:
            out.append((path, doc))
            continue
        try:
            aside.append({"path": path, "moved_to": set_aside(path, why), "why": why})
        except OSError as exc:
            aside.append({"path": path, "moved_to": None, "why": "%s; could not rename it: %s" % (why, exc.strerror)})
    return out, aside


def guardian_alive(doc):
    return alive(doc.get("guardian_pid", 0), doc.get("guardian_start"))
