#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module (controller side): start a run (unique folder, schedule) or finish it (run.json, latest)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_run
short_description: Start or finish a run of the nginx-proxy-lab on the controller
description:
  - C(state=started) makes a run folder with an id no other run can share (the UTC second plus random
    hex, made by an exclusive mkdir), one sub-folder per host, and splits the cases into slots
    (longest first, each to the least loaded slot; cases marked exclusive run alone afterwards).
    It also returns the PID of the ansible-playbook process, which the host lock records, and keeps the run's plan
    (the record as known at its start, such as its cases, schedule, releases and overrides) in the run folder.
  - C(state=finished) writes C(run.json) atomically, the plan with what happened (I(hosts) that ran, I(failed),
    I(retried), I(unreachable)), and, with I(latest), only then points C(latest) at the run, so
    C(latest) never names a run that is still writing or was interrupted. Host folders that hold no result
    (every case of that host failed) are removed; C(run.json) names what failed.
  - C(state=published) points C(latest) at a run once it is complete (C(run.json), the verdicts and the report
    written); C(run_cases.yml) does this last, so a run whose report could not be written (a full disk) never
    becomes C(latest).
  - C(state=abandoned) removes the (empty) folders of I(hosts), which could not start the run, and the run
    folder once no host folder is left in it.
  - Runs on the controller (delegate it to localhost). In check mode it changes nothing.
options:
  state:
    description: Start or finish the run.
    type: str
    required: true
    choices: [started, finished, published, abandoned]
  results_dir:
    description: Folder that holds the runs (C(results/)).
    type: path
    required: true
  run_id:
    description:
      - With C(started), a run id to use instead of a generated one; refused if taken.
      - With C(finished), C(published) or C(abandoned), the run.
    type: str
  hosts:
    description: Host folders to create (C(started)) or remove (C(abandoned)); the hosts that ran (C(finished)).
    type: list
    elements: str
    default: []
  cases:
    description: Case name to its module parameters, in run order (C(started)).
    type: dict
    default: {}
  exclusive:
    description: Names of the cases that must run alone (C(started)).
    type: list
    elements: str
    default: []
  background:
    description:
      - Names of the cases that mostly wait, for example for an idle timeout (C(started)).
      - With one slot they run in a lane of their own beside the others, and the exclusive cases run alone after both lanes.
    type: list
    elements: str
    default: []
  slots:
    description: How many cases may run at once per host (C(started)); 1 runs them one after another.
    type: int
    default: 1
  repeat:
    description: How many times each case runs (C(started)); every repetition is a case run of its own.
    type: int
    default: 1
  releases:
    description:
      - The nginx releases every case runs on (C(started)), once each; with more than one, each host's results of
        a release go to the folder C(<host>@nginx-<release>).
    type: list
    elements: str
    default: []
  min_repeat:
    description:
      - Case name to the fewest repetitions it runs whatever I(repeat) says (C(started); the catalogue's
        C(min_repeat), for labs whose verdict could differ between kernels).
    type: dict
    default: {}
  kit_dir:
    description: The kit's checkout; its C(git describe) is recorded in C(run.json) as C(kit_commit) (C(finished)).
    type: path
  depends_on:
    description: What the run's cases were chosen by (C(started)), C(kernel), C(nginx) or empty (every case).
    type: str
    default: ""
  overrides:
    description: The parameters applied to every case (C(started); npl_case_overrides), recorded.
    type: dict
    default: {}
  pace_retries:
    description: How many more times a case spoiled by the host's pace may run (C(started)), recorded.
    type: int
    default: 0
  failed:
    description: The case runs that failed (C(finished)), each named with its host, case, repetition and why.
    type: list
    elements: str
    default: []
  retried:
    description: The case runs the host's pace spoiled and that ran again (C(finished)).
    type: list
    elements: dict
    default: []
  unreachable:
    description: The hosts that could not be reached, with why (C(finished)).
    type: dict
    default: {}
  latest:
    description: With C(finished), point C(latest) at the run right after C(run.json) (false leaves it to C(published)).
    type: bool
    default: true
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Start a run
  nginx_lab_run:
    state: started
    results_dir: results
    hosts: [localhost]
  delegate_to: localhost
  run_once: true
  register: npl_run

- name: Finish it
  nginx_lab_run:
    state: finished
    results_dir: results
    run_id: "{{ npl_run.run_id }}"
    hosts: [localhost]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
run_id:
  description: The run's id.
  returned: always
  type: str
run_dir:
  description: The run's folder.
  returned: always
  type: str
schedule:
  description:
    - C(slots), one list per slot of the case runs it does in order (C(case), C(repetition), with I(releases)
      C(nginx), the release, and C(column), the suffix of its result folder), and C(alone), the case runs done alone
      afterwards.
  returned: when state is started
  type: dict
