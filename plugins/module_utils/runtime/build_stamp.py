"""What a build of nginx installed, and whether it is still that (target side): the stamp a build writes
(<prefix>/<name>/.npl-build.json, nginx_build.py) records the SHA-256 of every file it installed, so that provisioning
rebuilds a tree that was changed and a case refuses a binary that is not the one built. Standard library only."""

import hashlib
import json
import os

STAMP = ".npl-build.json"
# Folders nginx writes at run time (a case's own prefix holds its logs and temporary files; these stay empty).
RUNTIME_DIRS = ("logs", "client_body_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree(dest):
    """{path relative to `dest`: SHA-256} of every file a build installed there (not the stamp, not run-time
    folders; a symbolic link counts as a file, by what it names)."""
    out = {}
    for folder, dirs, names in os.walk(dest):
        relative = os.path.relpath(folder, dest)
        if relative == ".":
            dirs[:] = [d for d in dirs if d not in RUNTIME_DIRS]
        for name in names:
            path = os.path.join(folder, name)
            key = os.path.normpath(os.path.join(relative, name))
            if key == STAMP:
                continue
            out[key] = "link:" + os.readlink(path) if os.path.islink(path) else sha256(path)
    return dict(sorted(out.items()))


def read(dest):
    """The stamp of the build in `dest`, or None when there is none (or it is not JSON)."""
    try:
        with open(os.path.join(dest, STAMP)) as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def differences(dest, stamp, binary_only=False):
    """What in `dest` differs from what its stamp recorded ([] when it is the build): changed, missing and added
    files, by name. A stamp of a kit before 0.5 records no files: that is a difference too (its tree cannot be
    shown to be the build). With `binary_only`, only sbin/nginx is compared (what a case runs, hashed per case)."""
    recorded = stamp.get("files")
    if not isinstance(recorded, dict) or not recorded:
        return ["the stamp records no file hashes (a build of an older kit)"]
    if binary_only:
        path = os.path.join(dest, "sbin", "nginx")
        if not os.path.exists(path):
            return ["sbin/nginx is missing"]
        return [] if sha256(path) == recorded.get("sbin/nginx") else ["sbin/nginx changed"]
    have = tree(dest)
    out = ["%s changed" % k for k in sorted(recorded) if k in have and have[k] != recorded[k]]
    out += ["%s is missing" % k for k in sorted(recorded) if k not in have]
    out += ["%s was added" % k for k in sorted(have) if k not in recorded]
    return out


def of_binary(binary):
    """The build folder of `binary` (<dest>/sbin/nginx) and its stamp, or (None, None) for a binary no build of the
    kit installed (the distribution's /usr/sbin/nginx)."""
    sbin = os.path.dirname(os.path.abspath(binary))
    if os.path.basename(sbin) != "sbin":
        return None, None
    dest = os.path.dirname(sbin)
    stamp = read(dest)
    return (dest, stamp) if stamp is not None else (None, None)
