"""Run one case: namespace, upstream, nginx, clients, sampling, clean-up; return the result document."""

import binascii
import datetime
import json
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import time
import traceback

from . import KIT_VERSION, SCHEMA_VERSION, loadgen, netns, nginx_conf, strace
from .guardian import CaseError, keep_only_fds, run_supervised
from .procnet import children_of, read_file
from .sampler import Sampler
from .sockdiag import UnixListenerDiag
from .summary import summarize

from .params import MODES  # noqa: F401  (re-exported for the module)
RUN_DIR = "/run/nginx-proxy-lab"
INT_MAX = 2 ** 31 - 1
SOMAXCONN = "/proc/sys/net/core/somaxconn"


def kernel_somaxconn_max(release):
    """Largest net.core.somaxconn a listen() honours on kernel `release`.

    Before Linux 5.5 sk_max_ack_backlog was 16 bits wide, so 65535 was the
    ceiling; since then it is 32 bits and the sysctl takes any int.
    """
    try:
        major, minor = (int(x) for x in release.split(".")[:2])
    except ValueError:
        return 65535
    return INT_MAX if (major, minor) >= (5, 5) else 65535


def validate(p):
    """Every reason to refuse `p` before anything changes; an empty list when it is fine."""
    errors = []
    if os.geteuid() != 0:
        errors.append("the case runner needs root (network namespaces, sysctl): run ansible-playbook with "
                      "sudo, or set become: true for this host")
    limit = kernel_somaxconn_max(platform.release())
    for key in ("somaxconn", "somaxconn_after_listen"):
        value = p.get(key)
        if value is not None and not 1 <= value <= limit:
            errors.append("%s=%s is outside 1..%d (the largest this kernel %s honours): pick a value in that range"
                          % (key, value, limit, platform.release()))
    for key in ("worker_connections", "worker_processes", "clients", "upstream_backlog", "proxy_locations"):
        if p[key] < 1:
            errors.append("%s=%s must be at least 1" % (key, p[key]))
    for key in ("proxy_timeout", "deadline", "unix_interval_ms", "stub_interval_ms"):
        if p[key] is not None and p[key] <= 0:
            errors.append("%s=%s must be positive" % (key, p[key]))
    if not -20 <= p["sampler_nice"] <= 19:
        errors.append("sampler_nice=%s is outside -20..19 (nice values): pick one in that range" % p["sampler_nice"])
    if p["request_body_bytes"] < 0:
        errors.append("request_body_bytes=%s must be 0 or more" % p["request_body_bytes"])
    if not 1 <= p["nginx_port"] <= 65535:
        errors.append("nginx_port=%s is not a TCP port" % p["nginx_port"])
    if not os.access(p["nginx_binary"], os.X_OK):
        errors.append("nginx binary %s is missing: provision the host first (run_cases.yml does, or "
                      "playbooks/provision.yml)" % p["nginx_binary"])
    if not os.access(p["upstream_binary"], os.X_OK):
        errors.append("upstream binary %s is missing: provision the host first (role lab_upstream builds it "
                      "from src/upstream.c)" % p["upstream_binary"])
    if p["client_mode"] == "curl" and not shutil.which("curl"):
        errors.append("client_mode=curl needs curl on the target: install it (role lab_packages does)")
    if p["strace"] != "none" and not shutil.which("strace"):
        errors.append("strace=%s needs strace on the target: install it (role lab_packages does)" % p["strace"])
    if p["isolation"] == "netns" and not shutil.which("ip"):
        errors.append("isolation=netns needs iproute2's ip: install it (role lab_packages does)")
    if p["isolation"] == "host" and not errors:
        probe = socket.socket()
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", p["nginx_port"]))
        except OSError as exc:
            errors.append("isolation=host: 127.0.0.1:%d is taken (%s): set nginx_port to a free port"
                          % (p["nginx_port"], exc.strerror))
        finally:
            probe.close()
    return errors


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _read_somaxconn():
    return int(read_file(SOMAXCONN).strip())


def _write_somaxconn(value):
    with open(SOMAXCONN, "w") as handle:
        handle.write(str(value))


def _wait_line(proc, seconds):
    """First stdout line of `proc` within `seconds`, or None."""
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return proc.stdout.readline().strip() if ready else None


