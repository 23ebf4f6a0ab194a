"""A role's default value as the role defines it (roles/<role>/defaults/main.yml), for the code outside Ansible that
must name the same paths (the tests, molecule's testinfra, the benchmarks): the paths are defined once, in the roles.
Controller side."""

import os
import re

import yaml

# the kit's checkout: plugins/module_utils/<package>/ is three folders below it
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def role_default(role, name, root=ROOT):
    """The default of `name` in `role`, with "{{ other }}" references to the role's other defaults filled in."""
    with open(os.path.join(root, "roles", role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    value = defaults[name]
    for _ in range(5):
        if not isinstance(value, str) or "{{" not in value:
            break
        value = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(defaults[m.group(1)]), value)
    return value


def nginx_binary(root=ROOT):
    return role_default("lab_nginx", "lab_nginx_binary", root)


def upstream_binary(root=ROOT):
    return role_default("lab_upstream", "lab_upstream_binary", root)
