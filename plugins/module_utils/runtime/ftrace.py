"""The kernel's own record of when nginx's workers connect to the upstream (target side).

A path line of an upstream connection exists in /proc/net/unix from nginx's connect() (the kernel makes the
embryo socket, with the listener's address, and queues it) until the upstream closes its accepted socket. The
upstream's events give its accepts and closes on CLOCK_MONOTONIC to the microsecond; the connects are nginx's, and
nginx's own log keeps only milliseconds. So a case that asks (trace_connects) records them with the kernel's tracer:
an ftrace instance of its own (tracefs instances/<case tag>) with the connect syscall's entry and exit events
filtered to the workers' PIDs and trace_clock mono, the clock of the upstream's events and of the case. Nothing is sampled and the
workers are not stopped (no ptrace): each connect costs nginx one tracepoint.

tracefs is used where the host mounts it (/sys/kernel/tracing, as systemd does); where it does not, a helper process
mounts it in a mount namespace of its own, so the host's mounts never change. The instance is a kernel object: the
guardian removes it whatever happens (remove()), and the reaper removes the instance of a case whose guardian died.
Standard library only.
"""

import ctypes
import os
import re
import select
import signal
import time

TRACEFS = "/sys/kernel/tracing"
# The connect() syscall's entry and exit: the line appears between the two (the kernel queues the embryo inside it),
# and an upstream can accept the connection before the worker's connect() returns.
EVENTS = ("events/syscalls/sys_enter_connect", "events/syscalls/sys_exit_connect")
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
# "  nginx-1234  [001] .....  2481.781043: sys_connect(fd: c, uservaddr: ..., addrlen: 6e)" and
# "  nginx-1234  [001] .....  2481.781061: sys_connect -> 0x0" (older kernels print fewer flag columns)
LINE = re.compile(r"-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+\S*\s*(?P<t>\d+\.\d+): "
                  r"sys_connect(?:(?P<enter>\()| -> 0x(?P<ret>[0-9a-f]+))")
LOST = re.compile(r"LOST (\d+) EVENTS")


