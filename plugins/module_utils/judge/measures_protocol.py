"""Measures of the HTTP life of connections: stub_status's Reading/Writing/Waiting, upstream keep-alive pools,
when the upstream sees a request, and how long and how often nginx keeps a client connection.

The upstream's side comes from its events file (result field `upstream`, plugins/module_utils/upstream_events.py):
every connection it accepted with the nginx worker that opened it, the first byte and the end of every request,
and every close.
"""

import statistics

from .measure_common import Missing, case_result, finished, rounded, window_rows

__all__ = ["stub_state_share", "upstream_connections_per_request", "upstream_pool", "upstream_lead",
           "body_temp_files_peak", "idle_close_s", "requests_per_connection"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("stub_state_share",)

STATES = ("reading", "writing", "waiting")


def stub_state_share(results, case, state, loaded=0.5):
    """Mean share of `state` (reading, writing or waiting) among the connections stub_status counts in those
    states, over the samples of the clients' window where the client connections were at least `loaded` of
    their peak. The stub_status request itself is one Writing connection and is left out."""
    if state not in STATES:
        raise Missing("state must be one of %s, not %s" % (", ".join(STATES), state))
    doc = case_result(results, case, ("stub_status",))
    s = doc["samples"]["stub_status"]
    rows = []
    for i in window_rows(s["t"], doc["meta"]["clients_window"]):
        counts = dict((k, s[k][i]) for k in STATES)
        if None in counts.values():
            continue
        counts["writing"] = max(counts["writing"] - 1, 0)
        rows.append(counts)
    totals = [sum(r.values()) for r in rows]
    peak = max(totals, default=0)
    if peak == 0:
        raise Missing("%s: stub_status counted no client connection in the clients' window" % case)
    used = [r for r, total in zip(rows, totals) if total >= loaded * peak]
    shares = dict((k, statistics.mean(r[k] / float(sum(r.values())) for r in used)) for k in STATES)
    evidence = {"samples": len(used), "peak_connections": peak, "loaded_from": rounded(loaded * peak),
                "mean_share": dict((k, rounded(v)) for k, v in shares.items()),
                "mean_count": dict((k, rounded(statistics.mean(r[k] for r in used), 1)) for k in STATES),
                "behaviour": doc["meta"]["params"].get("client_behaviour"), "mode": doc["meta"]["params"]["mode"]}
    return shares[state], evidence


def _upstream(doc, case):
    up = doc.get("upstream")
    if not up or not up.get("events"):
        raise Missing("%s: the result has no upstream events (a kit before 0.3.0, or the upstream wrote none)" % case)
    if up.get("truncated"):
        raise Missing("%s: more upstream events than a result keeps (%s); run fewer requests" % (case, up["counts"]))
    return up


def _answered(doc):
    return sum(c.get("responses", 1 if c.get("status") else 0) for c in doc["clients"])


def upstream_connections_per_request(results, case):
    """Connections the upstream accepted per request it received (1.0: a new connection for every request)."""
    doc = finished(case_result(results, case), case)
    counts = _upstream(doc, case)["counts"]
    if not counts["request"]:
        raise Missing("%s: the upstream received no request" % case)
    p = doc["meta"]["params"]
    evidence = {"upstream_accepts": counts["accept"], "upstream_requests": counts["request"],
                "client_answers": _answered(doc), "upstream_keepalive": p.get("upstream_keepalive"),
                "proxy_http_version": p.get("proxy_http_version"),
                "proxy_clear_connection": p.get("proxy_clear_connection"),
                "worker_processes": p["worker_processes"]}
    return counts["accept"] / float(counts["request"]), evidence


def upstream_pool(results, case, of="total"):
    """Upstream connections nginx kept open once the clients were done (idle in its keep-alive pools), `of`
    "total" or "max_per_worker" (the peer PID of each connection is the worker that opened it)."""
    doc = finished(case_result(results, case), case)
    ev = _upstream(doc, case)["events"]
    end = doc["meta"]["clients_window"][1]
    owner, closed = {}, set()
    for t, kind, conn, value in zip(ev["t"], ev["kind"], ev["conn"], ev["value"]):
        if kind == "accept" and t <= end:
            owner[conn] = value
        elif kind == "close" and t <= end:
            closed.add(conn)
    per_worker = {}
    for conn, pid in owner.items():
        if conn not in closed:
            per_worker[str(pid)] = per_worker.get(str(pid), 0) + 1
    used = {}
    for pid in owner.values():
        used[str(pid)] = used.get(str(pid), 0) + 1
    p = doc["meta"]["params"]
    evidence = {"open_after_clients_by_worker": per_worker, "connections_opened_by_worker": used,
                "upstream_keepalive": p.get("upstream_keepalive"), "worker_processes": p["worker_processes"],
                "listen_reuseport": p.get("listen_reuseport")}
    if len(used) < p["worker_processes"]:
        raise Missing("%s: only %d of the %d workers opened an upstream connection (%s), so the pools of the others "
                      "were never tried" % (case, len(used), p["worker_processes"], used))
    if of == "total":
        return sum(per_worker.values()), evidence
    if of == "max_per_worker":
        return max(per_worker.values(), default=0), evidence
    raise Missing("of must be total or max_per_worker, not %s" % of)


def upstream_lead(results, case):
    """Seconds from the client's last body byte to the upstream's first byte of that request (the case's first
    trickling client and the upstream's first request): above 0 the upstream saw nothing before the whole body
    had arrived, below 0 it was reading while the client still sent."""
    doc = finished(case_result(results, case), case)
    ev = _upstream(doc, case)["events"]
    sent = [c for c in doc["clients"] if c.get("sent_last") is not None]
    firsts = [t for t, kind in zip(ev["t"], ev["kind"]) if kind == "first-byte"]
    if not sent or not firsts:
        raise Missing("%s: needs a trickling client that sent its whole body (%d did) and a request at the upstream "
                      "(%d first bytes)" % (case, len(sent), len(firsts)))
    client = min(sent, key=lambda c: c["start"])
    p = doc["meta"]["params"]
    evidence = {"client_first_sent": rounded(client["connected"]), "client_last_sent": rounded(client["sent_last"]),
                "upstream_first_byte": rounded(firsts[0]), "client_status": client["status"],
                "request_body_bytes": p["request_body_bytes"], "client_body_buffer_size": p.get("client_body_buffer_size"),
                "proxy_request_buffering": p.get("proxy_request_buffering"),
                "upstream_requests": _upstream(doc, case)["counts"]["request"]}
    return firsts[0] - client["sent_last"], evidence


def body_temp_files_peak(results, case):
    """Most request-body temporary files the workers held open at once (their descriptors into
    client_body_temp, sampled with stub_status)."""
    doc = case_result(results, case, ("proc",))
    files = [f for f in doc["samples"]["memory"].get("body_temp_files", []) if f is not None]
    if not files:
        raise Missing("%s: no sample of the workers' temporary body files" % case)
    p = doc["meta"]["params"]
    return max(files), {"samples": len(files), "request_body_bytes": p.get("request_body_bytes"),
                        "client_body_buffer_size": p.get("client_body_buffer_size"),
                        "body_temp_bytes_peak": max([b for b in doc["samples"]["memory"].get("body_temp_bytes", [])
                                                     if b is not None] or [0])}


def idle_close_s(results, case):
    """Median seconds from a keep-alive client's answer to nginx closing its idle connection (keepalive-idle
    clients); Missing when a client's hold ended before nginx closed."""
    doc = finished(case_result(results, case), case)
    waits = [c["closed"] - c["first_byte"] for c in doc["clients"]
             if c.get("closed") is not None and c.get("first_byte") is not None]
    open_still = sum(1 for c in doc["clients"] if c.get("closed") is None and c.get("status"))
    p = doc["meta"]["params"]
    evidence = {"clients_closed_by_nginx": len(waits), "clients_still_open_at_hold_end": open_still,
                "min_s": rounded(min(waits, default=0)), "max_s": rounded(max(waits, default=0)),
                "client_hold_s": p.get("client_hold_s"), "omitted_directives": p.get("omit_directives")}
    if not waits or open_still:
        raise Missing("%s: %d clients were closed by nginx and %d were still open when their hold of %ss ended: "
                      "hold longer than the idle timeout" % (case, len(waits), open_still, p.get("client_hold_s")))
    return statistics.median(waits), evidence


def requests_per_connection(results, case):
    """Median answers a keepalive-requests client got on its connection before nginx closed it (all of them
    when nginx never closed)."""
    doc = finished(case_result(results, case), case)
    clients = [c for c in doc["clients"] if "responses" in c]
    if not clients:
        raise Missing("%s: no keepalive-requests client" % case)
    answers = [c["responses"] for c in clients]
    evidence = {"clients": len(clients), "asked": doc["meta"]["params"].get("client_requests"),
                "min": min(answers), "max": max(answers),
                "close_header_after": sorted(set(c["close_after"] for c in clients if c.get("close_after"))),
                "closed_by_nginx": sum(1 for c in clients if c.get("closed") is not None),
                "keepalive_requests": doc["meta"]["params"].get("keepalive_requests")}
    return statistics.median(answers), evidence
