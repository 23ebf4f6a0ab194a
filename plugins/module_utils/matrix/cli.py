"""sudo scripts/matrix: the whole kernel matrix in one command.

Builds or reuses the image, brings one VM per kernel up (Vagrant + vagrant-libvirt, inside a
network namespace of its own), runs run_cases.yml against all of them in parallel through an
inventory generated from Vagrant, writes the report with one column per kernel, and destroys
the VMs (unless --keep).
"""

import json
import os
import subprocess
import sys
import time

import yaml

from . import arguments, image, libvirt_ns, progress, spec

VENV_BIN = os.path.join(spec.ROOT, ".venv", "bin")
# The kernel each VM boots, decided by spec.boot_choice and read by the Vagrantfile.
BOOT_FILE = os.path.join(libvirt_ns.RUN, "boot.json")
# The run's progress events (plugins/callback/progress.py), folded into matrix.json.
PROGRESS_FILE = os.path.join(libvirt_ns.RUN, "progress.jsonl")


def log(message):
    print("matrix: " + message, flush=True)


def boot_choices(image_dir, manifest, kernels, path):
    """The kernel each entry boots (spec.boot_choice), written to `path` for the Vagrantfile."""
    files = os.listdir(os.path.join(image_dir, "boot"))
    choices = {k["name"]: spec.boot_choice(k, files, manifest.get("releases", {}).get(k["name"])) for k in kernels}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(choices, handle, indent=1)
    return choices


def vagrant_env(image_dir, kernels):
    """The environment of every vagrant call. `vagrant` resolves to a wrapper that runs it inside the
    namespace: Vagrant's own SSH checks must reach the VMs' private addresses from there, never from
    this machine's namespace. python-vagrant looks `vagrant` up in this process's PATH, so it is set
    here too, and checked."""
    os.environ["PATH"] = libvirt_ns.wrapper_dir() + os.pathsep + VENV_BIN + os.pathsep + os.environ.get("PATH", "")
    env = dict(os.environ)
    env.update(NPL_MATRIX_IMAGE=image_dir, NPL_MATRIX_KERNELS=",".join(k["name"] for k in kernels),
               NPL_MATRIX_BOOT=BOOT_FILE,
               VAGRANT_DEFAULT_PROVIDER="libvirt", VAGRANT_CHECKPOINT_DISABLE="1")
    return env


def forget_old(v, box):
    """Whatever an earlier run left: its VMs (Vagrant's view), and boxes and pool volumes of older images,
    which would otherwise be reused under a stale name (VM-NOTES.md)."""
    try:
        v.destroy()
    except Exception:  # nothing to destroy, or state from a run that was killed
        pass
    listing = subprocess.run(["vagrant", "box", "list"], capture_output=True, text=True, env=v.env).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith("npl-") and name != box:
            subprocess.run(["vagrant", "box", "remove", "--force", "--all", name], capture_output=True, env=v.env)
    for volume in libvirt_ns.virsh("vol-list", "default", "--details", check=False).stdout.split():
        if volume.startswith("npl-") and not volume.startswith(box + "_"):
            libvirt_ns.virsh("vol-delete", "--pool", "default", volume, check=False)


def inventory(v, kernels, choices, path):
    """An Ansible inventory of the VMs from `vagrant ssh-config`; each host checks it runs exactly its kernel."""
    hosts = {}
    for entry in kernels:
        conf = v.conf(vm_name=entry["name"])
        hosts[entry["name"]] = {
            "ansible_host": conf["HostName"], "ansible_port": int(conf["Port"]), "ansible_user": conf["User"],
            "ansible_ssh_private_key_file": conf["IdentityFile"].strip('"'), "ansible_become": True,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "lab_packages_update_cache": False, "lab_nginx_build_refresh_index": False,
            "npl_expected_kernel": choices[entry["name"]]["release"]}
    with open(path, "w") as handle:
        yaml.safe_dump({"all": {"children": {"lab": {"hosts": hosts}}}}, handle, default_flow_style=False)
    return path


