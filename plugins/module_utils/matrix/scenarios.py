"""molecule/<kernel>/molecule.yml for every kernel of the matrix, written from inventory/matrix.yml."""

import os

import yaml

from . import spec

MOLECULE = os.path.join(spec.ROOT, "molecule")
HEADER = "# Written by plugins/module_utils/matrix/scenarios.py from inventory/matrix.yml; edit the matrix, not this file.\n"


EXPECTED_KERNEL = ("{{ (lookup('ansible.builtin.file', lookup('ansible.builtin.env', 'MOLECULE_EPHEMERAL_DIRECTORY') "
                   "~ '/vms.json') | from_json)[inventory_hostname].npl_expected_kernel }}")


# The Galaxy content the kit needs, from the kit's one requirements.yml (none today: it says so).
DEPENDENCY = {"name": "galaxy", "options": {"role-file": "${MOLECULE_PROJECT_DIRECTORY}/requirements.yml",
                                            "requirements-file": "${MOLECULE_PROJECT_DIRECTORY}/requirements.yml"}}


def scenario(entries):
    """The molecule scenario for the matrix kernels `entries` (one, or every one: the `kernels` scenario, whose VMs
    come up and run the kit side by side, as scripts/matrix runs them)."""
    entries = entries if isinstance(entries, list) else [entries]
    host_vars = {entry["name"]: {
        "ansible_become": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        # The VM lives in the matrix's network namespace: SSH reaches it through nc run there.
        "ansible_ssh_common_args": "-o ProxyCommand=\"ip netns exec npl-matrix nc %h %p\" "
                                   "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "lab_packages_update_cache": False,
        # sealed: the image holds every nginx build and the source index it came from (matrixlib/image_nginx.py)
        "lab_nginx_build_refresh_index": False,
        # The exact release scripts/matrix chose for this entry (spec.boot_choice), from create's vms.json.
        "npl_expected_kernel": EXPECTED_KERNEL,
    } for entry in entries}
    return {
        # No prerun: molecule would install a copy of the collection into ~/.ansible/collections (outside the
        # checkout, left behind); the kit reaches itself through .collections.
        "prerun": False,
        "dependency": DEPENDENCY,
        "driver": {"name": "default", "options": {"managed": True}},
        "platforms": [{"name": entry["name"], "groups": ["lab"]} for entry in entries],
        "provisioner": {
            "name": "ansible",
            "config_options": {"defaults": {
                "collections_path": "${MOLECULE_PROJECT_DIRECTORY}/.collections",
                "stdout_callback": "npl.nginx_proxy_lab.progress",
                "interpreter_python": "auto_silent",
                "inject_facts_as_vars": False}},
            "env": {"NPL_MATRIX_KERNEL": ",".join(entry["name"] for entry in entries)},
            "ansible_args": ["-e", "npl_results_dir=${MOLECULE_EPHEMERAL_DIRECTORY}/results"] + spec.run_args(spec.load()),
            "inventory": {"host_vars": host_vars},
            "playbooks": {"create": "../shared/create.yml", "prepare": "../shared/prepare.yml",
                          "converge": "../shared/converge.yml", "destroy": "../shared/destroy.yml"},
        },
        "verifier": {"name": "testinfra", "directory": "../tests"},
        "scenario": {"test_sequence": ["dependency", "destroy", "create", "prepare", "converge", "verify", "destroy"]},
    }


# The scenario of every runnable kernel at once (a reference run), and that of the kernels CI runs (inventory/matrix.yml
# `ci`: the oldest and the newest, side by side, one emulated CPU each on this machine's two cores).
ALL = "kernels"
CI = "ci"


def _write(name, entries):
    folder = os.path.join(MOLECULE, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".gitignore"), "w") as handle:
        handle.write("# generated from inventory/matrix.yml\n*\n")
    with open(os.path.join(folder, "molecule.yml"), "w") as handle:
        handle.write(HEADER + yaml.safe_dump(scenario(entries), sort_keys=False, default_flow_style=False))


def write():
    """Write a scenario per kernel that can run here and one of them all (`kernels`); say which are skipped and why;
    drop stale ones."""
    kernels, skipped = spec.resolve(spec.load())
    for message in skipped:
        print("molecule scenarios: SKIPPED " + message)
    names = {k["name"] for k in kernels}
    for entry in spec.load()["kernels"]:
        if entry["name"] not in names:
            stale = os.path.join(MOLECULE, entry["name"], "molecule.yml")
            if os.path.exists(stale):
                os.unlink(stale)
            continue
        _write(entry["name"], [k for k in kernels if k["name"] == entry["name"]])
    if kernels:
        _write(ALL, kernels)
    ci = [k for k in kernels if k["name"] in (spec.load().get("ci") or [])]
    if ci:
        _write(CI, ci)


if __name__ == "__main__":
    write()
