"""verdicts.json, JUnit XML and the report, written from a real run (tests/data/run-6.18)."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import report, verdicts
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, unpack_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = unpack_run(str(tmp_path_factory.mktemp("run") / "20990101T000000Z"))
    verdicts.write(folder, CLAIMS_FILE)
    report.write(folder, CLAIMS_FILE, {"case1-ok": {"description": "the happy path"}})
    return folder


def test_verdicts_file_holds_every_claim(run_dir):
    with open(os.path.join(run_dir, "verdicts.json")) as handle:
        doc = json.load(handle)
    ids = [c["id"] for c in load_claims(CLAIMS_FILE)]
    assert [r["id"] for r in doc["verdicts"]["localhost"]] == ids
    assert doc["hosts"]["localhost"]["kernel"].startswith("6.18")


def test_junit_has_one_case_per_claim_and_counts_match(run_dir):
    with open(os.path.join(run_dir, "verdicts.json")) as handle:
        rows = json.load(handle)["verdicts"]["localhost"]
    suite = ET.parse(os.path.join(run_dir, "verdicts.junit.xml")).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(rows) == int(suite.get("tests"))
    assert int(suite.get("failures")) == sum(r["verdict"] in ("REFUTED", "VARIES") for r in rows) == \
        sum(1 for c in cases if c.find("failure") is not None)
    assert [c.get("name") for c in cases] == ["%s on localhost, nginx 1.22.1" % r["id"] for r in rows]
    assert all(float(c.get("time")) >= 0 for c in cases) and float(suite.get("time")) > 0
    assert int(suite.get("skipped")) == sum(r["verdict"] == "INCONCLUSIVE" for r in rows)


def test_report_markdown_and_html(run_dir):
    with open(os.path.join(run_dir, "report.md")) as handle:
        md = handle.read()
    grid = md[md.index("## Verdicts at a glance"):md.index("## In plain words")]
    present = set(os.listdir(os.path.join(run_dir, "localhost")))
    for claim in load_claims(CLAIMS_FILE):
        ran = all("%s.json" % case in present for case in claim["tested_by"])
        # the grid comes first: a row per claim the run decided; the others named in one line beneath it
        assert ("| [%s](#claim-%s) |" % (claim["id"], claim["id"].lower()) in grid) == ran, claim["id"]
        if not ran:
            assert claim["id"] in grid[grid.index("Not run here"):], claim["id"]
    assert md.index("## Verdicts at a glance") < md.index("## In plain words") < md.index("## The claims in detail")
    assert "the happy path" in md
    assert "VmSize ~3 MB → ~5 MB" in md  # the write-up's number beside ours
    with open(os.path.join(run_dir, "report.html")) as handle:
        html = handle.read()
    cases = len(os.listdir(os.path.join(run_dir, "localhost")))
    assert html.count('src="data:image/webp;base64,') == cases  # self-contained: every plot inlined
    assert "src=\"plots/" not in html
    # the details of each claim fold away: one <details> per decided claim, closed
    assert html.count("<details id=\"claim-") == grid.count("](#claim-") and "<details open" not in html
    assert html.index('class="v ') < html.index("<details")


def test_a_run_of_one_case_reports_the_claims_it_decides_and_names_the_rest_in_a_line(tmp_path):
    folder = unpack_run(str(tmp_path / "20990101T000001Z"))
    for name in os.listdir(os.path.join(folder, "localhost")):
        if name != "case3-no-read.json":
            os.unlink(os.path.join(folder, "localhost", name))
    verdicts.write(folder, CLAIMS_FILE)
    report.write(folder, CLAIMS_FILE, {})
    with open(os.path.join(folder, "report.md")) as handle:
        md = handle.read()
    decided = [c["id"] for c in load_claims(CLAIMS_FILE) if c["tested_by"] == ["case3-no-read"]]
    assert decided == ["R6"]
    grid = md[md.index("## Verdicts at a glance"):md.index("## In plain words")]
    assert grid.count("](#claim-") == len(decided) and md.count("<details id=") == len(decided)
    assert "not run, or failed" not in md, "claims the run did not run are named once, not explained one by one"
    assert len(md) < 20000, len(md)


def test_goaccess_page_per_case(run_dir):
    pages = os.listdir(os.path.join(run_dir, "goaccess", "localhost"))
    assert "case2-no-accept.html" in pages
    with open(os.path.join(run_dir, "report.md")) as handle:
        assert "(goaccess/localhost/case2-no-accept.html)" in handle.read()
