"""The kernel matrix (inventory/matrix.yml): which kernels can run here, and which are skipped and why."""

import fnmatch
import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MATRIX_FILE = os.path.join(ROOT, "inventory", "matrix.yml")


def load(path=MATRIX_FILE):
    with open(path) as handle:
        return yaml.safe_load(handle)["npl_matrix"]


def env_name(kernel_name):
    return "NPL_KERNEL_" + kernel_name.upper().replace("-", "_").replace(".", "_")


def user_debs(entry):
    """The .deb files of a user-supplied kernel, or (None, why not)."""
    folder = os.environ.get(env_name(entry["name"])) or entry.get("kernel") or ""
    if not folder:
        return None, ("%s: no kernel supplied. Put its .deb packages (linux-image-*, linux-modules-*) in a folder "
                      "and set kernel: in inventory/matrix.yml or %s=/that/folder" % (entry["name"], env_name(entry["name"])))
    debs = sorted(glob.glob(os.path.join(folder, "*.deb")))
    if not debs:
        return None, "%s: %s holds no .deb package" % (entry["name"], folder)
    return debs, None


def resolve(matrix, only=None):
    """(kernels to run, [skip messages]). `only` restricts to the named entries."""
    run, skipped = [], []
    names = [k["name"] for k in matrix["kernels"]]
    for name in only or []:
        if name not in names:
            raise SystemExit("unknown kernel %s: inventory/matrix.yml has %s" % (name, ", ".join(names)))
    for entry in matrix["kernels"]:
        if only and entry["name"] not in only:
            continue
        entry = dict(entry)
        if entry["source"] == "debian":
            run.append(entry)
        elif entry["source"] == "user":
            debs, why = user_debs(entry)
            if debs:
                entry["debs"] = debs
                run.append(entry)
            else:
                skipped.append(why)
        else:
            raise SystemExit("%s: unknown source %s (debian or user)" % (entry["name"], entry["source"]))
    return run, skipped


def pick_kernel(boot_files, release_glob):
    """The (vmlinuz, initrd) pair in `boot_files` whose release matches `release_glob`."""
    for name in sorted(boot_files):
        if name.startswith("vmlinuz-"):
            release = name[len("vmlinuz-"):]
            if fnmatch.fnmatch(release, release_glob) and "initrd.img-" + release in boot_files:
                return release, name, "initrd.img-" + release
    return None
