"""Undo what cases left behind when their guardian was killed too (target side).

Two kinds of leftovers, both only ever the kit's own:
- a journal (journal.py) whose guardian is gone: its processes (by group, checked by start time), namespace,
  sysctls and folder are undone with the guardian's own clean-up;
- a case namespace or case folder (named npl-<8 hex digits>, as case.py names them) that no live guardian's
  journal claims and that is older than `grace_s`: a case killed before its guardian saved the journal, or
  by a kit version without journals. Processes still inside such a namespace are killed with it.
Other names under /run/netns and /run/nginx-proxy-lab (the matrix's npl-matrix namespace, capture and bench
folders) are never touched.
"""

import os
import re
import shutil
import signal
import time

from . import guardian, journal, netns
from .procnet import alive

CASE_NAME = re.compile(r"^npl-[0-9a-f]{8}$")
RUN_DIR = "/run/nginx-proxy-lab"


def _claims(doc):
    state = doc.get("state", {})
    return set(state.get("netns", [])) | {os.path.basename(p) for p in state.get("paths", [])}


def _age_s(path, now):
    try:
        return now - os.lstat(path).st_mtime
    except OSError:
        return 0.0


def _kill_namespace(name):
    """SIGKILL what is left inside namespace `name` and delete it; a problem string, or None."""
    try:
        ino = netns.inode(name)
    except OSError:
        return None
    inside = [p for p in netns.members(ino) if alive(p)]
    for pid in inside:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and any(alive(p) for p in inside):
        time.sleep(0.02)
    netns.delete(name)
    return "namespace %s could not be deleted" % name if netns.exists(name) else None


def reap(run_dir=RUN_DIR, netns_dir=netns.NETNS_RUN_DIR, journal_dir=journal.JOURNAL_DIR, grace_s=30.0):
    """Undo every leftover of a dead case; returns one record per leftover undone (empty when there was none)."""
    reaped, claimed = [], set()
    for path, doc in journal.read_all(journal_dir):
        if journal.guardian_alive(doc):
            claimed |= _claims(doc)
            continue
        state = doc.get("state", {})
        problems = guardian.clean(dict(guardian.new_state(), **state))
        reaped.append({"kind": "journal", "guardian_pid": doc.get("guardian_pid"), "netns": state.get("netns", []),
                       "paths": state.get("paths", []), "sysctls_restored": state.get("sysctls", {}),
                       "groups": state.get("pgids", []), "problems": problems})
        if not problems:
            os.unlink(path)
    now = time.time()
    try:
        names = sorted(os.listdir(netns_dir))
    except FileNotFoundError:
        names = []
    for name in names:
        if CASE_NAME.match(name) and name not in claimed and _age_s(os.path.join(netns_dir, name), now) > grace_s:
            problem = _kill_namespace(name)
            reaped.append({"kind": "namespace", "netns": [name], "problems": [problem] if problem else []})
    try:
        entries = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        entries = []
    for name in entries:
        path = os.path.join(run_dir, name)
        if CASE_NAME.match(name) and name not in claimed and _age_s(path, now) > grace_s:
            shutil.rmtree(path, ignore_errors=True)
            reaped.append({"kind": "folder", "paths": [path],
                           "problems": ["could not remove %s" % path] if os.path.lexists(path) else []})
    return reaped


def describe(reaped):
    """One line for a warning: what was undone."""
    parts = []
    for item in reaped:
        what = ", ".join(item.get("netns", []) + [os.path.basename(p) for p in item.get("paths", [])])
        sysctls = item.get("sysctls_restored") or {}
        if sysctls:
            what += "; restored " + ", ".join("%s=%s" % kv for kv in sorted(sysctls.items()))
        if item.get("problems"):
            what += " (left: %s)" % "; ".join(item["problems"])
        parts.append("%s %s" % (item["kind"], what))
    return "; ".join(parts)
