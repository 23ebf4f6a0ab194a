"""The evaluator: result JSONs + the claims file -> a verdict per claim and host, with its numbers.

It never runs anything. Each check of a claim names a measure (a function below) with its
arguments, a comparison and a threshold, all from the claims file. A measure that lacks its
data raises Missing, and the claim is INCONCLUSIVE with the reason.
"""

import operator
import statistics

from . import accesslog

CONFIRMED, REFUTED, INCONCLUSIVE = "CONFIRMED", "REFUTED", "INCONCLUSIVE"
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class Missing(Exception):
    """A measure could not be taken; the message says why."""


def _case(results, name, samplers=()):
    """The result of case `name`; Missing when there is none or when the case did not run as designed
    (meta.validity): an upstream or nginx process that died spoils every measure, a sampler that fell behind
    spoils the measures that read its samples (`samplers`: "unix", "stub_status"; memory is sampled with
    stub_status)."""
    if name not in results:
        raise Missing("no result for %s on this host (not run, or failed)" % name)
    validity = results[name]["meta"].get("validity") or {}
    if validity.get("valid") is False:
        problems = validity.get("process_problems", validity.get("problems", []))
        for sampler in samplers:
            problems = problems + validity.get("sampler_problems", {}).get(sampler, [])
        if problems:
            raise Missing("%s did not run as designed: %s" % (name, "; ".join(problems)))
    return results[name]


def _finished(doc, name):
    """Refuse to judge client outcomes of a case its deadline cut short."""
    stopped = sum(1 for c in doc["clients"] if c["error"] == "case-deadline")
    if stopped:
        raise Missing("%s hit its case deadline of %ss with %d clients still running (raise deadline for slow "
                      "hosts)" % (name, doc["meta"]["params"]["deadline"], stopped))
    return doc


def _window_rows(times, window):
    return [i for i, t in enumerate(times) if window[0] <= t <= window[1]]


def _nearest(times, t):
    """Index of the sample in sorted `times` closest to `t`."""
    lo, hi = 0, len(times) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and abs(times[lo - 1] - t) <= abs(times[lo] - t):
        return lo - 1
    return lo


def _r(x, nd=3):
    return round(x, nd) if isinstance(x, float) else x


# measures ------------------------------------------------------------------

def state_matches_queue(results, cases, state, tolerance=2):
    """Share of samples (clients' window) whose count of `state` lines is within `tolerance` of the
    listener's accept-queue length from sock_diag."""
    agree = total = 0
    per_case = {}
    for name in cases:
        doc = _case(results, name, ('unix',))
        u = doc["samples"]["unix"]
        rows = [i for i in _window_rows(u["t"], doc["meta"]["clients_window"]) if u["queue_len"][i] is not None]
        if not rows:
            raise Missing("%s has no sock_diag queue samples" % name)
        ok = sum(1 for i in rows if abs(u["states"][state][i] - u["queue_len"][i]) <= tolerance)
        agree += ok
        total += len(rows)
        per_case[name] = {"share": _r(ok / float(len(rows))),
                          "median_%s_lines" % state: statistics.median(u["states"][state][i] for i in rows),
                          "median_queue_len": statistics.median(u["queue_len"][i] for i in rows)}
    return agree / float(total), per_case


def state_share(results, case, state, min_samples=20):
    """Share (0..1) of the upstream path lines in `state` while the clients ran; needs `min_samples`
    samples in that window, or the share is noise."""
    doc = _case(results, case, ('unix',))
    u = doc["samples"]["unix"]
    samples = len(_window_rows(u["t"], doc["meta"]["clients_window"]))
    pct = doc["summary"]["unix_states_pct"].get(state)
    if pct is None:
        raise Missing("%s sampled no upstream path line" % case)
    if samples < min_samples:
        raise Missing("%s: the clients were done after %d samples (%.3f s), fewer than the %d a share needs"
                      % (case, samples, doc["meta"]["clients_window"][1] - doc["meta"]["clients_window"][0],
                         min_samples))
    return pct / 100.0, {"unix_states_pct": doc["summary"]["unix_states_pct"], "samples": samples}


