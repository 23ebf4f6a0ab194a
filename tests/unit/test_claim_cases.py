"""What each claim depends on (claims.yml depends_on / depends_why) and how it steers which cases a run selects."""

import pytest
import yaml

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claim_cases
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import validate_claims
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, ROOT


def catalogue():
    with open(ROOT + "/playbooks/vars/catalogue.yml") as handle:
        return list(yaml.safe_load(handle)["npl_catalogue"])


def test_every_shipped_claim_says_what_it_depends_on_and_why():
    claims = load_claims(CLAIMS_FILE)
    assert [e for c in claims for e in claim_cases.depends_errors(c)] == []
    kinds = {tuple(c["depends_on"]) for c in claims}
    assert kinds == {("kernel",), ("nginx",), ("kernel", "nginx")}


@pytest.mark.parametrize("fields, wanted", [
    ({}, "depends_on must list kernel, nginx or both"),
    ({"depends_on": ["kernel"]}, "depends_why must say why"),
    ({"depends_on": [], "depends_why": "x"}, "depends_on must list"),
    ({"depends_on": ["libc"], "depends_why": "x"}, "depends_on must list"),
    ({"depends_on": ["nginx", "nginx"], "depends_why": "x"}, "once each"),
    ({"depends_on": "kernel", "depends_why": "x"}, "depends_on must list"),
    ({"depends_on": ["kernel"], "depends_why": "  "}, "depends_why must say why"),
])
def test_a_claim_without_a_valid_dependency_is_refused(fields, wanted):
    claim = dict({"id": "T1", "source": {}, "statement": "-", "checks": []}, **fields)
    errors = validate_claims([claim])
    assert any(wanted in e and e.startswith("T1:") for e in errors), errors


def test_the_kernel_selection_is_every_case_of_a_kernel_claim_and_no_case_of_nginx_claims_alone():
    claims, names = load_claims(CLAIMS_FILE), catalogue()
    chosen = claim_cases.cases_depending_on(claims, "kernel", names)
    kernel_cases = {case for c in claims if "kernel" in c["depends_on"] for case in claim_cases.tested_by(c)}
    nginx_only = {case for c in claims if c["depends_on"] == ["nginx"] for case in claim_cases.tested_by(c)}
    assert set(chosen) == kernel_cases
    assert chosen == [n for n in names if n in kernel_cases]  # catalogue order
    assert not (nginx_only - kernel_cases) & set(chosen)
    # the long labs of nginx's own claims stay home: the floods, 10,000 idle connections, the 75 s default timeout
    for name in ("lab-flood-1mb-wc4096", "lab-idle-keepalive-10k", "lab-default-keepalive-timeout"):
        assert name in names and name not in chosen
    assert "lab-somaxconn-8" in chosen and "lab-accept-mutex-default" in chosen


def test_the_nginx_selection_is_every_case_of_an_nginx_claim():
    claims, names = load_claims(CLAIMS_FILE), catalogue()
    chosen = claim_cases.cases_depending_on(claims, "nginx", names)
    assert set(chosen) == {case for c in claims if "nginx" in c["depends_on"] for case in claim_cases.tested_by(c)}


def test_an_unknown_dependency_is_refused_by_name():
    with pytest.raises(ValueError, match="kernel, nginx"):
        claim_cases.cases_depending_on([], "libc", [])
