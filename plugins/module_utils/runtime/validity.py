"""Did a case run as designed? A case whose upstream, nginx master or workers died, or whose samplers fell
far behind, measured something else than it claims to: it is marked invalid with the reasons, and the
evaluator makes every claim that reads it INCONCLUSIVE (claims.py), never CONFIRMED or REFUTED: a dead
process spoils every measure of the case, a late sampler the measures that read its samples.

Pure functions of what the case observed, so they are tested on real samples.
"""

# A sampler is late when, over the clients' window, its mean interval is more than LATE_FACTOR times the one
# asked, or when it left a gap longer than max(GAP_FLOOR_S, GAP_FACTOR x asked). On a 2-CPU TCG VM the
# /proc/net/unix sampler kept a mean of 12 ms for 10 ms asked, longest gap 50 ms (tests/data/run-6.1-tcg);
# the stub_status sampler, which asks nginx itself, took 0.54 s for 0.1 s while nginx took in 1,024 bodies
# (enough for the memory claims it serves); 100 curl processes on one emulated CPU pushed the /proc/net/unix
# sampler to 0.27 s for 0.01 s (27x: a share of states over a handful of samples).
LATE_FACTOR = 10.0
GAP_FACTOR = 50.0
GAP_FLOOR_S = 2.0


def answered_times(stub):
    """The times of the stub_status samples nginx answered: a poll that timed out or was refused is a try, not a
    sample, so the gaps are measured between answers."""
    errors = stub.get("error") or [None] * len(stub["t"])
    return [t for t, error in zip(stub["t"], errors) if error is None]


def own_pace(stub, window, asked_s):
    """The stub_status poller's own pace over `window`: its tries, with the time each waited for nginx taken out of
    the gap after it (a poll nginx does not answer waits out its timeout; that is nginx's doing, not a starved
    sampler). Results without `took` give the plain timing of the tries."""
    times, took = stub["t"], stub.get("took")
    if not took or len(took) != len(times):
        return sampler_timing(times, window, asked_s)
    inside = [(t, w) for t, w in zip(times, took) if window[0] <= t <= window[1]]
    if not inside:
        return sampler_timing([], window, asked_s)
    gaps = [inside[0][0] - window[0]] + [max(0.0, b[0] - a[0] - a[1]) for a, b in zip(inside, inside[1:])] + \
        [max(0.0, window[1] - inside[-1][0] - inside[-1][1])]
    span = sum(gaps) if gaps else window[1] - window[0]
    return {"asked_s": asked_s, "samples": len(inside), "achieved_s": round(span / len(inside), 6),
            "max_gap_s": round(max(gaps), 6), "window_s": round(window[1] - window[0], 6)}


def sampler_timing(times, window, asked_s):
    """Achieved sampling inside `window`: samples, mean interval, longest gap (including the window's edges)."""
    inside = [t for t in times if window[0] <= t <= window[1]]
    span = window[1] - window[0]
    edges = [window[0]] + inside + [window[1]]
    gaps = [b - a for a, b in zip(edges, edges[1:])]
    return {"asked_s": asked_s, "samples": len(inside),
            "achieved_s": round(span / len(inside), 6) if inside else None,
            "max_gap_s": round(max(gaps), 6) if gaps else None, "window_s": round(span, 6)}


def sampler_problems(name, timing):
    """Why sampler `name` with `timing` (sampler_timing) did not watch the case as asked, if it did not."""
    asked = timing["asked_s"]
    if timing["window_s"] < 10 * asked:
        return []  # a burst shorter than ten intervals: too short to judge the rate (claims ask for enough samples)
    if not timing["samples"]:
        return ["the %s sampler took no sample while the clients ran (%.2f s)" % (name, timing["window_s"])]
    problems = []
    if timing["achieved_s"] > LATE_FACTOR * asked:
        problems.append("the %s sampler fell behind: one sample every %.3f s where %.3f s was asked (more than %gx)"
                        % (name, timing["achieved_s"], asked, LATE_FACTOR))
    limit = max(GAP_FLOOR_S, GAP_FACTOR * asked)
    if timing["max_gap_s"] > limit:
        problems.append("the %s sampler left a gap of %.2f s while the clients ran (more than %.2f s)"
                        % (name, timing["max_gap_s"], limit))
    return problems