def status_share(results, case, status):
    """Share of clients whose outcome is `status` (an HTTP status or an error name)."""
    counts = _finished(_case(results, case), case)["summary"]["clients"]["status_counts"]
    total = sum(counts.values())
    return counts.get(str(status), 0) / float(total), {"status_counts": counts}


def _proxy_timeout(doc):
    params = doc["meta"]["params"]
    return 60.0 if params["nginx_default_timeouts"] else float(params["proxy_timeout"])


def ended_at_timeout(results, case, tolerance_s=1.0):
    """Share of the case's clients whose request nginx ended at the proxy timeout: its access log's
    $upstream_response_time lies in [timeout, timeout + tolerance_s]. nginx's own clock, so a slow
    (emulated) host's client-side overhead does not count; clients without a log line count as not."""
    doc = _finished(_case(results, case), case)
    timeout = _proxy_timeout(doc)
    if not doc["clients"]:
        raise Missing("%s has no clients" % case)
    try:
        rows = accesslog.parse(doc["logs"].get("access") or [])
    except accesslog.AccessLogError as exc:
        raise Missing("%s: %s" % (case, exc))
    upstream = sorted(r["upstream_response_time"] for r in rows if r["upstream_response_time"] is not None)
    if not upstream:
        raise Missing("%s has no access-log line with an upstream response time" % case)
    ok = sum(1 for x in upstream if timeout <= x <= timeout + tolerance_s)
    return ok / float(len(doc["clients"])), {
        "proxy_timeout_s": timeout, "log_lines": len(rows), "clients": len(doc["clients"]),
        "upstream_response_time_s": {"min": upstream[0], "median": _r(statistics.median(upstream)),
                                     "max": upstream[-1]}}


def clients_held_for_timeout(results, case):
    """Share of the case's clients that waited at least the proxy timeout for their request to end."""
    doc = _finished(_case(results, case), case)
    timeout = _proxy_timeout(doc)
    lat = [c["end"] - c["start"] for c in doc["clients"] if c["start"] is not None and c["end"] is not None]
    if not lat:
        raise Missing("%s has no client timings" % case)
    held = sum(1 for x in lat if x >= timeout)
    return held / float(len(doc["clients"])), {"proxy_timeout_s": timeout,
                                                "latency_s": doc["summary"]["clients"]["latency_s"]}


