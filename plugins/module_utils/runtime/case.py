"""Run one case: namespace, upstream, nginx, clients, sampling, clean-up; return the result document."""

import binascii
import datetime
import os
import platform
import select
import signal
import socket
import subprocess
import time

from .version import KIT_VERSION, SCHEMA_VERSION
from . import case_checks, clientrun, errorlog, ftrace, hostload, netns, nginx_conf, tracing, upstream_events, validity
from .case_actions import CaseActions
from .guardian import CaseError, run_supervised
from .procnet import alive, children_of, in_epoll_wait, process_table, read_file, tcp_listening
from .sampler import Sampler
from .sockdiag import UnixListenerDiag
from .summary import summarize

RUN_DIR = "/run/nginx-proxy-lab"
SOMAXCONN = "/proc/sys/net/core/somaxconn"


validate = case_checks.validate
validate_params = case_checks.validate_params


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


def _wait_nginx(proc, master, port, workers, seconds):
    """None once nginx listens on 127.0.0.1:`port` (/proc/net/tcp, no connection made: a probe would be a connection
    the workers count and, with EPOLLEXCLUSIVE, one that moves the order in which they are woken) and each of its
    `workers` sleeps in epoll_wait, so the first client finds every worker ready; else why not."""
    deadline = time.monotonic() + seconds
    listening = False
    kids = []
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "nginx exited with code %s" % proc.returncode
        listening = listening or tcp_listening(read_file("/proc/net/tcp") or "", "127.0.0.1", port)
        kids = children_of(master)
        if listening and len(kids) >= workers and all(in_epoll_wait(k) is not False for k in kids):
            return None
        time.sleep(0.02)
    if listening:
        table = process_table()
        nginx = {pid: row[2] for pid, row in table.items() if row[0] == "nginx"}
        return ("nginx listened on 127.0.0.1:%d but master %d had %d of %d workers waiting for events after %ss "
                "(nginx processes and their parents: %s)" % (port, master, len(kids), workers, seconds, nginx))
    return "nginx did not listen on 127.0.0.1:%d within %ss" % (port, seconds)


def _log_lines(path, limit=20000):
    text = read_file(path) or ""
    lines = text.splitlines()
    return lines[:limit]


def _error_log(path, limit=20000, events_limit=100000):
    """(the error log without its debug lines, the lines of nginx's accept record in file order: nginx_events)."""
    lines = (read_file(path) or "").splitlines()
    return ([line for line in lines if not errorlog.is_debug(line)][:limit],
            [line for line in lines if errorlog.keep_line(line)][:events_limit])


def execute(p, before=None):
    """Run the case described by params `p`; returns the result document.

    Raises CaseError with a user-facing message on refusal or failure. `before()`, if given, is called once `p`
    is valid and before anything changes (the module stamps the host lock there). The case runs in a supervised
    worker process (guardian.py): in every outcome, what it created is gone when this returns.
    """
    errors = case_checks.validate(p)
    if errors:
        raise CaseError("; ".join(errors))
    if before is not None:
        before()
    doc, problems = run_supervised(lambda track: _run_case(p, track))
    doc["meta"]["cleanup_problems"] = problems
    if problems:
        doc["meta"]["warnings"].append("clean-up: " + "; ".join(problems))
    return doc


