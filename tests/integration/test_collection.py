"""The checkout is the collection: `ansible-galaxy collection build` at its top makes a tarball that installs into a
fresh collections path and runs a case by its FQCN, outside the kit's folder (no ansible.cfg of the kit in reach)."""

import glob
import json
import os
import subprocess

import pytest

from . import lab

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.version import KIT_VERSION

FQCN = "npl.nginx_proxy_lab.nginx_proxy_case"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("collection")
    built = subprocess.run([os.path.join(lab.VENV_BIN, "ansible-galaxy"), "collection", "build", lab.ROOT,
                            "--output-path", str(base / "dist")], cwd=lab.ROOT, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr + built.stdout
    tarball = built.stdout.strip().split(" at ")[-1]
    assert os.path.isfile(tarball) and tarball.endswith(".tar.gz")
    path = base / "collections"
    # galaxy skips a collection it finds installed anywhere it looks: in the virtualenv's import path (the checkout
    # itself) or in a copy a user installed under ~/.ansible. It looks only in the fresh path here.
    out = subprocess.run([os.path.join(lab.VENV_BIN, "ansible-galaxy"), "collection", "install", tarball, "-p", str(path)],
                         cwd=str(base), capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                                  ANSIBLE_COLLECTIONS_PATH=str(path)))
    assert out.returncode == 0, out.stderr + out.stdout
    assert "installed successfully" in out.stdout, out.stdout
    work = base / "elsewhere"
    work.mkdir()
    # the checkout's own link in the virtualenv's import path would shadow the install: not scanned here
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", PATH=lab.VENV_BIN + os.pathsep + os.environ["PATH"])
    for key in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"):
        env.pop(key, None)
    return {"path": path, "work": work, "env": env}


def test_the_collection_holds_the_kit_s_modules_plugins_and_roles(installed):
    root = installed["path"] / "ansible_collections" / "npl" / "nginx_proxy_lab"
    for part in ("plugins/modules/nginx_proxy_case.py", "plugins/action/nginx_proxy_case.py",
                 "plugins/callback/progress.py", "plugins/module_utils/runtime/case.py",
                 "plugins/module_utils/provision/nginx_build.py", "playbooks/cases.yml", "run_cases.yml",
                 "roles/lab_upstream/files/upstream.c", "roles/lab_nginx/meta/argument_specs.yml"):
        assert (root / part).is_file(), part
    with open(root / "MANIFEST.json") as handle:
        assert json.load(handle)["collection_info"]["version"] == KIT_VERSION
    assert not (root / ".venv").exists() and not (root / "results").exists() and not (root / "tests" / "data").exists()
    doc = subprocess.run([os.path.join(lab.VENV_BIN, "ansible-doc"), "-j", FQCN], cwd=str(installed["work"]),
                         env=installed["env"], capture_output=True, text=True)
    assert doc.returncode == 0, doc.stderr
    assert "save_as" in json.loads(doc.stdout)[FQCN]["doc"]["options"]


@pytest.mark.parametrize("via_module", [False, True], ids=["runner", "module"])
def test_a_case_runs_by_its_fqcn(installed, via_module, host_somaxconn):
    target = installed["work"] / ("case-%s.json" % via_module)
    args = {"case": "collection", "mode": "no-accept", "clients": 3, "proxy_timeout": 1, "deadline": 10,
            "save_as": str(target)}
    env = dict(installed["env"], **({"NPL_CASE_VIA_MODULE": "1"} if via_module else {}))
    out = subprocess.run([os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", FQCN, "-a", json.dumps(args),
                          "-e", "ansible_python_interpreter=" + os.path.join(lab.VENV_BIN, "python3")],
                         cwd=str(installed["work"]), env=env, capture_output=True, text=True, timeout=300)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result.get("failed") is not True, result.get("msg")
    assert result["runner"] == ("module" if via_module else "runner")
    with open(target) as handle:
        assert json.load(handle)["summary"]["clients"]["status_counts"] == {"504": 3}
    assert lab.leftovers(host_somaxconn) == {}
    assert not glob.glob(str(installed["work"] / ".npl-*"))
