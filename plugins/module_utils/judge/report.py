"""report.md and a self-contained report.html for a run folder (plots embedded), plus GoAccess pages."""

import base64
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile

from . import plots, report_md
from .results_io import first_repetition, load_claims, load_run, write_atomic

GOACCESS_FORMAT = '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" %T %^ %^'
CSS = """body{font-family:sans-serif;max-width:1300px;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.4em;margin:.3em 0}table{border-collapse:collapse;margin:.6em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#f4f4f4}img{max-width:100%}
code{background:#f6f6f6;word-break:break-all}details{margin:.3em 0}summary{cursor:pointer}
.CONFIRMED{color:#1b7f3b;font-weight:bold}.REFUTED{color:#b00020;font-weight:bold}.INCONCLUSIVE{color:#8a6d00;font-weight:bold}
.VARIES{color:#6a1b9a;font-weight:bold}
.v{display:inline-block;min-width:7.5em;padding:1px 4px;border-radius:3px;color:#fff!important;text-align:center}
.v.CONFIRMED{background:#1b7f3b}.v.REFUTED{background:#b00020}.v.INCONCLUSIVE{background:#8a6d00}.v.VARIES{background:#6a1b9a}.v.UNREACHABLE{background:#555}"""


def goaccess_pages(run_dir, by_host):
    """Render each case's access log with GoAccess; {(host, case): relative path}. Empty if goaccess is absent."""
    binary = shutil.which("goaccess")
    pages = {}
    if not binary:
        return pages
    for host, docs in by_host.items():
        folder = os.path.join(run_dir, "goaccess", host)
        os.makedirs(folder, exist_ok=True)
        for case, doc in docs.items():
            lines = doc["logs"].get("access") or []
            if not lines:
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
                log.write("\n".join(lines) + "\n")
            out = os.path.join(folder, case + ".html")
            try:
                subprocess.run([binary, log.name, "--no-global-config", "--log-format=" + GOACCESS_FORMAT,
                                "--date-format=%d/%b/%Y", "--time-format=%T", "--html-report-title=" + case,
                                "-o", out], check=True, capture_output=True, timeout=120)
                pages[(host, case)] = os.path.relpath(out, run_dir)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                pass
            finally:
                os.unlink(log.name)
    return pages


_PLOT_JOBS = {}


def _plot(key):
    doc, path, title = _PLOT_JOBS[key]
    plots.case_figure(doc, path, title)
    return key


def draw_plots(run_dir, by_host):
    """One figure per host and case (about 0.9 s of CPU each), on every CPU at once: forked workers that inherit
    the documents rather than receive them."""
    jobs = {}
    for h, docs in by_host.items():
        os.makedirs(os.path.join(run_dir, "plots", h), exist_ok=True)
        for case, doc in docs.items():
            jobs[(h, case)] = (doc, os.path.join(run_dir, "plots", h, case + ".png"),
                               "%s on %s (Linux %s, nginx %s)" % (case, h, doc["meta"]["kernel"], doc["meta"]["nginx_version"]))
    workers = min(len(jobs), os.cpu_count() or 1)
    _PLOT_JOBS.update(jobs)
    try:
        if workers <= 1:
            for key in jobs:
                _plot(key)
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for _ in pool.imap_unordered(_plot, list(jobs)):
                    pass
    finally:
        _PLOT_JOBS.clear()
    return len(jobs)


def _inline_images(html, run_dir):
    """Every plot into the page itself, so report.html is one file: as lossless WebP (the same pixels as the PNG on
    disk, a third of its bytes: 1.5 MB of PNG for 21 cases became 0.5 MB), base64."""
    from PIL import Image

    def repl(match):
        path = os.path.join(run_dir, match.group(1))
        if not os.path.exists(path):
            return match.group(0)
        data = io.BytesIO()
        with Image.open(path) as image:
            image.save(data, "WEBP", lossless=True, method=3)
        return 'src="data:image/webp;base64,%s"' % base64.b64encode(data.getvalue()).decode()
    return re.sub(r'src="([^"]+\.png)"', repl, html)


def write(run_dir, claims_path, catalogue=None):
    import markdown

    by_reps, record = load_run(run_dir)
    by_host = first_repetition(by_reps)
    with open(os.path.join(run_dir, "verdicts.json")) as handle:
        verdicts_doc = json.load(handle)
    claims = load_claims(claims_path)
    draw_plots(run_dir, by_host)
    pages = goaccess_pages(run_dir, by_host)
    text = report_md.build(by_reps, record, verdicts_doc, claims, catalogue or {}, pages)
    write_atomic(os.path.join(run_dir, "report.md"), text)
    body = markdown.markdown(text, extensions=["tables", "md_in_html"])
    html = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>nginx-proxy-lab %s</title><style>%s</style>"
            "</head><body>%s</body></html>\n" % (verdicts_doc["run_id"], CSS, _inline_images(body, run_dir)))
    write_atomic(os.path.join(run_dir, "report.html"), html)
    return {"markdown": os.path.join(run_dir, "report.md"), "html": os.path.join(run_dir, "report.html"),
            "goaccess_pages": len(pages)}
