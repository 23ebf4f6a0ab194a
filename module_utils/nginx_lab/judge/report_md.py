"""report.md of a run: plain-language summary, verdict table, cases with every repetition, environment,
how to reproduce it, and the claims in detail. Pure text from the run's documents."""

import json
import os

from .repetitions import VARIES, plain
from .results_io import result_name

VERDICT_ORDER = ("CONFIRMED", "REFUTED", "VARIES", "INCONCLUSIVE")


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



def _conditions(row):
    """What the host was doing in each repetition (shown beside a VARIES verdict)."""
    parts = []
    for k, (verdict, cond) in enumerate(zip(row["per_repetition"], row.get("conditions") or []), 1):
        if cond:
            parts.append("r%d %s: CPU busy %s, load %s, /proc/net/unix sampler ×%s of its interval, clients started "
                         "over %s s" % (k, verdict, cond["cpu_busy_share"], cond["loadavg_1m"],
                                        cond["unix_sampler_lag"], cond["client_start_spread_s"]))
        else:
            parts.append("r%d %s" % (k, verdict))
    return "; ".join(parts)


def _name(unit):
    """A scheduled case run's case name (run.json holds {case, repetition}; older runs a plain name)."""
    return unit["case"] if isinstance(unit, dict) else str(unit)


def _head(verdicts_doc, record, hosts):
    out = ["# nginx-proxy-lab report — run %s" % verdicts_doc["run_id"], ""]
    mode = record.get("mode", "?")
    out.append("Cases and labs ran **%s**%s, **%s** repetition(s) each; the run took **%s s** of wall time. "
               "Evaluated %s." % (
                   mode, " in %d slots (alone afterwards: %s)" % (len(record.get("slots", [])),
                                                               ", ".join(sorted({_name(u) for u in record.get("alone", [])})) or "none")
                   if mode == "parallel" else "", record.get("repeat", max(verdicts_doc["hosts"][h].get("repetitions", 1)
                                                                        for h in hosts)),
                   record.get("wall_s", "?"), verdicts_doc["evaluated_at"]))
    out += ["", "| host | kernel | nginx | cases | %s |" % " | ".join(v.lower() for v in VERDICT_ORDER),
            "|---|---|---|---|%s" % ("---|" * len(VERDICT_ORDER))]
    for h in hosts:
        meta = verdicts_doc["hosts"][h]
        rows = verdicts_doc["verdicts"][h]
        out.append("| %s | %s | %s | %d | %s |" % (h, meta["kernel"], meta["nginx_version"], len(meta["cases"]),
                                                   " | ".join(str(sum(r["verdict"] == v for r in rows))
                                                              for v in VERDICT_ORDER)))
    return out


# The seed documents, in the order the report shows their claims: the research first.
DOCUMENTS = {
    "001": "The research write-up (seed 001): Nginx Reverse Proxy Analysis",
    "002": "Operator article (seed 002): How NGINX actually works in production",
    "003": "Operator article (seed 003): Event loop, workers, listeners",
    "004": "Operator article (seed 004): How NGINX Handles Hundreds of Thousands of Concurrent Connections",
}


def by_document(claims):
    """[(document, its title, its claims in file order)], the research (001) first, then the articles."""
    groups = {}
    for claim in claims:
        groups.setdefault(claim["source"]["document"], []).append(claim)
    return [(doc, DOCUMENTS.get(doc, "Seed %s" % doc), groups[doc]) for doc in sorted(groups)]


def _quoted(claim):
    return "the write-up" if claim["source"]["document"] == "001" else "the article"


def _summary(claims, by_id, hosts, verdicts_doc):
    out = ["", "## In plain words"]
    for _, title, group in by_document(claims):
        out += ["", "### " + title, ""]
        out += _summary_lines(group, by_id, hosts, verdicts_doc)
    return out


def _summary_lines(claims, by_id, hosts, verdicts_doc):
    out = []
    for claim in claims:
        for h in hosts:
            row = by_id[h].get(claim["id"])
            if row:
                where = " on %s (Linux %s)" % (h, verdicts_doc["hosts"][h]["kernel"]) if len(hosts) > 1 else ""
                out.append("- **%s**%s — %s" % (claim["id"], where, plain(claim, row).replace("\n", " ")))
    return out


