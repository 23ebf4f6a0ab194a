"""Measures of what the kernel and nginx's error log say about the operator articles' limits (O3, O4, O12):
which system calls failed for want of descriptors, the namespace's TCP listen-queue counters against the
error log, and worker memory per held connection."""

import re

from .measure_common import Missing, case_result, rounded

__all__ = ["failed_calls", "netstat_growth", "error_log_lines", "memory_per_connection", "memory_held_mb"]

# An nginx error-log line: "2026/11/22 10:54:40 [alert] 19200#19200: *5 accept4() failed (24: Too many ...)".
LOG_LINE = re.compile(r"^\d{4}/\d\d/\d\d (\d\d):(\d\d):(\d\d) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$")
FAILED_CALL = re.compile(r"(\w+)\(\) failed \((\d+): ")
LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")


def failed_calls(results, case, call, errno=24):
    """Error-log lines where system call `call` failed with `errno` (24: EMFILE); the evidence counts every
    call that failed with it and the clients' outcomes."""
    doc = case_result(results, case)
    counts = {}
    for line in doc["logs"]["error"]:
        match = FAILED_CALL.search(line)
        if match and int(match.group(2)) == errno:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts.get(call, 0), {"errno": errno, "failed_calls": counts,
                                 "clients": doc["summary"]["clients"]["status_counts"],
                                 "latency_s": doc["summary"]["clients"]["latency_s"]}


def netstat_growth(results, case, key):
    """How much /proc/net/netstat counter `key` (e.g. TcpExtListenOverflows) of the case's namespace rose
    from the first sample to the last."""
    doc = case_result(results, case, samplers=("proc",))
    column = [v for v in (doc["samples"].get("netstat") or {}).get(key, []) if v is not None]
    if len(column) < 2:
        raise Missing("%s has fewer than two samples of %s (a result from before kit 0.2.0)"
                      % (case, key))
    return column[-1] - column[0], {"first": column[0], "last": column[-1], "samples": len(column),
                                    "isolation": doc["meta"]["isolation"]}


def error_log_lines(results, case, min_level="warn", words=("listen", "backlog", "overflow", "queue", "drop")):
    """Error-log lines nginx wrote after it started (from its first worker's start-up line on) at `min_level`
    or above, or naming any of `words`; the evidence counts every line after start-up by level."""
    doc = case_result(results, case)
    lines = doc["logs"]["error"]
    started = [i for i, l in enumerate(lines) if "start worker process" in l]
    if not started:
        raise Missing("%s: no 'start worker process' line in the error log" % case)
    by_level, flagged = {}, []
    for line in lines[started[-1] + 1:]:
        match = LOG_LINE.match(line)
        if not match:
            continue
        level, text = match.group(4), match.group(5)
        by_level[level] = by_level.get(level, 0) + 1
        if LEVELS.index(level) >= LEVELS.index(min_level) or any(w in text.lower() for w in words):
            flagged.append(line[:200])
    return len(flagged), {"lines_by_level": by_level, "flagged": flagged[:5], "min_level": min_level,
                          "words": list(words)}


def _memory_point(doc):
    """(connections held, worker VmRSS growth in KB, VmSize growth in KB) at the worker sample with the most
    descriptors, against the last sample before the clients; one worker."""
    w = doc["samples"].get("workers")
    if not w or not w["t"]:
        raise Missing("%s has no per-worker samples" % doc["meta"]["case"])
    if doc["meta"]["params"]["worker_processes"] != 1:
        raise Missing("%s runs %d workers; the memory measure wants one" % (doc["meta"]["case"],
                                                                          doc["meta"]["params"]["worker_processes"]))
    start = doc["meta"]["clients_window"][0]
    before = [i for i, t in enumerate(w["t"]) if t < start and w["fds"][i] and w["fds"][i][0] is not None]
    if not before:
        raise Missing("%s has no worker sample before its clients" % doc["meta"]["case"])
    b = before[-1]
    fds = [row[0] if row and row[0] is not None else -1 for row in w["fds"]]
    p = max(range(len(fds)), key=lambda k: fds[k])
    m = doc["samples"]["memory"]
    held = fds[p] - fds[b]
    if held <= 0:
        raise Missing("%s: the worker never held a client connection" % doc["meta"]["case"])
    return held, w["vmrss_kb"][p][0] - w["vmrss_kb"][b][0], \
        m["worker_vmsize_kb_max"][p] - m["worker_vmsize_kb_max"][b], w["t"][p]


def memory_per_connection(results, cases):
    """Worker VmRSS growth per held connection in KB: the slope of growth against connections over `cases`
    (least squares through the origin), each case's own figure in the evidence, VmSize beside it."""
    points, evidence = [], {}
    for case in cases:
        doc = case_result(results, case, samplers=("proc",))
        held, rss, size, at = _memory_point(doc)
        points.append((held, rss, size))
        evidence[case] = {"connections": held, "vmrss_growth_kb": rss, "vmsize_growth_kb": size, "at_s": at,
                          "vmrss_kb_per_connection": rounded(rss / float(held)),
                          "vmsize_kb_per_connection": rounded(size / float(held))}
    n2 = float(sum(h * h for h, _, _ in points))
    slope = sum(h * r for h, r, _ in points) / n2
    evidence["vmsize_kb_per_connection_slope"] = rounded(sum(h * s for h, _, s in points) / n2)
    return slope, evidence


def memory_held_mb(results, case):
    """Worker VmRSS growth in MB (1024 KB) while case `case` held its connections."""
    doc = case_result(results, case, samplers=("proc",))
    held, rss, size, at = _memory_point(doc)
    return rss / 1024.0, {"connections": held, "vmrss_growth_kb": rss, "vmsize_growth_kb": size, "at_s": at}
