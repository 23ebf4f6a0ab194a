#!/usr/bin/env python3
"""The nginx release axis's cost, printed against the targets of issue 21 (figures, not a test).

    bench/releases.py results/<default run> results/<run over releases>

Prints each run's wall time (run.json `wall_s`), releases, cases and repetitions, and the ratio of the second to
the first beside the target (three releases, the labs of the claims that depend on nginx, default repetitions: at
most 2x the default run). Nothing is asserted: the figures depend on this machine.
"""

import argparse
import json
import os
import sys

TARGET_RATIO = 2.0


def figures(run_dir):
    with open(os.path.join(run_dir, "run.json")) as handle:
        record = json.load(handle)
    return {"run": record["run_id"], "wall_s": float(record["wall_s"]), "releases": record.get("nginx_versions") or ["?"],
            "cases": len(record["cases"]), "repeat": record["repeat"], "depends_on": record.get("depends_on") or "",
            "units": sum(len(slot) for slot in record["slots"]) + len(record.get("alone", []))}


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/releases.py", description=__doc__.split("\n\n")[0])
    p.add_argument("default_run", help="a run folder of the default run (nginx 1.22.1 only)")
    p.add_argument("releases_run", help="a run folder of a run over releases (npl_nginx_versions)")
    args = p.parse_args(argv)
    try:
        base, axis = figures(args.default_run), figures(args.releases_run)
    except (OSError, KeyError, ValueError) as exc:
        sys.exit("bench/releases.py: %s: give two run folders with a run.json" % exc)
    for name, f in (("default run", base), ("over releases", axis)):
        print("%-14s %s: %7.1f s wall, nginx %s, %d cases (%s), %d repetition(s), %d case runs" % (
            name, f["run"], f["wall_s"], ",".join(f["releases"]), f["cases"], f["depends_on"] or "every case",
            f["repeat"], f["units"]))
    ratio = axis["wall_s"] / base["wall_s"] if base["wall_s"] else float("inf")
    print("ratio          %.2fx the default run's wall time (target: at most %.1fx for three releases)" % (ratio, TARGET_RATIO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
