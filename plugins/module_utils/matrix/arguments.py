"""scripts/matrix's command line, in a module of its own: `--help` and a bad argument are answered with the
system's Python before anything is installed."""

import argparse


def parser():
    p = argparse.ArgumentParser(
        prog="scripts/matrix",
        description="The kernel matrix in one command: builds or reuses the VM image, brings one VM per kernel of "
                    "inventory/matrix.yml up (Vagrant + vagrant-libvirt, in a network namespace of its own), runs "
                    "run_cases.yml on all of them, writes the report with a column per kernel, and destroys the VMs. "
                    "Needs root; installs libvirt, qemu and Vagrant from Debian on first use.")
    p.add_argument("--kernels", help="comma-separated matrix entries (default: every entry that can run)")
    p.add_argument("--all", action="store_true", help="run every case and lab on the VMs, not only those of the claims "
                   "that depend on the kernel (inventory/matrix.yml vm.depends_on)")
    p.add_argument("--keep", action="store_true", help="leave the VMs (and libvirt) running afterwards")
    p.add_argument("--rebuild-image", action="store_true", help="build the image even if a cached one fits")
    p.add_argument("--results-dir", default=None, help="where results go (default: results/ of the kit)")
    p.add_argument("--up", metavar="JSON", help="only bring the VMs up (no cases), keep them, and write their "
                   "SSH details to JSON (molecule's create step)")
    p.add_argument("--down", action="store_true", help="only destroy what a --keep or --up run left")
    p.add_argument("extra", nargs="*", help="more ansible-playbook arguments, after --")
    return p


if __name__ == "__main__":
    import sys

    parser().parse_args(sys.argv[1:])
