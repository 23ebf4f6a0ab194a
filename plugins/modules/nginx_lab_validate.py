#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: check every selected case's parameters before anything is provisioned or run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_validate
short_description: Refuse bad case parameters before any host changes
description:
  - Checks the parameters of every selected case with the same code the M(npl.nginx_proxy_lab.nginx_proxy_case) module runs
    before a case starts, so a bad value is refused before provisioning, not half way through a run.
  - Checks option names, types and choices against the module's argument spec, numbers against their
    bounds, strings against their grammar (URI paths, nginx sizes, names), the kernel's somaxconn
    ceiling, and what each case needs of this host (open files, memory, room in the case folders' file system)
    against what it has.
  - Refuses a yes/no where a number is wanted, a parameter the kit sets itself (C(case), C(repetition),
    C(run_id), C(nginx_version_expected)), and an C(nginx_binary) of a case's own in a run over several releases.
  - Reads only; changes nothing. Supports check mode.
options:
  cases:
    description:
      - The cases to check, by name; each value is the parameter set the case module would get
        (without C(case), which is the key).
    type: dict
    required: true
  host_checks:
    description: Also compare what each case needs (open files, memory) with this host's limits.
    type: bool
    default: true
  repeat:
    description:
      - The run's repetitions (C(npl_repeat)), checked against the parameter table's run bounds (params.RUN_BOUNDS)
        when given.
    type: raw
  slots:
    description: The run's cases at once per host (C(npl_parallel_slots)), checked the same way when given.
    type: raw
  pace_retries:
    description: How many more times a case spoiled by the host's pace may run (C(npl_pace_retries)), checked the same way when given.
    type: raw
  releases:
    description:
      - The nginx releases the run covers. With more than one, a case that names an C(nginx_binary) of its own is
        refused (it would run that binary in every release's column).
    type: list
    elements: str
    default: []
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Check two cases before provisioning
  nginx_lab_validate:
    cases:
      case2-no-accept: {mode: no-accept, clients: 100}
      lab-single-request: {mode: no-accept, clients: 1}
"""

RETURN = r"""
checked:
  description: Names of the cases checked.
  returned: always
  type: list
  elements: str
errors:
  description: Every reason for refusal, each prefixed with its case's name (empty when all are fine).
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds the checks took.
  returned: always
  type: float
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case as lab_case
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params as lab_params

ARGUMENT_SPEC = dict(cases=dict(type="dict", required=True), host_checks=dict(type="bool", default=True),
                     repeat=dict(type="raw"), slots=dict(type="raw"), pace_retries=dict(type="raw"),
                     releases=dict(type="list", elements="str", default=[]))


def check_case(name, values, host_checks, releases=None):
    """Reasons to refuse case `name` with parameter set `values`."""
    if not re.fullmatch(lab_params.NAME, str(name)):
        return ["%r is not a safe case name (letters, digits, '.', '_' and '-', starting with a letter or digit): "
                "rename it in the catalogue" % name]
    if not isinstance(values, dict):
        return ["its parameters must be a mapping, got %s" % type(values).__name__]
    errors = lab_params.check_given(values, releases)
    if errors:
        return errors
    validated = ArgumentSpecValidator(lab_params.ARGUMENT_SPEC).validate(dict(values, case=name))
    errors = [str(e) for e in validated.errors]
    if errors:
        return errors
    p = lab_params.complete(validated.validated_parameters)
    if host_checks:
        return lab_case.validate_params(p)
    return lab_params.check(p)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    started = time.monotonic()
    errors = lab_params.check_run({key: module.params[key] for key in ("repeat", "slots", "pace_retries")})
    for name, values in module.params["cases"].items():
        errors += ["%s: %s" % (name, e) for e in check_case(name, values, module.params["host_checks"],
                                                            module.params["releases"])]
    out = dict(changed=False, checked=sorted(module.params["cases"]), errors=errors,
               elapsed=round(time.monotonic() - started, 3))
    if errors:
        module.fail_json(msg="refused before anything changed: " + " | ".join(errors), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
