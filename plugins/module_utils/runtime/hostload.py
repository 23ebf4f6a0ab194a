"""What the host was doing while a case ran: CPU busy share (/proc/stat), load average (/proc/loadavg).

Recorded in every result (meta.conditions) so that a claim that varies between repetitions can be
told apart: "depends on load" (busy host, samplers behind, clients started over a long spread) from
"depends on the kernel". /proc/stat and /proc/loadavg are the host's, inside a network namespace too.
"""

from .procnet import read_file


def cpu_times(text):
    """(busy, total) jiffies from the aggregate `cpu` line of /proc/stat (idle and iowait are not busy)."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            total = sum(values[:8])  # guest times are already inside user and nice
            return total - idle, total
    raise ValueError("no aggregate cpu line in /proc/stat")


def loadavg(text):
    """The 1, 5 and 15 minute load averages of /proc/loadavg."""
    return [float(v) for v in text.split()[:3]]


def snapshot(stat="/proc/stat", load="/proc/loadavg"):
    busy, total = cpu_times(read_file(stat) or "")
    return {"busy": busy, "total": total, "loadavg": loadavg(read_file(load) or "0 0 0")}


def busy_share(before, after):
    """Share (0..1) of all CPUs' time the host spent busy between two snapshots, or None."""
    total = after["total"] - before["total"]
    return round((after["busy"] - before["busy"]) / float(total), 4) if total > 0 else None


def client_start_spread(records):
    """Seconds between the first and the last client start (None with fewer than two starts)."""
    starts = [r["start"] for r in records if r.get("start") is not None]
    return round(max(starts) - min(starts), 6) if len(starts) > 1 else None


def conditions(before, after, records, validity):
    """meta.conditions of a case: busy share and load while the clients ran, how far behind the samplers fell,
    how spread out the client starts were."""
    samplers = (validity or {}).get("samplers", {})
    return {"cpu_busy_share": busy_share(before, after), "loadavg_start": before["loadavg"],
            "loadavg_end": after["loadavg"], "client_start_spread_s": client_start_spread(records),
            "sampler_achieved_s": {name: t.get("achieved_s") for name, t in samplers.items()},
            "sampler_asked_s": {name: t.get("asked_s") for name, t in samplers.items()}}
