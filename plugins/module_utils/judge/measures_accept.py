"""Measures of nginx's accept path from its own record (the debug log's accept lines, nginx_events.py): which worker
took each new connection and how full each worker was then (O13), and what became of the connections beyond
worker_connections: refused at accept, or accepted while nginx closed idle ones to make room (O1, O5).

A worker's used slots are its listener and its channel to the master (2, the connections ngx_event_process_init
takes) plus the client connections it accepted and has not closed. nginx counts a worker as past 7/8 when
ngx_accept_disabled = connection_n / 8 - free_connection_n > 0, i.e. used > 7/8 of worker_connections."""

from . import nginx_events
from .measure_common import Missing, case_result, rounded

__all__ = ["taken_past_seven_eighths", "room_share_past_seven_eighths", "refused_at_accept_share",
           "gap_when_dropped", "gap_minus_refused"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("room_share_past_seven_eighths", "refused_at_accept_share")

# The connections every worker holds before its clients: its listener and its channel to the master.
BASE_SLOTS = 2


def accept_record(doc):
    """The case's accept record as events; Missing when the case did not keep it (error_log_level debug)."""
    lines = doc.get("logs", {}).get("nginx_events")
    if lines is None:
        raise Missing("%s kept no accept record: it must run with error_log_level debug (nginx built --with-debug)"
                      % doc["meta"]["case"])
    events = nginx_events.parse(lines)
    if not any(e["kind"] == "accept" for e in events):
        raise Missing("%s: nginx's debug log has no accept line (is the nginx binary built --with-debug? `nginx -V`)"
                      % doc["meta"]["case"])
    return events


def takers(events, worker_connections):
    """Every new connection a worker took, in the order nginx logged them: (pid, "accepted" or "refused", used
    slots of every worker just before it, as {pid: n})."""
    used, out = {}, []
    for e in events:
        used.setdefault(e["pid"], BASE_SLOTS)
        if e["kind"] == "accept":
            out.append((e["pid"], "accepted", dict(used)))
            used[e["pid"]] += 1
        elif e["kind"] == "no_slot":
            out.append((e["pid"], "refused", dict(used)))
        elif e["kind"] == "close" and e["conn"] is not None:
            used[e["pid"]] -= 1
    return out


def _contested(doc):
    """The connections that came while one worker was past 7/8 and another was not, with the evidence."""
    wc = doc["meta"]["params"]["worker_connections"]
    mark = wc * 7 / 8.0
    events = accept_record(doc)
    all_taken = takers(events, wc)
    workers = sorted({e["pid"] for e in events})
    contested = []
    for pid, how, before in all_taken:
        full = {w for w in workers if before.get(w, BASE_SLOTS) > mark}
        if full and len(full) < len(workers):
            contested.append({"by_past": pid in full, "how": how})
    evidence = {
        "worker_connections": wc, "seven_eighths": mark, "workers": len(workers),
        "accepted_by_worker": {str(w): sum(1 for p, h, _ in all_taken if p == w and h == "accepted") for w in workers},
        "refused_by_worker": {str(w): sum(1 for p, h, _ in all_taken if p == w and h == "refused") for w in workers},
        "contested": len(contested),
        "past_accepted": sum(1 for c in contested if c["by_past"] and c["how"] == "accepted"),
        "past_refused": sum(1 for c in contested if c["by_past"] and c["how"] == "refused"),
        "to_room": sum(1 for c in contested if not c["by_past"]),
        "accept_mutex": doc["meta"]["params"].get("accept_mutex"),
        "accept_mutex_delay_ms": doc["meta"]["params"].get("accept_mutex_delay_ms"),
        "mutex_locks": {str(w): sum(1 for e in events if e["pid"] == w and e["kind"] == "mutex_locked")
                        for w in workers},
    }
    if len(workers) < 2:
        raise Missing("%s: only one worker took connections (%s)" % (doc["meta"]["case"], evidence))
    if not contested:
        raise Missing("%s: no connection came while one worker was past 7/8 and another was not (%s)"
                      % (doc["meta"]["case"], evidence))
    return contested, evidence


def taken_past_seven_eighths(results, case):
    """New connections a worker past 7/8 of its slots took (accepted, or accepted and closed for want of a slot)
    while another worker had room, from nginx's debug log."""
    contested, evidence = _contested(case_result(results, case))
    return evidence["past_accepted"] + evidence["past_refused"], evidence


def room_share_past_seven_eighths(results, case):
    """Of the connections that came while one worker was past 7/8 and another was not, the share the workers with
    room took (nginx's debug log)."""
    contested, evidence = _contested(case_result(results, case))
    return evidence["to_room"] / float(len(contested)), evidence


def _shortfalls(doc):
    """What nginx's record says it did when a new connection found no free slot: refused it at accept
    (ngx_get_connection() NULL in ngx_event_accept: "worker_connections are not enough" with no request context;
    counted in accepts, not in handled) or closed a connection waiting for its request to make room
    (ngx_drain_connections: "reusing connection")."""
    events = accept_record(doc)
    refused = sum(1 for e in events if e["kind"] == "no_slot")
    drained = sum(1 for e in events if e["kind"] == "reusing")
    # how long the clients that failed took to learn it, on their own clock: on an emulated host the refusals wait
    # in the kernel's accept queue until nginx comes round to them (0.6-1.4 s on a TCG VM), which says nothing of
    # whether nginx waited for a slot; its own record does
    took = sorted(c["end"] - c["start"] for c in doc["clients"]
                  if c["start"] is not None and c["end"] is not None and c.get("error") in ("ECONNRESET", "EPIPE",
                                                                                            "no-response"))
    return refused, drained, {"refused_at_accept": refused, "closed_to_make_room": drained,
                              "no_slot_upstream": sum(1 for e in events if e["kind"] == "no_slot_upstream"),
                              "clients": doc["summary"]["clients"]["status_counts"],
                              "refused_clients_failed_after_s": {
                                  "min": rounded(took[0]) if took else None,
                                  "median": rounded(took[len(took) // 2]) if took else None,
                                  "max": rounded(took[-1]) if took else None}}


def refused_at_accept_share(results, cases):
    """Of the new connections that found no free slot, the share nginx refused at accept (rather than accepting
    them and closing an older connection that was waiting for its request); the smallest over `cases`. Missing
    when no connection ever lacked a slot."""
    values, evidence = [], {}
    for case in cases:
        doc = case_result(results, case)
        refused, drained, evidence[case] = _shortfalls(doc)
        if refused + drained == 0:
            raise Missing("%s: no connection lacked a slot (%s)" % (case, evidence[case]))
        values.append(refused / float(refused + drained))
    return min(values), evidence


def _gap_after(doc, case):
    """stub_status accepts - handled at its last answered sample (stub_status_sampling after: once the clients
    ended), with the sample."""
    s = doc["samples"]["stub_status"]
    rows = [i for i, a in enumerate(s["accepts"]) if a is not None and s["handled"][i] is not None]
    if not rows:
        raise Missing("%s: stub_status never answered" % case)
    last = rows[-1]
    return s["accepts"][last] - s["handled"][last], {"accepts": s["accepts"][last], "handled": s["handled"][last],
                                                      "at_s": s["t"][last]}


def gap_when_dropped(results, cases):
    """stub_status accepts - handled once the clients ended, in cases where nginx dropped connections for want of
    slots (refused at accept or closed to make room, by its own record); the smallest over `cases`. Missing where
    no connection was dropped."""
    values, evidence = [], {}
    for case in cases:
        doc = case_result(results, case)
        refused, drained, ev = _shortfalls(doc)
        if refused + drained == 0:
            raise Missing("%s: nginx dropped no connection for want of a slot (%s)" % (case, ev))
        gap, at = _gap_after(doc, case)
        ev.update(at)
        evidence[case] = ev
        values.append(gap)
    return min(values), evidence


def gap_minus_refused(results, cases):
    """accepts - handled minus the connections nginx's record says it refused at accept; the largest difference
    over `cases` (0: the gap counts exactly those refusals)."""
    values, evidence = [], {}
    for case in cases:
        doc = case_result(results, case)
        refused, _, ev = _shortfalls(doc)
        gap, at = _gap_after(doc, case)
        ev.update(at)
        evidence[case] = ev
        values.append(gap - refused)
    return max(values, key=abs), evidence
