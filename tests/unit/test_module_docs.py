"""Every module's DOCUMENTATION parses (ansible-doc) and matches its argument spec, as ansible-test's
validate-modules checks: same options, types, defaults, choices and required flags."""

import importlib
import json
import os
import subprocess

import pytest

from .helpers import ROOT

LIBRARY = os.path.join(ROOT, "plugins", "modules")
MODULES = sorted(n[:-3] for n in os.listdir(LIBRARY) if n.endswith(".py") and n != "__init__.py")


def argument_spec(name):
    module = importlib.import_module("ansible_collections.npl.nginx_proxy_lab.plugins.modules." + name)
    if hasattr(module, "CONTROLLER_OPTIONS"):  # nginx_proxy_case: the shared spec and the action plugin's options
        return dict(module.ARGUMENT_SPEC, **module.CONTROLLER_OPTIONS)
    return module.ARGUMENT_SPEC


def documented(name):
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-doc"), "-t", "module", "-j",
                          "npl.nginx_proxy_lab." + name],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)["npl.nginx_proxy_lab." + name]
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


def test_every_bound_of_the_parameter_table_is_documented_as_it_is_checked():
    """The case module's DOCUMENTATION states each number's bounds in one sentence, from params.BOUNDS (the one table
    the validation uses), and states no other range."""
    import re
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params
    options = documented("nginx_proxy_case")
    fmt = lambda v: str(int(v)) if float(v).is_integer() else str(v)  # noqa: E731
    for key, doc in options.items():
        text = " ".join(doc["description"] if isinstance(doc["description"], list) else [doc["description"]])
        ranges = re.findall(r"From (-?[0-9.]+) to (-?[0-9.]+); any other value is refused", text)
        if key in params.BOUNDS:
            low, high = params.BOUNDS[key]
            assert ranges == [(fmt(low), fmt(high))], (key, ranges, params.BOUNDS[key])
        else:
            assert not ranges, key
        assert not re.search(r"\(-?[0-9.]+\.\.-?[0-9.]+\)", text), "%s states a range in prose: %s" % (key, text)


def test_the_docs_name_the_upstream_modes_the_code_has():
    """Where a text names the upstream's modes it names all of them, and nothing counts them in words."""
    import re
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params
    texts = {"plugins/modules/nginx_proxy_case.py": None, "docs/collection.md": None, "README.md": None}
    for path in texts:
        with open(os.path.join(ROOT, path)) as handle:
            text = " ".join(handle.read().split())
        assert not re.search(r"\b(two|three|four|five|six|seven|eight|nine|ten) modes\b", text), path
        listed = re.findall(r"modes[^.]*?\b((?:ok|no-accept|no-read|no-write|no-close|delay|keepalive)(?:(?:,| or| and|,? \|) "
                            r"(?:ok|no-accept|no-read|no-write|no-close|delay|keepalive))+)", text)
        if path != "README.md":
            assert listed, "%s no longer lists the modes" % path
        for found in listed:
            assert set(re.findall(r"[a-z-]+", found)) - {"or", "and"} == set(params.MODES), (path, found)


def test_the_case_module_s_options_are_what_the_parameter_table_gives():
    """plugins/modules/nginx_proxy_case.py's options are generated from runtime/params.py (spec, bounds, descriptions):
    a new option is one entry there; a hand edit, or a table change not written out, fails here."""
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import module_docs
    with open(module_docs.MODULE) as handle:
        text = handle.read()
    assert module_docs.render(text) == text, ("stale: run python -m ansible_collections.npl.nginx_proxy_lab.plugins."
                                              "module_utils.judge.module_docs --write")
    assert module_docs.main(["--check"]) == 0
