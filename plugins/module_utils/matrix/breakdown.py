"""The kernel matrix's time, printed against the targets of issues 9 and 21 (figures, not a test).

    bench/matrix.py results/latest/matrix.json      # figures of a matrix run already made
    sudo bench/matrix.py --run [--cold] [-- args]   # run scripts/matrix first (--cold rebuilds the image)

Prints where the wall time went (image, VMs up, each play, per host the cases' own time and the overhead
between them, destroy) and each target with the measured figure beside it. Nothing is asserted: under
emulation (TCG) the cases' own work decides the total, and the figures say so.
"""

import argparse
import json
import os
import subprocess
import sys

from .spec import ROOT

# The targets of issue 9, in seconds: two kernels, one repetition of every case and lab; and of issue 21: the default
# matrix (two kernels, a cached image, only the labs of the claims that depend on the kernel).
TARGETS = {"warm_total_s": 240.0, "cold_total_s": 420.0, "overhead_median_s": 2.0, "kernel_only_warm_total_s": 360.0}


def figures(doc, run=None):
    """{name: value} of a matrix.json (schema npl-matrix), with the run.json beside it when given."""
    if doc.get("schema") != "npl-matrix":
        raise ValueError("not a matrix.json of scripts/matrix (schema %r)" % doc.get("schema"))
    t = doc["timings"]
    hosts = doc.get("progress", {}).get("hosts", {})
    # matrix.json says whether this run built its image (`image_built`, kit 0.3.1); an older one only by the
    # time it took (a reused image is found in well under a second, a built one takes minutes).
    built = t["image_built"] if "image_built" in t else t.get("image_s", 0) > 5
    out = {"kernels": len(doc["kernels"]), "image_s": t.get("image_s"), "image_built": built,
           "vms_up_s": t.get("vms_up_s"), "run_cases_s": t.get("cases_s"), "destroy_s": t.get("destroy_s"),
           "total_s": t.get("total_s"), "plays": [(p["name"], p["seconds"]) for p in doc.get("progress", {}).get("plays", [])],
           "hosts": {}, "depends_on": (run or {}).get("depends_on") or "",
           "nginx": (run or {}).get("nginx_versions") or [], "cases": len((run or {}).get("cases") or [])}
    for host, row in sorted(hosts.items()):
        cases = row["cases"]
        out["hosts"][host] = {"cases": len(cases), "case_s": row["case_s"], "overhead_total_s": row["overhead_s"]["total"],
                              "overhead_median_s": row["overhead_s"]["median"], "overhead_max_s": row["overhead_s"]["max"],
                              "longest": sorted(((c["case_s"], c["case"]) for c in cases), reverse=True)[:5]}
    return out


def render(f):
    lines = ["kernel matrix: %d kernels, %s image, %s, nginx %s" % (
                 f["kernels"], "built" if f["image_built"] else "cached",
                 "%d cases of the claims that depend on the %s" % (f["cases"], f["depends_on"]) if f["depends_on"]
                 else "%d cases" % f["cases"], ",".join(f["nginx"]) or "?"),
             "  image            %7.1f s" % (f["image_s"] or 0),
             "  VMs up           %7.1f s" % (f["vms_up_s"] or 0),
             "  run_cases.yml    %7.1f s" % (f["run_cases_s"] or 0)]
    lines += ["    %-40s %7.1f s" % (name[:40], seconds) for name, seconds in f["plays"]]
    lines += ["  destroy          %7.1f s" % (f["destroy_s"] or 0), "  total            %7.1f s" % (f["total_s"] or 0)]
    for host, h in f["hosts"].items():
        lines.append("  %s: %d cases, %.1f s in the cases, %.1f s between them (median %.2f s, max %.2f s)" % (
            host, h["cases"], h["case_s"], h["overhead_total_s"], h["overhead_median_s"], h["overhead_max_s"]))
        lines.append("    longest: " + ", ".join("%s %.1f s" % (name, s) for s, name in h["longest"]))
    total_target = TARGETS["cold_total_s" if f["image_built"] else "warm_total_s"]
    medians = [h["overhead_median_s"] for h in f["hosts"].values()]
    case_floor = max([h["case_s"] for h in f["hosts"].values()] or [0])
    lines += ["targets (issue 9):",
              "  total %s <= %.0f s: measured %.1f s%s" % ("cold" if f["image_built"] else "warm", total_target,
                                                          f["total_s"] or 0, _met(f["total_s"], total_target)),
              "  overhead between cases, median <= %.1f s: measured %s%s" % (
                  TARGETS["overhead_median_s"], ", ".join("%.2f s" % m for m in medians),
                  _met(max(medians) if medians else None, TARGETS["overhead_median_s"])),
              "  the cases of the slowest host took %.1f s of their own (one at a time on one CPU, the background lane beside them)" % case_floor]
    if f["depends_on"] == "kernel" and not f["image_built"]:
        target = TARGETS["kernel_only_warm_total_s"]
        lines += ["target (issue 21):", "  the default matrix (kernel-dependent labs, cached image) <= %.0f s: "
                  "measured %.1f s%s" % (target, f["total_s"] or 0, _met(f["total_s"], target))]
    return "\n".join(lines)


def _met(value, target):
    if value is None:
        return " (not measured)"
    return " (met)" if value <= target else " (not met)"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("matrix_json", nargs="?", help="a matrix.json (default: results/latest/matrix.json)")
    p.add_argument("--run", action="store_true", help="run scripts/matrix first (needs root)")
    p.add_argument("--cold", action="store_true", help="with --run: rebuild the image (a cold run)")
    p.add_argument("extra", nargs="*", help="scripts/matrix arguments, after --")
    args = p.parse_args(argv)
    path = args.matrix_json or os.path.join(ROOT, "results", "latest", "matrix.json")
    if args.run:
        cmd = [os.path.join(ROOT, "scripts", "matrix")] + (["--rebuild-image"] if args.cold else []) + args.extra
        code = subprocess.run(cmd, cwd=ROOT).returncode
        if code != 0:
            print("bench/matrix.py: scripts/matrix ended with %d; the figures below are of its partial run" % code)
    if not os.path.exists(path):
        sys.exit("bench/matrix.py: no %s: run `sudo bench/matrix.py --run` or name a matrix.json" % path)
    with open(path) as handle:
        doc = json.load(handle)
    run = None
    if os.path.exists(os.path.join(os.path.dirname(path), "run.json")):
        with open(os.path.join(os.path.dirname(path), "run.json")) as handle:
            run = json.load(handle)
    print(render(figures(doc, run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