hosts:
  description: The hosts the run holds; every host runs the whole schedule.
  returned: when state is started
  type: list
  elements: str
controller:
  description: C(host), C(pid) and C(start) (clock ticks) of the ansible-playbook process.
  returned: when state is started
  type: dict
started_at:
  description: When the run started, in seconds since the epoch.
  returned: when state is started
  type: float
latest:
  description: Path of the C(latest) link, or null when it was left where it was.
  returned: when state is finished or published
  type: str
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import os
import re
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import results_io, run_folder
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params

ARGUMENT_SPEC = dict(
    state=dict(type="str", required=True, choices=["started", "finished", "published", "abandoned"]),
    results_dir=dict(type="path", required=True),
    run_id=dict(type="str"),
    hosts=dict(type="list", elements="str", default=[]),
    cases=dict(type="dict", default={}),
    exclusive=dict(type="list", elements="str", default=[]),
    background=dict(type="list", elements="str", default=[]),
    slots=dict(type="int", default=1),
    repeat=dict(type="int", default=1),
    min_repeat=dict(type="dict", default={}),
    releases=dict(type="list", elements="str", default=[]),
    depends_on=dict(type="str", default=""),
    overrides=dict(type="dict", default={}),
    pace_retries=dict(type="int", default=0),
    kit_dir=dict(type="path"),
    failed=dict(type="list", elements="str", default=[]),
    retried=dict(type="list", elements="dict", default=[]),
    unreachable=dict(type="dict", default={}),
    latest=dict(type="bool", default=True),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    started = time.monotonic()
    if p["run_id"] is not None and not re.fullmatch(params.NAME, p["run_id"]):
        module.fail_json(msg="run_id %r is not a safe folder name (letters, digits, . _ -)" % p["run_id"], elapsed=0.0)
    errors = params.check_run({"repeat": p["repeat"], "slots": p["slots"]})
    if errors:
        module.fail_json(msg="; ".join(errors), elapsed=0.0)
    try:
        if p["state"] == "started":
            pid, start = run_folder.controller_process()
            plan = run_folder.schedule(list(p["cases"]), p["cases"], set(p["exclusive"]), p["slots"], p["repeat"],
                                 set(p["background"]), p["min_repeat"], p["releases"])
            if module.check_mode:
                rid = p["run_id"] or run_folder.new_run_id()
                module.exit_json(changed=False, run_id=rid, run_dir=os.path.join(p["results_dir"], rid), schedule=plan,
                                 hosts=p["hosts"],
                                 controller=dict(host=socket.gethostname(), pid=pid, start=start),
                                 started_at=time.time(), elapsed=0.0)
            rid, run_dir = run_folder.create(p["results_dir"], p["hosts"], p["run_id"], p["releases"])
            started_at = time.time()
            run_folder.save_plan(run_dir, run_folder.plan(
                rid, plan, p["cases"], p["releases"], p["depends_on"], p["repeat"], p["min_repeat"], p["overrides"],
                p["exclusive"], p["background"], p["pace_retries"], started_at))
            module.exit_json(changed=True, run_id=rid, run_dir=run_dir, schedule=plan, hosts=p["hosts"],
                             controller=dict(host=socket.gethostname(), pid=pid, start=start), started_at=started_at,
                             elapsed=round(time.monotonic() - started, 3))
        if not p["run_id"]:
            module.fail_json(msg="state=%s needs run_id" % p["state"], elapsed=0.0)
        run_dir = os.path.join(p["results_dir"], p["run_id"])
        if module.check_mode:
            module.exit_json(changed=False, run_id=p["run_id"], run_dir=run_dir, elapsed=0.0)
        if p["state"] == "abandoned":
            module.exit_json(changed=run_folder.abandon(run_dir, p["hosts"]), run_id=p["run_id"], run_dir=run_dir,
                             elapsed=round(time.monotonic() - started, 3))
        if p["state"] == "published":
            module.exit_json(changed=True, run_id=p["run_id"], run_dir=run_dir, latest=run_folder.publish(run_dir),
                             elapsed=round(time.monotonic() - started, 3))
        happened = {"hosts": p["hosts"], "failed": p["failed"], "retried": p["retried"],
                    "unreachable": p["unreachable"]}
        link = run_folder.finish(run_dir, happened, latest=p["latest"], kit_dir=p["kit_dir"])
        module.exit_json(changed=True, run_id=p["run_id"], run_dir=run_dir, latest=link,
                         elapsed=round(time.monotonic() - started, 3))
    except OSError as exc:
        module.fail_json(msg="nginx_lab_run state=%s: %s" % (p["state"], results_io.write_error(
            exc, "the run's folder or record", os.path.join(p["results_dir"], p["run_id"] or ""))),
            elapsed=round(time.monotonic() - started, 3))
    except (ValueError, RuntimeError) as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))


if __name__ == "__main__":
    main()
