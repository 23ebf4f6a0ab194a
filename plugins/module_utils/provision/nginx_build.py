"""Build an nginx release from a Debian suite's source package, once, under a prefix of its own (target side).

The release's upstream tarball comes with apt from a private configuration that names only that suite's deb-src
entry (`apt-get source --tar-only`): apt checks the tarball against the hash in the suite's Sources index, whose
Release file the archive key signs, and this module checks the same SHA-256 again before it unpacks anything. The
build goes to a staging folder and is moved into <prefix>/<release> only when `make install` succeeded, with a stamp
(.npl-build.json, build_stamp.py) of its inputs (the tarball's hash, the configure options, the compiler) and of what
it installed (every file's SHA-256). The same inputs again find the build there and rebuild nothing, unless its tree
changed since (a file replaced, added or deleted): that is rebuilt, with a warning naming what differed. A staging
folder whose builder is gone (a build killed mid-make) is removed by the next build. Standard library only."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from ..runtime import build_stamp
from ..runtime.build_stamp import STAMP, sha256
from ..runtime.procnet import alive, start_ticks

# apt-get source --print-uris: 'URI' file size SHA256:hex
URI_LINE = re.compile(r"^'(?P<uri>[^']+)' (?P<name>\S+) (?P<size>[0-9]+) (?P<algo>[A-Za-z0-9]+):(?P<hash>[0-9a-f]+)$")
# The part of the build's identity that is the kit's own recipe; bump it when the recipe changes.
RECIPE = 2
# A staging folder's owner: the PID and start time of the process that builds in it.
OWNER = ".npl-builder.json"


class BuildError(Exception):
    """A refusal or failure, with what to do about it."""


def apt_options(aptdir):
    """apt-get options that read and write only `aptdir`: its sources.list, lists and cache."""
    return ["-o", "Dir::Etc::sourcelist=" + os.path.join(aptdir, "sources.list"), "-o", "Dir::Etc::sourceparts=-",
            "-o", "Dir::State::Lists=" + os.path.join(aptdir, "lists"), "-o", "Dir::Cache=" + os.path.join(aptdir, "cache"),
            "-o", "APT::Get::List-Cleanup=0"]


def source_entry(suite, mirror, keyring):
    return "deb-src [signed-by=%s] %s %s main" % (keyring, mirror, suite)


def parse_uris(text, release):
    """The orig tarball's line of `apt-get source --print-uris --tar-only`: {uri, name, size, sha256}; BuildError when
    the suite ships another release or the index gives no SHA-256."""
    found = [m.groupdict() for m in (URI_LINE.match(line.strip()) for line in text.splitlines()) if m]
    tarballs = [f for f in found if ".orig.tar." in f["name"]]
    if not tarballs:
        raise BuildError("apt named no source tarball of nginx: %s" % (text.strip()[-300:] or "no output"))
    tarball = tarballs[0]
    shipped = tarball["name"].split("_", 1)[1].split(".orig.tar.", 1)[0] if "_" in tarball["name"] else "?"
    if shipped != release:
        raise BuildError("the suite ships nginx %s, not %s: give the release the suite that ships it" % (shipped, release))
    if tarball["algo"].upper() != "SHA256":
        raise BuildError("the index gives %s for %s, not SHA256" % (tarball["algo"], tarball["name"]))
    return {"uri": tarball["uri"], "name": tarball["name"], "size": int(tarball["size"]), "sha256": tarball["hash"]}


def _run(cmd, cwd=None, what=None, timeout=1800):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise BuildError("%s failed (exit %d): %s" % (what or " ".join(cmd[:3]), out.returncode,
                                                       (out.stderr.strip() or out.stdout.strip())[-800:]))
    return out.stdout


def compiler():
    try:
        return subprocess.run(["cc", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "no cc"


def identity(release, tarball, configure):
    """What a build is made of; the same identity is the same build."""
    return {"release": release, "sha256": tarball["sha256"], "configure": list(configure), "cc": compiler(),
            "recipe": RECIPE}


def installed(dest):
    """The stamp of the build in `dest`, or None."""
    stamp = build_stamp.read(dest)
    return stamp if stamp is not None and os.access(os.path.join(dest, "sbin", "nginx"), os.X_OK) else None


def sweep_staging(prefix):
    """Remove the staging folders (.build-<name>-*) under `prefix` whose builder is gone: a build killed mid-make
    leaves one, 13 MB or more. A folder whose owner record names a live process with its start time is another
    build's and stays; one without an owner record older than a day is a kit before 0.5's. Returns the removed."""
    removed = []
    try:
        names = sorted(os.listdir(prefix))
    except OSError:
        return removed
    for name in names:
        path = os.path.join(prefix, name)
        if not name.startswith(".build-") or not os.path.isdir(path) or os.path.islink(path):
            continue
        try:
            with open(os.path.join(path, OWNER)) as handle:
                owner = json.load(handle)
            live = alive(int(owner["pid"]), owner.get("start"))
        except (OSError, ValueError, KeyError, TypeError):
            live = time.time() - os.lstat(path).st_mtime < 86400
        if not live:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def stored_index(aptdir):
    """Whether `aptdir` holds a suite's Sources index fetched before (apt may keep it compressed: `_Sources.lz4`)."""
    lists = os.path.join(aptdir, "lists")
    return os.path.isdir(lists) and any("_source_Sources" in n for n in os.listdir(lists))


