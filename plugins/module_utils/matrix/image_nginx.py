"""The nginx releases of the matrix's VM image, built natively inside its chroot while the image is made.

The VMs are emulated (TCG) and sealed (no archive): building there would take many minutes and could not fetch the
source. So the image build runs the same build the lab_nginx role runs on a host (module_utils' nginx_build, its
private apt configuration and checks) inside the image's chroot, at this machine's speed, for every release the
role knows that is built from source. The VMs then find each build with its stamp and the index it came from; the
role there reads that index without fetching (lab_nginx_build_refresh_index: false) and builds nothing.
"""

import hashlib
import json
import os
import shutil
import subprocess

import yaml

from . import spec

ROLE_DEFAULTS = os.path.join(spec.ROOT, "roles", "lab_nginx", "defaults", "main.yml")
# The builder and the runtime modules it imports, copied into the chroot under their collection name (the chroot's
# python3 imports them the way every Python of the kit does, through PYTHONPATH).
UTILS = os.path.join(spec.ROOT, "plugins", "module_utils")
BUILDER_FILES = ("provision/__init__.py", "provision/nginx_build.py", "provision/nginx_package.py",
                 "runtime/__init__.py", "runtime/build_stamp.py", "runtime/procnet.py")
COLLECTION_PATH = "ansible_collections/npl/nginx_proxy_lab/plugins/module_utils"
MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# Run inside the chroot: the target-side builder, its arguments as JSON on stdin, its result as JSON on stdout.
RUNNER = ("import json, sys; from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.provision import "
          "nginx_build, nginx_package; a = json.load(sys.stdin); "
          "r = nginx_package.install(a['release'], a['suite'], a['prefix'], a['mirror'], a['keyring'], name=a['name']) "
          "if a['binary_package'] else nginx_build.build(a['release'], a['suite'], a['configure'], a['prefix'], "
          "a['mirror'], a['keyring'], name=a['name']); print(json.dumps(r))")

def _defaults():
    with open(ROLE_DEFAULTS) as handle:
        return yaml.safe_load(handle)


def builds():
    """[{name, release, suite, configure, prefix}] of every release the role builds from source, as the role would."""
    defaults = _defaults()
    out = []
    for name, entry in sorted(defaults["lab_nginx_releases"].items()):
        if entry.get("package"):
            continue
        out.append({"name": name, "release": entry.get("version", name), "suite": entry["suite"],
                    "configure": list(defaults["lab_nginx_build_configure"]) + list(entry.get("configure", [])),
                    "prefix": defaults["lab_nginx_build_prefix"], "binary_package": bool(entry.get("binary_package"))})
    return out


def packages():
    """What the builds need in the image (the role's lab_nginx_build_packages)."""
    return list(_defaults()["lab_nginx_build_packages"])


def inputs():
    """The part of the image's cache key the builds make: what is built, and the builder's code."""
    digest = hashlib.sha256()
    for name in BUILDER_FILES:
        with open(os.path.join(UTILS, name), "rb") as handle:
            digest.update(handle.read())
    return {"builds": builds(), "builder": digest.hexdigest()}


def build_in(rootfs, log):
    """Build every release inside `rootfs` (proc, sys and dev mounted; the build's output goes to the image's build
    log `log`); {name: what the build recorded}."""
    folder = os.path.join(rootfs, "tmp", "npl-nginx-build")
    for name in BUILDER_FILES:
        os.makedirs(os.path.dirname(os.path.join(folder, COLLECTION_PATH, name)), exist_ok=True)
        shutil.copy(os.path.join(UTILS, name), os.path.join(folder, COLLECTION_PATH, name))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C", PYTHONPATH="/tmp/npl-nginx-build")
    done = {}
    try:
        for entry in builds():
            args = dict(entry, mirror=MIRROR, keyring=KEYRING)
            print("matrix: image: nginx %s from %s's source package, built in the image ... (output in %s)"
                  % (entry["name"], entry["suite"], log.name), flush=True)
            log.write("$ chroot %s python3 -c <nginx_build> %s\n" % (rootfs, json.dumps(args)))
            log.flush()
            out = subprocess.run(["chroot", rootfs, "python3", "-c", RUNNER], input=json.dumps(args), env=env,
                                 capture_output=True, text=True, check=False)
            log.write(out.stdout + out.stderr)
            if out.returncode != 0:
                raise SystemExit("matrix: image: the build of nginx %s in the image failed (exit %d): %s"
                                 % (entry["name"], out.returncode, (out.stderr.strip() or out.stdout.strip())[-600:]))
            result = json.loads(out.stdout.strip().splitlines()[-1])
            done[entry["name"]] = {"release": result["release"], "suite": result["suite"], "binary": result["binary"],
                                   "sha256": result["tarball"]["sha256"], "elapsed_s": result["elapsed"]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return done
