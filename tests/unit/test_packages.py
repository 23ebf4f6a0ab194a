"""The kit's Python is one package tree, plugins/module_utils, imported by the collection's name everywhere, in four
packages by where and when the code runs: runtime/ on the host under test (the case), provision/ there at
provisioning, judge/ and matrix/ on the controller. The runtime never imports the controller's packages; the judge
takes of the runtime only its contract (params, version); the runner ships the runtime alone. No code of the kit
loads its own code by a file path or by changing sys.path (tests/conftest.py aside, and the runner's bootstrap,
which imports the runtime from the zip it was sent, as AnsiballZ does)."""

import ast
import base64
import io
import os
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.action import nginx_proxy_case as action

from .helpers import ROOT

UTILS = os.path.join(ROOT, "plugins", "module_utils")
NAME = "ansible_collections.npl.nginx_proxy_lab."
# What the runtime may import beyond its own package: the standard library, and pyroute2 for sock_diag.
RUNTIME_THIRD_PARTY = {"pyroute2"}


def _imports(path):
    """(module imported, level of a relative import, names) for every import statement of a file."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0, None
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, [alias.name for alias in node.names]


def _files(side):
    folder = os.path.join(UTILS, side)
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".py"))


def _python_files():
    """Every Python file of the kit (git's list: no virtualenv, no results), scripts without a .py name included."""
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    out = []
    for name in names:
        path = os.path.join(ROOT, name)
        if name.startswith("tests/data/") or not os.path.isfile(path):
            continue
        if name.endswith(".py") or open(path, "rb").read(64).startswith(b"#!/usr/bin/env python3"):
            out.append(name)
    return out


def test_the_tree_is_four_packages():
    assert sorted(n for n in os.listdir(UTILS) if not n.startswith("__")) == ["judge", "matrix", "provision", "runtime"]


@pytest.mark.parametrize("path", _files("runtime"), ids=os.path.basename)
def test_the_runtime_imports_only_itself_the_standard_library_and_pyroute2(path):
    for module, level, _ in _imports(path):
        if level == 1:
            continue
        assert level == 0, "%s reaches out of the runtime package: %s" % (path, module)
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or top in RUNTIME_THIRD_PARTY, "%s imports %s" % (path, module)


@pytest.mark.parametrize("path", _files("judge"), ids=os.path.basename)
def test_the_judge_takes_only_the_runtime_s_contract(path):
    for module, level, names in _imports(path):
        if level == 2 and module.startswith("runtime"):
            assert module in ("runtime", "runtime.version") and set(names) <= {"params", "KIT_VERSION", "SCHEMA_VERSION"}, \
                "%s imports %s %s from the runtime" % (path, module, names)
        assert not (level == 2 and module.startswith(("provision", "matrix"))), (path, module)


@pytest.mark.parametrize("path", _files("provision"), ids=os.path.basename)
def test_provisioning_takes_of_the_runtime_only_the_build_stamp_and_the_proc_readers(path):
    for module, level, names in _imports(path):
        if level == 2:
            assert module.startswith("runtime") and (module in ("runtime.build_stamp", "runtime.procnet")
                                                     or set(names) <= {"build_stamp", "procnet"}), (path, module)


@pytest.mark.parametrize("name", _python_files())
def test_the_kit_s_code_is_imported_by_the_collection_s_name_alone(name):
    path = os.path.join(ROOT, name)
    text = open(path).read()
    for module, level, _ in _imports(path):
        assert not module.split(".")[0] in ("nginx_lab", "matrixlib", "module_utils"), (name, module)
        assert not module.startswith("tests.support"), (name, module)
        if module.startswith("ansible_collections.npl"):
            assert module.startswith(NAME), (name, module)
    if name not in ("tests/conftest.py", "tests/unit/test_packages.py"):
        assert "spec_from_file_location" not in text, "%s loads code by its file path" % name
        inserts = text.count("sys.path.insert")
        allowed = 1 if name == "plugins/action/nginx_proxy_case.py" else 0  # the runner's bootstrap, on the target
        assert inserts == allowed, "%s changes sys.path" % name


def test_the_runner_ships_the_runtime_alone_under_its_collection_name():
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(action._bundle()))).namelist()
    runtime = "ansible_collections/npl/nginx_proxy_lab/plugins/module_utils/runtime/"
    assert runtime + "case_entry.py" in names and runtime + "version.py" in names
    assert all(n.startswith(runtime) or n.endswith("/__init__.py") and runtime.startswith(n[:-len("__init__.py")])
               for n in names), names
    assert len([n for n in names if n.startswith(runtime)]) == len(_files("runtime"))
    assert not [n for n in names if "provision" in n or "judge" in n]
