"""Evaluate a run folder: verdicts.json and verdicts.junit.xml beside the host folders."""

import datetime
import json
import os

from . import claims as claims_mod
from . import junit
from .results_io import load_claims, load_run, write_atomic


def hosts_meta(by_host):
    meta = {}
    for host, docs in by_host.items():
        first = next(iter(docs.values()))["meta"]
        meta[host] = {"kernel": first["kernel"], "nginx_version": first["nginx_version"], "cases": sorted(docs)}
    return meta


def write(run_dir, claims_path):
    claims = load_claims(claims_path)
    errors = claims_mod.validate_claims(claims)
    if errors:
        raise ValueError("the claims file %s is wrong: %s" % (claims_path, "; ".join(errors)))
    by_host, record = load_run(run_dir)
    if not by_host:
        raise FileNotFoundError("no case results in %s" % run_dir)
    verdicts = claims_mod.evaluate(claims, by_host)
    meta = hosts_meta(by_host)
    doc = {"run_id": record.get("run_id", os.path.basename(os.path.abspath(run_dir))),
           "evaluated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "claims_file": os.path.abspath(claims_path), "hosts": meta, "verdicts": verdicts}
    write_atomic(os.path.join(run_dir, "verdicts.json"), json.dumps(doc, indent=1, default=str) + "\n")
    write_atomic(os.path.join(run_dir, "verdicts.junit.xml"), junit.render(verdicts, claims, meta))
    return doc
