"""Install an nginx release from a Debian suite's binary package, with that suite's own shared libraries (target side).

For a release whose source the archive does not serve: sid's nginx 1.30.6, whose Sources index names
nginx_1.30.6.orig.tar.gz while the pool answers 404 for it (and for the .dsc) from here, as it serves the binary
package. The package is Debian's own build (--with-debug, the stub_status module: what the labs read), made for
sid's C library and OpenSSL, newer than an older host's; so the suite's library packages its Depends name (and theirs,
Section libs) come too, and the installed binary's loader (PT_INTERP) and library path (DT_RPATH, which its libraries
inherit) point at them: the program is Debian's, byte for byte but for those two ELF fields, and never touches the
host's libraries. apt fetches every package from a private configuration naming only that suite's deb entry and checks
it against the suite's signed index; this module checks the same SHA-256 again. The install is staged, stamped like a
build (build_stamp: every file's hash) and moved into <prefix>/<name>. Standard library only, and patchelf.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from ..runtime import build_stamp
from ..runtime.build_stamp import STAMP
from ..runtime.procnet import start_ticks
from .nginx_build import OWNER, URI_LINE, BuildError, _run, apt_options, installed, sweep_staging

# Bump when the recipe changes (it is part of the install's identity).
RECIPE = 1
# Where a Debian amd64 package keeps its shared libraries and the loader.
LIB_DIRS = ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib64", "lib64")
LOADER = "ld-linux-x86-64.so.2"


def binary_entry(suite, mirror, keyring):
    return "deb [signed-by=%s] %s %s main" % (keyring, mirror, suite)


def stored_index(aptdir):
    lists = os.path.join(aptdir, "lists")
    return os.path.isdir(lists) and any("_binary-amd64_Packages" in n for n in os.listdir(lists))


def _index(suite, prefix, mirror, keyring, refresh, aptdir=None):
    """apt options for the suite's binary index in <prefix>/.apt/<suite>-binary (refreshed unless `refresh` is false,
    then the one fetched before), and warnings."""
    stored = os.path.join(prefix, ".apt", suite + "-binary")
    aptdir = aptdir or stored
    if not refresh and not stored_index(stored):
        raise BuildError("no package index of %s was fetched before in %s, and refresh_index is false: this host "
                         "cannot install offline. Install where the archive is reachable (refresh_index: true), or "
                         "let the image build do it (scripts/matrix installs every release into the VM image)"
                         % (suite, stored))
    if aptdir != stored and not refresh:
        shutil.copytree(os.path.join(stored, "lists"), os.path.join(aptdir, "lists"), dirs_exist_ok=True)
    for sub in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(aptdir, sub), exist_ok=True)
    with open(os.path.join(aptdir, "sources.list"), "w") as handle:
        handle.write(binary_entry(suite, mirror, keyring) + "\n")
    status = os.path.join(aptdir, "status")
    if not os.path.exists(status):
        open(status, "w").close()
    opts = apt_options(aptdir) + ["-o", "Dir::State::status=" + status]
    warnings = []
    if refresh:
        try:
            _run(["apt-get"] + opts + ["-q", "--error-on=any", "update"],
                 what="apt-get update for the %s package index: this host must reach the archive" % suite)
        except BuildError as exc:
            if not stored_index(aptdir):
                raise
            warnings.append("%s; using the index fetched before" % exc)
    return opts, warnings


def _uri(opts, package, suite):
    """{uri, name, size, sha256} of `package` in `suite` from the signed index."""
    text = _run(["apt-get"] + opts + ["download", "--print-uris", "%s/%s" % (package, suite)],
                what="apt-get download --print-uris %s/%s" % (package, suite))
    found = [m.groupdict() for m in (URI_LINE.match(line.strip()) for line in text.splitlines()) if m]
    if not found or found[0]["algo"].upper() != "SHA256":
        raise BuildError("the %s index names no SHA-256 for %s: %s" % (suite, package, text.strip()[-300:]))
    f = found[0]
    return {"uri": f["uri"], "name": f["name"], "size": int(f["size"]), "sha256": f["hash"]}


def _field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True, check=False).stdout.strip()


def _depends(deb):
    """The package names of a .deb's Depends (the first of each alternative, without versions)."""
    return [re.split(r"[\s(:]", part.split("|")[0].strip())[0] for part in _field(deb, "Depends").split(",")
            if part.strip()]


def _fetch(opts, suite, work):
    """Download nginx and the library packages its Depends close over (Section libs), each checked against the signed
    index; [(uri record, path)]."""
    got, wanted, seen = [], ["nginx"], set()
    while wanted:
        package = wanted.pop(0)
        if package in seen:
            continue
        seen.add(package)
        record = _uri(opts, package, suite)
        _run(["apt-get"] + opts + ["-q", "download", "%s/%s" % (package, suite)], cwd=work,
             what="apt-get download %s/%s (nothing was installed)" % (package, suite))
        path = os.path.join(work, record["name"])
        if not os.path.exists(path) or build_stamp.sha256(path) != record["sha256"]:
            raise BuildError("%s does not match the SHA-256 of the signed index (%s): refused, nothing was installed"
                             % (record["name"], record["sha256"]))
        if package != "nginx" and _field(path, "Section") not in ("libs", "oldlibs"):
            os.unlink(path)
            continue  # not a shared library (nginx-common, debconf): the kit's configuration needs none of them
        got.append((record, path))
        wanted += [d for d in _depends(path) if d not in seen]
    return got


