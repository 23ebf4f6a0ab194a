"""report.md and a self-contained report.html for a run folder (plots embedded), plus GoAccess pages."""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

from . import plots
from .results_io import load_claims, load_run, write_atomic

GOACCESS_FORMAT = '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" %T %^ %^'
CSS = """body{font-family:sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f4f4f4}img{max-width:100%}code{background:#f6f6f6}
.CONFIRMED{color:#1b7f3b;font-weight:bold}.REFUTED{color:#b00020;font-weight:bold}.INCONCLUSIVE{color:#8a6d00;font-weight:bold}"""


def _cell(row):
    return "<span class=\"%s\">%s</span><br>%s%s" % (
        row["verdict"], row["verdict"], _esc(row["ours"]), ("<br><i>%s</i>" % _esc(row["reason"])) if row["reason"] else "")


def _esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
            .replace("\n", " "))


def _rule(claim):
    return "; ".join("%s(%s) %s %s" % (c["measure"], ", ".join("%s=%s" % kv for kv in c.get("args", {}).items()
                                                              if kv[0] not in ("cases", "pattern")),
                                       c["op"], c["value"]) for c in claim["checks"])


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


def build_markdown(run_dir, by_host, record, verdicts_doc, claims, catalogue, pages):
    hosts = sorted(by_host)
    verdicts = verdicts_doc["verdicts"]
    by_id = {h: {r["id"]: r for r in verdicts[h]} for h in hosts}
    out = ["# nginx-proxy-lab report — run %s" % verdicts_doc["run_id"], ""]
    mode = record.get("mode", "?")
    out.append("Cases and labs ran **%s**%s; the run took **%s s** of wall time. Evaluated %s." % (
        mode, " (exclusive labs alone: %s)" % ", ".join(record.get("exclusive", [])) if mode == "parallel" else "",
        record.get("wall_s", "?"), verdicts_doc["evaluated_at"]))
    out.append("")
    out.append("| host | kernel | nginx | cases | confirmed | refuted | inconclusive |")
    out.append("|---|---|---|---|---|---|---|")
    for h in hosts:
        meta = verdicts_doc["hosts"][h]
        rows = verdicts[h]
        out.append("| %s | %s | %s | %d | %d | %d | %d |" % (
            h, meta["kernel"], meta["nginx_version"], len(meta["cases"]),
            sum(r["verdict"] == "CONFIRMED" for r in rows), sum(r["verdict"] == "REFUTED" for r in rows),
            sum(r["verdict"] == "INCONCLUSIVE" for r in rows)))
    out += ["", "## Verdicts", ""]
    out.append("| claim | statement | %s | write-up | rule |" % " | ".join("%s (%s)" % (h, verdicts_doc["hosts"][h]["kernel"])
                                                                  for h in hosts))
    out.append("|---|---|%s---|---|" % ("---|" * len(hosts)))
    for claim in claims:
        cells = [_cell(by_id[h][claim["id"]]) if claim["id"] in by_id[h] else "—" for h in hosts]
        out.append("| **%s** | %s%s | %s | %s | %s |" % (
            claim["id"], _esc(claim["statement"]), (" <i>(reading: %s)</i>" % _esc(claim["reading"])) if claim.get("reading") else "",
            " | ".join(cells), _esc(claim.get("published") or "—"), _esc(_rule(claim))))
    if len(hosts) > 1:
        out += ["", "## Claims whose verdict differs between hosts", ""]
        differing = [c for c in claims if len({by_id[h].get(c["id"], {}).get("verdict") for h in hosts}) > 1]
        if not differing:
            out.append("None: every claim has the same verdict on every host.")
        for claim in differing:
            out.append("- **%s**: %s" % (claim["id"], ", ".join("%s %s" % (h, by_id[h].get(claim["id"], {}).get("verdict"))
                                                                for h in hosts)))
    out += ["", "## Cases and labs", ""]
    cases = [c for c in record.get("cases", []) or sorted({c for h in hosts for c in by_host[h]})]
    for case in cases:
        out.append("### %s" % case)
        out.append("")
        if case in catalogue:
            out.append(_esc(catalogue[case].get("description", "")))
            out.append("")
        for h in hosts:
            doc = by_host[h].get(case)
            if doc is None:
                out.append("*%s: no result*" % h)
                continue
            s = doc["summary"]
            fig = os.path.join("plots", h, case + ".png")
            out.append("**%s** (Linux %s): states %% %s · queue peak %s (backlog %s) · Active peak %s · clients %s · "
                       "latency median %s s, max %s s%s" % (
                           h, doc["meta"]["kernel"],
                           ", ".join("%s: %s" % kv for kv in s["unix_states_pct"].items() if kv[1]),
                           s["queue_len_peak"], s["backlog"], s["active_peak"],
                           ", ".join("%s×%d" % kv for kv in s["clients"]["status_counts"].items()),
                           s["clients"]["latency_s"]["median"], s["clients"]["latency_s"]["max"],
                           (" · [GoAccess](%s)" % pages[(h, case)]) if (h, case) in pages else ""))
            validity = doc["meta"].get("validity") or {}
            if validity.get("valid") is False:
                out.append("")
                out.append("**INVALID on %s** — the case did not run as designed, so no claim reads it: %s"
                           % (h, _esc("; ".join(validity.get("problems", [])))))
            out.append("")
            out.append("![%s on %s](%s)" % (case, h, fig))
            out.append("")
    out += ["## Environment", ""]
    for h in hosts:
        doc = next(iter(by_host[h].values()))
        params = dict(doc["meta"]["params"])
        out.append("**%s**: Linux %s, nginx %s, isolation %s, sampling every %s s (/proc/net/unix, sock_diag) and %s s "
                   "(stub_status, memory)." % (h, doc["meta"]["kernel"], doc["meta"]["nginx_version"],
                                               doc["meta"]["isolation"], doc["meta"]["sampler"]["unix_interval_s"],
                                               doc["meta"]["sampler"]["stub_interval_s"]))
        out.append("")
        out.append("| case | somaxconn at listen → in force | worker_connections | clients | client | request | proxy timeout |")
        out.append("|---|---|---|---|---|---|---|")
        for case, d in sorted(by_host[h].items()):
            p = d["meta"]["params"]
            out.append("| %s | %s → %s | %s | %s | %s | %s %s%s | %s |" % (
                case, d["meta"].get("somaxconn_at_listen"), d["meta"]["somaxconn"], p["worker_connections"],
                p["clients"], p["client_mode"], p["request_method"], p["request_path"],
                " + %d B" % p["request_body_bytes"] if p["request_body_bytes"] else "",
                "nginx default" if p["nginx_default_timeouts"] else "%s s" % p["proxy_timeout"]))
        out.append("")
        out.append("Defaults of every case: " + ", ".join("%s=%s" % (k, params[k]) for k in (
            "worker_processes", "keepalive_timeout", "proxy_buffering", "upstream_backlog", "error_log_level",
            "deadline")))
        out.append("")
    out += ["## The claims in detail", ""]
    for claim in claims:
        out.append("### %s — %s" % (claim["id"], _esc(claim["statement"])))
        out.append("")
        out.append("- source: seed %s, %s" % (claim["source"]["document"], claim["source"]["section"]))
        if claim.get("words"):
            out.append("- the write-up: “%s”" % _esc(claim["words"]))
        if claim.get("reading"):
            out.append("- reading: %s" % _esc(claim["reading"]))
        out.append("- tested by: %s" % ", ".join(claim["tested_by"]))
        out.append("- measured: %s" % _esc(claim.get("quantity", "")))
        out.append("- rule: %s" % _esc(_rule(claim)))
        for h in hosts:
            row = by_id[h].get(claim["id"])
            if row:
                evidence = [c.get("evidence") or c.get("reason") for c in row["checks"]]
                out.append("- %s: **%s** — `%s`" % (h, row["verdict"], _esc(json.dumps(evidence, default=str))[:600]))
        out.append("")
    return "\n".join(out) + "\n"


