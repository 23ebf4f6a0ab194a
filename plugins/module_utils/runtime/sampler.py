"""Sampling threads that watch a running case.

fast thread (every unix_interval): the /proc/net/unix lines of the upstream
path counted per state code, and in the same tick the listener's queue length
and backlog from sock_diag.
stub thread (every stub_interval): nginx stub_status, all seven counters (with stub_during False it does not run:
the case reads stub_status once after the clients);
proc thread (every stub_interval): VmSize/VmRSS of the
nginx master and its workers, each worker's open descriptors and sockets and the request-body temporary
files it holds (one pass over its descriptors; sockets and files only up to 4,096 descriptors), and the listen-queue
counters of the case's network namespace (/proc/net/netstat).
Both keep columns (lists of equal length) stamped on the case's monotonic clock.
"""

import os
import threading
import time

from . import stub_status
from .procnet import NETSTAT_KEYS, STATE_CODES, children_of, count_path_states, fd_usage, parse_netstat, parse_status, read_file


def _loop(stop, interval, tick, first_done=None):
    """Call tick() every `interval` seconds on a fixed schedule until `stop` is set; set `first_done`
    after the first tick."""
    next_at = time.monotonic()
    while not stop.is_set():
        tick()
        if first_done is not None:
            first_done.set()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay < 0:
            next_at = time.monotonic()  # fell behind: do not burst to catch up
        elif stop.wait(delay):
            break


def _sum_or_none(values):
    """Sum of the workers' values; None when any worker's was not measured."""
    return None if any(v is None for v in values) else sum(values)


