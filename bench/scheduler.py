"""Wall time of the whole suite under the case scheduler: prints one table.

    sudo make bench            (also runs bench.py's load generator and sampler tables)
    .venv/bin/python bench/scheduler.py [--only sequential,parallel-1,default]

Runs playbooks/cases_only.yml on this machine (every case and lab of the catalogue) three ways: one case
after another with one repetition (the kit's original schedule), the parallel scheduler with one
repetition, and the default run (npl_parallel and npl_repeat as playbooks/vars/settings.yml sets them). Each
row: wall time from run.json, case runs, and the verdicts the run gave. Figures, not assertions: the
targets (default run within 2x the sequential one, one parallel repetition within 45 s) are read off.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import verdicts

RUNS = {
    "sequential": ["-e", "npl_parallel=false", "-e", "npl_repeat=1"],
    "parallel-1": ["-e", "npl_parallel=true", "-e", "npl_repeat=1"],
    "default": [],
}


def run(name, extra):
    with tempfile.TemporaryDirectory(prefix="npl-bench-sched-") as results:
        cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "playbooks/cases_only.yml",
               "-e", "npl_results_dir=%s" % results] + extra
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            return "| %s | failed (exit %d) | | |" % (name, out.returncode)
        latest = os.path.join(results, "latest")
        with open(os.path.join(latest, "run.json")) as handle:
            record = json.load(handle)
        doc = verdicts.write(latest, os.path.join(ROOT, "playbooks", "vars", "claims.yml"))
        rows = doc["verdicts"]["localhost"]
        counts = {}
        for row in rows:
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        units = sum(len(s) for s in record["slots"]) + len(record["alone"])
        return "| %s | %s | %d × %s | %s |" % (name, record["wall_s"], units // max(1, record.get("repeat", 1)),
                                              record.get("repeat", 1), ", ".join("%s %d" % kv for kv in sorted(counts.items())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated rows to run (%s)" % ", ".join(RUNS))
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/scheduler.py: needs root (it runs the real suite): sudo make bench")
    names = args.only.split(",") if args.only else list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        sys.exit("bench/scheduler.py: unknown row %s (rows: %s)" % (", ".join(unknown), ", ".join(RUNS)))
    print("| schedule | wall s | cases × repetitions | verdicts |")
    print("|---|---|---|---|")
    for name in names:
        print(run(name, RUNS[name]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