def _inline_images(html, run_dir):
    def repl(match):
        path = os.path.join(run_dir, match.group(1))
        if not os.path.exists(path):
            return match.group(0)
        with open(path, "rb") as handle:
            data = base64.b64encode(handle.read()).decode()
        return 'src="data:image/png;base64,%s"' % data
    return re.sub(r'src="([^"]+\.png)"', repl, html)


def write(run_dir, claims_path, catalogue=None):
    import markdown

    by_host, record = load_run(run_dir)
    with open(os.path.join(run_dir, "verdicts.json")) as handle:
        verdicts_doc = json.load(handle)
    claims = load_claims(claims_path)
    for h, docs in by_host.items():
        os.makedirs(os.path.join(run_dir, "plots", h), exist_ok=True)
        for case, doc in docs.items():
            plots.case_figure(doc, os.path.join(run_dir, "plots", h, case + ".png"),
                              "%s on %s (Linux %s, nginx %s)" % (case, h, doc["meta"]["kernel"],
                                                                 doc["meta"]["nginx_version"]))
    pages = goaccess_pages(run_dir, by_host)
    text = build_markdown(run_dir, by_host, record, verdicts_doc, claims, catalogue or {}, pages)
    write_atomic(os.path.join(run_dir, "report.md"), text)
    body = markdown.markdown(text, extensions=["tables"])
    html = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>nginx-proxy-lab %s</title><style>%s</style>"
            "</head><body>%s</body></html>\n" % (verdicts_doc["run_id"], CSS, _inline_images(body, run_dir)))
    write_atomic(os.path.join(run_dir, "report.html"), html)
    return {"markdown": os.path.join(run_dir, "report.md"), "html": os.path.join(run_dir, "report.html"),
            "goaccess_pages": len(pages)}
