"""Read a run's results on the controller: results/<run-id>/<host>/<case>.json and run.json."""

import errno
import json
import os
import re
import tempfile


REPETITION = re.compile(r"^(?P<case>.+?)(?:\.r(?P<rep>[0-9]+))?\.json$")


def result_name(case, repetition):
    """File name of a case's result: <case>.r<k>.json (a run before repetitions wrote <case>.json)."""
    return "%s.r%d.json" % (case, repetition)


def load_run(run_dir):
    """({host: {case: [document of repetition 1, 2, ...]}}, run record or {}).

    Repetitions are ordered by their number; a legacy <case>.json counts as repetition 1."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError("no run folder %s: run ansible-playbook run_cases.yml first" % run_dir)
    by_host = {}
    for host in sorted(os.listdir(run_dir)):
        folder = os.path.join(run_dir, host)
        if not os.path.isdir(folder) or host.startswith((".", "_")) or host in ("report", "goaccess", "plots"):
            continue
        found = {}
        for name in sorted(os.listdir(folder)):
            match = REPETITION.match(name)
            if not match:
                continue
            with open(os.path.join(folder, name)) as handle:
                found.setdefault(match.group("case"), []).append((int(match.group("rep") or 1), json.load(handle)))
        if found:
            by_host[host] = {case: [doc for _, doc in sorted(reps, key=lambda r: r[0])] for case, reps in found.items()}
    record = {}
    if os.path.exists(os.path.join(run_dir, "run.json")):
        with open(os.path.join(run_dir, "run.json")) as handle:
            record = json.load(handle)
    return by_host, record


def first_repetition(by_host):
    """{host: {case: document of its first repetition}}."""
    return {host: {case: reps[0] for case, reps in cases.items()} for host, cases in by_host.items()}


def load_claims(path):
    """The claims file's claims, each with `tested_by` (the cases its checks read) filled in; a claim that names
    tested_by itself keeps it, for validate_claims() to refuse when it differs."""
    import yaml

    from .claims import tested_by

    with open(path) as handle:
        data = yaml.safe_load(handle)
    return [claim if "tested_by" in claim else dict(claim, tested_by=tested_by(claim)) for claim in data["npl_claims"]]


def write_atomic(path, text, mode="w"):
    """Write `text` to `path` through a temporary file in the same folder and a rename; on any failure the
    temporary file is removed and `path` is as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, mode) as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# What to do when the controller cannot write a run's documents, by errno.
_WRITE_FIXES = {
    errno.ENOSPC: "no space left on the device that holds %(dir)s: free space there, or run with "
                  "-e npl_results_dir=<a folder with room>",
    errno.EDQUOT: "the disk quota of %(dir)s is used up: free space there, or run with -e npl_results_dir=<another folder>",
    errno.EROFS: "%(dir)s is on a read-only file system: run with -e npl_results_dir=<a writable folder>",
    errno.EACCES: "this user may not write in %(dir)s: run with -e npl_results_dir=<a folder you can write>",
    errno.EPERM: "this user may not write in %(dir)s: run with -e npl_results_dir=<a folder you can write>",
}


def write_error(exc, what, path):
    """A sentence for an OSError met while writing `what` at `path` on the controller: what failed, why, the fix."""
    folder = os.path.dirname(os.path.abspath(exc.filename or path)) if exc.filename else os.path.abspath(path)
    fix = _WRITE_FIXES.get(exc.errno)
    reason = exc.strerror or str(exc)
    return "could not write %s (%s): %s%s" % (what, exc.filename or path, reason,
                                            "; " + fix % {"dir": folder} if fix else "")
