"""The kernel matrix (inventory/matrix.yml): which kernels can run here, and which are skipped and why."""

import fnmatch
import glob
import os

import yaml

# the kit's checkout: plugins/module_utils/<package>/ is three folders below it
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MATRIX_FILE = os.path.join(ROOT, "inventory", "matrix.yml")


def load(path=MATRIX_FILE):
    with open(path) as handle:
        return yaml.safe_load(handle)["npl_matrix"]


def run_args(matrix, every_case=False):
    """ansible-playbook arguments for how the suite runs on the VMs: matrix.yml `vm.repeat` repetitions, the case
    scheduler with one slot per VM CPU (`vm.cpus`; the exclusive cases run alone afterwards), and only the cases of
    the claims that depend on `vm.depends_on` (the kernel) unless `every_case` (scripts/matrix --all)."""
    vm = matrix.get("vm", {})
    args = ["-e", "npl_repeat=%d" % int(vm.get("repeat", 1)),
            "-e", "npl_parallel=true", "-e", "npl_parallel_slots=%d" % max(1, int(vm.get("cpus", 1)))]
    if vm.get("depends_on") and not every_case:
        args += ["-e", "npl_depends_on=%s" % vm["depends_on"]]
    return args


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


class KernelChoiceError(SystemExit):
    """A matrix entry that does not name exactly one kernel of the image."""


def boot_releases(boot_files):
    """Releases in an image's boot folder that have both a vmlinuz and an initrd."""
    names = set(boot_files)
    return sorted(n[len("vmlinuz-"):] for n in names
                  if n.startswith("vmlinuz-") and "initrd.img-" + n[len("vmlinuz-"):] in names)


def boot_choice(entry, boot_files, recorded=None):
    """The one kernel matrix entry `entry` boots: {"release", "kernel", "initrd"} (file names in the boot folder).

    This is the only place the choice is made: scripts/matrix writes it for the Vagrantfile, and the host
    check compares `uname -r` with exactly this release. `recorded` is the release the image build found
    installed by the entry's own package, when it knows. A release glob that matches no kernel, or more than
    one, is an error that names the candidates."""
    releases = boot_releases(boot_files)
    matching = [r for r in releases if fnmatch.fnmatch(r, entry["release"])]
    if recorded:
        if recorded not in matching:
            raise KernelChoiceError("%s: the image's kernel for it is %s, which does not match its release %r "
                                    "(kernels in the image: %s): fix `release` in inventory/matrix.yml"
                                    % (entry["name"], recorded, entry["release"], ", ".join(releases)))
        chosen = recorded
    elif len(matching) == 1:
        chosen = matching[0]
    elif not matching:
        raise KernelChoiceError("%s: no kernel of the image matches release %r (it has %s): fix `release` in "
                                "inventory/matrix.yml" % (entry["name"], entry["release"], ", ".join(releases)))
    else:
        raise KernelChoiceError("%s: release %r matches %d kernels of the image (%s): make it name exactly one, "
                                "e.g. %r" % (entry["name"], entry["release"], len(matching), ", ".join(matching),
                                             matching[-1]))
    return {"release": chosen, "kernel": "vmlinuz-" + chosen, "initrd": "initrd.img-" + chosen}


if __name__ == "__main__":
    # `python -m ...matrix.spec ci`: the kernels CI runs, comma-separated (scripts/test-matrix)
    import sys
    print(",".join(load()[sys.argv[1]]) if len(sys.argv) > 1 else "")