def _table(claims, by_id, hosts, verdicts_doc):
    out = ["", "## Verdicts", "",
           "Each cell: the verdict, then per check the median [range] over the repetitions and how many passed.",
           "VARIES: some repetitions confirmed the claim and others refuted it; what the host was doing in each "
           "repetition follows."]
    for _, title, group in by_document(claims):
        out += ["", "### " + title, ""]
        out += _table_rows(group, by_id, hosts, verdicts_doc)
    if len(hosts) > 1:
        out += ["", "## Claims whose verdict differs between hosts", ""]
        differing = [c for c in claims if len({by_id[h].get(c["id"], {}).get("verdict") for h in hosts}) > 1]
        if not differing:
            out.append("None: every claim has the same verdict on every host.")
        for claim in differing:
            out.append("- **%s**: %s" % (claim["id"], ", ".join(
                "%s %s" % (h, by_id[h].get(claim["id"], {}).get("verdict")) for h in hosts)))
    return out


def _table_rows(claims, by_id, hosts, verdicts_doc):
    out = ["| claim | statement | %s | published | rule |" % " | ".join(
        "%s (%s)" % (h, verdicts_doc["hosts"][h]["kernel"]) for h in hosts)]
    out.append("|---|---|%s---|---|" % ("---|" * len(hosts)))
    for claim in claims:
        cells = []
        for h in hosts:
            row = by_id[h].get(claim["id"])
            if row is None:
                cells.append("—")
                continue
            cell = _cell(row)
            if row["verdict"] == VARIES:
                cell += "<br><small>%s</small>" % _esc(_conditions(row))
            cells.append(cell)
        out.append("| **%s** | %s%s | %s | %s | %s |" % (
            claim["id"], _esc(claim["statement"]),
            (" <i>(reading: %s)</i>" % _esc(claim["reading"])) if claim.get("reading") else "",
            " | ".join(cells), _esc(claim.get("published") or "—"), _esc(_rule(claim))))
    return out


def _case_line(h, k, doc, page):
    s = doc["summary"]
    line = ("**%s** r%d ([json](%s/%s)): states %% %s · queue peak %s (backlog %s) · Active peak %s · clients %s · "
            "latency median %s s, max %s s%s" % (
                h, k, h, result_name(doc["meta"]["case"], k),
                ", ".join("%s: %s" % kv for kv in s["unix_states_pct"].items() if kv[1]),
                s["queue_len_peak"], s["backlog"], s["active_peak"],
                ", ".join("%s×%d" % kv for kv in s["clients"]["status_counts"].items()),
                s["clients"]["latency_s"]["median"], s["clients"]["latency_s"]["max"],
                (" · [GoAccess](%s)" % page) if page else ""))
    validity = doc["meta"].get("validity") or {}
    if validity.get("valid") is False:
        line += " · **INVALID**, no claim reads it: %s" % _esc("; ".join(validity.get("problems", [])))
    return line


def _cases(by_reps, record, hosts, catalogue, pages):
    out = ["", "## Cases and labs", "",
           "One line per repetition (its raw result linked); the plot shows the first repetition. Plots: the "
           "shaded band is the window in which the clients ran; dashed lines mark the proxy timeout, "
           "net.core.somaxconn and worker_connections where the case sets them.", ""]
    cases = list(record.get("cases") or sorted({c for h in hosts for c in by_reps[h]}))
    for case in cases:
        out += ["### %s" % case, ""]
        if case in catalogue:
            out += [_esc(catalogue[case].get("description", "")), ""]
        for h in hosts:
            reps = by_reps[h].get(case)
            if not reps:
                out += ["*%s: no result*" % h, ""]
                continue
            for k, doc in enumerate(reps, 1):
                out += [_case_line(h, k, doc, pages.get((h, case)) if k == 1 else None), ""]
            out += ["![%s on %s](%s)" % (case, h, os.path.join("plots", h, case + ".png")), ""]
    return out