def active_formula(results, cases, tolerance=1):
    """Share of stub_status samples (clients' window) where Active = Q + A + 1, with Q the upstream
    accept-queue length (sock_diag) and A the accepted upstream connections (path lines - listener - Q),
    taken from the /proc/net/unix sample nearest in time."""
    agree = total = 0
    per_case = {}
    for name in cases:
        doc = _case(results, name, ('unix', 'stub_status'))
        s, u = doc["samples"]["stub_status"], doc["samples"]["unix"]
        rows = [i for i in _window_rows(s["t"], doc["meta"]["clients_window"]) if s["active"][i] is not None]
        ok = 0
        examples = []
        for i in rows:
            j = _nearest(u["t"], s["t"][i])
            q = u["queue_len"][j]
            if q is None:
                continue
            a = max(u["total"][j] - 1 - q, 0)
            predicted = q + a + 1
            ok += abs(s["active"][i] - predicted) <= tolerance
            total += 1
            if len(examples) < 3 and i == rows[len(rows) // 2]:
                examples.append({"t": s["t"][i], "active": s["active"][i], "Q": q, "A": a})
        agree += ok
        per_case[name] = {"agree": ok, "samples": len(rows), "example": examples}
    if not total:
        raise Missing("no stub_status sample with a queue sample beside it")
    return agree / float(total), per_case


def active_over_limit(results, cases):
    """Largest (stub_status Active - worker_connections) over the cases where stub_status answered."""
    worst = None
    per_case = {}
    for name in cases:
        doc = _case(results, name, ('stub_status',))
        wc = doc["meta"]["params"]["worker_connections"]
        peak = doc["summary"]["active_peak"]
        per_case[name] = {"worker_connections": wc, "active_peak": peak,
                          "stub_answers": doc["summary"]["stub_samples"] - doc["summary"]["stub_errors"],
                          "clients": doc["summary"]["clients"]["status_counts"]}
        if peak is not None:
            worst = peak - wc if worst is None else max(worst, peak - wc)
    if worst is None:
        raise Missing("stub_status never answered in %s" % ", ".join(cases))
    return worst, per_case


def active_minus_somaxconn(results, case, which="at_listen"):
    """stub_status Active peak minus net.core.somaxconn: the value at listen() or the one in force (`now`)."""
    doc = _case(results, case, ('stub_status',))
    peak = doc["summary"]["active_peak"]
    if peak is None:
        raise Missing("stub_status never answered in %s" % case)
    at_listen = doc["meta"].get("somaxconn_at_listen", doc["meta"]["somaxconn"])
    som = doc["meta"]["somaxconn"] if which == "now" else at_listen
    return peak - som, {"active_peak": peak, "somaxconn_at_listen": at_listen, "somaxconn_now": doc["meta"]["somaxconn"],
                        "clients": doc["summary"]["clients"]["status_counts"]}


def active_rise(results, case):
    """Median stub_status Active while the clients waited, minus 1 (the status request itself)."""
    doc = _case(results, case, ('stub_status',))
    s = doc["samples"]["stub_status"]
    window = doc["meta"]["clients_window"]
    rows = [i for i in _window_rows(s["t"], [window[0] + 0.2, window[1] - 0.2]) if s["active"][i] is not None]
    if not rows:
        raise Missing("no stub_status sample while the request waited")
    before = [s["active"][i] for i, t in enumerate(s["t"]) if t < window[0] and s["active"][i] is not None]
    median = statistics.median(s["active"][i] for i in rows)
    return median - 1, {"active_median_while_waiting": median, "active_before": before[-1] if before else None}


def release_delay(results, case, after=None):
    """Seconds from the clients' last end until only the listener's line is left on the upstream path;
    with `after`, this case's delay minus that case's."""
    def delay(name):
        doc = _case(results, name, ('unix',))
        u = doc["samples"]["unix"]
        end = max(c["end"] for c in doc["clients"] if c["end"] is not None)
        for t, total in zip(u["t"], u["total"]):
            if t >= end and total <= 1:
                return t - end
        tail = [total for t, total in zip(u["t"], u["total"]) if t >= end]
        raise Missing("%s: no 03→01 switch while sampled: the upstream path still had %s lines %.2f s after the "
                      "clients ended (the upstream holds its sockets until it exits)"
                      % (name, tail[-1] if tail else "?", (u["t"][-1] - end) if u["t"] else 0))
    mine = delay(case)
    if after is None:
        return mine, {"delay_s": _r(mine)}
    theirs = delay(after)
    return mine - theirs, {"delay_s": _r(mine), "delay_s_%s" % after: _r(theirs)}


def memory_growth(results, case, field="vmsize"):
    """Largest worker's VmSize (or VmRSS) peak divided by its first sample."""
    doc = _case(results, case, ('stub_status',))
    m = doc["samples"]["memory"]
    values = [v for v in m["worker_%s_kb_max" % field] if v is not None]
    if not values:
        raise Missing("no worker memory samples in %s" % case)
    body = [b for b in m.get("body_temp_bytes", []) if b is not None]
    return max(values) / float(values[0]), {
        "worker_%s_kb_first" % field: values[0], "worker_%s_kb_peak" % field: max(values),
        "worker_vmrss_kb_peak": max(v for v in m["worker_vmrss_kb_max"] if v is not None),
        "body_temp_bytes_peak": max(body) if body else None,
        "body_temp_files_peak": max(m.get("body_temp_files", [0]) or [0]),
        "clients": doc["summary"]["clients"]["status_counts"]}


def listen_ratio(results, one, many):
    """listen() calls at start-up with N proxy_pass locations divided by those with 1."""
    a, b = _case(results, one), _case(results, many)
    for doc, name in ((a, one), (b, many)):
        if "strace" not in doc["meta"]:
            raise Missing("%s ran without strace" % name)
    n1, nn = len(a["meta"]["strace"]["listen"]), len(b["meta"]["strace"]["listen"])
    if n1 == 0:
        raise Missing("no listen() seen in %s" % one)
    return nn / float(n1), {"listen_calls_1_location": n1,
                            "listen_calls_%d_locations" % b["meta"]["params"]["proxy_locations"]: nn,
                            "locations": b["meta"]["params"]["proxy_locations"]}


def request_sequence(results, case, pattern):
    """Share of traced proxied requests whose system calls follow `pattern` in order."""
    from .strace import follows

    doc = _case(results, case)
    st = doc["meta"].get("strace")
    if not st or not st["requests"]:
        raise Missing("%s traced no proxied request" % case)
    ok = sum(1 for r in st["requests"] if follows(r["steps"], pattern))
    return ok / float(len(st["requests"])), {"requests": len(st["requests"]), "connect_results": st["connect_results"],
                                            "example": st["requests"][0]["steps"]}


def queue_over_somaxconn(results, case):
    """Accept-queue peak (sock_diag) minus the net.core.somaxconn in force when the clients ran."""
    doc = _case(results, case, ('unix',))
    peak = doc["summary"]["queue_len_peak"]
    if peak is None:
        raise Missing("no sock_diag samples in %s" % case)
    return peak - doc["meta"]["somaxconn"], {"queue_len_peak": peak, "somaxconn": doc["meta"]["somaxconn"],
                                             "backlog": doc["summary"]["backlog"]}


def refused(results, case):
    """Upstream connects nginx had refused: error-log lines with EAGAIN on connect()."""
    doc = _case(results, case)
    lines = [l for l in doc["logs"]["error"] if "connect()" in l and "(11:" in l]
    return len(lines), {"error_log_lines": len(lines), "example": lines[0][:200] if lines else None,
                        "clients": doc["summary"]["clients"]["status_counts"]}


MEASURES = {f.__name__: f for f in (state_matches_queue, state_share, status_share, ended_at_timeout,
                                    clients_held_for_timeout, active_formula, active_over_limit,
                                    active_minus_somaxconn, active_rise, release_delay, memory_growth, listen_ratio,
                                    request_sequence, queue_over_somaxconn, refused)}


# verdicts ------------------------------------------------------------------

def evaluate_claim(claim, results):
    checks = []
    for check in claim["checks"]:
        entry = {"measure": check["measure"], "args": check.get("args", {}), "op": check["op"],
                 "threshold": check["value"]}
        try:
            value, evidence = MEASURES[check["measure"]](results, **check.get("args", {}))
            entry.update(value=_r(value, 4), evidence=evidence, passed=bool(OPS[check["op"]](value, check["value"])))
        except Missing as exc:
            entry.update(value=None, evidence=None, passed=None, reason=str(exc))
        checks.append(entry)
    if any(c["passed"] is False for c in checks):
        verdict = REFUTED
    elif any(c["passed"] is None for c in checks):
        verdict = INCONCLUSIVE
    else:
        verdict = CONFIRMED
    reasons = [c["reason"] for c in checks if c.get("reason")]
    ours = "; ".join("%s %s%s" % (c["measure"], c["value"] if c["value"] is not None else "n/a",
                                  "" if c["passed"] is None else " (%s %s %s)" % (
                                      "✓" if c["passed"] else "✗", c["op"], c["threshold"])) for c in checks)
    return {"id": claim["id"], "verdict": verdict, "checks": checks, "ours": ours,
            "reason": "; ".join(reasons) or None, "published": claim.get("published")}


def validate_claims(claims):
    """Errors in a claims file (unknown measure or operator, missing fields)."""
    errors = []
    seen = set()
    for claim in claims:
        for field in ("id", "source", "statement", "tested_by", "checks"):
            if field not in claim:
                errors.append("%s: missing %s" % (claim.get("id", "?"), field))
        if claim.get("id") in seen:
            errors.append("%s: duplicate id" % claim["id"])
        seen.add(claim.get("id"))
        for check in claim.get("checks", []):
            if check.get("measure") not in MEASURES:
                errors.append("%s: unknown measure %s (known: %s)" % (claim.get("id"), check.get("measure"),
                                                                       ", ".join(sorted(MEASURES))))
            if check.get("op") not in OPS:
                errors.append("%s: unknown op %s" % (claim.get("id"), check.get("op")))
    return errors


def evaluate(claims, results_by_host):
    """{host: [verdict, ...]} for every claim on every host."""
    return {host: [evaluate_claim(c, results) for c in claims] for host, results in sorted(results_by_host.items())}