class _Case(object):
    """The phases of one case, in the worker process; `track` tells the guardian what to remove afterwards."""

    def __init__(self, p, track):
        self.p = p
        self.track = track
        self.warnings = []
        self.tag = "npl-" + binascii.hexlify(os.urandom(4)).decode()
        self.workdir = os.path.join(RUN_DIR, self.tag)
        self.socket_path = os.path.join(self.workdir, "upstream.sock")
        self.strace_path = os.path.join(self.workdir, "strace.txt")
        self.events_path = os.path.join(self.workdir, "upstream-events.txt")
        self.meta = {
            "kit_version": KIT_VERSION, "case": p["case"], "repetition": p["repetition"], "host": socket.gethostname(), "kernel": platform.release(),
            "nginx_version": nginx_conf.version(p["nginx_binary"]), "isolation": p["isolation"],
            "netns": self.tag if p["isolation"] == "netns" else None, "socket_path": self.socket_path,
            "params": {k: v for k, v in sorted(p.items())}, "started_at": _now_iso(),
        }

    def isolate(self):
        """The case's folder, and its own network namespace (or the host's stack, loudly), with its somaxconn."""
        p = self.p
        if p["isolation"] == "host":
            self.warnings.append("isolation=host: nginx, the upstream and net.core.somaxconn=%s act on this host's "
                                 "own network stack; use it only on a disposable VM" % p["somaxconn"])
        os.makedirs(RUN_DIR, exist_ok=True)
        self.track("paths", self.workdir)
        os.makedirs(self.workdir)
        os.chmod(self.workdir, 0o755)
        if p["isolation"] == "netns":
            self.track("netns", self.tag)
            netns.create(self.tag)
            netns.enter(self.tag)
        else:
            self.track("sysctls", ["net.core.somaxconn", _read_somaxconn()])
        _write_somaxconn(p["somaxconn"])

    def start_upstream(self):
        p = self.p
        cmd = [p["upstream_binary"], "--mode", p["mode"], "--unix", self.socket_path, "--backlog",
               str(p["upstream_backlog"]), "--events", self.events_path]
        if p["mode"] in ("delay", "keepalive"):
            cmd += ["--delay-ms", str(p["upstream_delay_ms"])]
        if p["upstream_content_length"]:
            cmd.append("--content-length")
        self.upstream = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                         text=True, start_new_session=True)
        self.track("pgids", self.upstream.pid)
        ready = _wait_line(self.upstream, 5.0)
        if not ready or not ready.startswith("ready"):
            raise CaseError("the upstream did not start: %s" % (
                self.upstream.stderr.read() if self.upstream.poll() is not None else "no ready line within 5 s"))
        self.meta["somaxconn_at_listen"] = _read_somaxconn()

    def start_nginx(self):
        p = self.p
        conf_path = self.conf_path = os.path.join(self.workdir, "nginx.conf")
        try:
            text = nginx_conf.render(p, self.workdir, self.socket_path)
        except nginx_conf.UnsafeValue as exc:
            raise CaseError(str(exc))
        with open(conf_path, "w") as handle:
            handle.write(text)
        ok, output = nginx_conf.test_config(p["nginx_binary"], self.workdir, conf_path)
        if not ok:
            raise CaseError("nginx rejected the case's configuration: %s" % output)
        cmd = nginx_conf.start_args(p["nginx_binary"], self.workdir, conf_path)
        if p["strace"] == "startup":
            cmd = tracing.startup_command(cmd, self.strace_path)
        self.launcher = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self.track("pgids", self.launcher.pid)
        self.master = tracing.nginx_master(self.launcher, p["strace"] == "startup")
        failure = _wait_nginx(self.launcher, self.master, p["nginx_port"], p["worker_processes"], 10.0)
        if failure:
            raise CaseError("%s; error log: %s" % (
                failure, " | ".join(_log_lines(os.path.join(self.workdir, "error.log"))[-5:])))
        self.workers_start = children_of(self.master)
        self.meta["nginx_listener"] = self.listener_backlog()
        # Lowered after both listeners exist: the kernel read somaxconn at listen() time.
        if p.get("somaxconn_after_listen") is not None:
            _write_somaxconn(p["somaxconn_after_listen"])
        self.meta["sysctls"] = {"net.core.somaxconn": _read_somaxconn()}
        self.meta["somaxconn"] = self.meta["sysctls"]["net.core.somaxconn"]
        self.tracer = tracing.trace_workers(self.master, self.strace_path, self.track) if p["strace"] == "workers" \
            else None
        # Only the case's requests in the access log: drop the readiness probes (nginx appends, so truncating is safe).
        open(os.path.join(self.workdir, "access.log"), "w").close()

    def listener_backlog(self):
        """The backlog nginx's listener got (sock_diag): the kernel clamps the one asked (nginx_backlog, else nginx's
        511) to net.core.somaxconn at listen(); a warning says so when it did."""
        p = self.p
        asked = p["nginx_backlog"] if p["nginx_backlog"] is not None else nginx_conf.NGINX_DEFAULT_BACKLOG
        try:
            diag = UnixListenerDiag()
            try:
                found = diag.tcp_listeners().get(("127.0.0.1", p["nginx_port"]))
            finally:
                diag.close()
        except Exception as exc:  # sock_diag unavailable: say so, the case still runs
            return {"port": p["nginx_port"], "backlog_asked": asked, "backlog": None, "error": str(exc)}
        backlog = found[1] if found else None
        if backlog is not None and p["nginx_backlog"] is not None and backlog != asked:
            self.warnings.append("nginx's listener got a backlog of %d, not the nginx_backlog=%d asked: the kernel caps "
                                 "it at net.core.somaxconn (%s at listen())" % (backlog, asked,
                                                                                self.meta.get("somaxconn_at_listen")))
        return {"port": p["nginx_port"], "backlog_asked": asked, "backlog": backlog}

    def client_phase(self):
        """Samplers first, then the clients; the case deadline stops clients that are still running."""
        p = self.p
        self.t0 = time.monotonic()
        self.meta["t0_wall"] = _now_iso()
        self.connect_trace = self.start_connect_trace() if p["trace_connects"] else None
        loadgen_pid, go, clients_path = clientrun.start(p, self.t0, self.workdir, self.track)
        self.sampler = Sampler(self.t0, self.socket_path, self.master, p["nginx_port"], p["stub_status_path"],
                               p["unix_interval_ms"] / 1000.0, p["stub_interval_ms"] / 1000.0,
                               diag_factory=UnixListenerDiag, nice=p["sampler_nice"],
                               stub_during=p["stub_status_sampling"] == "during")
        self.sampler.start()
        time.sleep(p["settle_s"])
        clients_start = time.monotonic() - self.t0
        self.load_before = hostload.snapshot()
        actions = CaseActions(p.get("actions"), self.t0, self.master, self.write_next_config)
        actions.start(self.t0 + clients_start)  # before the clients go: an action at 0 s is done when they start
        os.write(go, b"g")
        os.close(go)
        try:
            status = clientrun.wait(loadgen_pid, p["deadline"])
        finally:
            self.meta["actions"] = actions.finish()
        clients_end = time.monotonic() - self.t0
        self.load_after = hostload.snapshot()
        self.observed = self.observe()
        stopped, kept = status is None, True
        if stopped:
            kept, status = clientrun.stop(loadgen_pid)
            self.warnings.append("case deadline of %ss passed with clients still running; they were stopped%s"
                                 % (p["deadline"], "" if kept else " and their records lost (the load generator "
                                    "did not answer SIGTERM)"))
        if p["stub_status_sampling"] == "after":
            self.sampler.stub_once()
        self.records, self.meta["loadgen"], self.case_problems = clientrun.collect(clients_path, p["clients"], status,
                                                                                   stopped, kept)
        self.meta["clients_window"] = [round(clients_start, 6), round(clients_end, 6)]
        self.case_problems += clientrun.window_problems(p, self.meta["clients_window"])
        self.release_upstream(clients_end)
        time.sleep(p["tail_s"])
        self.sampler.stop()
        self.connects = self.stop_connect_trace()
        if p["strace"] != "none":
            self.meta["strace"] = tracing.finish(self.tracer, self.strace_path)

    def release_upstream(self, clients_end):
        """upstream_release_s after the clients ended, tell the upstream to close the connections it holds (SIGUSR1):
        when their path lines leave /proc/net/unix is then the lab's choice, the same in every holding mode."""
        after = self.p.get("upstream_release_s")
        if after is None:
            return
        time.sleep(max(0.0, self.t0 + clients_end + after - time.monotonic()))
        self.meta["upstream_release"] = {"after_clients_s": after, "at": round(time.monotonic() - self.t0, 6)}
        os.kill(self.upstream.pid, signal.SIGUSR1)

    def start_connect_trace(self):
        """The kernel's record of the workers' upstream connects (ftrace.py), or None with a warning when this host
        cannot give it (its measures then say why)."""
        try:
            return ftrace.ConnectTrace(self.tag, self.workers_start, os.path.join(self.workdir, "connects.trace"),
                                       self.track)
        except ftrace.TraceError as exc:
            self.meta["connect_trace_error"] = str(exc)
            self.warnings.append(str(exc))
            return None

    def stop_connect_trace(self):
        if self.connect_trace is None:
            return None
        try:
            if not self.connect_trace.stop():
                raise ftrace.TraceError("the tracer did not hand over its trace")
            return ftrace.parse(read_file(os.path.join(self.workdir, "connects.trace")) or "", self.t0)
        except ftrace.TraceError as exc:
            self.meta["connect_trace_error"] = str(exc)
            self.warnings.append(str(exc))
            return None

    def write_next_config(self, kind):
        """nginx.conf for a reload action: the second generation, `kind` changed or broken (case_actions)."""
        text = nginx_conf.render(self.p, self.workdir, self.socket_path, generation=2, broken=kind == "broken")
        with open(self.conf_path + ".next", "w") as handle:
            handle.write(text)
        os.replace(self.conf_path + ".next", self.conf_path)

    def observe(self):
        """The case's processes when the clients ended (or the deadline came)."""
        exit_status = self.upstream.poll()
        retired = [pid for a in (self.meta.get("actions") or {}).get("done", [])
                   if a["action"] == "reload" and a.get("config") == "changed" for pid in a.get("workers_before", [])]
        return {"mode": self.p["mode"], "upstream_alive": exit_status is None, "upstream_exit": exit_status,
                "master_alive": alive(self.master), "workers_start": self.workers_start,
                "workers_end": [pid for pid in children_of(self.master) if alive(pid)], "workers_retired": retired,
                "free_bytes": case_checks.free_bytes(self.workdir)}

    def own_problems(self, error_lines):
        """The case's own failures besides its processes (validity.assess: never scored, not run again): the load
        generator's (collect), nginx's crit/alert/emerg lines the case did not ask for, the upstream's events file it
        could not write, and a case folder whose file system was full when the clients ended."""
        problems = list(self.case_problems) + errorlog.unasked(error_lines, self.p)
        said = upstream_stderr(self.upstream)
        if said:
            problems.append("the upstream said: %s" % said)
        free = self.observed.get("free_bytes")
        if free is not None and free < case_checks.FULL_BELOW_BYTES:
            problems.append("the host ran out of room: the file system of %s had %d bytes free when the clients "
                            "ended" % (self.workdir, free))
        return problems

    def result(self):
        p = self.p
        samples = self.sampler.data()
        logs, events = self.logs(), self.upstream_events()
        # What the case wrote in its folder (logs, records; spooled bodies nginx has removed by now): the measure
        # behind params.needs()'s disk estimate.
        self.meta["case_folder_bytes"] = case_checks.folder_bytes(self.workdir)
        self.meta["sampler"] = {"unix_interval_s": p["unix_interval_ms"] / 1000.0, "nice": p["sampler_nice"],
                                "stub_interval_s": p["stub_interval_ms"] / 1000.0, "stub_timeout_s": self.sampler.stub_timeout,
                                "cpu_seconds": {k: round(v, 4) for k, v in self.sampler.cpu_seconds.items()},
                                "errors": self.sampler.errors}
        self.meta["validity"] = validity.assess(self.observed, samples, self.meta["clients_window"],
                                                self.meta["sampler"]["unix_interval_s"],
                                                self.meta["sampler"]["stub_interval_s"],
                                                stub_during=p["stub_status_sampling"] == "during",
                                                case_problems=self.own_problems(logs["error"]),
                                                pace_problems=validity.ramp_problems(p, self.records))
        self.meta["conditions"] = hostload.conditions(self.load_before, self.load_after, self.records,
                                                      self.meta["validity"])
        for problem in self.meta["validity"]["problems"]:
            self.warnings.append("the case did not run as designed, its claims are INCONCLUSIVE: " + problem)
        self.meta["ended_at"] = _now_iso()
        self.meta["warnings"] = self.warnings
        return {
            "schema_version": SCHEMA_VERSION,
            "meta": self.meta,
            "samples": samples,
            "clients": self.records,
            "logs": logs,
            "summary": summarize(samples, self.records, self.meta["clients_window"]),
            "upstream": events,
            "connects": getattr(self, "connects", None),
        }

    def logs(self):
        """nginx's error and access logs; with error_log_level debug, also the accept record (nginx_events.py)."""
        error, events = _error_log(os.path.join(self.workdir, "error.log"))
        out = {"error": error, "access": _log_lines(os.path.join(self.workdir, "access.log"))}
        if self.p["error_log_level"] == "debug":
            out["nginx_events"] = events
        return out

    def upstream_events(self):
        """The upstream's events; a file it could not write whole makes the case invalid (own_problems)."""
        try:
            return upstream_events.parse(read_file(self.events_path) or "", self.t0)
        except ValueError as exc:
            self.case_problems.append("the upstream's events file is damaged: %s" % exc)
            return None


def upstream_stderr(proc):
    """What the upstream wrote on stderr so far (it writes only when it cannot do what the case asked), without
    waiting."""
    if proc.stderr is None or not select.select([proc.stderr], [], [], 0)[0]:
        return ""
    os.set_blocking(proc.stderr.fileno(), False)
    try:
        return (os.read(proc.stderr.fileno(), 4096) or b"").decode(errors="replace").strip()
    except BlockingIOError:
        return ""


def _run_case(p, track):
    """The case itself, in the worker process."""
    case = _Case(p, track)
    case.isolate()
    case.start_upstream()
    case.start_nginx()
    case.client_phase()
    return case.result()
