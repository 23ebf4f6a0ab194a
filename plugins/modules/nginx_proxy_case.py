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
    upstream program in one of its modes (ok, no-accept, no-read, no-write, no-close, delay, keepalive) and a private
    nginx instance in front of it, runs N
    concurrent clients, and samples C(/proc/net/unix), the listener queue (sock_diag), nginx
    stub_status and nginx memory while they run.
  - Everything the case creates (processes, namespace, files, sysctl changes) is removed when the case
    ends, fails, is interrupted, or the module process is killed; a watchdog process sees to it.
  - The result document is described in docs/result-schema.md.
  # BEGIN options, generated from plugins/module_utils/runtime/params.py (judge/module_docs.py --write)
options:
  case:
    description: Name of the case, recorded in the result.
    type: str
    required: true
  mode:
    description:
    - Behaviour of the upstream. The research's five; C(delay) reads each request and answers 200 after I(upstream_delay_ms),
      every connection in its own thread (the operator-article labs' slow upstream); C(keepalive) answers every request
      of a connection with HTTP/1.1 and a Content-Length (after I(upstream_delay_ms)) until the peer closes or a request
      is HTTP/1.0 or asks to close.
    - In every mode the upstream records each accept (with the connecting worker's PID), each request's first byte and
      end, and each close; the result's C(upstream) field holds them.
    type: str
    required: true
    choices: [ok, no-accept, no-read, no-write, no-close, delay, keepalive]
  isolation:
    description: C(netns) runs the case in a private network namespace. C(host) uses the host's own network stack and
      sysctls (restored afterwards); only for disposable VMs.
    type: str
    default: netns
    choices: [netns, host]
  somaxconn:
    description:
    - net.core.somaxconn in force when the upstream calls listen().
    - From 1 to 2147483647; any other value is refused before anything runs.
    type: int
    default: 4096
  somaxconn_after_listen:
    description:
    - If set, net.core.somaxconn is changed to this value after the upstream and nginx listen.
    - From 1 to 2147483647; any other value is refused before anything runs.
    type: int
  upstream_backlog:
    description:
    - Backlog the upstream passes to listen(); the kernel caps it at somaxconn.
    - From 1 to 2147483647; any other value is refused before anything runs.
    type: int
    default: 4096
  upstream_content_length:
    description: Add a Content-Length header to the upstream's 200 (the research sent none).
    type: bool
    default: false
  upstream_delay_ms:
    description:
    - Milliseconds the C(delay) and C(keepalive) upstreams wait between reading a request and answering.
    - From 0 to 3600000; any other value is refused before anything runs.
    type: int
    default: 1000
  upstream_release_s:
    description:
    - Seconds after the clients end at which the case tells the upstream (SIGUSR1) to close every connection it holds,
      where its mode keeps them (mode no-read, no-write or no-close); the upstream records each close. Without it the
      upstream holds them until the case ends. The tail (I(tail_s)) follows the release.
    - From 0 to 600; any other value is refused before anything runs.
    type: float
  upstream_binary:
    description: Path of the upstream program built by the lab_upstream role.
    type: path
    default: /opt/nginx-proxy-lab/bin/upstream
  nginx_binary:
    description:
    - Path of the nginx binary.
    - A build of the kit (under the lab_nginx role's prefix) must still be what its stamp records, or the case is refused
      before anything changes, naming what differs.
    type: path
    default: /usr/sbin/nginx
  nginx_version_expected:
    description:
    - The release number C(nginx -v) of I(nginx_binary) must print, or the case is refused before anything changes.
    - Set by the kit for every case of a run over nginx releases, so that a column is never another release's.
    - An nginx release number (C(1.22.1)).
    type: str
  nginx_port:
    description:
    - Loopback port nginx listens on.
    - From 1 to 65535; any other value is refused before anything runs.
    type: int
    default: 80
  nginx_backlog:
    description:
    - backlog= of nginx's listen directive; nginx's default (511) when unset.
    - The kernel caps it at net.core.somaxconn (I(somaxconn)) when nginx listens; the result says what the listener got
      (C(meta.nginx_listener.backlog)) and the case warns when it is less than asked.
    - From 1 to 2147483647; any other value is refused before anything runs.
    type: int
  listen_reuseport:
    description: Add C(reuseport) to nginx's listen directive, so that every worker has a listening socket of its own
      and the kernel spreads new connections over them by a hash of their addresses.
    type: bool
    default: false
  worker_processes:
    description:
    - nginx worker_processes.
    - From 1 to 64; any other value is refused before anything runs.
    type: int
    default: 1
  worker_connections:
    description:
    - nginx worker_connections.
    - From 1 to 1048576; any other value is refused before anything runs.
    type: int
    default: 256
  worker_rlimit_nofile:
    description:
    - nginx worker_rlimit_nofile, unset by default.
    - From 1 to 1048576; any other value is refused before anything runs.
    type: int
  accept_mutex:
    description: nginx accept_mutex. C(default) leaves the directive out (nginx 1.22's default is C(off), with EPOLLEXCLUSIVE
      where the kernel has it); C(on) and C(off) write it.
    type: str
    default: default
    choices: [default, 'on', 'off']
  accept_mutex_delay_ms:
    description:
    - nginx accept_mutex_delay in milliseconds (nginx's default, 500, when unset), how long a worker without the accept
      mutex waits before it tries again.
    - From 1 to 60000; any other value is refused before anything runs.
    type: int
  listen_deferred:
    description:
    - Add C(deferred) to nginx's listen directive (TCP_DEFER_ACCEPT). The kernel hands nginx a connection only once its
      first data has arrived, so nginx reads the request as it accepts and the connection is never waiting for it (nginx
      drains only such waiting, reusable connections when its slots run out).
    - nginx asks the kernel to wait for that data one second only, so C(request) clients then send their request in the
      thread that connects, the moment it connects, however busy the load generator is.
    type: bool
    default: false
  keepalive_timeout:
    description:
    - nginx keepalive_timeout in seconds (the research's 10); see I(omit_directives) for nginx's default.
    - From 0 to 86400; any other value is refused before anything runs.
    type: int
    default: 10
  keepalive_requests:
    description:
    - nginx keepalive_requests; not written when unset, so nginx's default applies.
    - From 1 to 1000000; any other value is refused before anything runs.
    type: int
  omit_directives:
    description: Directives of the research's configuration to leave out, so that nginx's own default applies.
    type: list
    elements: str
    default: []
    choices: [keepalive_timeout]
  client_header_timeout:
    description:
    - nginx client_header_timeout in seconds; nginx's default (60 s) when unset. The idle labs raise it, since on an
      emulated VM the load generator can take more than a minute to send its 10,000th request.
    - From 1 to 86400; any other value is refused before anything runs.
    type: int
  proxy_buffering:
    description: nginx proxy_buffering.
    type: bool
    default: false
  proxy_request_buffering:
    description: nginx proxy_request_buffering (nginx's default, on, writes nothing).
    type: bool
    default: true
  proxy_http_version:
    description: nginx proxy_http_version, the HTTP version of requests to the upstream; unset writes nothing, so nginx's
      own default applies, as in the research's set-up (1.0 before nginx 1.29.7, 1.1 since, when nginx also keeps 32
      idle upstream connections per worker and stops sending "Connection close" by default).
    type: str
    choices: ['1.0', '1.1']
  proxy_clear_connection:
    description: Send the upstream an empty Connection header instead of nginx's default C(close), as upstream keep-alive
      needs.
    type: bool
    default: false
  upstream_keepalive:
    description:
    - Unset writes no keepalive directive, so nginx's default applies (none before 1.29.7; keepalive 32 local since).
    - The upstream block's keepalive, the idle upstream connections each worker may keep; none when unset.
    - From 1 to 100000; any other value is refused before anything runs.
    type: int
  proxy_timeout:
    description:
    - proxy_connect_timeout, proxy_send_timeout and proxy_read_timeout, in seconds.
    - From 0.1 to 3600; any other value is refused before anything runs.
    type: float
    default: 5
  nginx_default_timeouts:
    description: Leave the proxy timeouts at nginx's defaults (60 s) instead of I(proxy_timeout).
    type: bool
    default: false
  proxy_locations:
    description:
    - Number of proxy_pass locations in the configuration.
    - From 1 to 100; any other value is refused before anything runs.
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
    description:
    - Number of concurrent clients.
    - From 1 to 100000; any other value is refused before anything runs.
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
    description:
    - Size of a random request body sent by each client (0 for none).
    - From 0 to 1073741824; any other value is refused before anything runs.
    type: int
    default: 0
  client_timeout:
    description:
    - Seconds after which a client gives up; defaults to I(deadline) minus one second.
    - From 0.1 to 86400; any other value is refused before anything runs.
    type: float
  client_behaviour:
    description:
    - C(request) sends one request and reads until the server closes (the research). C(hold-idle) connects and sends
      nothing; C(hold-partial) sends the request line and Host header of a request whose header block never ends (nginx
      is reading it, so the connection is not reusable and never closed to make room); C(keepalive-idle) sends one HTTP/1.1
      keep-alive request to nginx's own C(/npl-keepalive) location (a 204, no upstream), reads the answer, then stays
      idle. All three hold the connection for I(client_hold_s) and note when the server closed it.
    - C(keepalive-requests) sends I(client_requests) HTTP/1.1 keep-alive requests for I(request_path) one after another
      on one connection, reading each answer, and notes how many were answered and when the server closed (I(request_path)
      C(/npl-keepalive) is answered by nginx itself).
    - C(trickle-headers) and C(trickle-body) send one request whose header block, or body, goes out I(client_trickle_bytes)
      at a time every I(client_trickle_interval_ms), and note when the last byte went.
    type: str
    default: request
    choices: [request, hold-idle, hold-partial, keepalive-idle, keepalive-requests, trickle-headers, trickle-body]
  client_ramp_s:
    description:
    - Seconds over which the clients start, evenly spaced (0 starts them all at once).
    - From 0 to 600; any other value is refused before anything runs.
    type: float
    default: 0
  client_hold_s:
    description:
    - Seconds the C(hold-idle) or C(keepalive-idle) clients stay idle once the last of them is set up (connected, and
      answered for C(keepalive-idle)), so all are held together this long however slowly the host opens them. 0 with
      C(request).
    - From 0 to 86400; any other value is refused before anything runs.
    type: float
    default: 0
  client_requests:
    description:
    - Requests each C(keepalive-requests) client sends on its connection.
    - From 1 to 100000; any other value is refused before anything runs.
    type: int
    default: 1
  client_trickle_bytes:
    description:
    - Bytes a trickling client sends at a time.
    - From 1 to 1048576; any other value is refused before anything runs.
    type: int
    default: 1
  client_trickle_interval_ms:
    description:
    - Milliseconds between a trickling client's pieces.
    - From 1 to 60000; any other value is refused before anything runs.
    type: float
    default: 100
  client_pause_s:
    description:
    - Seconds a C(request) client waits between connecting and sending its request (nginx holds the connection meanwhile
      as one waiting for its request), or a C(keepalive-requests) client between one answer and its next request (the
      connection is an idle keep-alive one meanwhile).
    - From 0 to 600; any other value is refused before anything runs.
    type: float
    default: 0
  actions:
    description:
    - Things done to the case at given times after the clients start. C(stop-workers) stops every nginx worker (SIGSTOP)
      for I(seconds), then continues them; a stopped worker is continued whatever happens to the case.
    - C(reload) writes the case's next configuration over its nginx.conf (I(config) C(changed) is the same with the response
      header X-NPL-Config 2 instead of 1; C(broken) adds a directive nginx does not know) and sends the master SIGHUP,
      as nginx -s reload does. The workers before and a second after are recorded; the clients record which configuration
      answered each of them.
    type: list
    elements: dict
    default: []
    suboptions:
      at_s:
        description: Seconds after the clients start.
        type: float
        required: true
      action:
        description: What to do.
        type: str
        required: true
        choices: [stop-workers, reload]
      seconds:
        description: How long C(stop-workers) lasts (more than 0, at most 600; it must end before the case deadline).
          Not for C(reload).
        type: float
      config:
        description: The configuration C(reload) loads.
        type: str
        choices: [changed, broken]
  deadline:
    description:
    - Seconds after the clients start by which the case ends, whatever the clients do.
    - From 1 to 86400; any other value is refused before anything runs.
    type: float
    default: 30
  settle_s:
    description:
    - Seconds sampled before the clients start.
    - From 0 to 60; any other value is refused before anything runs.
    type: float
    default: 0.3
  tail_s:
    description:
    - Seconds sampled after the clients end.
    - From 0 to 60; any other value is refused before anything runs.
    type: float
    default: 0.5
  strace:
    description: C(startup) runs nginx under C(strace -f) from exec on (its listen() calls); C(workers) attaches strace
      to the workers for the client phase (per-request system calls). The output is parsed into the result's C(meta.strace).
    type: str
    default: none
    choices: [none, startup, workers]
  trace_connects:
    description:
    - Record when each nginx worker connects to the upstream with the kernel's own tracer (an ftrace instance of the
      case's, event sys_exit_connect filtered to the workers, on CLOCK_MONOTONIC like the upstream's events), in the
      result's C(connects). With the upstream's accepts and closes this gives every upstream-path line's life in /proc/net/unix
      exactly, without sampling.
    - Uses tracefs where the host mounts it, else mounts it in a mount namespace of a helper process of its own; the
      instance is removed whatever happens. A host whose kernel cannot trace says so in C(meta.connect_trace_error).
    type: bool
    default: false
  unix_interval_ms:
    description:
    - Sampling interval of /proc/net/unix and sock_diag, in milliseconds.
    - From 1 to 10000; any other value is refused before anything runs.
    type: float
    default: 10
  stub_interval_ms:
    description:
    - Sampling interval of stub_status and nginx memory, in milliseconds.
    - From 10 to 60000; any other value is refused before anything runs.
    type: float
    default: 100
  stub_status_sampling:
    description: C(during) polls stub_status every I(stub_interval_ms) while the clients run. C(after) reads it once,
      after the clients ended, and not during, because every poll is a connection to the listener the clients contend
      for (it takes a slot, moves C(accepts) and resets the worker's ngx_accept_disabled); labs of the accept path read
      the counters after the fact. nginx's memory and descriptors are sampled either way.
    type: str
    default: during
    choices: [during, after]
  sampler_nice:
    description:
    - Nice value of the two sampling threads. 0, the default, leaves them at the priority of nginx and the upstream.
      Below 0 they sample steadily on an overloaded host, but they take the CPU from nginx while they do (on a 2-CPU
      TCG VM at -10, nginx needed up to 1.2 s for case 1's requests instead of 0.03 s).
    - From -20 to 19; any other value is refused before anything runs.
    type: int
    default: 0
  client_nice:
    description:
    - Nice value of the load generator and every curl process it starts. Above 0 the clients yield the CPU to nginx,
      the upstream and the samplers; on a one-CPU emulated VM 100 curl processes at 0 starved the samplers (one sample
      every 0.27 s where 0.01 s was asked).
    - From 0 to 19; any other value is refused before anything runs.
    type: int
    default: 0
  run_id:
    description: The run this case belongs to. When set, the case refuses to start unless that run holds the host (module
      M(npl.nginx_proxy_lab.nginx_lab_lock)), and stamps the lock with the time by which it will have ended.
    type: str
  repetition:
    description:
    - Which repetition of the case this is (1 for the first), recorded in the result's C(meta.repetition).
    - From 1 to 1000; any other value is refused before anything runs.
    type: int
    default: 1
  save_as:
    description: Path on the controller where the action plugin writes the result document (atomically, parent folders
      created) as soon as the case ends, as M(ansible.builtin.fetch) writes its C(dest). C(case_result) is then left
      out of the returned values, so a run's memory does not grow with its results.
    type: path
  pace_retries:
    description:
    - How many more times the action plugin runs the case when it came out invalid only for the host's pace (C(meta.validity.retryable),
      such as a sampler that fell behind or a ramp the host could not keep). A case invalid for its own failure (a process
      that died, a load generator without its records, a host out of room) is never run again.
    - Each spoiled try is kept beside the result, in C(tries/<name>.t<try>.json) (with I(save_as)), and listed in the
      result's C(meta.tries) with its problems; the verdicts read only the final result.
    - From 0 to 5; any other value is refused before anything runs.
    type: int
    default: 0
  # END options
notes:
  - The action plugin of the same name checks the arguments on the controller, then runs the case on the target
    through a few lines of Python fed the kit's target package (plugins/module_utils/runtime) as a zip on stdin
    (C(npl-runner) in C(ps)), which saves this module's start-up (about 2.3 s of CPU per case on an emulated VM);
    in check mode, or with C(NPL_CASE_VIA_MODULE=1) in the environment, this module runs instead. Both run the same
    code (module_utils C(runtime.case_entry)).
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Case 2, an upstream that never accepts
  nginx_proxy_case:
    case: case2-no-accept
    mode: no-accept
  register: case2

- name: Case 3, its result written on the controller as soon as it ends
  nginx_proxy_case:
    case: case3-no-read
    mode: no-read
    save_as: "results/manual/{{ inventory_hostname }}/case3-no-read.json"

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
  returned: success, when I(save_as) is not given
  type: dict
saved_to:
  description: Where the result document was written on the controller.
  returned: success, when I(save_as) is given
  type: str
runner:
  description: How the case ran on the target, C(runner) (the kit's runner) or C(module) (this module).
  returned: always
  type: str
summary_line:
  description: One line with the case's state shares and client outcomes.
  returned: success
  type: str
elapsed:
  description: Seconds the case took, start to clean-up.
  returned: always
  type: float
tries:
  description: How many times the case ran (1, or more when the host's pace spoiled a try and I(pace_retries) allowed another).
  returned: when the action plugin ran the case
  type: int
valid:
  description: Whether the (last) try ran as designed (C(meta.validity.valid) of the result).
  returned: when the action plugin ran the case
  type: bool
earlier_tries:
  description: The tries spoiled by the host's pace, each with C(attempt), C(problems) and where it was kept (C(saved_as)).
  returned: when the action plugin ran the case
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case as lab_case
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case_entry
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.params import ARGUMENT_SPEC, CONTROLLER_OPTIONS, complete


def main():
    module = AnsibleModule(argument_spec=dict(ARGUMENT_SPEC, **CONTROLLER_OPTIONS), supports_check_mode=True)
    params = complete({k: v for k, v in module.params.items() if k not in CONTROLLER_OPTIONS})
    if module.check_mode:
        errors = lab_case.validate(params)
        if errors:
            module.fail_json(msg="; ".join(errors), elapsed=0.0)
        module.exit_json(changed=False, elapsed=0.0)
    outcome = case_entry.run_case(params)
    if outcome.pop("failed"):
        module.fail_json(**outcome)
    for warning in outcome.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=True, **outcome)


if __name__ == "__main__":
    main()
