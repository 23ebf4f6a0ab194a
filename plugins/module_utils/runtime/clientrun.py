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


def sends_with_connect(p):
    """Whether each request goes out whole (head and body) in the moment its connection is made, as curl sends it,
    rather than when the load generator's event loop next gets to it: where that gap would decide the outcome.
    - listen deferred: nginx takes a connection only with its request, and for a second only.
    - more clients than worker_connections: a request that reaches nginx late lets the worker take in clients still
      sending, whose upstream connections then find none free (500s), and how many it took in was the event loop's
      pace; with each request whole in the kernel at the accept, client-upstream pairs fill the limit at the
      upstream's queue in every run (the flood's numbers: claims.yml, R11)."""
    return bool(p.get("listen_deferred")) or p["clients"] > p["worker_connections"]


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
                                                    send_with_connect=sends_with_connect(p),
                                                    **kwargs)
            out = {"records": records, "stats": stats}
            code = 0
        except BaseException:
            out = {"error": traceback.format_exc()}
        try:
            with open(out_path + ".tmp", "w") as handle:
                json.dump(out, handle)
            os.rename(out_path + ".tmp", out_path)
        except OSError:
            code = 3  # no room for the result (a full /run): collect() finds none and says so
        finally:
            os._exit(code)
    track("pgids", pid)
    os.close(go_r)
    return pid, go_w, out_path


def wait(pid, seconds):
    """waitpid with a deadline: the child's exit status once it ended (as os.waitpid gives it), None if it runs on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    return None


def stop(pid, grace_s=10.0):
    """The case deadline: ask the load generator to record and end (SIGTERM), kill its group if it does not.
    (whether it ended on its own after SIGTERM, its exit status)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    status = wait(pid, grace_s)
    if status is None:
        os.killpg(pid, signal.SIGKILL)
        return False, os.waitpid(pid, 0)[1]
    try:
        os.killpg(pid, signal.SIGKILL)  # any curl it could not reap
    except ProcessLookupError:
        pass
    return True, status


def stopped_records(count):
    return [{"id": i, "start": None, "first_byte": None, "end": None, "status": None, "error": "case-deadline",
             "bytes": 0, "complete": False} for i in range(count)]


def describe_status(status):
    """'exit code N' or 'killed by signal N (NAME)' for an os.waitpid status."""
    if status is None:
        return "no exit status"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "?"
        return "killed by signal %d (%s)" % (sig, name)
    return "exit code %d" % os.WEXITSTATUS(status)


def collect(path, count, status, stopped=False, kept=True):
    """(client records, load generator stats, problems) from its result file. `status` is the load generator's exit
    status; `stopped` says the case deadline stopped it, `kept` that it then wrote its records itself.

    A load generator that ended without its result, that recorded another number of clients than it ran, or whose
    clients never started although nothing stopped it, did not run the case's clients as designed: `problems` says
    so, and the case is invalid (validity.assess), never scored. Only the case deadline, which the case itself
    applies, may leave clients stopped or unstarted; then every client keeps what it had (module docstring)."""
    if not os.path.exists(path):
        if stopped and not kept:
            why = ("the load generator did not answer SIGTERM at the case deadline and was killed (%s): its clients' "
                   "records are lost" % describe_status(status))
        else:
            why = ("the load generator ended (%s) without writing its clients' records to %s: their outcomes are "
                   "unknown" % (describe_status(status), path))
        return stopped_records(count), None, [why]
    try:
        with open(path) as handle:
            out = json.load(handle)
    except (OSError, ValueError) as exc:
        return stopped_records(count), None, ["the load generator's result %s could not be read (%s): its clients' "
                                              "outcomes are unknown" % (path, exc)]
    if "error" in out:
        raise CaseError("the load generator failed:\n" + out["error"])
    records = out["records"]
    if len(records) != count:
        return stopped_records(count), out["stats"], ["the load generator recorded %d clients where the case ran %d"
                                                      % (len(records), count)]
    problems = []
    if not stopped:
        unstarted = sum(1 for r in records if r.get("start") is None)
        if unstarted:
            problems.append("%d of %d clients never started, though nothing stopped the load generator (%s)"
                            % (unstarted, count, describe_status(status)))
    if status is not None and not stopped and (not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0):
        problems.append("the load generator ended with %s after writing its result" % describe_status(status))
    return records, out["stats"], problems


def window_problems(p, window):
    """Why the clients' window is far shorter than the case asked: a ramp spreads the clients' starts over
    client_ramp_s, so a working load generator is busy at least that long."""
    ramp = p.get("client_ramp_s") or 0
    clients = p.get("clients") or 1
    asked = ramp * (clients - 1) / float(clients) if clients > 1 else 0.0
    span = window[1] - window[0]
    if asked and span < 0.5 * asked:
        return ["the clients' window lasted %.2f s where their ramp alone spans %.2f s: the load generator did not "
                "run its clients" % (span, asked)]
    return []
