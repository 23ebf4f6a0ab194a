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


def test_the_page_opens_with_the_differences_then_the_kernel_grid_then_the_release_grid():
    reference = findings.load_reference(REFERENCE)
    claims = load_claims(CLAIMS_FILE)
    page = findings.render(reference, claims)
    order = [page.index(h) for h in ("## Where the verdict differs", "## Every claim on every kernel",
                                     "## Every claim that depends on nginx, on every release")]
    assert order == sorted(order)
    kernel_grid = page.split("## Every claim on every kernel", 1)[1].split("\n## ", 1)[0]
    release_grid = page.split("## Every claim that depends on nginx", 1)[1].split("\n## ", 1)[0]
    for claim in claims:
        assert kernel_grid.count("\n| %s | " % claim["id"]) == 1, claim["id"]
        assert release_grid.count("\n| %s | " % claim["id"]) == ("nginx" in claim["depends_on"]), claim["id"]
    for name, axis in (("kernels", "Linux 5.10"), ("kernels", "Linux 7.3"), ("releases", "nginx 1.30.6")):
        assert name in reference and axis in page, (name, axis)


def test_a_cell_of_a_case_the_run_did_not_run_is_left_empty_not_inconclusive():
    reference = findings.load_reference(REFERENCE)
    record, verdicts = reference["releases"]
    column = sorted(verdicts["verdicts"])[0]
    claim = {"id": "R4b", "tested_by": ["case1-ok"]}
    assert "case1-ok" not in verdicts["hosts"][column]["cases"], "the run over releases runs the nginx claims' cases"
    assert findings._row(verdicts, column, claim) is None and findings._cell(None) == ""
