"""Build the collection npl.nginx_proxy_lab from the kit's own folders (scripts/build-collection).

The kit keeps its layout (library/, module_utils/, action_plugins/, callback_plugins/, roles/); this stages a copy
in the collection's layout (plugins/modules, plugins/module_utils, plugins/action, plugins/callback, roles) with
the modules' imports of the shared code pointed at the collection, writes galaxy.yml with the kit's version, and
runs `ansible-galaxy collection build`. Prints the path of the built tarball.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACE, NAME = "npl", "nginx_proxy_lab"
# kit folder -> collection folder
LAYOUT = {"library": "plugins/modules", "module_utils/nginx_lab": "plugins/module_utils/nginx_lab",
          "action_plugins": "plugins/action", "callback_plugins": "plugins/callback", "roles": "roles"}
IMPORT = re.compile(r"\bansible\.module_utils\.nginx_lab\b")


def parser():
    p = argparse.ArgumentParser(prog="scripts/build-collection",
                                description="Build the Ansible collection npl.nginx_proxy_lab from the kit's sources.")
    p.add_argument("--output-path", default=os.path.join(ROOT, "build"),
                   help="folder for the tarball (default: build/ in the kit)")
    p.add_argument("--check-arguments", action="store_true", help=argparse.SUPPRESS)
    return p


def kit_version():
    with open(os.path.join(ROOT, "module_utils", "nginx_lab", "__init__.py")) as handle:
        return re.search(r'KIT_VERSION = "([^"]+)"', handle.read()).group(1)


def stage(target):
    """The collection's tree under `target`, from the kit's folders."""
    for source, dest in LAYOUT.items():
        shutil.copytree(os.path.join(ROOT, source), os.path.join(target, dest),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    modules = os.path.join(target, "plugins", "modules")
    for name in os.listdir(modules):
        path = os.path.join(modules, name)
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:
            handle.write(IMPORT.sub("ansible_collections.%s.%s.plugins.module_utils.nginx_lab" % (NAMESPACE, NAME), text))
    shutil.copytree(os.path.join(ROOT, "collection", "meta"), os.path.join(target, "meta"))
    shutil.copy(os.path.join(ROOT, "collection", "README.md"), target)
    shutil.copy(os.path.join(ROOT, "CHANGELOG.md"), target)  # the kit's one history
    with open(os.path.join(ROOT, "collection", "galaxy.yml")) as handle:
        galaxy = handle.read()
    with open(os.path.join(target, "galaxy.yml"), "w") as handle:
        handle.write(re.sub(r'(?m)^version: .*$', 'version: "%s"' % kit_version(), galaxy))


def main(argv=None):
    args = parser().parse_args(argv)
    if args.check_arguments:
        return 0
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    os.makedirs(args.output_path, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="npl-collection-") as work:
        tree = os.path.join(work, NAMESPACE, NAME)
        stage(tree)
        out = subprocess.run([galaxy, "collection", "build", tree, "--output-path", args.output_path, "--force"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("build-collection: ansible-galaxy failed: " + (out.stderr or out.stdout))
    tarball = os.path.join(os.path.abspath(args.output_path), "%s-%s-%s.tar.gz" % (NAMESPACE, NAME, kit_version()))
    print(tarball)
    return 0


if __name__ == "__main__":
    sys.exit(main())
