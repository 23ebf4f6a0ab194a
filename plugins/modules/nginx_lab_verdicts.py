#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: evaluate every claim against a run's results (controller side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_verdicts
short_description: Decide CONFIRMED / REFUTED / VARIES / INCONCLUSIVE for every claim on every host of a run
description:
  - Reads C(<run_dir>/<host>/<case>.r<k>.json) (every repetition k) and the claims file, judges each claim
    on each repetition, and decides one verdict per claim and host from them (VARIES when repetitions
    disagree; the rule is in plugins/module_utils/judge/repetitions.py). Writes C(verdicts.json) and
    C(verdicts.junit.xml) (one test case per claim and host) into I(run_dir). Runs nothing else.
options:
  run_dir:
    description: Folder of the run (C(results/<run-id>)); required unless I(claims_only).
    type: path
  claims_file:
    description: The claims data file.
    type: path
    required: true
  claims_only:
    description:
      - Only check the claims file (every measure and operator known, the fields each claim needs, its
        C(depends_on)) and write nothing. The validate play does this before any host changes, so that a wrong
        claims file is refused before the cases run, not after.
    type: bool
    default: false
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Evaluate the latest run
  nginx_lab_verdicts:
    run_dir: results/latest
    claims_file: playbooks/vars/claims.yml
  delegate_to: localhost
"""

RETURN = r"""
table:
  description: One line per claim with its verdict on each host.
  returned: success
  type: list
  elements: str
counts:
  description: Number of claims per verdict, per host.
  returned: success
  type: dict
no_results:
  description: True when the run holds no case result (every case failed); nothing was written.
  returned: when the run holds no case result
  type: bool
verdicts_file:
  description: Path of verdicts.json.
  returned: success
  type: str
junit_file:
  description: Path of verdicts.junit.xml.
  returned: success
  type: str
elapsed:
  description: Seconds the evaluation took.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import results_io, verdicts

ARGUMENT_SPEC = dict(
    run_dir=dict(type="path"),
    claims_file=dict(type="path", required=True),
    claims_only=dict(type="bool", default=False))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[("claims_only", False, ("run_dir",))])
    started = time.monotonic()
    if module.params["claims_only"]:
        try:
            errors = verdicts.check_claims(module.params["claims_file"])
        except (OSError, ValueError) as exc:
            errors = [str(exc)]
        if errors:
            module.fail_json(msg="the claims file %s is wrong, refused before anything changed: %s"
                             % (module.params["claims_file"], "; ".join(errors)), elapsed=round(time.monotonic() - started, 3))
        module.exit_json(changed=False, table=[], counts={}, elapsed=round(time.monotonic() - started, 3))
    if module.check_mode:
        module.exit_json(changed=False, table=[], counts={}, elapsed=0.0)
    try:
        doc = verdicts.write(module.params["run_dir"], module.params["claims_file"])
    except verdicts.NoResults as exc:
        module.exit_json(changed=False, no_results=True, table=[str(exc)], counts={}, verdicts_file=None,
                         junit_file=None, elapsed=round(time.monotonic() - started, 3))
    except FileNotFoundError as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    except OSError as exc:
        module.fail_json(msg=results_io.write_error(exc, "the verdicts", module.params["run_dir"]),
                         elapsed=round(time.monotonic() - started, 3))
    except ValueError as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    hosts = sorted(doc["verdicts"])
    ids = [row["id"] for row in doc["verdicts"][hosts[0]]]
    by_id = {h: {r["id"]: r for r in doc["verdicts"][h]} for h in hosts}
    table = ["%-5s %s" % ("claim", "  ".join("%-44s" % ("%s (%s)" % (h, doc["hosts"][h]["kernel"]))[:44] for h in hosts))]
    for claim_id in ids:
        table.append("%-5s %s" % (claim_id, "  ".join(
            "%-44s" % ("%s %s" % (by_id[h][claim_id]["verdict"], _short(by_id[h][claim_id])))[:44] for h in hosts)))
    table += ["%s could not be reached: nothing ran there (%s)" % (h, why) for h, why in sorted(doc["unreachable"].items())]
    counts = {h: {v: sum(r["verdict"] == v for r in doc["verdicts"][h])
                  for v in ("CONFIRMED", "REFUTED", "VARIES", "INCONCLUSIVE")}
              for h in hosts}
    module.exit_json(changed=True, table=table, counts=counts,
                     verdicts_file=os.path.join(module.params["run_dir"], "verdicts.json"),
                     junit_file=os.path.join(module.params["run_dir"], "verdicts.junit.xml"),
                     elapsed=round(time.monotonic() - started, 3))


def _short(row):
    """The check values (medians over the repetitions) and, with repetitions, how many confirmed."""
    values = [str(c["value"]) for c in row["checks"] if c["value"] is not None]
    reps = row.get("repetitions", 1)
    count = "%d/%d " % (row["counts"]["CONFIRMED"], reps) if reps > 1 else ""
    return count + (("(" + ", ".join(values) + ")") if values else "")


if __name__ == "__main__":
    main()
