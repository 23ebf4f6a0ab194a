"""testinfra: the host after the kit ran (packages, nothing left behind) and its findings (verdicts)."""

import contextlib
import json
import os
import sys

import testinfra.utils.ansible_runner
import yaml

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("lab")

HERE = os.path.dirname(os.path.abspath(__file__))
# the kit's own code, by the collection's name
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claim_cases
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURE_DOMAINS

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import pins as pinned, role_defaults

RESULTS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "results", "latest")


def as_root(host):
    """sudo where the connection is not root already (this machine may have no sudo at all)."""
    return contextlib.nullcontext() if host.user().uid == 0 else host.sudo()


def test_nginx_is_the_research_version(host):
    out = host.run("%s -v" % role_defaults.nginx_binary())
    assert "nginx/1.22." in out.stderr


def test_distribution_nginx_service_is_stopped_and_disabled(host):
    with as_root(host):
        service = host.service("nginx")
        assert not service.is_running
        assert not service.is_enabled


def test_upstream_program_is_built(host):
    path = role_defaults.upstream_binary()
    binary = host.file(path)
    assert binary.is_file and binary.mode & 0o111
    assert "--mode MODE" in host.run("%s --help" % path).stdout


def test_nothing_of_the_lab_is_left_running(host):
    with as_root(host):
        assert [p for p in host.process.filter(comm="nginx")] == []
        assert [p for p in host.process.filter(comm="upstream")] == []
        namespaces = host.run("ip netns list").stdout.split()
        assert not [n for n in namespaces if n.startswith("npl-") and n != "npl-matrix"]
        leftovers = host.run("ls /run/nginx-proxy-lab 2>/dev/null").stdout.split()
        assert not [d for d in leftovers if d.startswith("npl-")]
        # the kernel's trace of a case's connects is an ftrace instance of its own, removed with the case
        assert not [i for i in host.run("ls /sys/kernel/tracing/instances 2>/dev/null").stdout.split()
                    if i.startswith("npl-")]
        # each guardian removes its journal once its clean-up succeeded
        assert host.run("ls /run/nginx-proxy-lab/journal 2>/dev/null").stdout.split() == []


def test_sysctls_are_as_before(host):
    with as_root(host):
        before = host.file("/var/tmp/npl-somaxconn-before").content_string.strip()
        assert host.run("cat /proc/sys/net/core/somaxconn").stdout.strip() == before


def _verdicts(host):
    with open(os.path.join(RESULTS, "verdicts.json")) as handle:
        doc = json.load(handle)
    name = host.backend.get_hostname()
    assert name in doc["verdicts"], "no verdicts for %s in %s" % (name, RESULTS)
    return {row["id"]: row for row in doc["verdicts"][name]}


def _claims():
    with open(os.path.join(HERE, "..", "..", "playbooks", "vars", "claims.yml")) as handle:
        return yaml.safe_load(handle)["npl_claims"]


def _run():
    with open(os.path.join(RESULTS, "run.json")) as handle:
        return json.load(handle)


def _covered():
    """The claims whose cases the run ran, every one of them (the matrix runs those that depend on the kernel)."""
    ran = set(_run()["cases"])
    return [c["id"] for c in _claims() if set(claim_cases.tested_by(c)) <= ran]


def test_every_claim_has_a_verdict(host):
    rows = _verdicts(host)
    assert sorted(rows) == sorted(c["id"] for c in _claims())


def test_the_run_covered_the_claims_its_dependency_selects(host):
    """The matrix runs the cases of the claims that depend on the kernel (inventory/matrix.yml vm.depends_on): every
    such claim is covered, and a claim of nginx alone only when its cases serve a kernel claim too."""
    run = _run()
    if not run.get("depends_on"):
        assert sorted(_covered()) == sorted(c["id"] for c in _claims())
        return
    wanted = [c["id"] for c in _claims() if run["depends_on"] in c["depends_on"]]
    assert wanted and not set(wanted) - set(_covered())


def test_verdicts_are_the_ones_recorded_for_this_kernel(host):
    release = host.run("uname -r").stdout.strip()
    with open(os.path.join(HERE, "..", "expected_verdicts.yml")) as handle:
        wanted = pinned.pins_for(yaml.safe_load(handle)["expected"], release, MEASURE_DOMAINS)
    assert wanted is not None, ("no verdicts recorded for Linux %s in molecule/expected_verdicts.yml: run the kit on "
                                "it and record them" % release)
    rows = _verdicts(host)
    covered = set(_covered())
    assert covered, "the run covered no claim"
    changed = ["%s: %s" % (cid, pinned.disagreement(pin, rows[cid])) for cid, pin in sorted(wanted.items())
               if cid in covered and pinned.disagreement(pin, rows[cid])]
    assert not changed, "Linux %s behaves differently: %s" % (release, "; ".join(changed))
