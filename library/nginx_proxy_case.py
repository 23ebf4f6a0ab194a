#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: run one nginx-proxy-lab case on the target and return its result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_proxy_case
short_description: Run one nginx reverse-proxy case against a misbehaving Unix-socket upstream and sample /proc
description:
  - Creates a private network namespace (default), sets C(net.core.somaxconn) inside it, starts the
    upstream program in one of five modes and a private nginx instance in front of it, runs N
    concurrent clients, and samples C(/proc/net/unix), the listener queue (sock_diag), nginx
    stub_status and nginx memory while they run.
  - Everything the case creates (processes, namespace, files, sysctl changes) is removed when the case
    ends, fails, is interrupted, or the module process is killed; a watchdog process sees to it.
  - The result document is described in docs/result-schema.md.
options:
  case:
    description: Name of the case, recorded in the result.
    type: str
    required: true
  mode:
    description: Behaviour of the upstream.
    type: str
    required: true
    choices: [ok, no-accept, no-read, no-write, no-close]
  isolation:
    description:
      - C(netns) runs the case in a private network namespace. C(host) uses the host's own network stack
        and sysctls (restored afterwards); only for disposable VMs.
    type: str
    default: netns
    choices: [netns, host]
  somaxconn:
    description: net.core.somaxconn in force when the upstream calls listen().
    type: int
    default: 4096
  somaxconn_after_listen:
    description: If set, net.core.somaxconn is changed to this value after the upstream and nginx listen.
    type: int
  upstream_backlog:
    description: Backlog the upstream passes to listen(); the kernel caps it at somaxconn.
    type: int
    default: 4096
  upstream_content_length:
    description: Add a Content-Length header to the upstream's 200 (the research sent none).
    type: bool
    default: false
  upstream_binary:
    description: Path of the upstream program built by the lab_upstream role.
    type: path
    default: /opt/nginx-proxy-lab/bin/upstream
  nginx_binary:
    description: Path of the nginx binary.
    type: path
    default: /usr/sbin/nginx
  nginx_port:
    description: Loopback port nginx listens on.
    type: int
    default: 80
  nginx_backlog:
    description: backlog= of nginx's listen directive; nginx's default (511) when unset.
    type: int
  worker_processes:
    description: nginx worker_processes.
    type: int
    default: 1
  worker_connections:
    description: nginx worker_connections.
    type: int
    default: 256
  worker_rlimit_nofile:
    description: nginx worker_rlimit_nofile, unset by default.
    type: int
  keepalive_timeout:
    description: nginx keepalive_timeout in seconds.
    type: int
    default: 10
  proxy_buffering:
    description: nginx proxy_buffering.
    type: bool
    default: false
  proxy_timeout:
    description: proxy_connect_timeout, proxy_send_timeout and proxy_read_timeout, in seconds.
    type: float
    default: 5
  nginx_default_timeouts:
    description: Leave the proxy timeouts at nginx's defaults (60 s) instead of I(proxy_timeout).
    type: bool
    default: false
  proxy_locations:
    description: Number of proxy_pass locations in the configuration.
    type: int
    default: 1
  client_max_body_size:
    description: nginx client_max_body_size (nginx's default, 1m, when unset).
    type: str
  client_body_buffer_size:
    description: nginx client_body_buffer_size (nginx's default when unset).
    type: str
  error_log_level:
    description: Level of the case's nginx error log.
    type: str
    default: info
    choices: [debug, info, notice, warn, error, crit]
  stub_status_path:
    description: Location of stub_status.
    type: str
    default: /stats
  clients:
    description: Number of concurrent clients.
    type: int
    default: 100
  client_mode:
    description: C(python) (asyncio sockets, holds 10,000+ connections) or C(curl) (one curl process per client).
    type: str
    default: python
    choices: [python, curl]
  request_method:
    description: HTTP method of the clients' requests.
    type: str
    default: GET
    choices: [GET, POST]
  request_path:
    description: Path the clients request.
    type: str
    default: /
  request_body_bytes:
    description: Size of a random request body sent by each client (0 for none).
    type: int
    default: 0
  client_timeout:
    description: Seconds after which a client gives up; defaults to I(deadline) minus one second.
    type: float
  deadline:
    description: Seconds after the clients start by which the case ends, whatever the clients do.
    type: float
    default: 30
  settle_s:
    description: Seconds sampled before the clients start.
    type: float
    default: 0.3
  tail_s:
    description: Seconds sampled after the clients end.
    type: float
    default: 0.5
  strace:
    description:
      - C(startup) runs nginx under C(strace -f) from exec on (its listen() calls); C(workers) attaches
        strace to the workers for the client phase (per-request system calls). The output is parsed
        into the result's C(meta.strace).
    type: str
    default: none
    choices: [none, startup, workers]
  unix_interval_ms:
    description: Sampling interval of /proc/net/unix and sock_diag, in milliseconds.
    type: float
    default: 10
  stub_interval_ms:
    description: Sampling interval of stub_status and nginx memory, in milliseconds.
    type: float
    default: 100
  sampler_nice:
    description:
      - Nice value of the two sampling threads (-20..19). 0, the default, leaves them at the priority
        of nginx and the upstream. Below 0 they sample steadily on an overloaded host, but they take
        the CPU from nginx while they do (on a 2-CPU TCG VM at -10, nginx needed up to 1.2 s for
        case 1's requests instead of 0.03 s).
    type: int
    default: 0
  client_nice:
    description:
      - Nice value (0..19) of the load generator and every curl process it starts. Above 0 the clients yield the
        CPU to nginx, the upstream and the samplers; on a one-CPU emulated VM 100 curl processes at 0 starved the
        samplers (one sample every 0.27 s where 0.01 s was asked).
    type: int
    default: 0
  repetition:
    description: Which repetition of the case this is (1 for the first), recorded in the result's C(meta.repetition).
    type: int
    default: 1
  run_id:
    description:
      - The run this case belongs to. When set, the case refuses to start unless that run holds the host
        (module M(nginx_lab_lock)), and stamps the lock with the time by which it will have ended.
    type: str
author:
  - nginx-proxy-lab developers
"""

EXAMPLES = r"""
- name: Case 2, an upstream that never accepts
  nginx_proxy_case:
    case: case2-no-accept
    mode: no-accept
  register: case2

- name: somaxconn 8 and 32 clients, on a disposable VM's own stack
  nginx_proxy_case:
    case: lab-somaxconn-8
    mode: no-accept
    somaxconn: 8
    clients: 32
    isolation: host
"""

RETURN = r"""
case_result:
  description: The result document (schema in docs/result-schema.md).
  returned: success
  type: dict
summary_line:
  description: One line with the case's state shares and client outcomes.
  returned: success
  type: str
elapsed:
  description: Seconds the case took, start to clean-up.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.nginx_lab import case as lab_case
from ansible.module_utils.nginx_lab import hostlock
from ansible.module_utils.nginx_lab.params import ARGUMENT_SPEC, complete



def summary_line(result):
    s = result["summary"]
    states = " ".join("%s:%s%%" % (code, pct) for code, pct in s["unix_states_pct"].items() if pct)
    outcomes = " ".join("%s×%d" % (k, v) for k, v in s["clients"]["status_counts"].items())
    lat = s["clients"]["latency_s"]
    validity = result["meta"].get("validity") or {}
    invalid = "" if validity.get("valid", True) else " | INVALID: " + "; ".join(validity.get("problems", []))
    return "%s [%s] states %s | queue peak %s backlog %s | active peak %s | clients %s | latency median %ss max %ss%s" % (
        result["meta"]["case"], result["meta"]["kernel"], states or "-", s["queue_len_peak"], s["backlog"],
        s["active_peak"], outcomes, lat["median"], lat["max"], invalid)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = complete(module.params)
    started = time.monotonic()
    if module.check_mode:
        errors = lab_case.validate(params)
        if errors:
            module.fail_json(msg="; ".join(errors), elapsed=0.0)
        module.exit_json(changed=False, elapsed=0.0)
    try:
        stamp = None
        if params["run_id"]:
            busy_s = params["deadline"] + params["settle_s"] + params["tail_s"] + 60
            stamp = lambda: hostlock.stamp(params["run_id"], busy_s)  # noqa: E731
        result = lab_case.run(params, before=stamp)
    except (lab_case.CaseError, hostlock.Held) as exc:
        module.fail_json(msg=str(exc), elapsed=round(time.monotonic() - started, 3))
    for warning in result["meta"]["warnings"]:
        module.warn(warning)
    module.exit_json(changed=True, case_result=result, summary_line=summary_line(result),
                     elapsed=round(time.monotonic() - started, 3))


if __name__ == "__main__":
    main()
