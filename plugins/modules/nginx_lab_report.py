#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: write a run's report (markdown and self-contained HTML with plots)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_report
short_description: Write report.md and report.html for a run of the nginx-proxy-lab
description:
  - Draws per case and host the socket states with the accept queue, stub_status, nginx memory and
    client outcomes; renders each case's access log with GoAccess when it is installed; writes
    C(report.md) and a self-contained C(report.html) (plots embedded) into I(run_dir).
  - Needs C(verdicts.json) in I(run_dir) (module nginx_lab_verdicts).
options:
  run_dir:
    description: Folder of the run (C(results/<run-id>)).
    type: path
    required: true
  claims_file:
    description: The claims data file.
    type: path
    required: true
  catalogue:
    description: The catalogue of cases and labs (descriptions are quoted in the report).
    type: dict
    default: {}
requirements:
  - matplotlib, Pillow and Markdown (the kit's requirements.txt)
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Write the report
  nginx_lab_report:
    run_dir: results/latest
    claims_file: playbooks/vars/claims.yml
    catalogue: "{{ npl_catalogue }}"
  delegate_to: localhost
"""

RETURN = r"""
markdown:
  description: Path of report.md.
  returned: success
  type: str
html:
  description: Path of report.html.
  returned: success
  type: str
goaccess_pages:
  description: Number of GoAccess pages written under goaccess/.
  returned: success
  type: int
elapsed:
  description: Seconds the report took.
  returned: always
  type: float
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import results_io

try:  # the plots need matplotlib and Pillow (the kit's requirements.txt), the HTML Markdown
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import report
    REPORT_IMPORT_ERROR = None
except ImportError:
    REPORT_IMPORT_ERROR = traceback.format_exc()

ARGUMENT_SPEC = dict(
    run_dir=dict(type="path", required=True),
    claims_file=dict(type="path", required=True),
    catalogue=dict(type="dict", default={}))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=False)
    if REPORT_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("matplotlib, Pillow and Markdown (requirements.txt)"),
                         exception=REPORT_IMPORT_ERROR)
    started = time.monotonic()
    try:
        out = report.write(module.params["run_dir"], module.params["claims_file"], module.params["catalogue"])
    except FileNotFoundError as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    except OSError as exc:
        module.fail_json(msg=results_io.write_error(exc, "the report", module.params["run_dir"]),
                         elapsed=round(time.monotonic() - started, 3))
    except (ValueError, ImportError) as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    module.exit_json(changed=True, elapsed=round(time.monotonic() - started, 3), **out)


if __name__ == "__main__":
    main()
