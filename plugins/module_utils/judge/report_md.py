"""report.md of a run. It opens with the grid (a row per claim the run decided, a column per host: the verdict with
its number and how many repetitions passed), one line naming the claims it did not run, then the claims in plain
words, the claims whose verdict differs between hosts, the claims in detail (collapsed in the HTML), the cases with
every repetition and their plots, the environment and how to reproduce it. Pure text from the run's documents."""

import json
import os

from . import depends_check, run_folder
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


def _head(verdicts_doc, record, hosts):
    out = ["# nginx-proxy-lab report — run %s" % verdicts_doc["run_id"], ""]
    mode = record.get("mode", "?")
    out.append("%s; cases and labs ran **%s**%s, **%s** repetition(s) each (more where a lab asks for them); the run "
               "took **%s s**. Evaluated %s." % (
                   ", ".join("**%s** (Linux %s, nginx %s)" % (h, verdicts_doc["hosts"][h]["kernel"],
                                                            verdicts_doc["hosts"][h]["nginx_version"]) for h in hosts),
                   mode, " in %d slots" % len(record.get("slots", [])) if mode == "parallel" else "",
                   record.get("repeat", max(verdicts_doc["hosts"][h].get("repetitions", 1) for h in hosts)),
                   record.get("wall_s", "?"), verdicts_doc["evaluated_at"]))
    return out


def _counts(claims, by_id, hosts):
    ids = {c["id"] for c in claims}
    return ["", "Of the %d claims the run decided: %s." % (len(ids), "; ".join(
        "%s %s" % (h, ", ".join("%d %s" % (n, v) for v, n in (
            (v, sum(1 for cid in ids if by_id[h].get(cid, {}).get("verdict") == v)) for v in VERDICT_ORDER) if n))
        for h in hosts))]


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


def ran(claims, by_reps):
    """(the claims whose every case ran on some host, the others): a run of a few cases reports the claims those cases
    decide and names the rest in one line."""
    decided = [c for c in claims if any(set(c["tested_by"]) <= set(cases) for cases in by_reps.values())]
    return decided, [c for c in claims if c not in decided]


def _number(row):
    """The first check's number (median over the repetitions) as the grid shows it; n/a where it was not measured."""
    value = row["checks"][0].get("value") if row["checks"] else None
    if value is None:
        return "n/a"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return ("%.3g" % value) if isinstance(value, float) else str(value)


def _grid_cell(row):
    if row is None:
        return "—"
    passed = "%d/%d" % (row["counts"]["CONFIRMED"], row.get("repetitions", 1))
    return '<span class="v %s">%s</span> %s · %s' % (row["verdict"], row["verdict"], _esc(_number(row)), passed)


def _grid(claims, by_id, hosts, verdicts_doc, not_run):
    unreachable = sorted(verdicts_doc.get("unreachable") or {})
    out = ["", "## Verdicts at a glance", "",
           "A row per claim, a column per host (and nginx release): the verdict, the number its first check measured (median over the "
           "repetitions) and how many repetitions confirmed the claim. The details are below.", ""]
    out += ["**%s could not be reached**: nothing ran there (%s)." % (h, _esc(verdicts_doc["unreachable"][h]))
            for h in unreachable]
    out += ["" if unreachable else None,
            "| claim | %s | statement |" % " | ".join(["%s<br><small>Linux %s, nginx %s</small>" % (
                h, verdicts_doc["hosts"][h]["kernel"], verdicts_doc["hosts"][h]["nginx_version"]) for h in hosts]
                + ["%s<br><small>unreachable</small>" % h for h in unreachable]),
            "|---|%s---|" % ("---|" * (len(hosts) + len(unreachable)))]
    out = [line for line in out if line is not None]
    for claim in claims:
        out.append("| [%s](#%s) | %s | %s |" % (claim["id"], _anchor(claim), " | ".join(
            [_grid_cell(by_id[h].get(claim["id"])) for h in hosts] + ['<span class="v UNREACHABLE">unreachable</span>']
            * len(unreachable)), _esc(claim["statement"])))
    if not_run:
        out += ["", "Not run here (their cases were not all selected, or did not finish): %s."
                % ", ".join(c["id"] for c in not_run)]
    return out


def _anchor(claim):
    return "claim-" + claim["id"].lower()


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


def _groups(hosts, key):
    """The columns that share `key`, in groups of two or more."""
    found = {}
    for h in hosts:
        found.setdefault(key(h), []).append(h)
    return [group for group in found.values() if len(group) > 1]


def _changes(claims, by_id, group, label, axis=None):
    """A line per claim whose verdict differs between the columns of `group`; flagged when the claim says
    (claims.yml depends_on) that it does not depend on `axis` (kernel or nginx), the axis the group varies. Such a
    claim whose verdict held but whose numbers moved along the axis gets a flagged line too (depends_check)."""
    out = []
    what = "kernel" if axis == "kernel" else "nginx release"
    for claim in claims:
        rows = [by_id[h].get(claim["id"]) or {} for h in group]
        tagged = " — **flag**: claims.yml says it depends on %s only, yet its %%s changed with the %s" % (
            " and ".join(claim.get("depends_on") or []), what)
        if len({row.get("verdict") for row in rows}) > 1:
            line = "- **%s**: %s" % (claim["id"], ", ".join(
                "%s %s (%s)" % (label(h), row.get("verdict"), _esc(_number(row)) if row else "—")
                for h, row in zip(group, rows)))
            out.append(line + (tagged % "verdict" if axis and depends_check.contradicts(claim, axis) else ""))
        elif axis and depends_check.contradicts(claim, axis):
            moved = depends_check.differing_checks(rows)
            if moved:
                out.append("- **%s**: %s on each, but %s%s" % (claim["id"], rows[0].get("verdict"), "; ".join(
                    "%s %s" % (measure, ", ".join("%s %s" % (label(h), _esc(_number({"checks": [{"value": v}]})))
                                                  for h, v in zip(group, values))) for measure, values in moved),
                    tagged % "numbers"))
    return out


