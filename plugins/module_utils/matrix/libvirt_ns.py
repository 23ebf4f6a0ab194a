"""libvirt inside a network namespace of our own: its management network (192.168.121.0/24), its
dnsmasq and every VM exist only there, and so does everything that talks to them."""

import os
import shutil
import signal
import subprocess
import time

NS = "npl-matrix"
RUN = "/run/nginx-proxy-lab/matrix"


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check, capture_output=True, text=True)


def in_ns(cmd):
    return ["ip", "netns", "exec", NS] + cmd


def _pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _members():
    try:
        ino = os.stat("/run/netns/" + NS).st_ino
    except OSError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat("/proc/%s/ns/net" % entry).st_ino == ino:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def virsh(*args, check=True):
    return subprocess.run(in_ns(["virsh", "-c", "qemu:///system"] + list(args)), check=check,
                          capture_output=True, text=True)


def wrapper_dir():
    """A folder with a `vagrant` that runs the real one inside the namespace (for python-vagrant)."""
    folder = os.path.join(RUN, "bin")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "vagrant")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\nexec ip netns exec %s /usr/bin/vagrant \"$@\"\n" % NS)
    os.chmod(path, 0o755)
    return folder


def up(pool_dir):
    """Namespace, virtlogd, libvirtd and a dir storage pool; tears down a stale set first."""
    down()
    wrapper_dir()
    _ip("netns", "add", NS)
    _ip("-n", NS, "link", "set", "lo", "up")
    subprocess.run(in_ns(["virtlogd", "-d", "-p", os.path.join(RUN, "virtlogd.pid")]), check=True)
    subprocess.run(in_ns(["libvirtd", "-d", "-p", os.path.join(RUN, "libvirtd.pid")]), check=True)
    deadline = time.monotonic() + 30
    while virsh("version", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("libvirtd did not answer within 30 s inside namespace %s" % NS)
        time.sleep(0.5)
    os.makedirs(pool_dir, exist_ok=True)
    if virsh("pool-info", "default", check=False).returncode != 0:
        virsh("pool-define-as", "default", "dir", "--target", pool_dir)
    if "running" not in virsh("pool-info", "default").stdout:
        virsh("pool-start", "default")
    # VMs a killed run left defined: gone, with their disks.
    for name in virsh("list", "--all", "--name").stdout.split():
        virsh("destroy", name, check=False)
        virsh("undefine", name, "--remove-all-storage", check=False)


def down():
    """Stop every VM, libvirt's networks and daemons, and delete the namespace. Safe to call twice."""
    if os.path.exists("/run/netns/" + NS):
        if virsh("version", check=False).returncode == 0:
            for name in virsh("list", "--name", check=False).stdout.split():
                virsh("destroy", name, check=False)
            for net in virsh("net-list", "--name", check=False).stdout.split():
                virsh("net-destroy", net, check=False)
        for pidfile in ("libvirtd.pid", "virtlogd.pid"):
            pid = _pid(os.path.join(RUN, pidfile))
            if pid and pid in _members():  # a dead daemon's number may belong to another process by now
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while _members() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in _members():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        _ip("netns", "delete", NS, check=False)
    shutil.rmtree(RUN, ignore_errors=True)  # wrapper, inventory, pid files
