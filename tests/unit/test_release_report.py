"""The report's release axis on a real run over four nginx builds on this machine (tests/data/releases-6.18: the flood
labs, case1-ok-curl and lab-accept-mutex-default on 1.18.0, Debian's 1.22.1, 1.22.1 built from source and 1.26.3)."""

import json
import os

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import findings, report_md, run_folder
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, DATA

RUN = os.path.join(DATA, "releases-6.18")


def verdicts():
    with open(os.path.join(RUN, "verdicts.json")) as handle:
        return json.load(handle)


def test_the_run_s_columns_are_one_host_s_releases():
    doc = verdicts()
    columns = sorted(doc["verdicts"])
    assert [run_folder.split_column(column) for column in columns] == [
        ("localhost", "1.18.0"), ("localhost", "1.22.1"), ("localhost", "1.22.1-source"), ("localhost", "1.26.3")]
    assert doc["hosts"]["localhost@nginx-1.22.1-source"]["nginx_version"] == "1.22.1"


def test_the_release_section_names_what_changes_and_flags_a_kernel_only_claim():
    doc, claims = verdicts(), load_claims(CLAIMS_FILE)
    columns = sorted(doc["verdicts"])
    by_id = {h: {r["id"]: r for r in doc["verdicts"][h]} for h in columns}
    lines = report_md._differing(claims, by_id, columns, doc)
    text = "\n".join(lines)
    assert "## Claims whose verdict changes between nginx releases" in text
    assert "## Claims whose verdict differs between hosts" not in text  # one host: no kernel axis here
    changed = {line.split("**")[1] for line in lines if line.startswith("- **")}
    expected = {c["id"] for c in claims if c["id"] in by_id[columns[0]]
                and len({by_id[h][c["id"]]["verdict"] for h in columns}) > 1
                and all(case in doc["hosts"][columns[0]]["cases"] for case in c["tested_by"])}
    assert changed == expected and "O13d" in changed
    # a claim tagged with the kernel alone whose verdict changed with the release is flagged; an nginx claim is not
    kernel_only = dict(next(c for c in claims if c["id"] == "O13d"), depends_on=["kernel"])
    flagged = report_md._changes([kernel_only], by_id, columns, lambda h: h, axis="nginx")
    assert len(flagged) == 1 and "**flag**" in flagged[0]
    assert "**flag**" not in report_md._changes([c for c in claims if c["id"] == "O13d"], by_id, columns, lambda h: h,
                                                axis="nginx")[0]


def test_findings_list_the_release_changes_of_a_reference_run(tmp_path):
    ref = tmp_path / "reference" / "releases"
    ref.mkdir(parents=True)
    for name in ("verdicts.json", "run.json"):
        (ref / name).write_text(open(os.path.join(RUN, name)).read())
    page = findings.render(findings.load_reference(str(tmp_path / "reference")), load_claims(CLAIMS_FILE))
    differs = page.split("### Between nginx releases (this machine)", 1)[1].split("\n## ", 1)[0]
    assert "- **R11**" in differs and "nginx 1.18.0 REFUTED (1.79)" in differs
    assert "nginx 1.22.1-source" in page.split("## Every claim that depends on nginx", 1)[1]
