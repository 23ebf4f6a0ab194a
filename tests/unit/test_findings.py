"""docs/findings.md is what the committed reference runs give (scripts/findings renders it from them)."""

import os

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import findings
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, ROOT

REFERENCE = os.path.join(ROOT, "docs", "reference")


def test_the_findings_page_is_what_the_committed_reference_runs_give():
    reference = findings.load_reference(REFERENCE)
    assert reference, "no reference run under docs/reference/"
    with open(os.path.join(ROOT, "docs", "findings.md")) as handle:
        page = handle.read()
    assert page == findings.render(reference, load_claims(CLAIMS_FILE)), \
        "docs/findings.md differs from docs/reference/: run scripts/findings"


def test_every_claim_has_a_row_with_a_verdict_from_each_reference_host():
    reference = findings.load_reference(REFERENCE)
    page = findings.render(reference, load_claims(CLAIMS_FILE))
    for claim in load_claims(CLAIMS_FILE):
        row = [line for line in page.splitlines() if line.startswith("| **%s** " % claim["id"])]
        assert len(row) == 1, claim["id"]
        assert row[0].count("**") >= 2 + len(findings.columns(reference)), row[0]
