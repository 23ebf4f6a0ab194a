"""The load generator as a process of the case: started on a signal, stopped at the case deadline.

At the deadline the load generator gets SIGTERM and records what it has: every client that finished
keeps its outcome, every client still running keeps its start time (error `case-deadline`), and a
client never started has no start time. Only if it cannot write that within `grace_s` is it killed,
and then every client is recorded as stopped.
"""

import json
import os
import signal
import time
import traceback

from . import loadgen, loadgen_curl, nginx_conf
from .guardian import CaseError, keep_only_fds, set_process_name


def start(p, t0, workdir, track):
    """Fork the load generator; it starts its clients when the returned pipe gets a byte.
    Returns (pid, write end of the go pipe, path of its result file)."""
    go_r, go_w = os.pipe()
    out_path = os.path.join(workdir, "clients.json")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            keep_only_fds(go_r)
            set_process_name("npl-loadgen")
            os.setsid()
            if p.get("client_nice"):
                os.nice(p["client_nice"])  # the clients (and every curl they start) yield the CPU to the case
            os.read(go_r, 1)
            kwargs = dict(method=p["request_method"], path=p["request_path"], body_bytes=p["request_body_bytes"],
                          timeout=p["client_timeout"], t0=t0)
            if p["client_mode"] == "curl":
                records, stats = loadgen_curl.run_curl("127.0.0.1", p["nginx_port"], p["clients"], workdir=workdir,
                                                  **kwargs)
            else:
                records, stats = loadgen.run_python("127.0.0.1", p["nginx_port"], p["clients"],
                                                    ramp_s=p.get("client_ramp_s") or 0.0,
                                                    behaviour=p.get("client_behaviour") or "request",
                                                    hold_s=p.get("client_hold_s") or 0.0,
                                                    keepalive_path=nginx_conf.KEEPALIVE_PATH,
                                                    requests=p.get("client_requests") or 1,
                                                    trickle=(p.get("client_trickle_bytes") or 1,
                                                             (p.get("client_trickle_interval_ms") or 100) / 1000.0),
                                                    pause_s=p.get("client_pause_s") or 0.0,
                                                    # nginx takes a deferred connection only with its request, and
                                                    # for a second only: it goes out with the connect
                                                    send_with_connect=bool(p.get("listen_deferred")),
                                                    **kwargs)
            out = {"records": records, "stats": stats}
            code = 0
        except BaseException:
            out = {"error": traceback.format_exc()}
        try:
            with open(out_path + ".tmp", "w") as handle:
                json.dump(out, handle)
            os.rename(out_path + ".tmp", out_path)
        finally:
            os._exit(code)
    track("pgids", pid)
    os.close(go_r)
    return pid, go_w, out_path


def wait(pid, seconds):
    """waitpid with a deadline; True if the child ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.02)
    return False


def stop(pid, grace_s=10.0):
    """The case deadline: ask the load generator to record and end (SIGTERM), kill its group if it does not."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if not wait(pid, grace_s):
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return False
    try:
        os.killpg(pid, signal.SIGKILL)  # any curl it could not reap
    except ProcessLookupError:
        pass
    return True


def stopped_records(count):
    return [{"id": i, "start": None, "first_byte": None, "end": None, "status": None, "error": "case-deadline",
             "bytes": 0, "complete": False} for i in range(count)]


def collect(path, count):
    """(client records, load generator stats) from its result file; every client stopped when there is none."""
    if not os.path.exists(path):
        return stopped_records(count), None
    with open(path) as handle:
        out = json.load(handle)
    if "error" in out:
        raise CaseError("the load generator failed:\n" + out["error"])
    records = out["records"]
    if len(records) != count:
        return stopped_records(count), out["stats"]
    return records, out["stats"]