def identity(release, suite, records):
    return {"release": release, "suite": suite, "binary_package": True,
            "debs": sorted((r["name"], r["sha256"]) for r in records), "recipe": RECIPE}


def install(release, suite, prefix, mirror, keyring, name=None, refresh=True, check_mode=False):
    """Install `release` from `suite`'s binary package into <prefix>/<name> unless the same packages are there: a dict
    saying what happened (as nginx_build.build does)."""
    started = time.monotonic()
    dest = os.path.join(prefix, name or release)
    result = {"release": release, "suite": suite, "prefix": dest, "binary": os.path.join(dest, "sbin", "nginx")}
    if check_mode:
        with tempfile.TemporaryDirectory(prefix="npl-apt-check-") as aptdir:
            opts, warnings = _index(suite, prefix, mirror, keyring, refresh, aptdir=aptdir)
            nginx = _uri(opts, "nginx", suite)
        have = installed(dest)
        return dict(result, tarball=nginx, identity=None, warnings=warnings, built=False,
                    changed=not (have and (have.get("identity") or {}).get("binary_package")),
                    elapsed=round(time.monotonic() - started, 3))
    os.makedirs(prefix, exist_ok=True)
    opts, warnings = _index(suite, prefix, mirror, keyring, refresh)
    swept = sweep_staging(prefix)
    if swept:
        warnings.append("removed the staging folder(s) of builds that did not finish: %s" % ", ".join(swept))
    work = tempfile.mkdtemp(prefix=".build-%s-" % (name or release), dir=prefix)
    with open(os.path.join(work, OWNER), "w") as handle:
        json.dump({"pid": os.getpid(), "start": start_ticks(os.getpid())}, handle)
    try:
        fetched = _fetch(opts, suite, work)
        nginx = fetched[0]
        shipped = _field(nginx[1], "Version").split("-")[0].split(":")[-1]
        if shipped != release:
            raise BuildError("the suite ships nginx %s, not %s: give the release the suite that ships it"
                             % (shipped, release))
        wanted = identity(release, suite, [r for r, _ in fetched])
        have = installed(dest)
        result.update(tarball=nginx[0], identity=wanted, warnings=warnings)
        if have and have.get("identity") == wanted:
            changed_files = build_stamp.differences(dest, have)
            if not changed_files:
                return dict(result, changed=False, built=False, elapsed=round(time.monotonic() - started, 3))
            warnings.append("the install in %s is not what was installed there (%s): installed again"
                            % (dest, "; ".join(changed_files[:10])))
        root = os.path.join(work, "root")
        for _, path in fetched:
            _run(["dpkg-deb", "-x", path, root], what="unpacking " + os.path.basename(path))
        staged = os.path.join(work, "stage")
        for sub in ("sbin", "lib", "logs", "client_body_temp"):
            os.makedirs(os.path.join(staged, sub))
        shutil.copy2(os.path.join(root, "usr", "sbin", "nginx"), os.path.join(staged, "sbin", "nginx"))
        for folder in LIB_DIRS:
            here = os.path.join(root, folder)
            for lib in sorted(os.listdir(here)) if os.path.isdir(here) else []:
                if (".so" in lib) and os.path.isfile(os.path.join(here, lib)) and \
                        not os.path.exists(os.path.join(staged, "lib", lib)):
                    shutil.copy(os.path.join(here, lib), os.path.join(staged, "lib", lib))  # links followed
        if not os.path.exists(os.path.join(staged, "lib", LOADER)):
            raise BuildError("the suite's libc6 brought no %s" % LOADER)
        lib = os.path.join(dest, "lib")
        _run(["patchelf", "--set-interpreter", os.path.join(lib, LOADER), "--force-rpath", "--set-rpath", lib,
              os.path.join(staged, "sbin", "nginx")],
             what="patchelf of nginx %s (a build dependency: the role's lab_nginx_build_packages)" % release)
        # it runs, with its own loader and libraries (they are still in the staging folder)
        check = subprocess.run([os.path.join(staged, "lib", LOADER), "--library-path", os.path.join(staged, "lib"),
                                os.path.join(staged, "sbin", "nginx"), "-v"], capture_output=True, text=True)
        if "nginx/%s" % release not in check.stderr:
            raise BuildError("nginx %s from %s does not run with its libraries: %s; nothing was installed"
                             % (release, suite, (check.stderr.strip()[-300:] or check.returncode)))
        with open(os.path.join(staged, STAMP), "w") as handle:
            json.dump({"identity": wanted, "tarball": nginx[0], "built_s": round(time.monotonic() - started, 1),
                       "files": build_stamp.tree(staged)}, handle, indent=1)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(staged, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(result, changed=True, built=True, elapsed=round(time.monotonic() - started, 3))
