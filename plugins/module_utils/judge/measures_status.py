"""Measures read from stub_status and the worker's memory samples."""

import statistics

from .measure_common import Missing, case_result, nearest, rounded, window_rows

__all__ = ["active_formula", "active_over_limit", "active_minus_somaxconn", "active_rise", "memory_growth"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("active_formula",)


def _held_span(unix, stub, window):
    """The steady part of the clients' window: from the first /proc/net/unix sample where the upstream path
    held its most connections (Q + A at its peak: the requests nginx forwarded have arrived) to the last
    stub_status sample where Active was at its peak (after it nginx is ending requests while the upstream's
    sockets, e.g. a queue nobody accepts, outlive them). None when the two do not overlap."""
    rows = [i for i in window_rows(unix["t"], window) if unix["queue_len"][i] is not None]
    peak = max((unix["total"][i] - 1 for i in rows), default=0)
    active = [(t, a) for t, a in zip(stub["t"], stub["active"]) if a is not None and window[0] <= t <= window[1]]
    if peak <= 0 or not active:
        return None
    first = min(unix["t"][i] for i in rows if unix["total"][i] - 1 == peak)
    top = max(a for _, a in active)
    last = max(t for t, a in active if a == top)
    return [first, last] if first <= last else None


def active_formula(results, cases, tolerance=1, phase="held"):
    """Share of stub_status samples where Active = Q + A + 1 (within `tolerance`), with Q the upstream
    accept-queue length (sock_diag) and A the accepted upstream connections (path lines - listener - Q),
    taken from the /proc/net/unix sample nearest in time. `phase` "held": the steady part of the clients'
    window (_held_span); "all": the whole window, including the ramp-up (nginx has accepted clients and not yet
    connected upstream: seconds on an emulated VM) and the teardown. The evidence gives both shares; a case
    without a steady part counts with all its samples."""
    counts = {"held": [0, 0], "all": [0, 0]}
    per_case = {}
    for name in cases:
        doc = case_result(results, name, ('unix', 'stub_status'))
        s, u = doc["samples"]["stub_status"], doc["samples"]["unix"]
        window = doc["meta"]["clients_window"]
        held = _held_span(u, s, window)
        mine = {"held": [0, 0], "all": [0, 0]}
        example = None
        for i in window_rows(s["t"], window):
            if s["active"][i] is None:
                continue
            j = nearest(u["t"], s["t"][i])
            q = u["queue_len"][j]
            if q is None:
                continue
            a = max(u["total"][j] - 1 - q, 0)
            fits = abs(s["active"][i] - (q + a + 1)) <= tolerance
            phases = ["all"] + (["held"] if not held or held[0] <= s["t"][i] <= held[1] else [])
            for p in phases:
                mine[p][0] += fits
                mine[p][1] += 1
            if not fits and example is None:
                example = {"t_after_start": rounded(s["t"][i] - window[0]), "active": s["active"][i], "Q": q, "A": a,
                           "held": "held" in phases}
        for p in counts:
            counts[p][0] += mine[p][0]
            counts[p][1] += mine[p][1]
        per_case[name] = {"held_agree": mine["held"][0], "held_samples": mine["held"][1],
                          "all_agree": mine["all"][0], "all_samples": mine["all"][1],
                          "held_span_s": [rounded(t - window[0]) for t in held] if held else None,
                          "first_misfit": example}
    agree, total = counts[phase]
    if not total:
        raise Missing("no stub_status sample with a queue sample beside it%s"
                      % (" while the upstream held the requests" if phase == "held" else ""))
    evidence = {"phase": phase, "share_held": rounded(counts["held"][0] / float(counts["held"][1]), 4)
                if counts["held"][1] else None,
                "share_all": rounded(counts["all"][0] / float(counts["all"][1]), 4) if counts["all"][1] else None,
                "cases": per_case}
    return agree / float(total), evidence


def active_over_limit(results, cases):
    """Largest (stub_status Active - worker_connections) over the cases where stub_status answered."""
    worst = None
    per_case = {}
    for name in cases:
        doc = case_result(results, name, ('stub_status',))
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
    doc = case_result(results, case, ('stub_status',))
    peak = doc["summary"]["active_peak"]
    if peak is None:
        raise Missing("stub_status never answered in %s" % case)
    at_listen = doc["meta"].get("somaxconn_at_listen", doc["meta"]["somaxconn"])
    som = doc["meta"]["somaxconn"] if which == "now" else at_listen
    return peak - som, {"active_peak": peak, "somaxconn_at_listen": at_listen, "somaxconn_now": doc["meta"]["somaxconn"],
                        "clients": doc["summary"]["clients"]["status_counts"]}


def active_rise(results, case):
    """Median stub_status Active while the clients waited, minus 1 (the status request itself)."""
    doc = case_result(results, case, ('stub_status',))
    s = doc["samples"]["stub_status"]
    window = doc["meta"]["clients_window"]
    rows = [i for i in window_rows(s["t"], [window[0] + 0.2, window[1] - 0.2]) if s["active"][i] is not None]
    if not rows:
        raise Missing("no stub_status sample while the request waited")
    before = [s["active"][i] for i, t in enumerate(s["t"]) if t < window[0] and s["active"][i] is not None]
    median = statistics.median(s["active"][i] for i in rows)
    return median - 1, {"active_median_while_waiting": median, "active_before": before[-1] if before else None}


def memory_growth(results, case, field="vmsize"):
    """Largest worker's VmSize (or VmRSS) peak divided by its first sample."""
    doc = case_result(results, case, ('proc',))
    m = doc["samples"]["memory"]
    values = [v for v in m["worker_%s_kb_max" % field] if v is not None]
    if not values:
        raise Missing("no worker memory samples in %s" % case)
    body = [b for b in m.get("body_temp_bytes", []) if b is not None]
    return max(values) / float(values[0]), {
        "worker_%s_kb_first" % field: values[0], "worker_%s_kb_peak" % field: max(values),
        "worker_vmrss_kb_peak": max(v for v in m["worker_vmrss_kb_max"] if v is not None),
        "body_temp_bytes_peak": max(body) if body else None,
        "body_temp_files_peak": max([f for f in m.get("body_temp_files", []) if f is not None] or [None]),
        "clients": doc["summary"]["clients"]["status_counts"]}