class Sampler(object):
    def __init__(self, t0, socket_path, nginx_pid, port, stub_path="/stats",
                 unix_interval=0.01, stub_interval=0.1, diag_factory=None, proc_net_unix="/proc/net/unix",
                 nice=0, stub_during=True):
        self.t0 = t0
        self.socket_path = socket_path
        self.nginx_pid = nginx_pid
        self.port = port
        self.stub_path = stub_path
        self.unix_interval = unix_interval
        self.stub_interval = stub_interval
        self.diag_factory = diag_factory
        self.proc_net_unix = proc_net_unix
        self.nice = nice
        # False: stub_status is not polled by the slow thread (every poll is a connection to the listener the case's
        # clients contend for); the case reads it once after the clients, with stub_once().
        self.stub_during = stub_during
        self._stop = threading.Event()
        self._threads = []
        self._first_ticks = []
        self._diag = None
        self.unix = {"t": [], "total": [], "states": {code: [] for code in STATE_CODES}, "queue_len": [], "backlog": []}
        self.stub = {"t": [], "took": [], "error": []}
        self.stub.update({field: [] for field in stub_status.FIELDS})
        self.memory = {"t": [], "master_vmsize_kb": [], "master_vmrss_kb": [], "worker_count": [],
                       "worker_vmsize_kb_max": [], "worker_vmrss_kb_max": [],
                       "worker_vmsize_kb_sum": [], "worker_vmrss_kb_sum": [],
                       "body_temp_files": [], "body_temp_bytes": []}
        # Per worker, in the order of `pids` at each sample.
        self.workers = {"t": [], "pids": [], "fds": [], "sockets": [], "vmrss_kb": []}
        self.netstat = {"t": []}
        self.netstat.update({key: [] for key in NETSTAT_KEYS})
        self.cpu_seconds = {"unix": 0.0, "proc": 0.0, "stub_status": 0.0}
        # How long a stub_status poll waits for nginx's answer.
        self.stub_timeout = max(stub_interval * 5, 0.5)
        self.errors = []
        self._workers = []
        self._workers_at = -1.0

    # fast thread ---------------------------------------------------------
    def _fast(self):
        start_cpu = time.thread_time()
        diag = self._diag

        def tick():
            text = read_file(self.proc_net_unix) or ""
            queue_len, backlog = (None, None)
            if diag is not None:
                try:
                    queue_len, backlog = diag.queue(self.socket_path)
                except Exception as exc:
                    if len(self.errors) < 20:
                        self.errors.append("sock_diag: %s" % exc)
            t = time.monotonic() - self.t0
            counts, total = count_path_states(text, self.socket_path)
            u = self.unix
            u["t"].append(round(t, 6))
            u["total"].append(total)
            for code in STATE_CODES:
                u["states"][code].append(counts.get(code, 0))
            u["queue_len"].append(queue_len)
            u["backlog"].append(backlog)

        try:
            self._renice()
            _loop(self._stop, self.unix_interval, tick, self._first_ticks[0])
        finally:
            if diag is not None:
                diag.close()
            self.cpu_seconds["unix"] = time.thread_time() - start_cpu

    # slow thread ---------------------------------------------------------
    def _memory_tick(self, t):
        if t - self._workers_at >= 1.0:
            self._workers = children_of(self.nginx_pid)
            self._workers_at = t
        master = parse_status(read_file("/proc/%d/status" % self.nginx_pid) or "")
        statuses = [parse_status(read_file("/proc/%d/status" % pid) or "") for pid in self._workers]
        workers = [w for w in statuses if w["vmsize_kb"] is not None]
        m = self.memory
        m["t"].append(round(t, 6))
        m["master_vmsize_kb"].append(master["vmsize_kb"])
        m["master_vmrss_kb"].append(master["vmrss_kb"])
        m["worker_count"].append(len(workers))
        for key in ("vmsize_kb", "vmrss_kb"):
            values = [w[key] for w in workers]
            m["worker_%s_max" % key].append(max(values) if values else None)
            m["worker_%s_sum" % key].append(sum(values) if values else None)
        usage = [fd_usage(pid) for pid in self._workers]
        m["body_temp_files"].append(_sum_or_none([u["body_temp_files"] for u in usage]))
        m["body_temp_bytes"].append(_sum_or_none([u["body_temp_bytes"] for u in usage]))
        w = self.workers
        w["t"].append(round(t, 6))
        w["pids"].append(list(self._workers))
        w["fds"].append([u["fds"] for u in usage])
        w["sockets"].append([u["sockets"] for u in usage])
        w["vmrss_kb"].append([status["vmrss_kb"] for status in statuses])

    def _netstat_tick(self, t):
        try:
            values = parse_netstat(read_file("/proc/net/netstat") or "")
        except ValueError as exc:
            values = {}
            if len(self.errors) < 20:
                self.errors.append("netstat: %s" % exc)
        self.netstat["t"].append(round(t, 6))
        for key in NETSTAT_KEYS:
            self.netstat[key].append(values.get(key))

    def _stub_tick(self, t):
        s = self.stub
        try:
            values = stub_status.fetch("127.0.0.1", self.port, self.stub_path, timeout=self.stub_timeout)
            error = None
        except Exception as exc:
            values, error = {}, type(exc).__name__ + (": %s" % exc if str(exc) else "")
        s["t"].append(round(t, 6))
        s["took"].append(round(time.monotonic() - self.t0 - t, 6))  # how long nginx took to answer (or not)
        s["error"].append(error)
        for field in stub_status.FIELDS:
            s[field].append(values.get(field))

    def _proc(self):
        """nginx's memory, descriptors and the namespace's netstat counters, every stub_interval."""
        start_cpu = time.thread_time()

        def tick():
            t = time.monotonic() - self.t0
            self._memory_tick(t)
            self._netstat_tick(t)

        try:
            self._renice()
            _loop(self._stop, self.stub_interval, tick, self._first_ticks[1])
        finally:
            self.cpu_seconds["proc"] = time.thread_time() - start_cpu

    def _stub(self):
        """stub_status every stub_interval, in a thread of its own: a poll nginx does not answer waits out its
        timeout here, not in the /proc reads."""
        start_cpu = time.thread_time()
        try:
            self._renice()
            _loop(self._stop, self.stub_interval, lambda: self._stub_tick(time.monotonic() - self.t0),
                  self._first_ticks[2])
        finally:
            self.cpu_seconds["stub_status"] = time.thread_time() - start_cpu

    def stub_once(self):
        """One stub_status sample now (stub_status_sampling=after: the counters after the clients)."""
        self._stub_tick(time.monotonic() - self.t0)

    # control -------------------------------------------------------------
    def _renice(self):
        """Give this sampling thread its own priority (sampler_nice): below 0 it keeps sampling under a
        heavy load, at the cost of CPU time nginx would have had."""
        if self.nice:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except OSError as exc:
                self.errors.append("could not renice a sampler thread to %d: %s" % (self.nice, exc))

    def start(self, first_tick_timeout=30.0):
        """Start the threads; return once each has taken its first sample, so clients released
        afterwards are observed from their start. sock_diag is opened here, before the threads: inside
        the fast thread, importing pyroute2 (1-3 s of CPU on an emulated VM) delayed its first sample."""
        try:
            self._diag = self.diag_factory() if self.diag_factory else None
        except Exception as exc:
            self.errors.append("sock_diag unavailable: %s" % exc)
        self._first_ticks = [threading.Event(), threading.Event(), threading.Event()]
        names = ["unix", "proc"] + (["stub_status"] if self.stub_during else [])
        for target in (self._fast, self._proc, self._stub)[:len(names)]:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + first_tick_timeout
        for name, event in zip(names, self._first_ticks):
            if not event.wait(max(0.0, deadline - time.monotonic())):
                self.errors.append("the %s sampler took no sample within %.0f s" % (name, first_tick_timeout))

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def data(self):
        return {"unix": self.unix, "stub_status": self.stub, "memory": self.memory, "workers": self.workers,
                "netstat": self.netstat}
