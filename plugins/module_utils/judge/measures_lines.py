"""The upstream path's lines in /proc/net/unix from the kernel's and the upstream's own records, not from samples.

A connection's path line exists from nginx's connect() (the kernel queues an embryo socket that carries the
listener's address: state 02, SS_CONNECTING, as /proc/net/unix prints a socket with no struct socket yet) through
the upstream's accept (the socket gets one: 03, SS_CONNECTED) until the upstream closes it; the listener's own line
(01) is there all along. The connects are the kernel's trace of the nginx workers (target ftrace.py, `connects`), the
accepts and closes the upstream's events, all on CLOCK_MONOTONIC, so the line count at any instant is

    1 + Q(t) + A(t),   Q = connects - accepts (queued, 02),   A = accepts - closes (accepted, 03)

and the share of each state over the span the path was in use (from nginx's first connect() to the upstream's last
close) is a time integral. Outside that span the path holds the listener alone, and how much of that idle time a
window takes in is the host's pace, not the kernel's: on a VM under TCG the clients' window opened 3.8 s before
nginx's first connect (the clients' start and nginx reading them) and its 01 share moved between 0.45 and 0.91 with
that lead, while over the path's own span it stayed at 0.11 to 0.66. The clients' window's share is in the evidence.
A line is counted from its connect()'s entry (it appears inside the syscall); the evidence gives the time between
each entry and the earlier of the call's exit and the accept, summed, within which the counts are exact. The accept
queue is first in, first out, so the k-th accept is the k-th connect's: an accept before its connect would mean the
clocks disagree, and the measure refuses.
"""

from .measure_common import Missing, case_result, rounded, window_rows

