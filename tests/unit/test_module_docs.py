"""Every module's DOCUMENTATION parses (ansible-doc) and matches its argument spec, as ansible-test's
validate-modules checks: same options, types, defaults, choices and required flags."""

import importlib.util
import json
import os
import subprocess

import ansible.module_utils
import pytest

from .helpers import ROOT

LIBRARY = os.path.join(ROOT, "library")
MODULES = sorted(n[:-3] for n in os.listdir(LIBRARY) if n.endswith(".py"))
ansible.module_utils.__path__.append(os.path.join(ROOT, "module_utils"))  # ansible.module_utils.nginx_lab


def argument_spec(name):
    spec = importlib.util.spec_from_file_location("npl_module_" + name, os.path.join(LIBRARY, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "CONTROLLER_OPTIONS"):  # nginx_proxy_case: the shared spec and the action plugin's options
        return dict(module.ARGUMENT_SPEC, **module.CONTROLLER_OPTIONS)
    return module.ARGUMENT_SPEC


def documented(name):
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-doc"), "-M", LIBRARY, "-t", "module", "-j", name],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)[name]
    for part in ("doc", "examples", "return"):
        assert doc.get(part), "%s has no %s" % (name, part)
    return doc["doc"]["options"]


def test_every_module_is_found():
    assert {"nginx_proxy_case", "nginx_lab_verdicts", "nginx_lab_report", "nginx_lab_validate", "nginx_lab_run",
            "nginx_lab_lock"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name):
    spec, options = argument_spec(name), documented(name)
    assert sorted(options) == sorted(spec), "documented and accepted options differ"
    for key, want in spec.items():
        doc = options[key]
        assert doc.get("type", "str") == want.get("type", "str"), key
        assert bool(doc.get("required", False)) == bool(want.get("required", False)), key
        assert doc.get("default") == want.get("default"), key
        assert doc.get("choices") == want.get("choices"), key
        if want.get("elements"):
            assert doc.get("elements") == want["elements"], key
        assert doc.get("description"), "%s has no description" % key
