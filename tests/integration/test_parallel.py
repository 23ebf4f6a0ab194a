"""Parallel mode: independent cases at once, each in its own namespace; exclusive labs alone."""

import json
import os

from . import lab

CASES = ["case2-no-accept", "case3-no-read", "lab-single-request", "lab-strace-case2", "lab-flood-1mb-100"]


def test_parallel_run_collects_every_case_and_says_so(tmp_path, host_somaxconn):
    out = lab.playbook("-e", "npl_results_dir=%s" % tmp_path, "-e", "npl_parallel=true",
                       "-e", json.dumps({"npl_cases": CASES}))
    assert out.returncode == 0, out.stdout[-4000:]
    run_dir = os.path.realpath(str(tmp_path / "latest"))
    assert sorted(os.listdir(os.path.join(run_dir, "localhost"))) == sorted(c + ".r1.json" for c in CASES)
    with open(os.path.join(run_dir, "run.json")) as handle:
        record = json.load(handle)
    assert record["mode"] == "parallel"
    with open(os.path.join(run_dir, "report.md")) as handle:
        assert "ran **parallel**" in handle.read()
    for case in CASES:
        with open(os.path.join(run_dir, "localhost", case + ".r1.json")) as handle:
            doc = json.load(handle)
        assert doc["summary"]["clients"]["count"] == doc["meta"]["params"]["clients"]
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}