def main(argv=None):
    args = arguments.parser().parse_args(argv)
    if args.results_dir is None:
        args.results_dir = os.path.join(spec.ROOT, "results")
    if os.geteuid() != 0:
        sys.exit("matrix: needs root (debootstrap, libvirt, network namespaces): sudo scripts/matrix")
    import vagrant  # python-vagrant, from the virtualenv

    matrix = spec.load()
    # The image holds every kernel that can be had, whichever of them this run boots.
    all_kernels, skipped = spec.resolve(matrix)
    kernels, _ = spec.resolve(matrix, args.kernels.split(",") if args.kernels else None)
    kernels = [k for k in kernels if k["name"] in {a["name"] for a in all_kernels}]
    for message in skipped:
        log("SKIPPED " + message)
    if args.down:
        libvirt_ns.down()
        log("torn down")
        return 0
    if not kernels:
        sys.exit("matrix: no kernel to run (see the SKIPPED lines above)")
    timings = {}
    started = time.monotonic()
    log("image: building or reusing (cache %s)" % image.CACHE)
    timings["image_built"] = args.rebuild_image or image.cached(matrix, all_kernels) is None
    image_dir = image.build(matrix, all_kernels, rebuild=args.rebuild_image)
    timings["image_s"] = round(time.monotonic() - started, 1)
    with open(os.path.join(image_dir, "manifest.json")) as handle:
        manifest = json.load(handle)
    log("image %s ready after %.1f s (built in %s s; kernels %s; nginx builds %s)" % (
        os.path.basename(image_dir), timings["image_s"], manifest["built_s"], ", ".join(manifest["boot"]),
        ", ".join("%s (%s)" % (n, b["suite"]) for n, b in sorted(manifest.get("nginx_builds", {}).items())) or "none"))
    env = vagrant_env(image_dir, kernels)
    v = vagrant.Vagrant(root=spec.ROOT, env=env, quiet_stdout=False, quiet_stderr=False)
    wrapper = os.path.join(libvirt_ns.wrapper_dir(), "vagrant")
    if vagrant.get_vagrant_executable() != wrapper:
        sys.exit("matrix: vagrant resolves to %s, not the namespace wrapper %s; refusing to run Vagrant outside "
                 "the namespace" % (vagrant.get_vagrant_executable(), wrapper))
    code = 1
    choices = {}
    steps = {"plays": [], "hosts": {}}
    try:
        libvirt_ns.up(os.path.join(image.CACHE, "pool"))
        choices = boot_choices(image_dir, manifest, kernels, BOOT_FILE)
        log("kernels: " + ", ".join("%s boots %s" % (name, c["release"]) for name, c in sorted(choices.items())))
        forget_old(v, "npl-" + os.path.basename(image_dir))
        t = time.monotonic()
        log("bringing up %s" % ", ".join(k["name"] for k in kernels))
        v.up(provider="libvirt", provision=False)
        timings["vms_up_s"] = round(time.monotonic() - t, 1)
        log("VMs up after %.1f s" % timings["vms_up_s"])
        inv = inventory(v, kernels, choices, os.path.join(libvirt_ns.RUN, "inventory.yml"))
        if args.up:
            with open(inv) as handle:
                hosts = yaml.safe_load(handle)["all"]["children"]["lab"]["hosts"]
            with open(args.up, "w") as handle:
                json.dump(hosts, handle, indent=1)
            log("VMs up, details in %s; `sudo scripts/matrix --down` removes them" % args.up)
            code = 0
            return code
        t = time.monotonic()
        if os.path.exists(PROGRESS_FILE):
            os.unlink(PROGRESS_FILE)
        env["NPL_PROGRESS_FILE"] = PROGRESS_FILE
        log("running run_cases.yml on %s: check the request, provision, the cases (a line per case with the count "
            "and the time left), the report" % ", ".join(k["name"] for k in kernels))
        cmd = libvirt_ns.in_ns([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inv, "run_cases.yml",
                                "-e", "npl_results_dir=%s" % os.path.abspath(args.results_dir)]
                               + spec.run_args(matrix, every_case=args.all) + args.extra)
        try:
            code = subprocess.run(cmd, cwd=spec.ROOT, env=env).returncode
        except KeyboardInterrupt:  # Ctrl-C reached ansible-playbook too: it stopped its cases; the VMs go below
            log("interrupted: the cases that finished are kept in %s; destroying the VMs" % args.results_dir)
            code = 130
        timings["cases_s"] = round(time.monotonic() - t, 1)
        steps = progress.breakdown(progress.read(PROGRESS_FILE))
        log("run_cases.yml ended with %d after %.1f s: %s" % (code, timings["cases_s"], "; ".join(
            "%s %.1f s" % (p["name"], p["seconds"]) for p in steps["plays"])))
        for host, row in steps["hosts"].items():
            log("%s: %d cases, %.1f s in the cases, %.1f s between them (median %.2f s per case)" % (
                host, len(row["cases"]), row["case_s"], row["overhead_s"]["total"], row["overhead_s"]["median"]))
    finally:
        if args.keep or (args.up and code == 0):
            log("--keep: VMs left running; `sudo scripts/matrix --down` removes them")
        else:
            t = time.monotonic()
            try:
                v.destroy()
            except Exception as exc:  # tear down libvirt anyway
                log("vagrant destroy failed: %s" % exc)
            libvirt_ns.down()
            timings["destroy_s"] = round(time.monotonic() - t, 1)
        timings["total_s"] = round(time.monotonic() - started, 1)
        log("timings: " + json.dumps(timings))
        latest = os.path.join(args.results_dir, "latest")
        if "cases_s" in timings and os.path.isdir(latest):
            with open(os.path.join(latest, "matrix.json"), "w") as handle:
                json.dump({"schema": "npl-matrix", "schema_version": 2, "kernels": [k["name"] for k in kernels],
                           "boots": choices, "skipped": skipped, "image": manifest, "timings": timings,
                           "progress": steps},
                          handle, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