class TraceError(Exception):
    """The tracer could not be set up or read; the message says why."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _private_tracefs():
    """tracefs at TRACEFS for the calling process: the host's when it is mounted, else one mounted in a mount
    namespace of this process's own (call it in a forked child only)."""
    if os.path.isdir(os.path.join(TRACEFS, "instances")):
        return TRACEFS
    libc = _libc()
    for what, call in (("unshare(CLONE_NEWNS)", lambda: libc.unshare(CLONE_NEWNS)),
                       ("making / private", lambda: libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)),
                       ("mounting tracefs", lambda: libc.mount(b"nodev", TRACEFS.encode(), b"tracefs", 0, None))):
        if call() != 0:
            err = ctypes.get_errno()
            raise TraceError("%s failed: %s" % (what, os.strerror(err)))
    if not os.path.isdir(os.path.join(TRACEFS, "instances")):
        raise TraceError("tracefs has no instances folder at %s (a kernel without ftrace instances)" % TRACEFS)
    return TRACEFS


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def _in_child(work, seconds=10.0):
    """Run work() in a forked child (its own mount namespace may change); True when it exited 0."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            work()
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def _remove_instance(root, name):
    inst = os.path.join(root, "instances", name)
    if not os.path.isdir(inst):
        return
    for path in [os.path.join(inst, "tracing_on")] + [os.path.join(inst, e, "enable") for e in EVENTS]:
        try:
            _write(path, "0")
        except OSError:
            pass
    os.rmdir(inst)


def remove(name):
    """Remove ftrace instance `name` if it exists (the guardian's and the reaper's clean-up); a problem string, or
    None."""
    def work():
        _remove_instance(_private_tracefs(), name)
    return None if _in_child(work) else "ftrace instance %s could not be removed" % name


def instances(pattern):
    """Names of the ftrace instances that match the compiled regex `pattern` (the reaper's sweep); [] when tracefs
    cannot be read."""
    r, w = os.pipe()

    def work():
        os.close(r)
        names = [n for n in os.listdir(os.path.join(_private_tracefs(), "instances")) if pattern.match(n)]
        os.write(w, "\n".join(names).encode())
    ok = _in_child(work)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    return [n for n in data.decode().split("\n") if n] if ok else []


def parse(text, t0):
    """{"t": [entry], "t_exit": [exit], "pid": [...], "ret": [...]} of the connects in an ftrace `text` (a worker's
    entry paired with its next exit: a worker runs one syscall at a time), times relative to `t0`; a trace that lost
    events raises TraceError."""
    lost = sum(int(n) for n in LOST.findall(text))
    if lost:
        raise TraceError("the kernel's trace lost %d connect events (its buffer was too small)" % lost)
    out = {"t": [], "t_exit": [], "pid": [], "ret": []}
    open_calls = {}
    for match in LINE.finditer(text):
        pid, t = int(match.group("pid")), round(float(match.group("t")) - t0, 6)
        if match.group("enter"):
            open_calls[pid] = t
            continue
        entered = open_calls.pop(pid, None)
        if entered is None:
            continue  # its entry came before the trace began
        ret = int(match.group("ret"), 16)
        out["t"].append(entered)
        out["t_exit"].append(t)
        out["pid"].append(pid)
        out["ret"].append(ret - (1 << 64) if ret >= 1 << 63 else ret)
    return out


class ConnectTrace(object):
    """The trace of one case: started before its clients, stopped after its tail; a helper process (npl-ftrace)
    owns the instance while it records."""

    def __init__(self, name, pids, out_path, track, buffer_kb=4096):
        self.name, self.out_path = name, out_path
        track("ftrace", name)
        ready_r, ready_w = os.pipe()
        stop_r, stop_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            os.close(stop_w)
            self._helper(pids, buffer_kb, ready_w, stop_r)
        os.close(ready_w)
        os.close(stop_r)
        self.pid, self.stop_w = pid, stop_w
        track("pgids", pid)
        ready = select.select([ready_r], [], [], 10.0)[0]
        said = os.read(ready_r, 4096).decode(errors="replace").strip() if ready else "no answer within 10 s"
        os.close(ready_r)
        if said != "ready":
            self.stop()
            raise TraceError(said or "the tracer ended before it was ready")

    def _helper(self, pids, buffer_kb, ready_w, stop_r):
        code = 1
        try:
            os.setsid()
            _libc().prctl(15, b"npl-ftrace", 0, 0, 0)
            root = None
            try:
                root = _private_tracefs()
                inst = os.path.join(root, "instances", self.name)
                os.mkdir(inst)
                _write(os.path.join(inst, "trace_clock"), "mono")
                _write(os.path.join(inst, "buffer_size_kb"), str(buffer_kb))
                for event in EVENTS:
                    _write(os.path.join(inst, event, "filter"), " || ".join("common_pid == %d" % p for p in pids))
                    _write(os.path.join(inst, event, "enable"), "1")
                _write(os.path.join(inst, "tracing_on"), "1")
            except (OSError, TraceError) as exc:
                os.write(ready_w, ("cannot trace the workers' connects: %s" % exc).encode())
                raise
            os.write(ready_w, b"ready")
            os.read(stop_r, 1)  # until the case stops it (or goes away: end of file)
            _write(os.path.join(inst, "tracing_on"), "0")
            with open(os.path.join(inst, "trace")) as src, open(self.out_path, "w") as dst:
                dst.write(src.read())
            code = 0
        finally:
            try:
                if root:
                    _remove_instance(root, self.name)
            finally:
                os._exit(code)

    def stop(self):
        """Stop the trace; the helper writes it to out_path and removes the instance. True when it did."""
        try:
            os.write(self.stop_w, b"s")
        except OSError:
            pass
        os.close(self.stop_w)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return False
