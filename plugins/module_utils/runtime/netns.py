"""Network namespaces: create with iproute2, enter with setns(2)."""

import ctypes
import os
import subprocess

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"

_libc = ctypes.CDLL(None, use_errno=True)


def setns_fd(fd):
    """Move the calling thread into the network namespace behind `fd`."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: %s" % os.strerror(err))


def enter(name):
    """Enter the named namespace; returns a descriptor of the one we left, for leave()."""
    previous = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY)
    try:
        setns_fd(target)
    finally:
        os.close(target)
    return previous


def leave(previous):
    setns_fd(previous)
    os.close(previous)


def create(name):
    """`ip netns add NAME` and bring its loopback up."""
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, text=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, text=True)


def exists(name):
    return os.path.exists(os.path.join(NETNS_RUN_DIR, name))


def inode(name):
    return os.stat(os.path.join(NETNS_RUN_DIR, name)).st_ino


def members(ns_inode, proc="/proc"):
    """PIDs of the processes whose network namespace has inode `ns_inode`."""
    pids = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            if os.stat(os.path.join(proc, entry, "ns", "net")).st_ino == ns_inode:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def delete(name):
    subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, text=True)
