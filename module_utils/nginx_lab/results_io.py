"""Read a run's results on the controller: results/<run-id>/<host>/<case>.json and run.json."""

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
    import yaml

    with open(path) as handle:
        data = yaml.safe_load(handle)
    return data["npl_claims"]


def write_atomic(path, text, mode="w"):
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, mode) as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
