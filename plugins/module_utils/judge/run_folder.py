"""A run on the controller: a unique run folder, the case schedule, run.json and the `latest` link.

Controller side only (it runs delegated to localhost). Two runs started in the same second get two
folders: the id is the UTC second plus random hex, and the folder is made with an exclusive mkdir.
`latest` moves, atomically, only once run.json has been written (cases.yml), or once the verdicts and the report
are written too (run_cases.yml).
"""

import binascii
import datetime
import errno
import json
import os
import subprocess
import time

from ..runtime import params
from .results_io import write_atomic

# Cases whose numbers depend on how fast they run are marked `exclusive` in the catalogue: they run alone.


def new_run_id(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + binascii.hexlify(os.urandom(3)).decode()


# A host's results of one nginx release, when a run covers several: the column <host>@nginx-<release> (of the
# report and the verdicts; its folder is named so).
COLUMN_MARK = "@nginx-"


def column_suffix(release, releases):
    """The suffix of a host's folder for `release`: none when the run covers one release (its folder is the host's)."""
    return COLUMN_MARK + release if release and len(releases or ()) > 1 else ""


def split_column(folder):
    """(host, release or None) of a result folder's name."""
    host, mark, release = folder.partition(COLUMN_MARK)
    return (host, release) if mark else (folder, None)


def create(results_dir, hosts, run_id=None, releases=None):
    """Make results_dir/<run_id>/<host>/ for every host (<host>@nginx-<release>/ for every release when `releases`
    names several); returns (run_id, run_dir). A given `run_id` that is already taken is an error (two runs must
    never share a folder); a generated one is retried."""
    os.makedirs(results_dir, exist_ok=True)
    for _ in range(20):
        rid = run_id or new_run_id()
        run_dir = os.path.join(results_dir, rid)
        try:
            os.mkdir(run_dir, 0o755)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            if run_id:
                raise ValueError("run id %s is taken (%s exists): pick another npl_run_id or leave it unset"
                                 % (run_id, run_dir))
            continue
        for host in hosts:
            for release in releases or [None]:
                os.makedirs(os.path.join(run_dir, host + column_suffix(release, releases)), 0o755, exist_ok=True)
        return rid, run_dir
    raise RuntimeError("could not make a unique run folder under %s" % results_dir)


def expected_seconds(p):
    """A rough duration of a case from its parameters (the module's defaults where it names none), to balance the
    slots (not a promise)."""
    p = dict({key: spec.get("default") for key, spec in params.ARGUMENT_SPEC.items()}, **p)
    if p["mode"] in ("ok", "keepalive"):
        base = 1.5 + (p["clients"] * 0.02 if p["client_mode"] == "curl" else 0)
    else:
        base = 60.0 if p["nginx_default_timeouts"] else float(p["proxy_timeout"])
    # Clients that ramp, hold their connections or trickle their requests take at least that long.
    busy = float(p["client_ramp_s"] or 0) + float(p["client_hold_s"] or 0) + params.trickle_seconds(p)
    return max(base, busy) + float(p["settle_s"]) + float(p["tail_s"]) + (1.0 if p["strace"] != "none" else 0)


def schedule(names, params_of, exclusive, slots, repeat=1, background=(), min_repeat=None, releases=None):
    """Split `repeat` repetitions of the cases over `slots` slots (longest first, each to the least loaded
    slot); a case runs max(`repeat`, its `min_repeat`) times; repetitions of exclusive (load-sensitive) cases are
    kept apart, to run alone afterwards. With one
    slot everything runs in order: every case once, then every case again, and the `background` cases (those
    that mostly wait, e.g. for an idle timeout) run in a lane of their own beside them, so their waits add
    nothing to the run's wall time.

    With `releases`, every case runs once per nginx release: each unit names its release (`nginx`) and the suffix
    of the folder its result goes to (`column`, see column_suffix).

    Returns {"slots": [[{"case", "repetition"}, ...], ...], "alone": [{"case", "repetition"}, ...]}.
    """
    slots, repeat = max(1, int(slots)), max(1, int(repeat))
    times = {n: max(repeat, int((min_repeat or {}).get(n) or 1)) for n in names}
    units = [dict({"case": n, "repetition": k}, **({"nginx": r, "column": column_suffix(r, releases)} if r else {}))
             for k in range(1, max(times.values(), default=1) + 1) for n in names for r in (releases or [None])
             if k <= times[n]]
    if slots == 1:
        waiting = [u for u in units if u["case"] in background and u["case"] not in exclusive]
        rest = [u for u in units if u not in waiting and u["case"] not in exclusive]
        if not waiting or not rest:
            return {"slots": [units], "alone": []}
        # The exclusive cases still run alone: after both lanes.
        return {"slots": [rest, waiting], "alone": [u for u in units if u["case"] in exclusive]}
    shared = [u for u in units if u["case"] not in exclusive]
    alone = [u for u in units if u["case"] in exclusive]
    lanes = [[] for _ in range(min(slots, max(1, len(shared))))]
    load = [0.0] * len(lanes)
    for unit in sorted(shared, key=lambda u: -expected_seconds(params_of[u["case"]])):
        i = load.index(min(load))
        lanes[i].append(unit)
        load[i] += expected_seconds(params_of[unit["case"]])
    return {"slots": lanes, "alone": alone}


def kit_commit(folder):
    """`git describe --always --dirty` of the kit's checkout, or None outside one."""
    try:
        out = subprocess.run(["git", "-C", folder, "describe", "--always", "--dirty", "--tags"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


# The run's plan, written when it starts and read when it finishes: run.json is the plan and what happened.
PLAN = ".plan.json"
RUN_SCHEMA_VERSION = 3


def plan(run_id, schedule, cases, releases, depends_on, repeat, min_repeat, overrides, exclusive, background,
         pace_retries, started_at):
    """The run record as it is known when the run starts (nginx_lab_run state=started writes it)."""
    names = list(cases)
    parallel = len(schedule["slots"]) > 1
    return {"schema": "npl-run", "schema_version": RUN_SCHEMA_VERSION, "run_id": run_id,
            "mode": "parallel" if parallel else "sequential", "slots": schedule["slots"], "alone": schedule["alone"],
            "cases": names, "nginx_versions": list(releases or []), "depends_on": depends_on or "",
            "repeat": int(repeat), "min_repeat": {k: v for k, v in (min_repeat or {}).items() if k in names},
            "overrides": overrides or {}, "exclusive": [n for n in names if n in set(exclusive)] if parallel else [],
            "background": [n for n in names if n in set(background)], "pace_retries": int(pace_retries),
            "started_at": started_at}


def save_plan(run_dir, record):
    write_atomic(os.path.join(run_dir, PLAN), json.dumps(record, indent=2, default=str) + "\n")


def finish(run_dir, happened, latest=True, kit_dir=None):
    """Write run.json (atomically) from the plan saved at the start and what `happened` (hosts that ran, failed,
    retried, unreachable), then drop the plan; with `latest`, then point `latest` at this run (run_cases.yml points it
    only once the verdicts and the report are written too: publish()). A host folder that holds no result (every case
    of it failed) is removed, so that a failed run leaves no empty folder: run.json names what failed."""
    path = os.path.join(run_dir, PLAN)
    with open(path) as handle:
        record = json.load(handle)
    record.update(happened)
    record["wall_s"] = round(time.time() - float(record["started_at"]), 1)
    if kit_dir:
        record["kit_commit"] = kit_commit(kit_dir)
    hosts = set(record.get("hosts") or [])
    for folder in os.listdir(run_dir):
        if split_column(folder)[0] in hosts:
            try:
                os.rmdir(os.path.join(run_dir, folder))
            except OSError:
                pass  # it holds results, or is gone
    write_atomic(os.path.join(run_dir, "run.json"), json.dumps(record, indent=2, default=str) + "\n")
    os.unlink(path)
    return point_latest(run_dir) if latest else None


# What a run folder holds once its run is complete (run_cases.yml): publish() moves `latest` only then.
COMPLETE = ("run.json", "verdicts.json", "verdicts.junit.xml", "report.md", "report.html")


def publish(run_dir):
    """Point `latest` at a complete run; ValueError naming what is missing when it is not."""
    missing = [name for name in COMPLETE if not os.path.exists(os.path.join(run_dir, name))]
    if missing:
        raise ValueError("run %s is not complete (no %s), so results/latest stays where it was"
                         % (os.path.basename(os.path.abspath(run_dir)), ", ".join(missing)))
    return point_latest(run_dir)


def point_latest(run_dir):
    """`latest`, beside the run folder, names this run (an atomic rename of a new link)."""
    results_dir = os.path.dirname(os.path.abspath(run_dir))
    link = os.path.join(results_dir, "latest")
    tmp = os.path.join(results_dir, ".latest-%s" % binascii.hexlify(os.urandom(4)).decode())
    try:
        os.symlink(os.path.basename(os.path.abspath(run_dir)), tmp)
        os.replace(tmp, link)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return link


def abandon(run_dir, hosts):
    """Remove the (empty) folders of `hosts` (each of their releases too), which could not start the run, and the
    run folder once no host is left in it; True if anything was removed. A folder that holds a result is never
    removed."""
    removed = False
    folders = os.listdir(run_dir) if os.path.isdir(run_dir) else []
    for host in hosts:
        for folder in [f for f in folders if split_column(f)[0] == host]:
            try:
                os.rmdir(os.path.join(run_dir, folder))
                removed = True
            except FileNotFoundError:
                pass
    try:
        if os.path.exists(os.path.join(run_dir, PLAN)) and not [f for f in os.listdir(run_dir) if f != PLAN]:
            os.unlink(os.path.join(run_dir, PLAN))
        os.rmdir(run_dir)
        removed = True
    except OSError:
        pass  # another host still runs in it (its folder is there), or it is gone already
    return removed


def remove_if_empty(run_dir):
    """Remove an interrupted run's folder that holds no file but the run's plan (nothing saved yet), its empty host
    folders first (the progress callback, at the playbook's exit); True if it was removed. One that holds any result
    is left whole."""
    if not os.path.isdir(run_dir):
        return False
    for _, _, names in os.walk(run_dir):
        if [n for n in names if n != PLAN]:
            return False
    try:
        os.unlink(os.path.join(run_dir, PLAN))
    except FileNotFoundError:
        pass
    for folder, _, _ in sorted(os.walk(run_dir), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(folder)
        except OSError:
            return False  # a file came in meanwhile, or another host still runs in it
    return True


def runs_ansible_playbook(cmdline):
    """True when a /proc/PID/cmdline is ansible-playbook itself (its script as argv[0], or as the script of
    its interpreter), not a wrapper that merely mentions it (`time ansible-playbook ...`, `bash -c "..."`)."""
    argv = cmdline.split(b"\0")
    return any(os.path.basename(arg) == b"ansible-playbook" for arg in argv[:2])


def _stat(pid):
    """(command, the fields after it) of /proc/PID/stat on the controller, or None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()


def controller_process():
    """(pid, start time in clock ticks) of the ansible-playbook process this code runs under: the topmost
    consecutive ancestor that runs ansible-playbook (its workers are forks of it)."""
    found = None
    pid = os.getppid()
    for _ in range(32):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            break
        fields = _stat(pid)
        if fields is None:
            break
        if runs_ansible_playbook(cmdline):
            found = (pid, int(fields[1][19]))
        elif found:
            break
        pid = int(fields[1][1])
        if pid <= 1:
            break
    return found or (None, None)
