"""The research's load generator: N concurrent curl processes, as the write-up's shell loop started them.

Each client yields the same record as loadgen's asyncio clients: start, first_byte and end (seconds on the
case's monotonic clock), HTTP status or error name, bytes received, and whether the response was complete.
"""

import os
import resource
import signal
import subprocess
import threading
import time

from .loadgen import DEADLINE, _usage, raise_nofile
from .procnet import parse_status, read_file


class DeadlineStop(Exception):
    """SIGTERM from the case runner: the case deadline has come."""


def _raise_deadline(signum, frame):
    raise DeadlineStop()


CURL_FORMAT = "%{http_code} %{time_starttransfer} %{time_total} %{size_download}"


def _curl_record(entry, status, end):
    i, start, out, proc = entry
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    fields = out.read().split()
    out.close()
    code = int(fields[0]) if fields and fields[0].isdigit() else 0
    record = {"id": i, "start": start, "first_byte": None, "end": end, "status": code or None,
              "error": None if proc.returncode == 0 else "curl-exit-%d" % proc.returncode,
              "bytes": int(fields[3]) if len(fields) > 3 else 0, "complete": proc.returncode == 0}
    if len(fields) > 2 and float(fields[1]) > 0:
        record["first_byte"] = start + float(fields[1])
    return record


def run_curl(host, port, clients, method="GET", path="/", body_bytes=0, timeout=30.0, t0=None, workdir="/tmp"):
    """Run `clients` concurrent curl processes, as the research's shell loop did.

    Returns (records, stats); stats hold the peak of the summed RSS of the running curls.
    """
    started = time.monotonic()
    t0 = started if t0 is None else t0
    raise_nofile(clients + 256)
    args = ["curl", "-s", "-o", "/dev/null", "-w", CURL_FORMAT, "--max-time", "%.3f" % timeout, "-X", method]
    if body_bytes:
        payload = os.path.join(workdir, "payload.dat")
        with open(payload, "wb") as handle:
            handle.write(os.urandom(body_bytes))
        args += ["--data-binary", "@" + payload, "-H", "Content-Type: application/octet-stream"]
    url = "http://%s:%d%s" % (host, port, path)
    running = {}
    records = []
    peak = {"rss_kb": 0, "running": 0}
    stop = threading.Event()

    def watch():
        while not stop.wait(0.1):
            pids = list(running)
            total = sum((parse_status(read_file("/proc/%d/status" % pid) or "")["vmrss_kb"] or 0) for pid in pids)
            peak["rss_kb"] = max(peak["rss_kb"], total)
            peak["running"] = max(peak["running"], len(pids))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    signal.signal(signal.SIGTERM, _raise_deadline)

    def reap(block):
        """Record every curl that has ended (waiting for one if `block`)."""
        while running:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            if pid == 0:
                return
            if pid in running:
                records.append(_curl_record(running.pop(pid), status, time.monotonic() - t0))
            if block:
                return

    try:
        for i in range(clients):
            out = open(os.path.join(workdir, "curl-%d.out" % i), "w+")
            start = time.monotonic() - t0
            proc = subprocess.Popen(args + [url], stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            running[proc.pid] = (i, start, out, proc)
            reap(False)
        while running:
            reap(True)
    except DeadlineStop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reap(False)  # those that ended just now keep their outcome
        for i, start, out, proc in running.values():
            proc.kill()
            proc.wait()
            out.close()
            records.append({"id": i, "start": start, "first_byte": None, "end": None, "status": None,
                            "error": DEADLINE, "bytes": 0, "complete": False})
        begun = {r["id"] for r in records}
        records += [{"id": i, "start": None, "first_byte": None, "end": None, "status": None, "error": DEADLINE,
                     "bytes": 0, "complete": False} for i in range(clients) if i not in begun]
    stop.set()
    watcher.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sorted(records, key=lambda r: r["id"]), _usage(started, {
        "mode": "curl", "curl_running_peak": peak["running"], "curl_rss_kb_sum_peak": peak["rss_kb"],
        "curl_cpu_s": round(usage.ru_utime + usage.ru_stime, 3)})
