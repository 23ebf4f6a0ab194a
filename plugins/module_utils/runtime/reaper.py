"""Undo what cases left behind when their guardian was killed too (target side).

Two kinds of leftovers, both only ever the kit's own:
- a journal (journal.py) whose guardian is gone: what it names is undone with the guardian's own clean-up, but
  only what a case creates (vet()): namespaces named npl-<8 hex digits>, folders of that name directly under
  /run/nginx-proxy-lab, the sysctl a case changes (net.core.somaxconn), and process groups recorded with their
  start time that are provably the kit's (owned(): the leader alive with that start time and bearing a kit process
  name or the case folder in its command line or open files; with the leader gone, only the members that show it
  one by one). A group whose leader now has another start time is someone else's. Anything else a journal names
  is refused, with a warning that names the journal and what was left alone, and the journal is renamed aside
  (.refused-<time>), never deleted;
- a case namespace or case folder (named npl-<8 hex digits>, as case.py names them) that no live guardian's
  journal claims and that is older than `grace_s`: a case killed before its guardian saved the journal, or
  by a kit version without journals. Processes still inside such a namespace are killed with it.
The same goes for the ftrace instances cases make (ftrace.py), by the same name. Other names under /run/netns and
/run/nginx-proxy-lab (the matrix's npl-matrix namespace, capture and bench
folders) are never touched. A malformed journal is renamed aside (journal.read_all) and reported, never acted on.
"""

import os
import re
import shutil
import signal
import time

from . import ftrace, guardian, journal, netns
from .procnet import alive, start_ticks

CASE_NAME = re.compile(r"^npl-[0-9a-f]{8}$")
RUN_DIR = "/run/nginx-proxy-lab"
# The only sysctl a case changes on the host (isolation=host), and its bounds.
CASE_SYSCTLS = {"net.core.somaxconn": (1, 2 ** 31 - 1)}


def _claims(doc):
    state = doc.get("state", {})
    return set(state.get("netns", [])) | {os.path.basename(p) for p in state.get("paths", [])} | \
        set(state.get("ftrace", []))


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
    for name in state.get("ftrace", []):
        if CASE_NAME.match(name):
            keep["ftrace"].append(name)
        else:
            refused.append("ftrace instance %s (not a case's, npl-<8 hex digits>)" % name)
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


# The names the kit gives its own processes (guardian.set_process_name and the action plugin's runner).
KIT_NAMES = ("npl-case", "npl-loadgen", "npl-guardian", "npl-runner")


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as handle:
            return handle.read()
    except OSError:
        return b"" if binary else ""


def proven_ours(pid, folders):
    """Whether process `pid` shows that a case of the kit started it: it bears one of the kit's process names, or its
    command line, working folder or an open file lies in one of the case `folders` (the journal's vetted case
    folders): the case's nginx runs with -p <folder>, the upstream with --unix <folder>/upstream.sock, nginx's
    workers hold the folder's logs open, strace writes there. A process that shows none of this is not the kit's,
    whatever a journal says."""
    if _read("/proc/%d/comm" % pid).strip() in KIT_NAMES:
        return True
    marks = [os.path.normpath(f) + "/" for f in folders]
    if not marks:
        return False
    cmdline = _read("/proc/%d/cmdline" % pid, binary=True).replace(b"\0", b" ").decode(errors="replace") + " "
    if any(m in cmdline or m[:-1] + " " in cmdline for m in marks):
        return True
    places = []
    try:
        places.append(os.readlink("/proc/%d/cwd" % pid) + "/")
        fd_dir = "/proc/%d/fd" % pid
        for fd in os.listdir(fd_dir):
            try:
                places.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                pass
    except OSError:
        return False
    return any(place.startswith(m) for place in places for m in marks)


def owned(keep):
    """Split the process groups of a vetted journal state by what can be proven (proven_ours) now: (groups whose
    leader is alive, started when the journal says and shows it is the kit's: signalled whole; members of groups
    whose leader is gone that each show they are the kit's: signalled one by one; refused, with why). A group whose
    leader is alive but is not the kit's, or whose members show nothing of the kit, is left alone."""
    folders = keep["paths"]
    groups, members, refused = [], [], []
    for pgid in keep["pgids"]:
        start = keep["starts"].get(str(pgid))
        if alive(pgid):
            if not alive(pgid, start):
                continue  # a number reused by a process started later: not the group the journal names, not ours
            if proven_ours(pgid, folders):
                groups.append(pgid)
            else:
                refused.append("process group %d (its leader is alive with the recorded start time but shows "
                               "nothing of a case: not the kit's name, command line or files)" % pgid)
            continue
        inside = guardian._group_members(pgid)
        mine = [pid for pid in inside if proven_ours(pid, folders)]
        members += mine
        if len(mine) < len(inside):
            refused.append("process group %d (its leader is gone; %d of its %d processes show nothing of a case: %s)"
                           % (pgid, len(inside) - len(mine), len(inside),
                              ", ".join(str(p) for p in inside if p not in mine)))
    return groups, members, refused


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
    groups, members, not_ours = owned(keep)
    refused += not_ours
    act = dict(keep, pgids=groups, pids=[p for p in keep["pids"] if p in groups or proven_ours(p, keep["paths"])]
               + members, starts=dict(keep["starts"], **{str(p): start_ticks(p) for p in members}))
    problems = guardian.clean(act)
    item = {"kind": "journal", "journal": path, "guardian_pid": doc.get("guardian_pid"), "netns": keep["netns"],
            "paths": keep["paths"], "ftrace": keep["ftrace"], "sysctls_restored": keep["sysctls"], "groups": groups,
            "processes": members, "problems": problems, "refused": refused}
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


def reap(run_dir=RUN_DIR, netns_dir=netns.NETNS_RUN_DIR, journal_dir=journal.JOURNAL_DIR, grace_s=30.0,
         ftrace_sweep=True):
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
    if ftrace_sweep:
        for name in ftrace.instances(CASE_NAME):
            if name not in claimed:
                problem = ftrace.remove(name)
                reaped.append({"kind": "ftrace", "ftrace": [name], "problems": [problem] if problem else []})
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
    parts = ["namespace %s" % n for n in item.get("netns", [])] + ["folder %s" % p for p in item.get("paths", [])] \
        + ["ftrace instance %s" % n for n in item.get("ftrace", [])]
    if item.get("groups"):
        parts.append("process groups %s" % ", ".join(str(g) for g in item["groups"]))
    if item.get("processes"):
        parts.append("processes %s (of groups whose leader was gone)" % ", ".join(str(p) for p in item["processes"]))
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
