"""ansible-test's validate-modules on the collection's modules and plugins, as the anchors run it: documentation,
argument specs and their agreement, FQCN references. ansible-test wants the collection under
ansible_collections/<namespace>/<name> as a real folder (it resolves the .collections link to the checkout), so the
collection's files are copied there first, as `ansible-galaxy collection build` would take them. The sanity
virtualenv is kept in ~/.ansible/test/venv, so only the first run installs its requirements (from PyPI)."""

import os
import shutil
import subprocess

from .helpers import ROOT

VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def test_validate_modules_passes(tmp_path):
    here = tmp_path / "ansible_collections" / "npl" / "nginx_proxy_lab"
    files = subprocess.run(["git", "ls-files", "plugins", "meta", "galaxy.yml", "docs/collection.md", "tests/sanity"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        os.makedirs(os.path.dirname(str(here / name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, name), str(here / name))
    subprocess.run(["git", "init", "-q", "."], cwd=str(here), check=True)
    subprocess.run(["git", "add", "-A"], cwd=str(here), check=True)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    out = subprocess.run([os.path.join(VENV_BIN, "ansible-test"), "sanity", "--test", "validate-modules", "--python",
                          "3.11", "--color", "no"], cwd=str(here), env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    assert "validate-modules" in out.stdout + out.stderr
