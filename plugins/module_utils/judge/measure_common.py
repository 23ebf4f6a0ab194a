"""What every measure shares: the Missing exception, a case result checked for validity, time windows."""


class Missing(Exception):
    """A measure could not be taken; the message says why."""


def case_result(results, name, samplers=()):
    """The result of case `name`; Missing when there is none or when the case did not run as designed
    (meta.validity): an upstream or nginx process that died spoils every measure, a sampler that fell behind
    spoils the measures that read its samples (`samplers`: "unix", "stub_status" (nginx's answers), "proc" (the
    memory, per-worker and netstat reads of the slow thread, taken at every tick whether nginx answers or not))."""
    if name not in results:
        raise Missing("no result for %s on this host (not run, or failed)" % name)
    validity = results[name]["meta"].get("validity") or {}
    if validity.get("valid") is False:
        # case_problems (kit 0.5: a dead process, a load generator without its records, a host out of room)
        problems = validity.get("case_problems", validity.get("process_problems", validity.get("problems", [])))
        for sampler in samplers:
            problems = problems + validity.get("sampler_problems", {}).get(sampler, [])
        if problems:
            raise Missing("%s did not run as designed: %s" % (name, "; ".join(problems)))
    return results[name]


def finished(doc, name):
    """Refuse to judge client outcomes of a case its deadline cut short."""
    stopped = sum(1 for c in doc["clients"] if c["error"] == "case-deadline")
    if stopped:
        raise Missing("%s hit its case deadline of %ss with %d clients still running (raise deadline for slow "
                      "hosts)" % (name, doc["meta"]["params"]["deadline"], stopped))
    return doc


def window_rows(times, window):
    return [i for i, t in enumerate(times) if window[0] <= t <= window[1]]


def nearest(times, t):
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


def rounded(x, nd=3):
    return round(x, nd) if isinstance(x, float) else x
