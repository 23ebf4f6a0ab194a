"""strace around a case's nginx: from exec on (start-up) or attached to the workers (per-request calls)."""

import signal
import subprocess
import time

from . import strace
from .guardian import CaseError
from .procnet import children_of, process_table, read_file


def startup_command(nginx_cmd, path):
    """`nginx_cmd` under `strace -f` from exec on: its listen() calls happen before it serves anything."""
    return ["strace", "-f", "-tt", "-qq", "-o", path, "-e", "trace=" + strace.TRACED] + nginx_cmd


def nginx_master(launcher, traced):
    """PID of the nginx master: the launched process, or under strace, the tracer's child that runs nginx.

    Not simply the tracer's first child: under load that child was seen before it ran nginx, and strace had
    another child beside it (nginx master 31799 while the first child was 31796)."""
    if not traced:
        return launcher.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and launcher.poll() is None:
        table = process_table()
        kids = [pid for pid in children_of(launcher.pid, table) if table[pid][0] == "nginx"]
        if kids:
            return kids[0]
        time.sleep(0.01)
    raise CaseError("nginx did not start under strace: %s" % (launcher.stderr.read() if launcher.poll() is not None
                                                               else "no child after 10 s"))


def _tracer_pid(pid):
    for line in (read_file("/proc/%d/status" % pid) or "").splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return 0


def trace_workers(master, path, track):
    """Attach strace to every nginx worker; returns the strace process once all are traced."""
    workers = children_of(master)
    cmd = ["strace", "-f", "-tt", "-qq", "-o", path, "-e", "trace=" + strace.TRACED]
    for pid in workers:
        cmd += ["-p", str(pid)]
    tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, start_new_session=True)
    track("pgids", tracer.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if tracer.poll() is not None:
            raise CaseError("strace could not attach to the nginx workers: %s" % tracer.stderr.read().strip())
        if all(_tracer_pid(pid) == tracer.pid for pid in workers):
            return tracer
        time.sleep(0.01)
    raise CaseError("strace did not attach to the nginx workers within 10 s")


def finish(tracer, path):
    """Detach strace (workers mode) and reduce its output; under `startup` nginx keeps running."""
    if tracer is not None:
        tracer.send_signal(signal.SIGTERM)
        try:
            tracer.wait(10)
        except subprocess.TimeoutExpired:
            pass
    else:
        time.sleep(0.2)  # let the tracer write what it has
    text = read_file(path) or ""
    out = strace.summarize(text)
    out["mode"] = "workers" if tracer is not None else "startup"
    out["lines"] = len(text.splitlines())
    return out
