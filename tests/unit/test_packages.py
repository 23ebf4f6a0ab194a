"""The kit's code is two packages by where it runs: nginx_lab.target runs on the managed host, nginx_lab.judge on the
controller. The target never imports the judge; the judge takes of the target only its parameter table (the
contract, with the result schemas); the runner ships the target side alone."""

import ast
import base64
import importlib.util
import io
import os
import sys
import zipfile

import pytest

from .helpers import ROOT

PACKAGE = os.path.join(ROOT, "module_utils", "nginx_lab")
# What the target may import beyond its own package: the standard library, and pyroute2 for sock_diag.
TARGET_THIRD_PARTY = {"pyroute2"}


def _imports(path):
    """(module imported, level of a relative import) for every import statement of a file."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0, None
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, [alias.name for alias in node.names]


def _files(side):
    folder = os.path.join(PACKAGE, side)
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".py"))


def test_the_package_is_two_sides_and_its_top():
    assert sorted(n for n in os.listdir(PACKAGE) if not n.startswith("__pycache__")) == ["__init__.py", "judge", "target"]


@pytest.mark.parametrize("path", _files("target"), ids=os.path.basename)
def test_the_target_imports_only_itself_the_standard_library_and_pyroute2(path):
    for module, level, names in _imports(path):
        if level == 1:
            continue  # its own side
        if level == 2:
            assert not module and set(names) <= {"KIT_VERSION", "SCHEMA_VERSION"}, (path, module, names)
            continue
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or top in TARGET_THIRD_PARTY, "%s imports %s" % (path, module)


@pytest.mark.parametrize("path", _files("judge"), ids=os.path.basename)
def test_the_judge_takes_only_the_parameter_table_of_the_target(path):
    for module, level, names in _imports(path):
        if level == 2 and module.startswith("target"):
            assert module == "target" and names == ["params"], "%s imports %s %s from the target" % (path, module, names)
        if level == 0:
            assert not module.startswith("nginx_lab.target"), (path, module)


def test_the_runner_ships_the_target_side_alone():
    spec = importlib.util.spec_from_file_location("npl_action", os.path.join(ROOT, "action_plugins",
                                                                           "nginx_proxy_case.py"))
    action = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(action)
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(action._bundle()))).namelist()
    assert "nginx_lab/__init__.py" in names and "nginx_lab/target/case_entry.py" in names
    assert all(n == "nginx_lab/__init__.py" or n.startswith("nginx_lab/target/") for n in names), names
    assert len(names) == 1 + len(_files("target"))
