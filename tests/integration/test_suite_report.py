"""The whole R suite on this machine: a verdict for every claim, the report, its plots in Chromium, JUnit."""

import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import yaml
from PIL import Image

from . import lab

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def claims():
    with open(os.path.join(lab.ROOT, "playbooks", "vars", "claims.yml")) as handle:
        return yaml.safe_load(handle)["npl_claims"]


def catalogue():
    with open(os.path.join(lab.ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        return yaml.safe_load(handle)["npl_catalogue"]


def test_every_case_and_lab_of_the_catalogue_ran(full_run):
    assert set(full_run["docs"]) == set(catalogue())


def test_every_claim_has_a_verdict_on_this_host(full_run):
    with open(os.path.join(full_run["run_dir"], "verdicts.json")) as handle:
        doc = json.load(handle)
    rows = {r["id"]: r for r in doc["verdicts"]["localhost"]}
    for claim in claims():
        row = rows[claim["id"]]
        assert row["verdict"] in ("CONFIRMED", "REFUTED", "VARIES", "INCONCLUSIVE")
        if row["verdict"] == "INCONCLUSIVE":
            assert row["reason"], "%s is inconclusive without a reason" % claim["id"]
        else:
            assert all(c["value"] is not None for c in row["checks"])


def test_every_claim_is_decided_and_holds_the_verdict_pinned_for_this_kernel(full_run):
    """What molecule's default scenario verifies, on this run of every case three times: each claim decided
    (CONFIRMED or REFUTED: none is left INCONCLUSIVE by design) with the verdict molecule/expected_verdicts.yml pins
    for this kernel; a kernel that behaves differently fails, naming the claim."""
    import platform

    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURE_DOMAINS

    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import pins as pinned
    with open(os.path.join(full_run["run_dir"], "verdicts.json")) as handle:
        rows = {r["id"]: r for r in json.load(handle)["verdicts"]["localhost"]}
    undecided = sorted(cid for cid, row in rows.items() if row["verdict"] not in ("CONFIRMED", "REFUTED"))
    assert not undecided, "not decided: %s" % "; ".join("%s %s (%s)" % (c, rows[c]["verdict"], rows[c]["reason"])
                                                      for c in undecided)
    with open(os.path.join(lab.ROOT, "molecule", "expected_verdicts.yml")) as handle:
        wanted = pinned.pins_for(yaml.safe_load(handle)["expected"], platform.release(), MEASURE_DOMAINS)
    assert wanted, "no verdicts pinned for Linux %s in molecule/expected_verdicts.yml" % platform.release()
    changed = ["%s: %s" % (cid, pinned.disagreement(pin, rows[cid])) for cid, pin in sorted(wanted.items())
               if pinned.disagreement(pin, rows[cid])]
    assert not changed, "Linux %s behaves differently: %s" % (platform.release(), "; ".join(changed))


def test_the_playbook_ends_with_the_verdict_table_and_the_report_path(full_run):
    tail = full_run["stdout"][full_run["stdout"].rfind("Show the verdicts"):]
    for claim in claims():
        assert '"%-5s ' % claim["id"] in tail
    assert "Report: %s/report.html" % full_run["run_dir"] in tail


def test_junit_parses_with_one_case_per_claim(full_run):
    root = ET.parse(os.path.join(full_run["run_dir"], "verdicts.junit.xml")).getroot()
    names = [c.get("name").split(" on ")[0] for c in root.iter("testcase")]
    assert names == [c["id"] for c in claims()]


def test_report_states_mode_and_wall_time(full_run):
    with open(os.path.join(full_run["run_dir"], "run.json")) as handle:
        record = json.load(handle)
    assert record["mode"] == "parallel" and record["repeat"] == 3 and float(record["wall_s"]) > 0
    assert record["failed"] == [] and record["kit_commit"]
    with open(os.path.join(full_run["run_dir"], "report.md")) as handle:
        md = handle.read()
    assert "ran **parallel** in 6 slots" in md and "**3** repetition(s) each" in md
    assert "the run took **%s s**" % record["wall_s"] in md
    assert "## In plain words" in md and "## Reproduce this" in md and record["kit_commit"] in md


def test_every_case_ran_three_times_each_in_its_own_namespace(full_run):
    for case, reps in full_run["repetitions"].items():
        assert [d["meta"]["repetition"] for d in reps] == [1, 2, 3], case
    namespaces = [d["meta"]["netns"] for reps in full_run["repetitions"].values() for d in reps]
    assert len(set(namespaces)) == len(namespaces)


def test_report_renders_in_headless_chromium_with_its_plots(full_run):
    html = os.path.join(full_run["run_dir"], "report.html")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(CHROMIUM + ["--user-data-dir=" + profile, "--dump-dom", "file://" + html],
                             capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<img alt="') == len(full_run["docs"])
    with tempfile.TemporaryDirectory() as profile:
        shot = os.path.join(profile, "shot.png")
        out = subprocess.run(CHROMIUM + ["--user-data-dir=" + profile, "--window-size=1300,12000",
                                         "--screenshot=" + shot, "file://" + html],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        image = Image.open(shot).convert("RGB")
        # The first plots sit in the screenshot (below the grid, the plain words and the folded details: about
        # 5,000 px down with 61 claims); their lines are drawn in matplotlib's colours, text is not.
        plotted = sum(1 for pixel in image.get_flattened_data() if pixel in ((76, 114, 176), (31, 119, 180), (255, 127, 14)))
    assert plotted > 2000, "no plot drawn in the rendered report (%d plot-coloured pixels)" % plotted


def test_every_fresh_document_follows_its_schema(full_run):
    import jsonschema

    def validator(name):
        with open(os.path.join(lab.ROOT, "docs", "schemas", name + ".schema.json")) as handle:
            return jsonschema.Draft202012Validator(json.load(handle))

    case = validator("case-result")
    for reps in full_run["repetitions"].values():
        for doc in reps:
            case.validate(doc)
    for name in ("verdicts", "run"):
        with open(os.path.join(full_run["run_dir"], name + ".json")) as handle:
            validator(name).validate(json.load(handle))


# The verdict cells' colours (report.py CSS: .v.CONFIRMED, .v.REFUTED).
VERDICT_COLOURS = ((27, 127, 59), (176, 0, 32))


def test_the_report_s_first_screen_is_the_verdict_grid(full_run):
    """A newcomer opens report.html: the first screen (1300 x 900) shows the grid's coloured verdicts. The screenshot
    stays beside the report (report-first-screen.png)."""
    html = os.path.join(full_run["run_dir"], "report.html")
    shot = os.path.join(full_run["run_dir"], "report-first-screen.png")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(CHROMIUM + ["--user-data-dir=" + profile, "--window-size=1300,900", "--screenshot=" + shot,
                                         "file://" + html], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    pixels = list(Image.open(shot).convert("RGB").get_flattened_data())
    green, red = (sum(1 for p in pixels if p == colour) for colour in VERDICT_COLOURS)
    assert green > 2000 and red > 1000, "the first screen shows no verdict grid (%d green, %d red pixels)" % (green, red)
