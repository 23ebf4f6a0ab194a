"""Parsers for /proc/net/unix and /proc/PID/status, and a /proc scan for child processes."""

import os

# The St column of /proc/net/unix is the socket_state enum of include/uapi/linux/net.h (00 SS_FREE, 01
# SS_UNCONNECTED, 02 SS_CONNECTING, 03 SS_CONNECTED, 04 SS_DISCONNECTING).
STATE_CODES = ("00", "01", "02", "03", "04")


def parse_unix_line(line):
    """One data line of /proc/net/unix as a dict, or None for the header or a short line."""
    fields = line.split(None, 7)
    if len(fields) < 7 or fields[0] == "Num":
        return None
    return {
        "refcount": int(fields[1], 16),
        "flags": int(fields[3], 16),
        "type": int(fields[4], 16),
        "state": fields[5],
        "inode": int(fields[6]),
        "path": fields[7].rstrip("\n") if len(fields) == 8 else "",
    }


def count_path_states(text, path):
    """Count the lines of /proc/net/unix whose path is `path`, per state code.

    Returns (counts, total) where counts maps each code of STATE_CODES (and any
    other code the kernel prints) to the number of lines in it.
    """
    counts = dict.fromkeys(STATE_CODES, 0)
    total = 0
    suffix = " " + path
    for line in text.splitlines():
        if not line.endswith(suffix):
            continue
        entry = parse_unix_line(line)
        if entry is None or entry["path"] != path:
            continue
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
        total += 1
    return counts, total


def parse_status(text):
    """VmSize and VmRSS in kB (None where absent, e.g. for a zombie) from /proc/PID/status."""
    out = {"vmsize_kb": None, "vmrss_kb": None}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "VmSize":
            out["vmsize_kb"] = int(value.split()[0])
        elif key == "VmRSS":
            out["vmrss_kb"] = int(value.split()[0])
    return out


def parse_stat(text):
    """(pid, comm, state, ppid, pgrp) from /proc/PID/stat; comm may hold spaces and parentheses."""
    left, _, right = text.rpartition(")")
    pid, _, comm = left.partition(" (")
    fields = right.split()
    return int(pid), comm, fields[0], int(fields[1]), int(fields[2])


def read_file(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def process_table(proc="/proc"):
    """Every live process as {pid: (comm, state, ppid, pgrp)}, read from /proc/*/stat."""
    table = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        text = read_file(os.path.join(proc, name, "stat"))
        if not text:
            continue
        pid, comm, state, ppid, pgrp = parse_stat(text)
        table[pid] = (comm, state, ppid, pgrp)
    return table


def children_of(pid, table=None):
    """PIDs whose parent is `pid` (found by scanning /proc/*/stat, which every kernel has)."""
    table = process_table() if table is None else table
    return sorted(p for p, (_, state, ppid, _) in table.items() if ppid == pid and state != "Z")


def mem_available_bytes(meminfo="/proc/meminfo"):
    """MemAvailable of /proc/meminfo in bytes, or None where the kernel does not give it."""
    for line in (read_file(meminfo) or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def stat_fields(pid):
    """(comm, the fields after it) of /proc/PID/stat, or None when the process is gone."""
    text = read_file("/proc/%d/stat" % int(pid))
    if not text:
        return None
    left, _, right = text.rpartition(")")
    return left.split(" (", 1)[1], right.split()


def start_ticks(pid):
    """When process `pid` started, in clock ticks after boot (tells a reused PID apart), or None."""
    fields = stat_fields(pid)
    return int(fields[1][19]) if fields else None


def alive(pid, started=None):
    """True when `pid` runs (not a zombie) and, if `started` is given, is the process that started then."""
    fields = stat_fields(pid)
    return fields is not None and fields[1][0] not in ("Z", "X") and (started is None or int(fields[1][19]) == int(started))


# The TCP listen-queue counters of /proc/net/netstat the samplers keep (names as nstat prints them).
NETSTAT_KEYS = ("TcpExtListenOverflows", "TcpExtListenDrops")


def parse_netstat(text):
    """/proc/net/netstat as {"TcpExtListenOverflows": n, ...}: each header line of names is followed by a
    line of values with the same prefix."""
    out = {}
    lines = text.splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        prefix, _, names = names.partition(":")
        vprefix, _, values = values.partition(":")
        if prefix != vprefix:
            raise ValueError("not a /proc/net/netstat pair of lines: %r / %r" % (prefix, vprefix))
        for name, value in zip(names.split(), values.split()):
            out[prefix + name] = int(value)
    return out


def fd_usage(pid, readlinks_up_to=4096, body_temp_marker="client_body_temp"):
    """What process `pid` holds open, in one pass over /proc/PID/fd: {"fds", "sockets", "body_temp_files",
    "body_temp_bytes"}. The last three need a readlink per descriptor, so above `readlinks_up_to` descriptors
    they are None (not measured): one readlink per descriptor of 10,000 idle connections, four times a
    second, kept an emulated CPU busy. nginx unlinks a request body's temporary file as soon as it has opened
    it, so the files are found through the descriptors, not in the directory. Everything is None when the
    process is gone."""
    out = {"fds": None, "sockets": None, "body_temp_files": None, "body_temp_bytes": None}
    base = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(base)
    except OSError:
        return out
    out["fds"] = len(fds)
    if len(fds) > readlinks_up_to:
        return out
    sockets = files = size = 0
    for fd in fds:
        path = os.path.join(base, fd)
        try:
            target = os.readlink(path)
            if target.startswith("socket:"):
                sockets += 1
            elif body_temp_marker in target:
                size += os.stat(path).st_size
                files += 1
        except OSError:
            continue
    out.update(sockets=sockets, body_temp_files=files, body_temp_bytes=size)
    return out


def tcp_listening(text, address, port):
    """Whether /proc/net/tcp (`text`) has a socket listening (state 0A) on IPv4 `address`:`port`."""
    want = "%s:%04X" % ("".join("%02X" % int(b) for b in reversed(address.split("."))), port)
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[1] == want and fields[3] == "0A":
            return True
    return False


def in_epoll_wait(pid):
    """True when `pid` sleeps in epoll_wait (its /proc wchan), None when the kernel does not say (no wchan)."""
    wchan = (read_file("/proc/%d/wchan" % pid) or "").strip()
    if wchan in ("", "0"):
        return None
    return "epoll" in wchan