def locate(release, suite, prefix, mirror, keyring, entry=None, aptdir=None, refresh=True):
    """Refresh the suite's source index (private apt folder, <prefix>/.apt/<suite> unless `aptdir`) and name its
    tarball of `release`. With `refresh` false the index fetched before is used as it is (a sealed VM whose image
    holds the index and the builds); there must be one."""
    stored = os.path.join(prefix, ".apt", suite)
    aptdir = aptdir or stored
    if not refresh and not stored_index(stored):
        raise BuildError("no source index of %s was fetched before in %s, and refresh_index is false: this host "
                         "cannot build offline. Build where the archive is reachable (refresh_index: true), or let "
                         "the image build do it (scripts/matrix builds every release into the VM image)"
                         % (suite, stored))
    if aptdir != stored and not refresh:  # check mode: a copy of the stored index, nothing written beside it
        shutil.copytree(os.path.join(stored, "lists"), os.path.join(aptdir, "lists"), dirs_exist_ok=True)
    for sub in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(aptdir, sub), exist_ok=True)
    with open(os.path.join(aptdir, "sources.list"), "w") as handle:
        handle.write((entry or source_entry(suite, mirror, keyring)) + "\n")
    opts = apt_options(aptdir)
    warnings = []
    try:
        if refresh:
            _run(["apt-get"] + opts + ["-q", "--error-on=any", "update"],
                 what="apt-get update for the %s source index (%s): this host must reach the archive"
                 % (suite, entry or mirror))
    except BuildError as exc:
        if not stored_index(aptdir):
            raise
        warnings.append("%s; using the index fetched before" % exc)
    uris = _run(["apt-get"] + opts + ["source", "--print-uris", "--tar-only", "nginx/" + suite],
                what="apt-get source --print-uris nginx/%s" % suite)
    return parse_uris(uris, release), opts, warnings


def build(release, suite, configure, prefix, mirror, keyring, entry=None, jobs=None, check_mode=False, name=None,
          refresh=True):
    """Build `release` into <prefix>/<name> (the release unless `name`) unless the same inputs are there: a dict
    saying what happened. `refresh` false reads the index fetched before instead of the archive's."""
    started = time.monotonic()
    dest = os.path.join(prefix, name or release)
    if check_mode:  # the index goes to a temporary folder: check mode writes nothing on the host
        with tempfile.TemporaryDirectory(prefix="npl-apt-check-") as aptdir:
            tarball, _, warnings = locate(release, suite, prefix, mirror, keyring, entry, aptdir=aptdir, refresh=refresh)
        wanted, have = identity(release, tarball, configure), installed(dest)
        return {"release": release, "suite": suite, "prefix": dest, "binary": os.path.join(dest, "sbin", "nginx"),
                "tarball": tarball, "identity": wanted, "warnings": warnings, "built": False,
                "changed": not (have and have.get("identity") == wanted), "elapsed": round(time.monotonic() - started, 3)}
    os.makedirs(prefix, exist_ok=True)
    tarball, opts, warnings = locate(release, suite, prefix, mirror, keyring, entry, refresh=refresh)
    wanted = identity(release, tarball, configure)
    have = installed(dest)
    result = {"release": release, "suite": suite, "prefix": dest, "binary": os.path.join(dest, "sbin", "nginx"),
              "tarball": tarball, "identity": wanted, "warnings": warnings}
    swept = sweep_staging(prefix)
    if swept:
        warnings.append("removed the staging folder(s) of builds that did not finish: %s" % ", ".join(swept))
    if have and have.get("identity") == wanted:
        changed_files = build_stamp.differences(dest, have)
        if not changed_files:
            return dict(result, changed=False, built=False, elapsed=round(time.monotonic() - started, 3))
        warnings.append("the build in %s is not what was built there (%s): built again"
                        % (dest, "; ".join(changed_files[:10])))
    work = tempfile.mkdtemp(prefix=".build-%s-" % (name or release), dir=prefix)
    with open(os.path.join(work, OWNER), "w") as handle:
        json.dump({"pid": os.getpid(), "start": start_ticks(os.getpid())}, handle)
    try:
        try:
            _run(["apt-get"] + opts + ["-q", "source", "--download-only", "--tar-only", "nginx/" + suite], cwd=work,
                 what="apt-get source nginx/%s (nothing was installed)" % suite)
        except BuildError as exc:
            if "Hash Sum mismatch" in str(exc):
                raise BuildError("%s from %s does not match the SHA-256 of the signed index (%s): refused, nothing was "
                                 "installed; the mirror serves another file: try again later or give another mirror"
                                 % (tarball["name"], tarball["uri"], tarball["sha256"])) from exc
            raise
        path = os.path.join(work, tarball["name"])
        got = sha256(path) if os.path.exists(path) else None
        if got != tarball["sha256"]:
            raise BuildError("%s has SHA-256 %s, the signed index says %s: refused, nothing was installed"
                             % (tarball["name"], got, tarball["sha256"]))
        _run(["tar", "-xf", path, "-C", work], what="unpacking " + tarball["name"])
        source = os.path.join(work, "nginx-" + release)
        _run(["./configure", "--prefix=" + dest] + list(configure), cwd=source,
             what="nginx %s's configure (build dependencies: the role's lab_nginx_build_packages)" % release)
        _run(["make", "-j%d" % (jobs or os.cpu_count() or 1)], cwd=source, what="make of nginx " + release)
        stage = os.path.join(work, "stage")
        _run(["make", "install", "DESTDIR=" + stage], cwd=source, what="make install of nginx " + release)
        staged = stage + dest
        for sub in ("logs", "client_body_temp"):
            os.makedirs(os.path.join(staged, sub), exist_ok=True)
        with open(os.path.join(staged, STAMP), "w") as handle:
            json.dump({"identity": wanted, "tarball": tarball, "built_s": round(time.monotonic() - started, 1),
                       "files": build_stamp.tree(staged)}, handle, indent=1)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(staged, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(result, changed=True, built=True, elapsed=round(time.monotonic() - started, 3))
