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
    assert sorted(os.listdir(os.path.join(run_dir, "localhost"))) == sorted(
        "%s.r%d.json" % (c, k) for c in CASES for k in (1, 2, 3))  # the default three repetitions
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


def test_concurrent_cases_never_share_a_namespace_or_socket_and_a_failing_one_leaves_nothing(tmp_path, host_somaxconn):
    # Four labs at once, one of which nginx refuses to start (a size of the right grammar, too large).
    catalogue = {
        "a-no-accept": {"params": {"mode": "no-accept", "clients": 20, "proxy_timeout": 2}},
        "b-no-read": {"params": {"mode": "no-read", "clients": 20, "proxy_timeout": 2}},
        "c-ok": {"params": {"mode": "ok", "clients": 20}},
        "d-broken": {"params": {"mode": "ok", "clients": 5, "client_max_body_size": "99999999999g"}},
    }
    out = lab.playbook("-e", "npl_results_dir=%s" % tmp_path, "-e", json.dumps({
        "npl_catalogue": catalogue, "npl_cases": list(catalogue), "npl_parallel": True, "npl_repeat": 2}),
        playbook_file="playbooks/cases_only.yml")
    # playbooks/cases_only.yml records the failures in run.json; run_cases.yml fails on them after the report.
    assert "nginx rejected the case's configuration" in out.stdout
    run_dir = [d for d in tmp_path.iterdir() if d.name != "latest"][0]
    docs = []
    for name in sorted(os.listdir(str(run_dir / "localhost"))):
        with open(str(run_dir / "localhost" / name)) as handle:
            docs.append(json.load(handle))
    assert sorted(d["meta"]["case"] + ".r%d" % d["meta"]["repetition"] for d in docs) == [
        "%s.r%d" % (c, k) for c in ("a-no-accept", "b-no-read", "c-ok") for k in (1, 2)]
    namespaces = [d["meta"]["netns"] for d in docs]
    sockets = [d["meta"]["socket_path"] for d in docs]
    assert len(set(namespaces)) == len(docs) and len(set(sockets)) == len(docs)
    with open(str(run_dir / "run.json")) as handle:
        record = json.load(handle)
    assert sorted(f.split(":")[0] for f in record["failed"]) == ["localhost/d-broken.r1", "localhost/d-broken.r2"]
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}
    assert not os.path.exists("/run/nginx-proxy-lab/run.lock")
