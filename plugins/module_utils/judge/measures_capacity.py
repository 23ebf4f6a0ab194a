"""Measures of nginx's capacity limits (the operator articles' O1, O2, O3, O5): what happens to clients
beyond worker_connections, slots and descriptors per proxied request, stub_status accepts - handled. How two
workers share connections around the 7/8 mark is read from nginx's own record (measures_accept.py)."""

from .measure_common import Missing, case_result, finished, rounded

__all__ = ["cliff", "slots_per_request", "fds_per_request", "capacity_over_half", "accepts_handled_gap"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("cliff",)

# A client that failed within this many seconds of its start failed "at once".
FAST_FAILURE_S = 1.0
# A served client is on time when it took at most the upstream's delay plus this.
ON_TIME_MARGIN_S = 1.0


def _upstream_delay(doc):
    params = doc["meta"]["params"]
    if params["mode"] != "delay":
        raise Missing("%s does not run the delay upstream" % params["case"])
    return params["upstream_delay_ms"] / 1000.0


def outcome_classes(doc):
    """Each client of a delay-upstream case as served on time, served late (it waited), failed fast or failed
    slowly; with the times to failure."""
    delay = _upstream_delay(doc)
    classes = {"served_on_time": 0, "served_late": 0, "failed_fast": 0, "failed_slow": 0}
    to_failure = []
    for c in doc["clients"]:
        if c["start"] is None or c["end"] is None:
            continue
        took = c["end"] - c["start"]
        if c["status"] == 200 and c["complete"]:
            classes["served_on_time" if took <= delay + ON_TIME_MARGIN_S else "served_late"] += 1
        else:
            to_failure.append(took)
            classes["failed_fast" if took <= FAST_FAILURE_S else "failed_slow"] += 1
    to_failure.sort()
    return classes, to_failure


def _per_case(results, cases, one):
    values, evidence = [], {}
    for case in cases:
        value, ev = one(finished(case_result(results, case), case))
        values.append(value)
        evidence[case] = ev
    return values, evidence


def cliff(results, cases):
    """Of the clients nginx did not serve on time, the share that failed at once (within FAST_FAILURE_S),
    rather than waiting; the smallest share over `cases`. Missing when every client was served on time."""
    def one(doc):
        classes, to_failure = outcome_classes(doc)
        beyond = len(doc["clients"]) - classes["served_on_time"]
        if beyond == 0:
            raise Missing("%s: every client was served on time, capacity was never passed" % doc["meta"]["case"])
        ev = dict(classes, time_to_failure_s={"min": rounded(to_failure[0]) if to_failure else None,
                                              "median": rounded(to_failure[len(to_failure) // 2]) if to_failure else None,
                                              "max": rounded(to_failure[-1]) if to_failure else None},
                  outcomes=doc["summary"]["clients"]["status_counts"])
        return classes["failed_fast"] / float(beyond), ev
    values, evidence = _per_case(results, cases, one)
    return min(values), evidence


def _served_intervals(doc):
    """(connected, end) of every client served: from when nginx could have it (the client's connect; its start may
    lie earlier, waiting for a thread or the event loop on a slow host) to its answer."""
    return [(c.get("connected", c["start"]), c["end"]) for c in doc["clients"]
            if c["status"] == 200 and c.get("connected", c["start"]) is not None and c["end"] is not None]


def held_together(doc):
    """Refuse a slot lab whose clients did not all arrive within the upstream's delay: the requests served first
    then ended before the last arrived, freeing slots, so the lab never held them all at once (on an emulated VM the
    load generator once took 4-5 s for a 1 s ramp and 49-55 of 96 clients were served)."""
    delay = _upstream_delay(doc)
    connected = sorted(c["connected"] for c in doc["clients"] if c.get("connected") is not None)
    if connected and connected[-1] - connected[0] > delay:
        raise Missing("%s: the clients arrived over %.2f s, longer than the upstream's %.1f s: the lab never held "
                      "its slots full at once (a host too slow for its ramp)" % (
                          doc["meta"]["case"], connected[-1] - connected[0], delay))
    return doc


def peak_in_flight(intervals):
    """Most intervals open at one time."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def _worker_columns(doc):
    w = doc["samples"].get("workers")
    if not w or not w["t"]:
        raise Missing("%s has no per-worker samples (a result from before kit 0.2.0)" % doc["meta"]["case"])
    return w


def _baseline_index(doc, times):
    start = doc["meta"]["clients_window"][0]
    before = [i for i, t in enumerate(times) if t < start]
    if not before:
        raise Missing("%s has no worker sample before its clients started" % doc["meta"]["case"])
    return before[-1]


def slots_per_request(results, cases):
    """Connection slots a proxied request holds: (worker_connections - the worker's sockets before the clients,
    its listener and channel, each holding a slot) / the most proxied requests served at once. Over `cases`,
    the value farthest from 2."""
    def one(doc):
        held_together(doc)
        w = _worker_columns(doc)
        base = w["sockets"][_baseline_index(doc, w["t"])][0]
        peak = peak_in_flight(_served_intervals(doc))
        if base is None or peak == 0:
            raise Missing("%s: no socket count before the clients, or no request served" % doc["meta"]["case"])
        wc = doc["meta"]["params"]["worker_connections"]
        return (wc - base) / float(peak), {"worker_connections": wc, "sockets_before_clients": base,
                                           "proxied_at_once_peak": peak}
    values, evidence = _per_case(results, cases, one)
    return max(values, key=lambda v: abs(v - 2.0)), evidence


def fds_per_request(results, cases):
    """Descriptors a proxied request holds. Each of the worker's descriptors beyond those it had before the
    clients is a client connection or an upstream connection; the clients' own records say how many client
    connections were open at each worker sample (connected, not yet ended), so upstream connections =
    descriptors - before - open client connections, and per request = (requests in flight + upstream
    connections) / requests in flight. The median over the samples where the requests in flight (started, not
    yet answered, served in the end) were at their peak; over `cases`, the value farthest from 2."""
    def one(doc):
        held_together(doc)
        w = _worker_columns(doc)
        base = w["fds"][_baseline_index(doc, w["t"])][0]
        served = [(c["start"], c["first_byte"]) for c in doc["clients"]
                  if c["status"] == 200 and c["start"] is not None and c["first_byte"] is not None]
        # the client connections the worker holds: those it served, from their connect to their end (a connection
        # refused at accept holds no descriptor, though on an emulated host its client learns so a second later)
        opened = [(c.get("connected"), c["end"]) for c in doc["clients"]
                  if c.get("connected") is not None and c["end"] is not None and c["status"] == 200]
        if base is None or not served or not opened:
            raise Missing("%s: no descriptor count before the clients, no request served, or no connect times"
                          % doc["meta"]["case"])
        rows = []
        for t, fds in zip(w["t"], w["fds"]):
            if not fds or fds[0] is None:
                continue
            in_flight = sum(1 for s, e in served if s <= t <= e)
            open_clients = sum(1 for s, e in opened if s <= t < e)
            rows.append((in_flight, fds[0] - base - open_clients, open_clients, t))
        peak = max(r[0] for r in rows)
        if peak == 0:
            raise Missing("%s: no worker sample saw a request in flight" % doc["meta"]["case"])
        at_peak = sorted((p + up) / float(p) for p, up, _, _ in rows if p == peak)
        upstream = sorted(up for p, up, _, _ in rows if p == peak)
        return at_peak[len(at_peak) // 2], {"fds_before_clients": base, "requests_in_flight_peak": peak,
                                            "samples_at_peak": len(at_peak),
                                            "upstream_connections_median": upstream[len(upstream) // 2],
                                            "client_connections_open_max": max(r[2] for r in rows)}
    values, evidence = _per_case(results, cases, one)
    return max(values, key=lambda v: abs(v - 2.0)), evidence


def capacity_over_half(results, cases):
    """The most proxied requests served at once divided by worker_connections / 2; the largest over `cases`."""
    def one(doc):
        held_together(doc)
        wc = doc["meta"]["params"]["worker_connections"]
        peak = peak_in_flight(_served_intervals(doc))
        return peak / (wc / 2.0), {"worker_connections": wc, "proxied_at_once_peak": peak}
    values, evidence = _per_case(results, cases, one)
    return max(values), evidence


def accepts_handled_gap(results, cases):
    """stub_status accepts - handled at the last answered sample (nginx counts both from its start); the
    smallest over `cases`, beside the clients that failed."""
    def one(doc):
        s = doc["samples"]["stub_status"]
        rows = [i for i, a in enumerate(s["accepts"]) if a is not None and s["handled"][i] is not None]
        if not rows:
            raise Missing("%s: stub_status never answered" % doc["meta"]["case"])
        last = rows[-1]
        failed = sum(1 for c in doc["clients"] if not (c["status"] == 200 and c["complete"]))
        return s["accepts"][last] - s["handled"][last], {
            "accepts": s["accepts"][last], "handled": s["handled"][last], "at_s": s["t"][last],
            "clients_not_served": failed, "clients": doc["summary"]["clients"]["status_counts"]}
    values, evidence = _per_case(results, cases, one)
    return min(values), evidence
