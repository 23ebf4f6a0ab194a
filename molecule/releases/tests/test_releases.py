"""testinfra: the verdicts of every nginx release against its pins (molecule/expected_verdicts.yml `releases`), and
the run's columns and labs against what the pins need."""

import json
import os
import sys

import testinfra.utils.ansible_runner
import yaml

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("lab")

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..", "..")
# the kit's own code, by the collection's name
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claim_cases, run_folder
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURE_DOMAINS

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import pins as pinned

RESULTS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "results", "latest")


def _pins():
    with open(os.path.join(TOP, "molecule", "expected_verdicts.yml")) as handle:
        return yaml.safe_load(handle)["releases"]


def _claims():
    with open(os.path.join(TOP, "playbooks", "vars", "claims.yml")) as handle:
        return {c["id"]: c for c in yaml.safe_load(handle)["npl_claims"]}


def _load(name):
    with open(os.path.join(RESULTS, name)) as handle:
        return json.load(handle)


def test_the_run_covered_every_pinned_release_with_exactly_the_pinned_claims_labs(host):
    run, pins, claims = _load("run.json"), _pins(), _claims()
    assert sorted(run["nginx_versions"]) == sorted(pins)
    wanted = {case for by_kernel in pins.values() for entries in by_kernel.values() for cid in entries
              for case in claim_cases.tested_by(claims[cid])}
    assert sorted(run["cases"]) == sorted(wanted), "molecule/releases/molecule.yml's npl_cases and the pins disagree"


def test_every_release_has_the_verdicts_pinned_for_it(host):
    kernel = host.run("uname -r").stdout.strip()
    doc = _load("verdicts.json")
    name = host.backend.get_hostname()
    changed = []
    for release, by_kernel in sorted(_pins().items()):
        wanted = pinned.pins_for(by_kernel, kernel, MEASURE_DOMAINS)
        assert wanted is not None, ("no verdicts recorded for nginx %s on Linux %s in molecule/expected_verdicts.yml "
                                    "`releases`: run its labs there and record them" % (release, kernel))
        column = name + run_folder.column_suffix(release, list(_pins()))
        assert column in doc["verdicts"], "no verdicts for %s in %s" % (column, RESULTS)
        rows = {row["id"]: row for row in doc["verdicts"][column]}
        changed += ["nginx %s %s: %s" % (release, cid, pinned.disagreement(pin, rows[cid]))
                    for cid, pin in sorted(wanted.items()) if pinned.disagreement(pin, rows[cid])]
    assert not changed, "Linux %s: %s" % (kernel, "; ".join(changed))


def test_the_report_names_the_claims_whose_verdict_changes_between_releases(host):
    with open(os.path.join(RESULTS, "report.md")) as handle:
        report = handle.read()
    section = report.split("## Claims whose verdict changes between nginx releases", 1)[1].split("\n## ", 1)[0]
    kernel = host.run("uname -r").stdout.strip()
    by_claim = {}
    for release, by_kernel in _pins().items():
        for cid, pin in (pinned.pins_for(by_kernel, kernel, MEASURE_DOMAINS) or {}).items():
            by_claim.setdefault(cid, set()).add(pin if isinstance(pin, str) else "VARIES")
    # the claims pinned to different verdicts on different releases (a VARIES pin may land on either side)
    differing = sorted(cid for cid, verdicts in by_claim.items() if len(verdicts) > 1 and "VARIES" not in verdicts)
    assert differing
    for cid in differing:
        assert "**%s**" % cid in section, cid
