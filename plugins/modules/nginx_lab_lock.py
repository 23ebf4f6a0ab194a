#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module (target side): hold or release the host for one run of the nginx-proxy-lab."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_lock
short_description: One run at a time on a lab host
description:
  - Writes C(/run/nginx-proxy-lab/run.lock) naming the run that holds the host. A second run is
    refused, naming the holder, while the holder lives; every case of the holding run stamps the
    lock when it starts (M(npl.nginx_proxy_lab.nginx_proxy_case) option I(run_id)).
  - A holder is gone when its ansible-playbook process has ended (checked by PID and start time
    when the controller is this host) or, for a remote controller, when it has not been heard of for
    I(stale_after_s) and none of its cases can still be running. A dead holder's lock is taken over
    with a warning.
  - Taking the host also undoes what earlier cases left when their guardian was killed with them
    (every process of the machine ended at once, SIGKILL of the whole tree) - namespaces, processes,
    case folders and sysctls named in the journal of a guardian that is gone, and case namespaces or
    folders (C(npl-) and eight hex digits) that no live case claims. What was undone is returned as
    I(reaped) and warned about. Nothing else under C(/run/netns) or C(/run/nginx-proxy-lab) is touched.
  - A journal is acted on only for what a case creates (namespaces and folders named C(npl-) and eight hex
    digits, the latter directly under C(/run/nginx-proxy-lab), net.core.somaxconn, process groups recorded with
    their start time); anything else it names is refused with a warning naming the journal, which is renamed
    aside (C(.refused-<time>)). A journal or lock file that is not JSON of the expected shape is renamed aside
    (C(.malformed-<time>)) with a warning naming it, and the run goes on.
options:
  state:
    description: Hold the host for I(run_id), or release it.
    type: str
    required: true
    choices: [held, released]
  run_id:
    description: The run.
    type: str
    required: true
  controller_host:
    description: Host name of the controller (module M(npl.nginx_proxy_lab.nginx_lab_run) returns it).
    type: str
  controller_pid:
    description: PID of the controller's ansible-playbook process.
    type: int
  controller_start:
    description: Start time of that process in clock ticks (tells a reused PID apart).
    type: int
  stale_after_s:
    description: Seconds without news after which a remote controller's run counts as gone.
    type: float
    default: 900
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Hold the host for this run
  nginx_lab_lock:
    state: held
    run_id: "{{ npl_run_id }}"
"""

RETURN = r"""
reaped:
  description: Leftovers of killed cases that were undone, one item each (kind journal, namespace, folder or
    malformed-journal, with the journal file, the namespaces, paths and restored sysctls, what was refused, and
    any problems).
  returned: when state is held
  type: list
  elements: dict
taken_over:
  description: The lock of a dead run that was replaced, if any.
  returned: when state is held
  type: dict
set_aside:
  description:
    - When the lock file was not a lock document (C(path), C(moved_to), C(why)); it was renamed aside and the host
      taken. A malformed guardian journal is renamed aside the same way and reported in I(reaped).
  returned: when state is held
  type: dict
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import hostlock, reaper

ARGUMENT_SPEC = dict(
    state=dict(type="str", required=True, choices=["held", "released"]),
    run_id=dict(type="str", required=True),
    controller_host=dict(type="str"),
    controller_pid=dict(type="int"),
    controller_start=dict(type="int"),
    stale_after_s=dict(type="float", default=900),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    started = time.monotonic()
    if module.check_mode:
        module.exit_json(changed=False, elapsed=0.0)
    if p["state"] == "released":
        module.exit_json(changed=hostlock.release(p["run_id"]), elapsed=round(time.monotonic() - started, 3))
    try:
        took = hostlock.hold(p["run_id"], p["controller_host"], p["controller_pid"], p["controller_start"],
                             p["stale_after_s"])
    except hostlock.Held as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    except OSError as exc:
        module.fail_json(msg="cannot write the host lock in %s: %s: check that /run is writable on this host"
                         % (os.path.dirname(hostlock.LOCK), exc.strerror), elapsed=round(time.monotonic() - started, 3))
    if took["set_aside"]:
        module.warn("the host lock %s was malformed (%s) and was renamed to %s; this run holds the host now"
                    % (took["set_aside"]["path"], took["set_aside"]["why"], took["set_aside"]["moved_to"]))
    if took["taken_over"]:
        module.warn("took over the lock of run %s, which is gone" % took["taken_over"].get("run_id"))
    reaped = reaper.reap()
    undone, alarms = reaper.describe(reaped)
    if undone:
        module.warn("undid what killed cases left on this host: %s" % undone)
    for alarm in alarms:
        module.warn(alarm)
    module.exit_json(changed=True, taken_over=took["taken_over"], set_aside=took["set_aside"], reaped=reaped,
                     elapsed=round(time.monotonic() - started, 3))


if __name__ == "__main__":
    main()
