"""Measures read from the /proc/net/unix and sock_diag samples: state shares, accept queue, release."""

import statistics

from .measure_common import Missing, case_result, rounded, window_rows

__all__ = ["state_matches_queue", "state_share", "queue_over_somaxconn", "release_delay"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("state_matches_queue", "state_share")


def state_matches_queue(results, cases, state, tolerance=2):
    """Share of samples (clients' window) whose count of `state` lines is within `tolerance` of the
    listener's accept-queue length from sock_diag."""
    agree = total = 0
    per_case = {}
    for name in cases:
        doc = case_result(results, name, ('unix',))
        u = doc["samples"]["unix"]
        rows = [i for i in window_rows(u["t"], doc["meta"]["clients_window"]) if u["queue_len"][i] is not None]
        if not rows:
            raise Missing("%s has no sock_diag queue samples" % name)
        ok = sum(1 for i in rows if abs(u["states"][state][i] - u["queue_len"][i]) <= tolerance)
        agree += ok
        total += len(rows)
        per_case[name] = {"share": rounded(ok / float(len(rows))),
                          "median_%s_lines" % state: statistics.median(u["states"][state][i] for i in rows),
                          "median_queue_len": statistics.median(u["queue_len"][i] for i in rows)}
    return agree / float(total), per_case


def state_share(results, case, state, min_samples=20):
    """Share (0..1) of the upstream path lines in `state` while the clients ran; needs `min_samples`
    samples in that window, or the share is noise."""
    doc = case_result(results, case, ('unix',))
    u = doc["samples"]["unix"]
    samples = len(window_rows(u["t"], doc["meta"]["clients_window"]))
    pct = doc["summary"]["unix_states_pct"].get(state)
    if pct is None:
        raise Missing("%s sampled no upstream path line" % case)
    if samples < min_samples:
        raise Missing("%s: the clients were done after %d samples (%.3f s), fewer than the %d a share needs"
                      % (case, samples, doc["meta"]["clients_window"][1] - doc["meta"]["clients_window"][0],
                         min_samples))
    return pct / 100.0, {"unix_states_pct": doc["summary"]["unix_states_pct"], "samples": samples}


def queue_over_somaxconn(results, case):
    """Accept-queue peak (sock_diag) minus the net.core.somaxconn in force when the clients ran."""
    doc = case_result(results, case, ('unix',))
    peak = doc["summary"]["queue_len_peak"]
    if peak is None:
        raise Missing("no sock_diag samples in %s" % case)
    return peak - doc["meta"]["somaxconn"], {"queue_len_peak": peak, "somaxconn": doc["meta"]["somaxconn"],
                                             "backlog": doc["summary"]["backlog"]}


def release_delay(results, case, after=None):
    """Seconds until only the listener's line is left on the upstream path: from the clients' last end, or, where the
    case releases its upstream's connections (upstream_release_s), from the upstream's last close of them (its own
    events: the release the lab times, the same in every case, so what is compared is how long the kernel keeps a
    line after the upstream lets go). With `after`, this case's seconds minus that case's. The evidence says how many
    lines the path still had in the last sample before the release, and whether any sample before it showed the
    listener alone."""
    def delay(name):
        doc = case_result(results, name, ('unix',))
        u = doc["samples"]["unix"]
        end = max(c["end"] for c in doc["clients"] if c["end"] is not None)
        start, ev = end, {"from": "the clients' last end"}
        if doc["meta"].get("upstream_release"):
            events = (doc.get("upstream") or {}).get("events") or {"t": [], "kind": []}
            closes = [t for t, k in zip(events["t"], events["kind"]) if k == "close" and t >= end]
            if not closes:
                raise Missing("%s released its upstream's connections but the upstream recorded no close after the "
                              "clients ended" % name)
            start = max(closes)
            before = [total for t, total in zip(u["t"], u["total"]) if end <= t < min(closes)]
            ev = {"from": "the upstream's last close at its release", "release_after_clients_s": rounded(start - end),
                  "lines_before_release": before[-1] if before else None,
                  "samples_with_only_the_listener_before_release": sum(1 for total in before if total <= 1)}
        for t, total in zip(u["t"], u["total"]):
            if t >= start and total <= 1:
                ev["delay_s"] = rounded(t - start)
                return t - start, ev
        tail = [total for t, total in zip(u["t"], u["total"]) if t >= start]
        raise Missing("%s: no 03→01 switch while sampled: the upstream path still had %s lines %.2f s after %s "
                      "(the upstream holds its sockets until it exits: give the case upstream_release_s)"
                      % (name, tail[-1] if tail else "?", (u["t"][-1] - start) if u["t"] else 0, ev["from"]))
    mine, evidence = delay(case)
    if after is None:
        return mine, evidence
    theirs, their_evidence = delay(after)
    return mine - theirs, {case: evidence, after: their_evidence}
