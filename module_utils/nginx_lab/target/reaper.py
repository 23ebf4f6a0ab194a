"""Undo what cases left behind when their guardian was killed too (target side).

Two kinds of leftovers, both only ever the kit's own:
- a journal (journal.py) whose guardian is gone: what it names is undone with the guardian's own clean-up, but
  only what a case creates (vet()): namespaces named npl-<8 hex digits>, folders of that name directly under
  /run/nginx-proxy-lab, the sysctl a case changes (net.core.somaxconn), and process groups recorded with their
  start time (a group whose leader now has another start time is someone else's). Anything else a journal names
  is refused, with a warning that names the journal, and the journal is renamed aside (.refused-<time>);
- a case namespace or case folder (named npl-<8 hex digits>, as case.py names them) that no live guardian's
  journal claims and that is older than `grace_s`: a case killed before its guardian saved the journal, or
  by a kit version without journals. Processes still inside such a namespace are killed with it.
Other names under /run/netns and /run/nginx-proxy-lab (the matrix's npl-matrix namespace, capture and bench
folders) are never touched. A malformed journal is renamed aside (journal.read_all) and reported, never acted on.
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
# The only sysctl a case changes on the host (isolation=host), and its bounds.
CASE_SYSCTLS = {"net.core.somaxconn": (1, 2 ** 31 - 1)}


def _claims(doc):
    state = doc.get("state", {})
    return set(state.get("netns", [])) | {os.path.basename(p) for p in state.get("paths", [])}


def _age_s(path, now):
    try:
        return now - os.lstat(path).st_mtime
    except OSError:
        return 0.0


def vet(state, run_dir=RUN_DIR):
    """(what of a dead guardian's `state` the kit made and may undo, what it refuses with why)."""
    keep, refused = guardian.new_state(), []
    for name in state.get("netns", []):
        if CASE_NAME.match(name):
            keep["netns"].append(name)
        else:
            refused.append("namespace %s (not a case namespace, npl-<8 hex digits>)" % name)
    for path in state.get("paths", []):
        if os.path.dirname(os.path.normpath(path)) == os.path.normpath(run_dir) \
                and CASE_NAME.match(os.path.basename(os.path.normpath(path))) and os.path.normpath(path) == path:
            keep["paths"].append(path)
        else:
            refused.append("path %s (not a case folder, %s/npl-<8 hex digits>)" % (path, run_dir))
    for key, value in state.get("sysctls", {}).items():
        bounds = CASE_SYSCTLS.get(key)
        if bounds and isinstance(value, int) and bounds[0] <= value <= bounds[1]:
            keep["sysctls"][key] = value
        else:
            refused.append("sysctl %s=%r (a case changes only %s)" % (key, value, ", ".join(sorted(CASE_SYSCTLS))))
    starts = state.get("starts", {})
    for kind in ("pgids", "pids"):
        for pid in state.get(kind, []):
            if pid > 1 and str(pid) in starts:
                keep[kind].append(pid)
                keep["starts"][str(pid)] = starts[str(pid)]
            else:
                refused.append("process%s %d (%s)" % (" group" if kind == "pgids" else "", pid, "no start time "
                               "recorded to tell it from another process" if pid > 1 else "not a case's process"))
    return keep, refused


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


def _undo_journal(path, doc, run_dir):
    keep, refused = vet(doc["state"], run_dir)
    problems = guardian.clean(keep)
    item = {"kind": "journal", "journal": path, "guardian_pid": doc.get("guardian_pid"), "netns": keep["netns"],
            "paths": keep["paths"], "sysctls_restored": keep["sysctls"], "groups": keep["pgids"],
            "problems": problems, "refused": refused}
    if problems:
        return item  # kept: the next run's reaper tries again
    if refused:
        try:
            item["journal_moved_to"] = "%s.refused-%s" % (path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
            os.replace(path, item["journal_moved_to"])
        except OSError as exc:
            item["problems"] = ["could not rename the journal aside: %s" % exc.strerror]
    else:
        os.unlink(path)
    return item


def reap(run_dir=RUN_DIR, netns_dir=netns.NETNS_RUN_DIR, journal_dir=journal.JOURNAL_DIR, grace_s=30.0):
    """Undo every leftover of a dead case; returns one record per leftover undone, refused or set aside (an empty
    list when there was none)."""
    reaped, claimed = [], set()
    journals, aside = journal.read_all(journal_dir)
    for item in aside:
        reaped.append({"kind": "malformed-journal", "journal": item["path"], "journal_moved_to": item["moved_to"],
                       "why": item["why"], "problems": []})
    for path, doc in journals:
        if journal.guardian_alive(doc):
            claimed |= _claims(doc)
            continue
        reaped.append(_undo_journal(path, doc, run_dir))
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


def _undone(item):
    """What a record undid, each name once: namespace X, folder Y, restored sysctls."""
    parts = ["namespace %s" % n for n in item.get("netns", [])] + ["folder %s" % p for p in item.get("paths", [])]
    if item.get("groups"):
        parts.append("process groups %s" % ", ".join(str(g) for g in item["groups"]))
    sysctls = item.get("sysctls_restored") or {}
    if sysctls:
        parts.append("restored " + ", ".join("%s=%s" % kv for kv in sorted(sysctls.items())))
    return ", ".join(parts)


def describe(reaped):
    """(one line of what was undone, one warning per journal refused or set aside) for the lock task's warnings."""
    undone, alarms = [], []
    for item in reaped:
        left = " (left: %s)" % "; ".join(item["problems"]) if item.get("problems") else ""
        if item["kind"] == "malformed-journal":
            alarms.append("journal %s is malformed (%s) and was not acted on; %s: delete it once you have looked at "
                          "it" % (item["journal"], item["why"], "renamed to %s" % item["journal_moved_to"]
                                  if item["journal_moved_to"] else "it could not be renamed"))
            continue
        what = _undone(item)
        if item["kind"] == "journal":
            if what or left:
                undone.append("journal %s: %s%s" % (item["journal"], what or "nothing of the kit's", left))
            if item.get("refused"):
                alarms.append("journal %s names what the kit does not create, left untouched: %s; %s" % (
                    item["journal"], "; ".join(item["refused"]),
                    "the journal was renamed to %s" % item["journal_moved_to"] if item.get("journal_moved_to")
                    else "the journal stays"))
        else:
            undone.append("%s%s" % (what, left))
    return "; ".join(undone), alarms
