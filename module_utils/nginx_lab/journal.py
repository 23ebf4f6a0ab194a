"""The guardian's record of what a case created, on disk, so that a later run can undo it if the guardian died.

The guardian undoes a case's processes, namespace, folder and sysctls in every outcome it lives through.
It cannot when it is killed itself (SIGKILL of the whole process tree, every process of the machine ended
at once): what the case created stays. Each guardian therefore keeps its state in
/run/nginx-proxy-lab/journal/<guardian PID>.json, rewritten (atomically) whenever the worker tracks
something and removed once the clean-up succeeded. A journal whose guardian is gone names exactly what
is left; reaper.py undoes it.
"""

import json
import os

from .procnet import alive, start_ticks

JOURNAL_DIR = "/run/nginx-proxy-lab/journal"


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


def read_all(folder=JOURNAL_DIR):
    """Every journal as (path, document); unreadable ones (a guardian killed mid-write leaves only .tmp) skipped."""
    out = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return out
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as handle:
                out.append((path, json.load(handle)))
        except (OSError, ValueError):
            continue
    return out


def guardian_alive(doc):
    return alive(doc.get("guardian_pid", 0), doc.get("guardian_start"))
