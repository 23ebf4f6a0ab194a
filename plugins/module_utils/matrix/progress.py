"""The run's progress events (plugins/callback/progress.py, NPL_PROGRESS_FILE) as matrix.json's breakdown:
how long each play took, and per host every case's own time and the overhead between it and the one before."""

import json
import statistics


def read(path):
    """The events of the progress file, in order; [] when there is none."""
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def breakdown(events):
    """{"plays": [{name, start_s, seconds}], "hosts": {host: {cases, case_s, overhead_s: {median, max, total}}}}.
    A case's overhead is the time between the end of the host's previous case and its own end, minus its own
    time: Ansible, the connection, Python's start on the target (the first case counts from the cases' play)."""
    if not events:
        return {"plays": [], "hosts": {}}
    t0 = events[0]["t"]
    plays = [e for e in events if e["event"] == "play"]
    out_plays = []
    for k, play in enumerate(plays):
        end = plays[k + 1]["t"] if k + 1 < len(plays) else events[-1]["t"]
        out_plays.append({"name": play["name"], "start_s": round(play["t"] - t0, 1), "seconds": round(end - play["t"], 1)})
    cases_start = next((p["t"] for p in plays if p["name"].startswith("Run the cases")), t0)
    hosts = {}
    for event in (e for e in events if e["event"] == "case"):
        hosts.setdefault(event["host"], []).append(event)
    out_hosts = {}
    for host, cases in sorted(hosts.items()):
        previous = cases_start
        overheads = []
        rows = []
        for event in cases:
            own = event.get("case_s") or 0.0
            overhead = max(event["t"] - previous - own, 0.0)
            overheads.append(overhead)
            rows.append({"case": event["case"], "repetition": event["repetition"], "ok": event["ok"],
                         "case_s": own, "overhead_s": round(overhead, 2), "transport_s": event.get("transport_s")})
            previous = event["t"]
        out_hosts[host] = {"cases": rows, "case_s": round(sum(r["case_s"] for r in rows), 1),
                           "overhead_s": {"median": round(statistics.median(overheads), 2),
                                          "max": round(max(overheads), 2), "total": round(sum(overheads), 1)}}
    return {"plays": out_plays, "hosts": out_hosts}
