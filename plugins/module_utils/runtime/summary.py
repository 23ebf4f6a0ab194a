"""Derived figures of a case result: pure functions of its samples and client records."""

from .procnet import STATE_CODES


def _median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _peak(values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": round(min(values), 6), "median": round(_median(values), 6), "max": round(max(values), 6)}


def window_rows(times, window):
    """Indexes of the samples taken inside `window` ([start, end] on the case clock; None: all)."""
    if window is None:
        return list(range(len(times)))
    return [i for i, t in enumerate(times) if window[0] <= t <= window[1]]


def unix_states(unix, window=None):
    """Share (%) of the sampled path lines per state code inside `window`, and the peak count per state."""
    rows = window_rows(unix["t"], window)
    total = sum(unix["total"][i] for i in rows)
    pct = {}
    peak = {}
    for code in STATE_CODES:
        column = unix["states"][code]
        pct[code] = round(100.0 * sum(column[i] for i in rows) / total, 2) if total else None
        peak[code] = max(column) if column else 0
    return pct, peak


def outcome(record):
    """A client's outcome in one word: its HTTP status or error name; a holding client (it has `closed`)
    is `held` when its connection stayed open the whole hold, else the reason it ended; a keep-alive request
    client (it has `responses`) is its last status, or the reason it ended early."""
    if "responses" in record:
        return str(record["status"]) if record["complete"] and record["status"] is not None \
            else (record["error"] or "unknown")
    if "closed" in record:
        return "held" if record["complete"] else (record["error"] or "closed")
    if record["status"] is not None:
        return str(record["status"])
    return record["error"] or "unknown"


def clients(records):
    counts = {}
    for record in records:
        key = outcome(record)
        counts[key] = counts.get(key, 0) + 1
    latency = [r["end"] - r["start"] for r in records if r["end"] is not None and r["start"] is not None]
    first_byte = [r["first_byte"] - r["start"] for r in records if r["first_byte"] is not None]
    return {
        "count": len(records),
        "status_counts": dict(sorted(counts.items())),
        "incomplete": sum(1 for r in records if r["status"] is not None and not r["complete"]),
        "errors": sum(1 for r in records if r["error"] is not None),
        "latency_s": _stats(latency),
        "first_byte_s": _stats(first_byte),
    }


def summarize(samples, records, window=None):
    """The `summary` of a result; state shares count only samples inside the clients' `window`."""
    unix = samples["unix"]
    stub = samples["stub_status"]
    memory = samples["memory"]
    pct, peak = unix_states(unix, window)
    backlogs = [b for b in unix["backlog"] if b is not None]
    return {
        "unix_states_pct": pct,
        "unix_states_peak": peak,
        "unix_lines_peak": _peak(unix["total"]),
        "unix_samples": len(unix["t"]),
        "queue_len_peak": _peak(unix["queue_len"]),
        "backlog": backlogs[-1] if backlogs else None,
        "active_peak": _peak(stub["active"]),
        "writing_peak": _peak(stub["writing"]),
        "stub_samples": len(stub["t"]),
        "stub_errors": sum(1 for e in stub["error"] if e),
        "worker_vmsize_kb": {"first": next((v for v in memory["worker_vmsize_kb_max"] if v is not None), None),
                             "peak": _peak(memory["worker_vmsize_kb_max"])},
        "worker_vmrss_kb": {"first": next((v for v in memory["worker_vmrss_kb_max"] if v is not None), None),
                            "peak": _peak(memory["worker_vmrss_kb_max"])},
        "body_temp_files_peak": _peak(memory.get("body_temp_files", [])),
        "body_temp_bytes_peak": _peak(memory.get("body_temp_bytes", [])),
        "clients": clients(records),
    }
