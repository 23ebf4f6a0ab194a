"""Read a run's results on the controller: results/<run-id>/<host>/<case>.json and run.json."""

import json
import os
import tempfile


def load_run(run_dir):
    """({host: {case: document}}, run record or {})."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError("no run folder %s: run ansible-playbook run_cases.yml first" % run_dir)
    by_host = {}
    for host in sorted(os.listdir(run_dir)):
        folder = os.path.join(run_dir, host)
        if not os.path.isdir(folder) or host.startswith((".", "_")) or host in ("report", "goaccess", "plots"):
            continue
        docs = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as handle:
                    docs[name[:-5]] = json.load(handle)
        if docs:
            by_host[host] = docs
    record = {}
    if os.path.exists(os.path.join(run_dir, "run.json")):
        with open(os.path.join(run_dir, "run.json")) as handle:
            record = json.load(handle)
    return by_host, record


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