def _environment(by_reps, hosts):
    out = ["## Environment", ""]
    for h in hosts:
        first = {case: reps[0] for case, reps in by_reps[h].items()}
        doc = next(iter(first.values()))
        params = dict(doc["meta"]["params"])
        out.append("**%s**: Linux %s, nginx %s, isolation %s, sampling every %s s (/proc/net/unix, sock_diag) and %s s "
                   "(stub_status, memory)." % (h, doc["meta"]["kernel"], doc["meta"]["nginx_version"],
                                               doc["meta"]["isolation"], doc["meta"]["sampler"]["unix_interval_s"],
                                               doc["meta"]["sampler"]["stub_interval_s"]))
        out += ["", "| case | somaxconn at listen → in force | worker_connections | clients | client | request | "
                    "proxy timeout |", "|---|---|---|---|---|---|---|"]
        for case, d in sorted(first.items()):
            p = d["meta"]["params"]
            out.append("| %s | %s → %s | %s | %s | %s | %s %s%s | %s |" % (
                case, d["meta"].get("somaxconn_at_listen"), d["meta"]["somaxconn"], p["worker_connections"],
                p["clients"], p["client_mode"], p["request_method"], p["request_path"],
                " + %d B" % p["request_body_bytes"] if p["request_body_bytes"] else "",
                "nginx default" if p["nginx_default_timeouts"] else "%s s" % p["proxy_timeout"]))
        out += ["", "Defaults of every case: " + ", ".join("%s=%s" % (k, params[k]) for k in (
            "worker_processes", "keepalive_timeout", "proxy_buffering", "upstream_backlog", "error_log_level",
            "deadline")), ""]
    return out


def _reproduce(record):
    extra = {"npl_cases": record.get("cases"), "npl_repeat": record.get("repeat", 1),
             "npl_parallel": record.get("mode") == "parallel"}
    if record.get("overrides"):
        extra["npl_case_overrides"] = record["overrides"]
    return ["## Reproduce this", "",
            "Kit commit `%s`; on the same kind of host, as root:" % record.get("kit_commit", "unknown"), "",
            "```sh", "scripts/reproduce -e '%s'" % json.dumps(extra, sort_keys=True), "```", ""]


def _details(claims, by_id, hosts):
    out = ["## The claims in detail", ""]
    for _, title, group in by_document(claims):
        out += ["### " + title, ""]
        out += _detail_lines(group, by_id, hosts)
    return out


def _detail_lines(claims, by_id, hosts):
    out = []
    for claim in claims:
        out += ["#### %s — %s" % (claim["id"], _esc(claim["statement"])), "",
                "- source: seed %s, %s" % (claim["source"]["document"], claim["source"]["section"])]
        if claim.get("words"):
            out.append("- %s: “%s”" % (_quoted(claim), _esc(claim["words"])))
        if claim.get("reading"):
            out.append("- reading: %s" % _esc(claim["reading"]))
        if claim.get("load_dependent"):
            out.append("- load dependent: %s" % _esc(claim["load_dependent"]))
        out += ["- tested by: %s" % ", ".join(claim["tested_by"]), "- measured: %s" % _esc(claim.get("quantity", "")),
                "- rule: %s" % _esc(_rule(claim))]
        for h in hosts:
            row = by_id[h].get(claim["id"])
            if row:
                evidence = [c.get("evidence") or c.get("reasons") for c in row["checks"]]
                out.append("- %s: **%s** (%s) — `%s`" % (h, row["verdict"], " ".join(row.get("per_repetition", [])),
                                                        _esc(json.dumps(evidence, default=str))[:600]))
        out.append("")
    return out


def build(by_reps, record, verdicts_doc, claims, catalogue, pages):
    """The whole report.md text."""
    hosts = sorted(by_reps)
    by_id = {h: {r["id"]: r for r in verdicts_doc["verdicts"][h]} for h in hosts}
    out = _head(verdicts_doc, record, hosts)
    out += _summary(claims, by_id, hosts, verdicts_doc)
    out += _table(claims, by_id, hosts, verdicts_doc)
    out += _cases(by_reps, record, hosts, catalogue, pages)
    out += _environment(by_reps, hosts)
    out += _reproduce(record)
    out += _details(claims, by_id, hosts)
    return "\n".join(out) + "\n"
