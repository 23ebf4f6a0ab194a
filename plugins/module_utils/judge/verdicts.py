"""Evaluate a run folder: verdicts.json and verdicts.junit.xml beside the host folders."""

import datetime
import json
import os

from . import claims as claims_mod
from . import junit, repetitions
from .results_io import load_claims, load_run, write_atomic

class NoResults(ValueError):
    """The run holds no case result: every case of it failed (run.json names them)."""


# Version of verdicts.json (docs/result-schema.md); 2 added repetitions and VARIES.
VERDICTS_SCHEMA_VERSION = 2


def hosts_meta(by_host):
    meta = {}
    for host, cases in by_host.items():
        first = next(iter(cases.values()))[0]["meta"]
        meta[host] = {"kernel": first["kernel"], "nginx_version": first["nginx_version"], "cases": sorted(cases),
                      "repetitions": max(len(reps) for reps in cases.values())}
    return meta


def _wall(doc):
    try:
        start = datetime.datetime.fromisoformat(doc["meta"]["started_at"])
        end = datetime.datetime.fromisoformat(doc["meta"]["ended_at"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def case_seconds(by_host):
    """{host: {case: wall seconds of all its repetitions}}."""
    return {host: {case: round(sum(_wall(d) for d in reps), 3) for case, reps in cases.items()}
            for host, cases in by_host.items()}


def check_claims(claims_path):
    """Every error of the claims file (claims.validate_claims); [] when it can be judged with."""
    return claims_mod.validate_claims(load_claims(claims_path))


def write(run_dir, claims_path):
    claims = load_claims(claims_path)
    errors = claims_mod.validate_claims(claims)
    if errors:
        raise ValueError("the claims file %s is wrong: %s" % (claims_path, "; ".join(errors)))
    by_host, record = load_run(run_dir)
    if not by_host:
        failed = record.get("failed") or []
        raise NoResults("no case finished in %s, so there is nothing to judge%s" % (
            run_dir, ": " + "; ".join(failed) if failed else ""))
    verdicts = repetitions.evaluate(claims, by_host)
    meta = hosts_meta(by_host)
    doc = {"schema": "npl-verdicts", "schema_version": VERDICTS_SCHEMA_VERSION, "run_id": record.get("run_id", os.path.basename(os.path.abspath(run_dir))),
           "evaluated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "claims_file": os.path.abspath(claims_path), "hosts": meta, "verdicts": verdicts,
           "unreachable": record.get("unreachable") or {}}
    write_atomic(os.path.join(run_dir, "verdicts.json"), json.dumps(doc, indent=1, default=str) + "\n")
    write_atomic(os.path.join(run_dir, "verdicts.junit.xml"), junit.render(verdicts, claims, meta, case_seconds(by_host),
                                                                           unreachable=doc["unreachable"]))
    return doc