def process_problems(observed):
    """Why the case's processes did not stay as designed until the clients ended.

    `observed` holds: upstream_alive, upstream_exit (or None), mode, master_alive, workers_start (PIDs),
    workers_end (PIDs alive at the end), and workers_retired (PIDs a reload with a valid configuration retired,
    which are meant to end)."""
    problems = []
    if not observed["upstream_alive"]:
        problems.append("the upstream (mode %s) ended before the clients did (exit status %s): the case did not "
                        "have the upstream it tests" % (observed["mode"], observed.get("upstream_exit")))
    if not observed["master_alive"]:
        problems.append("the nginx master process ended before the clients did")
    start, end = set(observed["workers_start"]) - set(observed.get("workers_retired") or []), set(observed["workers_end"])
    if start - end:
        problems.append("nginx worker(s) %s ended before the clients did%s" % (
            ", ".join(str(p) for p in sorted(start - end)),
            " (replaced by %s)" % ", ".join(str(p) for p in sorted(end - start)) if end - start else ""))
    return problems


def ramp_problems(p, records):
    """Why the clients of a ramped case with a slow upstream (mode delay) did not overlap as designed: a ramp that
    fits within the upstream's delay (the slot labs: 1 s against 8 s) means every client to be held at once, so their
    connects must all fall within the delay. On an emulated VM the load generator once took 4-5 s for a 1 s ramp (the
    host's pace, not the case's: a repetition to run again). A ramp longer than the delay (lab-reload-graceful: 4 s
    against 2 s) spreads the requests on purpose and is not judged."""
    ramp = p.get("client_ramp_s") or 0
    delay = (p.get("upstream_delay_ms") or 0) / 1000.0
    if not ramp or p.get("mode") != "delay" or ramp >= delay:
        return []
    connected = sorted(r["connected"] for r in records if r.get("connected") is not None)
    if connected and connected[-1] - connected[0] > delay:
        return ["the clients arrived over %.2f s, longer than the upstream's %.1f s delay: the host was too slow for "
                "the %.1f s ramp" % (connected[-1] - connected[0], delay, p["client_ramp_s"])]
    return []


def assess(observed, samples, window, unix_interval_s, stub_interval_s, stub_during=True, case_problems=(),
           pace_problems=()):
    """The case's `meta.validity`: valid, the problems found, and what was checked. With `stub_during` False
    stub_status was read only after the clients (stub_status_sampling=after): its timing is not judged.

    Two kinds of problems. The case's own (`case_problems`: a process of the case that died, a load generator that
    ended without its clients' records, nginx's crit/alert/emerg lines the case did not ask for, a host out of room)
    spoil every measure, and running the case again would not mend them. The host's pace (a sampler that fell behind,
    `pace_problems` such as a ramp the host could not keep) spoil only the measures that read them, and another
    try on a calmer moment may not meet them: `retryable` is true when every problem is of that kind."""
    # stub_status's samples are nginx's answers: samples, achieved_s and max_gap_s count only those, so a status page
    # nginx left unanswered (a worker stopped, no slot free for it: lab-wc-8) shows as the gap it was. Whether the
    # sampler itself kept its pace is judged on its tries, less the time each waited for nginx (attempts,
    # attempt_max_gap_s): a sampler the host starved spoils the measures that read it; a status page nginx did not
    # answer is a finding of the case, and those measures read what nginx answered. The /proc reads (memory,
    # per-worker descriptors, netstat) run in a thread of their own: their timing is "proc".
    stub = samples["stub_status"]
    tries = own_pace(stub, window, stub_interval_s)
    timing = {"unix": sampler_timing(samples["unix"]["t"], window, unix_interval_s),
              "stub_status": dict(sampler_timing(answered_times(stub), window, stub_interval_s),
                                  attempts=tries["samples"], attempt_max_gap_s=tries["max_gap_s"])}
    if "memory" in samples:
        timing["proc"] = sampler_timing(samples["memory"]["t"], window, stub_interval_s)
    processes = process_problems(observed)
    samplers = {name: sampler_problems(name, tries if name == "stub_status" else t) for name, t in timing.items()}
    if not stub_during:
        timing["stub_status"]["read_after_clients"] = True
        samplers["stub_status"] = []
    fatal = processes + list(case_problems)
    problems = fatal + [p for name in sorted(samplers) for p in samplers[name]] + list(pace_problems)
    return {"valid": not problems, "problems": problems, "process_problems": processes, "case_problems": fatal,
            "sampler_problems": samplers, "pace_problems": list(pace_problems),
            "retryable": bool(problems) and not fatal, "processes": observed, "samplers": timing}