__all__ = ["traced_state_share"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("traced_state_share",)


def _events(doc):
    """(sorted connect times that succeeded, accept times, close times) of a case, or Missing with why."""
    name = doc["meta"]["case"]
    connects = doc.get("connects")
    if not connects:
        raise Missing("%s has no trace of nginx's upstream connects (%s)" % (
            name, doc["meta"].get("connect_trace_error") or "trace_connects was off, or a result before kit 0.5"))
    upstream = (doc.get("upstream") or {}).get("events")
    if not upstream or (doc["upstream"].get("truncated")):
        raise Missing("%s has no complete record of the upstream's accepts and closes" % name)
    times = lambda kind: sorted(t for t, k in zip(upstream["t"], upstream["kind"]) if k == kind)  # noqa: E731
    made = sorted(t for t, ret in zip(connects["t"], connects["ret"]) if ret == 0)  # each connect() entry
    accepts, closes = times("accept"), times("close")
    if len(accepts) > len(made) or len(closes) > len(accepts):
        raise Missing("%s: %d connects, %d accepts and %d closes do not nest" % (name, len(made), len(accepts),
                                                                                 len(closes)))
    early = [k for k, (c, a) in enumerate(zip(made, accepts)) if a < c]
    if early:
        k = early[0]
        raise Missing("%s: accept %d came %.6f s before connect %d began: the two records' clocks disagree"
                      % (name, k + 1, made[k] - accepts[k], k + 1))
    return made, accepts, closes


def _start_spread(doc, accepts):
    """Seconds, summed over the connections, between each connect()'s entry (the line's start as counted) and the
    earlier of its exit and its accept: the line appeared somewhere in there, so the shares are exact to within this."""
    connects = doc["connects"]
    calls = sorted((t, t_exit) for t, t_exit, ret in zip(connects["t"], connects.get("t_exit") or connects["t"],
                                                          connects["ret"]) if ret == 0)
    return sum(max(0.0, min(t_exit, a) - t) for (t, t_exit), a in zip(calls, accepts))


def _count(times, t):
    """How many of the sorted `times` are at or before `t`."""
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


def integrals(made, accepts, closes, window):
    """(seconds of queued lines, seconds of accepted lines) integrated over `window`: the areas under Q(t) and A(t)."""
    start, end = window
    edges = sorted({start, end} | {t for t in made + accepts + closes if start < t < end})
    queued = accepted = 0.0
    for a, b in zip(edges, edges[1:]):
        made_n, acc_n, closed_n = _count(made, a), _count(accepts, a), _count(closes, a)
        queued += (made_n - acc_n) * (b - a)
        accepted += (acc_n - closed_n) * (b - a)
    return queued, accepted


def lines_at(made, accepts, closes, t):
    """(queued, accepted) lines at instant `t`."""
    return _count(made, t) - _count(accepts, t), _count(accepts, t) - _count(closes, t)


def _cross_check(doc, made, accepts, closes, window):
    """The sampler against the records, at the sampler's own instants in the window: how many samples saw the line
    count the records give (within one line: a read of /proc/net/unix is not instantaneous), and the 01 share the
    samples gave next to the one the records give at those same instants (the sampler's view is where it looked)."""
    unix = doc["samples"]["unix"]
    rows = window_rows(unix["t"], window)
    if not rows:
        return {"samples": 0}
    agree, sampled_listener, predicted_listener, predicted_total = 0, 0, 0, 0
    for i in rows:
        queued, accepted = lines_at(made, accepts, closes, unix["t"][i])
        predicted = 1 + queued + accepted
        agree += abs(unix["total"][i] - predicted) <= 1
        sampled_listener += unix["states"]["01"][i]
        predicted_listener += 1
        predicted_total += predicted
    sampled_total = sum(unix["total"][i] for i in rows)
    validity = doc["meta"].get("validity") or {}
    return {"samples": len(rows), "agree_within_one_line": rounded(agree / float(len(rows))),
            "sampled_01_share": rounded(sampled_listener / float(sampled_total)) if sampled_total else None,
            "records_01_share_at_those_instants": rounded(predicted_listener / float(predicted_total)),
            "sampler_kept_up": not (validity.get("sampler_problems") or {}).get("unix")}


def _shares(made, accepts, closes, window):
    """(shares per state, span, queued line-seconds, accepted line-seconds) over `window`."""
    span = window[1] - window[0]
    queued, accepted = integrals(made, accepts, closes, window)
    total = span + queued + accepted
    return {"01": span / total, "02": queued / total, "03": accepted / total}, span, queued, accepted


def traced_state_share(results, case, state):
    """Share (0..1) of the upstream path's lines in `state` (01 listener, 02 queued, 03 accepted) over the span the
    path was in use, from nginx's first connect() to the upstream's last close, integrated over time from the
    records (no sampling): T / (T + Σ line lifetimes) for 01. The evidence says what makes up the lifetimes (time
    queued, time accepted), the share over the clients' whole window beside it, and how the sampler compared where
    it looked."""
    doc = case_result(results, case)
    made, accepts, closes = _events(doc)
    if not made:
        raise Missing("%s: none of nginx's upstream connects succeeded, so the path never had a line" % case)
    path_span = [made[0], max(made + accepts + closes)]
    if path_span[1] <= path_span[0]:
        raise Missing("%s: its upstream path was in use for no time (one connect, never accepted)" % case)
    if state not in ("01", "02", "03"):
        raise Missing("the records give states 01, 02 and 03, not %s" % state)
    shares, span, queued, accepted = _shares(made, accepts, closes, path_span)
    window = doc["meta"]["clients_window"]
    over_clients = _shares(made, accepts, closes, window)[0] if window[1] > window[0] else {}
    life = [c - a for a, c in zip(accepts, closes)]
    waits = [a - c for c, a in zip(made, accepts)]
    evidence = {"shares": {k: rounded(v, 4) for k, v in shares.items()}, "window_s": rounded(span, 6),
                "window": "nginx's first connect to the upstream's last close",
                "path_span_after_clients_start_s": rounded(path_span[0] - window[0], 6),
                "clients_window_s": rounded(window[1] - window[0], 6),
                "clients_window_shares": {k: rounded(v, 4) for k, v in over_clients.items()},
                "queued_line_s": rounded(queued, 6), "accepted_line_s": rounded(accepted, 6),
                "connects": len(made), "accepts": len(accepts), "closes": len(closes),
                "line_start_spread_s": rounded(_start_spread(doc, accepts), 6),
                "queue_wait_s": {"median": rounded(sorted(waits)[len(waits) // 2], 6) if waits else None,
                                 "max": rounded(max(waits), 6) if waits else None},
                "accepted_life_s": {"median": rounded(sorted(life)[len(life) // 2], 6) if life else None,
                                    "max": rounded(max(life), 6) if life else None},
                "queue_peak": max((lines_at(made, accepts, closes, t)[0] for t in made), default=0),
                "sampler": _cross_check(doc, made, accepts, closes, window)}
    return shares[state], evidence
