import gzip
import json
import os
import shutil

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
ROOT = os.path.dirname(os.path.dirname(DATA))
CAPTURE_SOCKET = "/run/nginx-proxy-lab/capture/upstream.sock"
# A real run of the whole catalogue on this machine (Linux 6.18, nginx 1.22.1), gzipped.
RUN = os.path.join(DATA, "run-6.18")


def data(name, mode="r"):
    with open(os.path.join(DATA, name), mode) as handle:
        return handle.read()


def run_doc(case, host="localhost"):
    with gzip.open(os.path.join(RUN, host, case + ".json.gz"), "rt") as handle:
        return json.load(handle)


def run_results(host="localhost"):
    folder = os.path.join(RUN, host)
    return {name[:-8]: run_doc(name[:-8], host) for name in os.listdir(folder) if name.endswith(".json.gz")}


def unpack_run(target):
    """The stored run as a run folder (results/<run-id> layout) under `target`."""
    for host in os.listdir(RUN):
        if os.path.isdir(os.path.join(RUN, host)):
            os.makedirs(os.path.join(target, host))
            for name in os.listdir(os.path.join(RUN, host)):
                with gzip.open(os.path.join(RUN, host, name), "rb") as src, \
                        open(os.path.join(target, host, name[:-3]), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    shutil.copy(os.path.join(RUN, "run.json"), target)
    return target


CLAIMS_FILE = os.path.join(ROOT, "playbooks", "vars", "claims.yml")


def stored_repetitions(kind, case="case1-ok-curl"):
    """The three real repetitions of `case` kept in tests/data/reps-6.18/<kind> ("quiet", or "loaded": run while
    two CPU burners kept both cores busy), as evaluate_host takes them."""
    folder = os.path.join(DATA, "reps-6.18", kind, "localhost")
    docs = []
    for k in (1, 2, 3):
        with gzip.open(os.path.join(folder, "%s.r%d.json.gz" % (case, k)), "rt") as handle:
            docs.append(json.load(handle))
    return {case: docs}


def stored_results(folder):
    """{case: result} of a folder of real results stored as <case>.json.gz (tests/data/run-6.18-*/localhost)."""
    out = {}
    for name in os.listdir(folder):
        with gzip.open(os.path.join(folder, name), "rt") as handle:
            out[name[:-len(".json.gz")]] = json.load(handle)
    return out


def assert_every_claim_decided(results, ids):
    """The shipped claims whose cases are all in `results` are exactly `ids`, and each gets CONFIRMED or REFUTED
    with a number for every check."""
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claims
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims
    shipped = [c for c in load_claims(CLAIMS_FILE) if all(case in results for case in c["tested_by"])]
    assert {c["id"] for c in shipped} == set(ids)
    for claim in shipped:
        row = claims.evaluate_claim(claim, results)
        assert row["verdict"] in (claims.CONFIRMED, claims.REFUTED), (claim["id"], row["reason"])
        assert all(c["value"] is not None for c in row["checks"])


def judged_by_the_sampler(claim):
    """`claim` with its traced shares judged by the sampler's share instead (measure state_share), as the kit judged
    R4 before it traced the connects (kit 0.5): the stored real repetitions (reps-6.18) have no trace, and what
    tests read them for is the repetition rule, not R4's measure."""
    return dict(claim, checks=[dict(check, measure="state_share") if check["measure"] == "traced_state_share"
                               else check for check in claim["checks"]])
