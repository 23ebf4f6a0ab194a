"""What a case needs before anything changes (target side): the parameters within their bounds and grammars, the
kernel's somaxconn ceiling, what this host can give the clients (open files, memory), root, and the binaries and
tools the case uses. case.execute() refuses a case with every reason at once; the validate play calls
validate_params() for every selected case before any host is provisioned."""

import os
import platform
import resource
import shutil
import socket

from . import build_stamp, nginx_conf, params
from .procnet import mem_available_bytes

INT_MAX = params.INT_MAX


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


RUN_DIR = "/run/nginx-proxy-lab"
# A case folder's file system with less free than this when the clients end was full during the case.
FULL_BELOW_BYTES = 1 << 20


def free_bytes(path):
    """Bytes an unprivileged writer may still use on the file system of `path` (its nearest existing parent), or
    None when it cannot be read."""
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        st = os.statvfs(path or "/")
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def folder_bytes(path):
    """Bytes of the files under `path` (apparent sizes)."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def host_limits():
    """(hard RLIMIT_NOFILE or None when unlimited, MemAvailable in bytes or None, free bytes where the case folders
    go) of this host."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return (None if hard == resource.RLIM_INFINITY else hard), mem_available_bytes(), free_bytes(RUN_DIR)


def binary_problems(p):
    """Why the nginx binary is not the one the case is meant to run: a kit build whose binary changed since it was
    built (its stamp's hash), or a release other than nginx_version_expected (`nginx -v`)."""
    errors = []
    dest, stamp = build_stamp.of_binary(p["nginx_binary"])
    if stamp is not None:
        differs = build_stamp.differences(dest, stamp, binary_only=True)
        if differs:
            errors.append("nginx binary %s is not the build its stamp (%s) records: %s: provision again "
                          "(run_cases.yml rebuilds it)" % (p["nginx_binary"], os.path.join(dest, build_stamp.STAMP),
                                                           "; ".join(differs)))
    expected = p.get("nginx_version_expected")
    if expected and not errors:
        have = nginx_conf.version(p["nginx_binary"])
        if have != expected:
            errors.append("nginx binary %s is nginx %s, not the %s this case's column is for: drop the nginx_binary "
                          "override, or run one release" % (p["nginx_binary"], have, expected))
    return errors


def validate_params(p):
    """Reasons to refuse `p` that need no provisioned host: bounds, grammars, the kernel's somaxconn
    ceiling, and what the case needs of this host's open files and memory."""
    errors = params.check(p)
    limit = kernel_somaxconn_max(platform.release())
    for key in ("somaxconn", "somaxconn_after_listen"):
        value = p.get(key)
        if value is not None and 1 <= value and value > limit:
            errors.append("%s=%s is outside 1..%d (the largest this kernel %s honours): pick a value in that range"
                          % (key, value, limit, platform.release()))
    errors += params.check_host(p, *host_limits())
    return errors


def validate(p):
    """Every reason to refuse `p` before anything changes; an empty list when it is fine."""
    errors = []
    if os.geteuid() != 0:
        errors.append("the case runner needs root (network namespaces, sysctl): run ansible-playbook with "
                      "sudo, or set become: true for this host")
    errors += validate_params(p)
    if not os.access(p["nginx_binary"], os.X_OK):
        errors.append("nginx binary %s is missing: provision the host first (run_cases.yml does, or "
                      "playbooks/provision.yml)" % p["nginx_binary"])
    else:
        errors += binary_problems(p)
    if not os.access(p["upstream_binary"], os.X_OK):
        errors.append("upstream binary %s is missing: provision the host first (role lab_upstream builds it "
                      "from roles/lab_upstream/files/upstream.c)" % p["upstream_binary"])
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