def _differing(claims, by_id, hosts, verdicts_doc):
    """The claims whose verdict differs between hosts of one nginx release (the kernel axis), then those whose verdict
    changes between the nginx releases of one host."""
    release = lambda h: run_folder.split_column(h)[1] or verdicts_doc["hosts"][h]["nginx_version"]  # noqa: E731
    out = []
    columns = any(run_folder.split_column(h)[1] for h in hosts)
    between_hosts = _groups(hosts, release) if columns else [hosts] if len(hosts) > 1 else []
    if between_hosts:
        out += ["", "## Claims whose verdict differs between hosts", ""]
        for group in between_hosts:
            lines = _changes(claims, by_id, group, lambda h: h, axis="kernel")
            if len(between_hosts) > 1:
                out.append("nginx %s:" % release(group[0]))
            out += lines or ["None: every claim has the same verdict on every host, and no claim's numbers moved against "
                             "its depends_on."]
    between_releases = _groups(hosts, lambda h: run_folder.split_column(h)[0])
    if between_releases:
        out += ["", "## Claims whose verdict changes between nginx releases", ""]
        for group in between_releases:
            lines = _changes(claims, by_id, group, lambda h: "nginx " + release(h), axis="nginx")
            out.append("On %s:" % run_folder.split_column(group[0])[0])
            out += lines or ["None: every claim has the same verdict on every release, and no claim's numbers moved "
                             "against its depends_on."]
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
    for early in (doc["meta"].get("tries") or {}).get("earlier") or []:
        line += " · try %d was spoiled by the host's pace and ran again%s: %s" % (
            early["attempt"], " ([json](%s/%s))" % (h, early["saved_as"]) if early.get("saved_as") else "",
            _esc("; ".join(early.get("problems") or [])))
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
    out = ["## The claims in detail", "",
           "Each claim with its source's words, our reading, the rule, and per host its verdict, the numbers of every "
           "check (median [range] over the repetitions, how many passed) and the evidence.", ""]
    for _, title, group in by_document(claims):
        out += ["### " + title, ""]
        out += _detail_lines(group, by_id, hosts)
    return out


def _detail_lines(claims, by_id, hosts):
    out = []
    for claim in claims:
        verdicts = ", ".join("%s %s" % (h, by_id[h][claim["id"]]["verdict"]) for h in hosts if claim["id"] in by_id[h])
        out += ['<details id="%s" markdown="1"><summary><b>%s</b> — %s (%s)</summary>' % (
            _anchor(claim), claim["id"], _esc(claim["statement"]), verdicts), "",
            "- source: seed %s, %s" % (claim["source"]["document"], claim["source"]["section"])]
        if claim.get("words"):
            out.append("- %s: “%s”" % (_quoted(claim), _esc(claim["words"])))
        if claim.get("reading"):
            out.append("- reading: %s" % _esc(claim["reading"]))
        if claim.get("load_dependent"):
            out.append("- load dependent: %s" % _esc(claim["load_dependent"]))
        if claim.get("mechanism"):
            out.append("- mechanism: %s" % _esc(" ".join(claim["mechanism"].split())))
        if claim.get("not_decided"):
            out.append("- not decided, by design: %s" % _esc(claim["not_decided"]))
        out += ["- tested by: %s" % ", ".join(claim["tested_by"]), "- measured: %s" % _esc(claim.get("quantity", "")),
                "- rule: %s" % _esc(_rule(claim)), "- published: %s" % _esc(claim.get("published") or "—")]
        for h in hosts:
            row = by_id[h].get(claim["id"])
            if row:
                out.append("- %s: %s" % (h, _cell(row).replace("<br>", " — ")))
                if row["verdict"] == VARIES:
                    out.append("  (%s)" % _esc(_conditions(row)))
                if (row.get("tries") or {}).get("retried"):
                    t = row["tries"]
                    out.append("  tries: %d case runs for its %d case repetitions; %d repetition(s) ran again after the "
                               "host's pace spoiled them (%s)" % (t["tries"], t["case_runs"], t["retried"],
                                                                  _esc("; ".join(t["spoiled_problems"]))))
                evidence = [c.get("evidence") or c.get("reasons") for c in row["checks"]]
                out.append("  `%s`" % _esc(json.dumps(evidence, default=str))[:800])
        out += ["", "</details>", ""]
    return out


def build(by_reps, record, verdicts_doc, claims, catalogue, pages):
    """The whole report.md text: the grid first."""
    hosts = sorted(by_reps)
    by_id = {h: {r["id"]: r for r in verdicts_doc["verdicts"][h]} for h in hosts}
    decided, not_run = ran(claims, by_reps)
    out = _head(verdicts_doc, record, hosts)
    out += _grid(decided, by_id, hosts, verdicts_doc, not_run)
    out += _counts(decided, by_id, hosts)
    out += _summary(decided, by_id, hosts, verdicts_doc)
    out += _differing(decided, by_id, hosts, verdicts_doc)
    out += [""] + _details(decided, by_id, hosts)
    out += _cases(by_reps, record, hosts, catalogue, pages)
    out += _environment(by_reps, hosts)
    out += _reproduce(record)
    return "\n".join(out) + "\n"
