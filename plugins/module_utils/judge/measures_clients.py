"""Measures read from the clients' outcomes, nginx's logs and strace."""

import statistics

from . import accesslog
from .measure_common import Missing, case_result, finished, rounded

__all__ = ["status_share", "ended_at_timeout", "clients_held_for_timeout", "refused", "listen_ratio", "request_sequence"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("status_share", "ended_at_timeout", "clients_held_for_timeout", "request_sequence")


def status_share(results, case, status):
    """Share of clients whose outcome is `status` (an HTTP status or an error name)."""
    counts = finished(case_result(results, case), case)["summary"]["clients"]["status_counts"]
    total = sum(counts.values())
    return counts.get(str(status), 0) / float(total), {"status_counts": counts}


def _proxy_timeout(doc):
    params = doc["meta"]["params"]
    return 60.0 if params["nginx_default_timeouts"] else float(params["proxy_timeout"])


def ended_at_timeout(results, case):
    """Share of the case's clients whose request nginx ended because its proxy timeout fired: nginx logged "upstream
    timed out" for it (ngx_http_upstream_next with NGX_HTTP_UPSTREAM_FT_TIMEOUT, at the timer's expiry) and its access
    log's $upstream_response_time is at least the timeout. nginx's own record, so neither a slow host's client-side
    overhead nor how late a starved host's event loop got to the expired timer (on an emulated VM sharing its cores,
    up to a second) counts; the evidence gives that lateness. Clients without a log line count as not."""
    doc = finished(case_result(results, case), case)
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
    timed_out = sum(1 for line in doc["logs"].get("error") or [] if "upstream timed out" in line)
    at_or_after = sum(1 for x in upstream if x >= timeout)
    return min(timed_out, at_or_after) / float(len(doc["clients"])), {
        "proxy_timeout_s": timeout, "log_lines": len(rows), "clients": len(doc["clients"]),
        "timed_out_lines": timed_out, "ended_at_or_after_the_timeout": at_or_after,
        "upstream_response_time_s": {"min": upstream[0], "median": rounded(statistics.median(upstream)),
                                     "max": upstream[-1]},
        "late_by_s": {"median": rounded(statistics.median(upstream) - timeout), "max": rounded(upstream[-1] - timeout)}}


def clients_held_for_timeout(results, case):
    """Share of the case's clients that waited at least the proxy timeout for their request to end."""
    doc = finished(case_result(results, case), case)
    timeout = _proxy_timeout(doc)
    lat = [c["end"] - c["start"] for c in doc["clients"] if c["start"] is not None and c["end"] is not None]
    if not lat:
        raise Missing("%s has no client timings" % case)
    held = sum(1 for x in lat if x >= timeout)
    return held / float(len(doc["clients"])), {"proxy_timeout_s": timeout,
                                                "latency_s": doc["summary"]["clients"]["latency_s"]}


def refused(results, case):
    """Upstream connects nginx had refused: error-log lines with EAGAIN on connect()."""
    doc = case_result(results, case)
    lines = [l for l in doc["logs"]["error"] if "connect()" in l and "(11:" in l]
    return len(lines), {"error_log_lines": len(lines), "example": lines[0][:200] if lines else None,
                        "clients": doc["summary"]["clients"]["status_counts"]}


def listen_ratio(results, one, many):
    """listen() calls at start-up with N proxy_pass locations divided by those with 1."""
    a, b = case_result(results, one), case_result(results, many)
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

    doc = case_result(results, case)
    st = doc["meta"].get("strace")
    if not st or not st["requests"]:
        raise Missing("%s traced no proxied request" % case)
    ok = sum(1 for r in st["requests"] if follows(r["steps"], pattern))
    return ok / float(len(st["requests"])), {"requests": len(st["requests"]), "connect_results": st["connect_results"],
                                            "example": st["requests"][0]["steps"]}


def follows(steps, pattern):
    """True if the tokens of `pattern` appear in `steps` in that order (not necessarily adjacent);
    a pattern token ending in '=' matches any connect result."""
    i = 0
    for step in steps:
        if i < len(pattern) and (step == pattern[i] or (pattern[i].endswith("=") and step.startswith(pattern[i]))):
            i += 1
    return i == len(pattern)