def _nginx_master(launcher, traced):
    """PID of the nginx master: the launched process, or under strace, the tracer's child."""
    if not traced:
        return launcher.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and launcher.poll() is None:
        kids = children_of(launcher.pid)
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


def _trace_workers(master, path, track):
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


def _finish_strace(tracer, launcher, path):
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


def _wait_nginx(proc, master, port, workers, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "nginx exited with code %s" % proc.returncode
        try:
            # The kernel completes the handshake on nginx's listener even when nginx has no connection
            # slot left to serve it (worker_connections 2), so readiness is: listening, workers up.
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if len(children_of(master)) >= workers:
                return None
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(0.02)
    return "nginx did not listen on 127.0.0.1:%d within %ss (%s)" % (port, seconds, last)


def _start_clients(p, t0, workdir, track):
    """Fork the load generator; it starts its clients when the returned pipe gets a byte."""
    go_r, go_w = os.pipe()
    out_path = os.path.join(workdir, "clients.json")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            keep_only_fds(go_r)
            os.setsid()
            os.read(go_r, 1)
            kwargs = dict(method=p["request_method"], path=p["request_path"], body_bytes=p["request_body_bytes"],
                          timeout=p["client_timeout"], t0=t0)
            if p["client_mode"] == "curl":
                records, stats = loadgen.run_curl("127.0.0.1", p["nginx_port"], p["clients"], workdir=workdir,
                                                  **kwargs)
            else:
                records, stats = loadgen.run_python("127.0.0.1", p["nginx_port"], p["clients"], **kwargs)
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


def _wait_child(pid, seconds):
    """waitpid with a deadline; True if the child ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.05)
    return False


def _log_lines(path, limit=20000):
    text = read_file(path) or ""
    lines = text.splitlines()
    return lines[:limit]


def run(p):
    """Run the case described by params `p`; returns the result document.

    Raises CaseError with a user-facing message on refusal or failure. The
    case runs in a supervised worker process (guardian.py): in every outcome,
    what it created is gone when this returns.
    """
    errors = validate(p)
    if errors:
        raise CaseError("; ".join(errors))
    doc, problems = run_supervised(lambda track: _run_case(p, track))
    doc["meta"]["cleanup_problems"] = problems
    if problems:
        doc["meta"]["warnings"].append("clean-up: " + "; ".join(problems))
    return doc


def _run_case(p, track):
    """The case itself, in the worker process; `track` tells the guardian what to remove afterwards."""
    warnings = []
    tag = "npl-" + binascii.hexlify(os.urandom(4)).decode()
    workdir = os.path.join(RUN_DIR, tag)
    socket_path = os.path.join(workdir, "upstream.sock")
    conf_path = os.path.join(workdir, "nginx.conf")
    meta = {
        "kit_version": KIT_VERSION,
        "case": p["case"],
        "host": socket.gethostname(),
        "kernel": platform.release(),
        "nginx_version": nginx_conf.version(p["nginx_binary"]),
        "isolation": p["isolation"],
        "netns": tag if p["isolation"] == "netns" else None,
        "socket_path": socket_path,
        "params": {k: v for k, v in sorted(p.items())},
        "started_at": _now_iso(),
    }
    if p["isolation"] == "host":
        warnings.append("isolation=host: nginx, the upstream and net.core.somaxconn=%s act on this host's own "
                        "network stack; use it only on a disposable VM" % p["somaxconn"])

    os.makedirs(RUN_DIR, exist_ok=True)
    track("paths", workdir)
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    if p["isolation"] == "netns":
        track("netns", tag)
        netns.create(tag)
        netns.enter(tag)
    else:
        track("sysctls", ["net.core.somaxconn", _read_somaxconn()])
    _write_somaxconn(p["somaxconn"])

    upstream_cmd = [p["upstream_binary"], "--mode", p["mode"], "--unix", socket_path,
                    "--backlog", str(p["upstream_backlog"])]
    if p["upstream_content_length"]:
        upstream_cmd.append("--content-length")
    upstream = subprocess.Popen(upstream_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    track("pgids", upstream.pid)
    ready = _wait_line(upstream, 5.0)
    if not ready or not ready.startswith("ready"):
        raise CaseError("the upstream did not start: %s" % (upstream.stderr.read() if upstream.poll() is not None
                                                             else "no ready line within 5 s"))
    meta["somaxconn_at_listen"] = _read_somaxconn()

    with open(conf_path, "w") as handle:
        handle.write(nginx_conf.render(p, workdir, socket_path))
    ok, output = nginx_conf.test_config(p["nginx_binary"], workdir, conf_path)
    if not ok:
        raise CaseError("nginx rejected the case's configuration: %s" % output)
    nginx_cmd = [p["nginx_binary"], "-p", workdir, "-c", conf_path, "-e", os.path.join(workdir, "error.log")]
    strace_path = os.path.join(workdir, "strace.txt")
    if p["strace"] == "startup":
        # Trace nginx from exec on: its listen() calls happen before it serves anything.
        nginx_cmd = ["strace", "-f", "-tt", "-qq", "-o", strace_path, "-e", "trace=" + strace.TRACED] + nginx_cmd
    launcher = subprocess.Popen(nginx_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    track("pgids", launcher.pid)
    nginx_pid = _nginx_master(launcher, p["strace"] == "startup")
    failure = _wait_nginx(launcher, nginx_pid, p["nginx_port"], p["worker_processes"], 10.0)
    if failure:
        raise CaseError("%s; error log: %s" % (failure, " | ".join(_log_lines(os.path.join(workdir, "error.log"))[-5:])))
    # Lowered after both listeners exist: the kernel read somaxconn at listen() time.
    if p.get("somaxconn_after_listen") is not None:
        _write_somaxconn(p["somaxconn_after_listen"])
    meta["sysctls"] = {"net.core.somaxconn": _read_somaxconn()}
    meta["somaxconn"] = meta["sysctls"]["net.core.somaxconn"]
    tracer = None
    if p["strace"] == "workers":
        tracer = _trace_workers(nginx_pid, strace_path, track)
    # Only the case's requests in the access log: drop the readiness probes (nginx appends, so truncating is safe).
    open(os.path.join(workdir, "access.log"), "w").close()

    t0 = time.monotonic()
    meta["t0_wall"] = _now_iso()
    loadgen_pid, go, clients_path = _start_clients(p, t0, workdir, track)
    sampler = Sampler(t0, socket_path, nginx_pid, p["nginx_port"], p["stub_status_path"],
                      p["unix_interval_ms"] / 1000.0, p["stub_interval_ms"] / 1000.0,
                      diag_factory=UnixListenerDiag, nice=p["sampler_nice"])
    sampler.start()
    time.sleep(p["settle_s"])
    clients_start = time.monotonic() - t0
    os.write(go, b"g")
    os.close(go)
    ended = _wait_child(loadgen_pid, p["deadline"])
    clients_end = time.monotonic() - t0
    if not ended:
        warnings.append("case deadline of %ss passed with clients still running; they were stopped"
                        % p["deadline"])
        os.killpg(loadgen_pid, signal.SIGKILL)
        os.waitpid(loadgen_pid, 0)
    time.sleep(p["tail_s"])
    sampler.stop()
    if p["strace"] != "none":
        meta["strace"] = _finish_strace(tracer, launcher if p["strace"] == "startup" else None, strace_path)
    records, meta["loadgen"] = [], None
    if os.path.exists(clients_path):
        with open(clients_path) as handle:
            out = json.load(handle)
        if "error" in out:
            raise CaseError("the load generator failed:\n" + out["error"])
        records, meta["loadgen"] = out["records"], out["stats"]
    if len(records) != p["clients"]:
        records = [{"id": i, "start": None, "first_byte": None, "end": None, "status": None,
                    "error": "case-deadline", "bytes": 0, "complete": False} for i in range(p["clients"])]
    samples = sampler.data()
    meta["sampler"] = {"unix_interval_s": p["unix_interval_ms"] / 1000.0, "nice": p["sampler_nice"],
                       "stub_interval_s": p["stub_interval_ms"] / 1000.0,
                       "cpu_seconds": {k: round(v, 4) for k, v in sampler.cpu_seconds.items()},
                       "errors": sampler.errors}
    meta["clients_window"] = [round(clients_start, 6), round(clients_end, 6)]
    meta["ended_at"] = _now_iso()
    meta["warnings"] = warnings
    return {
        "schema_version": SCHEMA_VERSION,
        "meta": meta,
        "samples": samples,
        "clients": records,
        "logs": {"error": _log_lines(os.path.join(workdir, "error.log")),
                 "access": _log_lines(os.path.join(workdir, "access.log"))},
        "summary": summarize(samples, records, meta["clients_window"]),
    }
