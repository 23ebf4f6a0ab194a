"""Role hygiene: every default is documented in meta/argument_specs.yml with its type and the same default, every
role has a README naming its variables, and the paths the cases use are the roles' own."""

import os

import pytest
import yaml

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import role_defaults
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.params import ARGUMENT_SPEC

from .helpers import ROOT

ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
TYPES = {str: "str", bool: "bool", int: "int", list: "list", dict: "dict", float: "float"}


def text(role, *parts):
    with open(os.path.join(ROOT, "roles", role, *parts)) as handle:
        return handle.read()


def load(role, *parts):
    return yaml.safe_load(text(role, *parts))


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_in_the_argument_spec_with_its_type_and_value(role):
    defaults = load(role, "defaults", "main.yml")
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults), "documented and defined variables differ"
    for name, value in defaults.items():
        assert name.startswith(role + "_"), "%s is not prefixed with the role's name" % name
        spec = options[name]
        assert spec.get("description"), name
        if "default" not in spec:  # a table kept in one place: the spec names it instead of copying it
            assert "defaults/main.yml" in " ".join(spec["description"]), name
        else:
            assert spec["default"] == value, name
        want = TYPES[type(value)]
        assert spec["type"] == want or (spec["type"] == "path" and want == "str"), name


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_a_comment_and_the_readme_names_it(role):
    lines = text(role, "defaults", "main.yml").splitlines()
    readme = text(role, "README.md")
    for number, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")) and ":" in line:
            assert lines[number - 1].startswith("#"), "%s has no comment above it" % line
            assert "`%s`" % line.split(":")[0] in readme, "%s/README.md does not name %s" % (role, line.split(":")[0])


def test_the_cases_default_to_the_binaries_the_roles_install():
    assert ARGUMENT_SPEC["upstream_binary"]["default"] == role_defaults.upstream_binary() == "/opt/nginx-proxy-lab/bin/upstream"
    assert ARGUMENT_SPEC["nginx_binary"]["default"] == role_defaults.nginx_binary()


def test_the_upstream_source_lives_in_its_role():
    assert "--mode MODE" in text("lab_upstream", "files", "upstream.c")


def test_the_nginx_releases_the_role_knows_are_its_table_alone():
    """A release is one entry of lab_nginx_releases: nothing else lists the releases (the spec, the request check and
    the image build read the table)."""
    defaults = load("lab_nginx", "defaults", "main.yml")
    options = load("lab_nginx", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert "choices" not in options["lab_nginx_versions"] and "default" not in options["lab_nginx_releases"]
    for path in ("roles/lab_nginx/meta/argument_specs.yml", "playbooks/validate.yml", "playbooks/vars/settings.yml"):
        with open(os.path.join(ROOT, path)) as handle:
            listed = [name for name in defaults["lab_nginx_releases"] if name != "1.22.1" and name in handle.read()]
        assert not listed, "%s lists releases of the table: %s" % (path, listed)
    for name, entry in defaults["lab_nginx_releases"].items():
        assert entry.get("package") is True or (entry.get("suite") and (isinstance(entry.get("configure"), list)
                                                                     or entry.get("binary_package") is True)), name
    assert set(defaults["lab_nginx_versions"]) <= set(defaults["lab_nginx_releases"])
