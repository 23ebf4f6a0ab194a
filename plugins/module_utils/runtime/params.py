"""The case runner's parameters: the module's argument spec with the bounds, grammar and description of every option.

This is the single source of what a valid case is and of the case module's option documentation (generated from it). The module (plugins/modules/nginx_proxy_case.py) validates
with it on the target; the validate play runs the same checks (plugins/modules/nginx_lab_validate.py) for every
selected case before any host is provisioned. `check()` needs nothing but the parameters;
`check_host()` compares what a case will need with what the host has.
"""

import re

MODES = ("ok", "no-accept", "no-read", "no-write", "no-close", "delay", "keepalive")
# The modes whose upstream keeps every connection it accepted (until upstream_release_s lets them go).
HOLDING_MODES = ("no-read", "no-write", "no-close")
# What each client does: one request read until the server closes (the research), or hold its connection
# open for client_hold_s, idle from the start (hold-idle), after the first line and Host header of a request whose
# header block never ends (hold-partial: nginx is reading it, so the connection is not reusable), or after one
# keep-alive request (keepalive-idle);
# client_requests keep-alive requests one after another on one connection (keepalive-requests); or one request
# whose headers or body it sends client_trickle_bytes at a time, every client_trickle_interval_ms.
HOLD_BEHAVIOURS = ("hold-idle", "hold-partial", "keepalive-idle")
TRICKLE_BEHAVIOURS = ("trickle-headers", "trickle-body")
CLIENT_BEHAVIOURS = ("request",) + HOLD_BEHAVIOURS + ("keepalive-requests",) + TRICKLE_BEHAVIOURS
# Directives of the research's configuration a case can leave out, so that nginx's own default applies.
OMITTABLE = ("keepalive_timeout",)
# Case actions at a given time (plugins/module_utils/case_actions.py).
ACTIONS = ("stop-workers", "reload")
# The configurations a reload action can load: the case's own with a response header that tells it from the
# first (changed), or that with a directive nginx does not know (broken).
RELOAD_CONFIGS = ("changed", "broken")
INT_MAX = 2 ** 31 - 1

ARGUMENT_SPEC = dict(
    case=dict(type="str", required=True),
    mode=dict(type="str", required=True, choices=list(MODES)),
    isolation=dict(type="str", default="netns", choices=["netns", "host"]),
    somaxconn=dict(type="int", default=4096),
    somaxconn_after_listen=dict(type="int"),
    upstream_backlog=dict(type="int", default=4096),
    upstream_content_length=dict(type="bool", default=False),
    upstream_delay_ms=dict(type="int", default=1000),
    upstream_release_s=dict(type="float"),
    upstream_binary=dict(type="path", default="/opt/nginx-proxy-lab/bin/upstream"),
    nginx_binary=dict(type="path", default="/usr/sbin/nginx"),
    nginx_version_expected=dict(type="str"),
    nginx_port=dict(type="int", default=80),
    nginx_backlog=dict(type="int"),
    listen_reuseport=dict(type="bool", default=False),
    worker_processes=dict(type="int", default=1),
    worker_connections=dict(type="int", default=256),
    worker_rlimit_nofile=dict(type="int"),
    accept_mutex=dict(type="str", default="default", choices=["default", "on", "off"]),
    accept_mutex_delay_ms=dict(type="int"),
    listen_deferred=dict(type="bool", default=False),
    keepalive_timeout=dict(type="int", default=10),
    keepalive_requests=dict(type="int"),
    omit_directives=dict(type="list", elements="str", default=[], choices=list(OMITTABLE)),
    client_header_timeout=dict(type="int"),
    proxy_buffering=dict(type="bool", default=False),
    proxy_request_buffering=dict(type="bool", default=True),
    proxy_http_version=dict(type="str", choices=["1.0", "1.1"]),
    proxy_clear_connection=dict(type="bool", default=False),
    upstream_keepalive=dict(type="int"),
    proxy_timeout=dict(type="float", default=5),
    nginx_default_timeouts=dict(type="bool", default=False),
    proxy_locations=dict(type="int", default=1),
    client_max_body_size=dict(type="str"),
    client_body_buffer_size=dict(type="str"),
    error_log_level=dict(type="str", default="info", choices=["debug", "info", "notice", "warn", "error", "crit"]),
    stub_status_path=dict(type="str", default="/stats"),
    clients=dict(type="int", default=100),
    client_mode=dict(type="str", default="python", choices=["python", "curl"]),
    request_method=dict(type="str", default="GET", choices=["GET", "POST"]),
    request_path=dict(type="str", default="/"),
    request_body_bytes=dict(type="int", default=0),
    client_timeout=dict(type="float"),
    client_behaviour=dict(type="str", default="request", choices=list(CLIENT_BEHAVIOURS)),
    client_ramp_s=dict(type="float", default=0),
    client_hold_s=dict(type="float", default=0),
    client_requests=dict(type="int", default=1),
    client_trickle_bytes=dict(type="int", default=1),
    client_trickle_interval_ms=dict(type="float", default=100),
    client_pause_s=dict(type="float", default=0),
    actions=dict(type="list", elements="dict", default=[], options=dict(
        at_s=dict(type="float", required=True),
        action=dict(type="str", required=True, choices=list(ACTIONS)),
        seconds=dict(type="float"),
        config=dict(type="str", choices=list(RELOAD_CONFIGS)))),
    deadline=dict(type="float", default=30),
    settle_s=dict(type="float", default=0.3),
    tail_s=dict(type="float", default=0.5),
    strace=dict(type="str", default="none", choices=["none", "startup", "workers"]),
    trace_connects=dict(type="bool", default=False),
    unix_interval_ms=dict(type="float", default=10),
    stub_interval_ms=dict(type="float", default=100),
    stub_status_sampling=dict(type="str", default="during", choices=["during", "after"]),
    sampler_nice=dict(type="int", default=0),
    client_nice=dict(type="int", default=0),
    run_id=dict(type="str"),
    repetition=dict(type="int", default=1),
)
# Options the action plugin handles on the controller (the module accepts and ignores them).
CONTROLLER_OPTIONS = dict(save_as=dict(type="path"), pace_retries=dict(type="int", default=0))

# Inclusive (min, max) of every number. Where the kernel or the host sets the real limit (somaxconn,
# open files, memory), check_host() and the module's own checks add it.
BOUNDS = {
    "somaxconn": (1, INT_MAX),
    "somaxconn_after_listen": (1, INT_MAX),
    "upstream_backlog": (1, INT_MAX),
    "upstream_delay_ms": (0, 3600000),
    "upstream_release_s": (0, 600),
    "nginx_port": (1, 65535),
    "nginx_backlog": (1, INT_MAX),
    "worker_processes": (1, 64),
    "worker_connections": (1, 1048576),
    "worker_rlimit_nofile": (1, 1048576),
    "keepalive_timeout": (0, 86400),
    "keepalive_requests": (1, 1000000),
    "upstream_keepalive": (1, 100000),
    "client_header_timeout": (1, 86400),
    "accept_mutex_delay_ms": (1, 60000),
    # nginx counts timeouts in ms; below 0.1 s a case is over before a 10 ms sampler sees it.
    "proxy_timeout": (0.1, 3600),
    "proxy_locations": (1, 100),
    "clients": (1, 100000),
    # The load generator holds one copy of the body in memory (python) or writes it once (curl).
    "request_body_bytes": (0, 1 << 30),
    "client_timeout": (0.1, 86400),
    "client_ramp_s": (0, 600),
    "client_hold_s": (0, 86400),
    "client_requests": (1, 100000),
    "client_trickle_bytes": (1, 1 << 20),
    "client_trickle_interval_ms": (1, 60000),
    "client_pause_s": (0, 600),
    "deadline": (1, 86400),
    "settle_s": (0, 60),
    "tail_s": (0, 60),
    "unix_interval_ms": (1, 10000),
    "stub_interval_ms": (10, 60000),
    "sampler_nice": (-20, 19),
    "client_nice": (0, 19),
    "repetition": (1, 1000),
    # The action plugin's: how many more times a case spoiled only by the host's pace may run (npl_pace_retries).
    "pace_retries": (0, 5),
}

# Inclusive (min, max) of a run's own sizes: how many times each case runs (npl_repeat) and how many cases run at
# once per host (npl_parallel_slots). nginx_lab_validate refuses others before anything changes; nginx_lab_run holds
# to the same.
RUN_BOUNDS = {"repeat": (1, 100), "slots": (1, 64), "pace_retries": (0, 5)}
# The -e variable of each run size.
RUN_VARIABLES = {"repeat": "npl_repeat", "slots": "npl_parallel_slots", "pace_retries": "npl_pace_retries"}
# What the kit sets in every case itself: a catalogue entry or an override naming them would be ignored or, for
# nginx_version_expected, defeat the check of a release's binary.
KIT_SET = ("case", "repetition", "run_id", "nginx_version_expected")

# Every string that reaches nginx.conf, an HTTP request line or a file name: (pattern, what it is, example).
# The patterns admit no white space, quote, semicolon or brace, so no value can become a directive.
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
URI_PATH = r"/[A-Za-z0-9._~%/-]{0,254}"
NGINX_SIZE = r"[0-9]{1,12}[kKmMgG]?"
GRAMMARS = {
    "run_id": (NAME, "a run id of letters, digits, '.', '_' and '-'", "20261122T040000Z-a1b2c3"),
    "case": (NAME, "a name of letters, digits, '.', '_' and '-' that starts with a letter or digit", "case2-no-accept"),
    "stub_status_path": (URI_PATH, "a URI path of letters, digits and . _ ~ %% / -", "/stats"),
    "request_path": (URI_PATH + r"(\?[A-Za-z0-9._~%&=-]{0,254})?",
                     "a URI path of letters, digits and . _ ~ %% / -, with an optional ?query", "/"),
    "client_max_body_size": (NGINX_SIZE, "an nginx size: digits with an optional k, m or g", "2m"),
    "client_body_buffer_size": (NGINX_SIZE, "an nginx size: digits with an optional k, m or g", "16k"),
    "nginx_version_expected": (r"[0-9]{1,4}(\.[0-9]{1,4}){1,3}", "an nginx release number", "1.22.1"),
}

# What each option does, in paragraphs: the module's documentation is generated from this table and the spec above
# (python -m ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.module_docs --write; a unit test fails
# when plugins/modules/nginx_proxy_case.py is stale). Each number's bounds sentence comes from BOUNDS.
DOCS = {
    "case": [
        "Name of the case, recorded in the result.",
    ],
    "mode": [
        "Behaviour of the upstream. The research's five; C(delay) reads each request and answers 200 after "
        "I(upstream_delay_ms), every connection in its own thread (the operator-article labs' slow upstream); "
        "C(keepalive) answers every request of a connection with HTTP/1.1 and a Content-Length (after "
        "I(upstream_delay_ms)) until the peer closes or a request is HTTP/1.0 or asks to close.",
        "In every mode the upstream records each accept (with the connecting worker's PID), each request's first "
        "byte and end, and each close; the result's C(upstream) field holds them.",
    ],
    "isolation": [
        "C(netns) runs the case in a private network namespace. C(host) uses the host's own network stack and "
        "sysctls (restored afterwards); only for disposable VMs.",
    ],
    "somaxconn": [
        "net.core.somaxconn in force when the upstream calls listen().",
    ],
    "somaxconn_after_listen": [
        "If set, net.core.somaxconn is changed to this value after the upstream and nginx listen.",
    ],
    "upstream_backlog": [
        "Backlog the upstream passes to listen(); the kernel caps it at somaxconn.",
    ],
    "upstream_content_length": [
        "Add a Content-Length header to the upstream's 200 (the research sent none).",
    ],
    "upstream_delay_ms": [
        "Milliseconds the C(delay) and C(keepalive) upstreams wait between reading a request and answering.",
    ],
    "upstream_release_s": [
        "Seconds after the clients end at which the case tells the upstream (SIGUSR1) to close every connection "
        "it holds, where its mode keeps them (mode no-read, no-write or no-close); the upstream records each "
        "close. Without it the upstream holds them until the case ends. The tail (I(tail_s)) follows the release.",
    ],
    "upstream_binary": [
        "Path of the upstream program built by the lab_upstream role.",
    ],
    "nginx_binary": [
        "Path of the nginx binary.",
        "A build of the kit (under the lab_nginx role's prefix) must still be what its stamp records, or the case "
        "is refused before anything changes, naming what differs.",
    ],
    "nginx_version_expected": [
        "The release number C(nginx -v) of I(nginx_binary) must print, or the case is refused before anything "
        "changes.",
        "Set by the kit for every case of a run over nginx releases, so that a column is never another release's.",
        "An nginx release number (C(1.22.1)).",
    ],
    "nginx_port": [
        "Loopback port nginx listens on.",
    ],
    "nginx_backlog": [
        "backlog= of nginx's listen directive; nginx's default (511) when unset.",
        "The kernel caps it at net.core.somaxconn (I(somaxconn)) when nginx listens; the result says what the "
        "listener got (C(meta.nginx_listener.backlog)) and the case warns when it is less than asked.",
    ],
    "listen_reuseport": [
        "Add C(reuseport) to nginx's listen directive, so that every worker has a listening socket of its own and "
        "the kernel spreads new connections over them by a hash of their addresses.",
    ],
    "listen_deferred": [
        "Add C(deferred) to nginx's listen directive (TCP_DEFER_ACCEPT). The kernel hands nginx a connection only "
        "once its first data has arrived, so nginx reads the request as it accepts and the connection is never "
        "waiting for it (nginx drains only such waiting, reusable connections when its slots run out).",
        "nginx asks the kernel to wait for that data one second only, so C(request) clients then send their "
        "request in the thread that connects, the moment it connects, however busy the load generator is.",
    ],
    "worker_processes": [
        "nginx worker_processes.",
    ],
    "worker_connections": [
        "nginx worker_connections.",
    ],
    "worker_rlimit_nofile": [
        "nginx worker_rlimit_nofile, unset by default.",
    ],
    "client_header_timeout": [
        "nginx client_header_timeout in seconds; nginx's default (60 s) when unset. The idle labs raise it, since "
        "on an emulated VM the load generator can take more than a minute to send its 10,000th request.",
    ],
    "accept_mutex": [
        "nginx accept_mutex. C(default) leaves the directive out (nginx 1.22's default is C(off), with "
        "EPOLLEXCLUSIVE where the kernel has it); C(on) and C(off) write it.",
    ],
    "accept_mutex_delay_ms": [
        "nginx accept_mutex_delay in milliseconds (nginx's default, 500, when unset), how long a worker without "
        "the accept mutex waits before it tries again.",
    ],
    "keepalive_timeout": [
        "nginx keepalive_timeout in seconds (the research's 10); see I(omit_directives) for nginx's default.",
    ],
    "keepalive_requests": [
        "nginx keepalive_requests; not written when unset, so nginx's default applies.",
    ],
    "omit_directives": [
        "Directives of the research's configuration to leave out, so that nginx's own default applies.",
    ],
    "proxy_buffering": [
        "nginx proxy_buffering.",
    ],
    "proxy_request_buffering": [
        "nginx proxy_request_buffering (nginx's default, on, writes nothing).",
    ],
    "proxy_http_version": [
        "nginx proxy_http_version, the HTTP version of requests to the upstream; unset writes nothing, so nginx's "
        "own default applies, as in the research's set-up (1.0 before nginx 1.29.7, 1.1 since, when nginx also "
        "keeps 32 idle upstream connections per worker and stops sending \"Connection close\" by default).",
    ],
    "proxy_clear_connection": [
        "Send the upstream an empty Connection header instead of nginx's default C(close), as upstream keep-alive "
        "needs.",
    ],
    "upstream_keepalive": [
        "Unset writes no keepalive directive, so nginx's default applies (none before 1.29.7; keepalive 32 local "
        "since).",
        "The upstream block's keepalive, the idle upstream connections each worker may keep; none when unset.",
    ],
    "proxy_timeout": [
        "proxy_connect_timeout, proxy_send_timeout and proxy_read_timeout, in seconds.",
    ],
    "nginx_default_timeouts": [
        "Leave the proxy timeouts at nginx's defaults (60 s) instead of I(proxy_timeout).",
    ],
    "proxy_locations": [
        "Number of proxy_pass locations in the configuration.",
    ],
    "client_max_body_size": [
        "nginx client_max_body_size (nginx's default, 1m, when unset).",
    ],
    "client_body_buffer_size": [
        "nginx client_body_buffer_size (nginx's default when unset).",
    ],
    "error_log_level": [
        "Level of the case's nginx error log.",
    ],
    "stub_status_path": [
        "Location of stub_status.",
    ],
    "clients": [
        "Number of concurrent clients.",
    ],
    "client_mode": [
        "C(python) (asyncio sockets, holds 10,000+ connections) or C(curl) (one curl process per client).",
    ],
    "request_method": [
        "HTTP method of the clients' requests.",
    ],
    "request_path": [
        "Path the clients request.",
    ],
    "request_body_bytes": [
        "Size of a random request body sent by each client (0 for none).",
    ],
    "client_timeout": [
        "Seconds after which a client gives up; defaults to I(deadline) minus one second.",
    ],
    "client_behaviour": [
        "C(request) sends one request and reads until the server closes (the research). C(hold-idle) connects and "
        "sends nothing; C(hold-partial) sends the request line and Host header of a request whose header block "
        "never ends (nginx is reading it, so the connection is not reusable and never closed to make room); "
        "C(keepalive-idle) sends one HTTP/1.1 keep-alive request to nginx's own C(/npl-keepalive) location (a "
        "204, no upstream), reads the answer, then stays idle. All three hold the connection for I(client_hold_s) "
        "and note when the server closed it.",
        "C(keepalive-requests) sends I(client_requests) HTTP/1.1 keep-alive requests for I(request_path) one "
        "after another on one connection, reading each answer, and notes how many were answered and when the "
        "server closed (I(request_path) C(/npl-keepalive) is answered by nginx itself).",
        "C(trickle-headers) and C(trickle-body) send one request whose header block, or body, goes out "
        "I(client_trickle_bytes) at a time every I(client_trickle_interval_ms), and note when the last byte went.",
    ],
    "client_ramp_s": [
        "Seconds over which the clients start, evenly spaced (0 starts them all at once).",
    ],
    "client_hold_s": [
        "Seconds the C(hold-idle) or C(keepalive-idle) clients stay idle once the last of them is set up "
        "(connected, and answered for C(keepalive-idle)), so all are held together this long however slowly the "
        "host opens them. 0 with C(request).",
    ],
    "client_requests": [
        "Requests each C(keepalive-requests) client sends on its connection.",
    ],
    "client_trickle_bytes": [
        "Bytes a trickling client sends at a time.",
    ],
    "client_trickle_interval_ms": [
        "Milliseconds between a trickling client's pieces.",
    ],
    "client_pause_s": [
        "Seconds a C(request) client waits between connecting and sending its request (nginx holds the connection "
        "meanwhile as one waiting for its request), or a C(keepalive-requests) client between one answer and its "
        "next request (the connection is an idle keep-alive one meanwhile).",
    ],
    "actions": [
        "Things done to the case at given times after the clients start. C(stop-workers) stops every nginx worker "
        "(SIGSTOP) for I(seconds), then continues them; a stopped worker is continued whatever happens to the "
        "case.",
        "C(reload) writes the case's next configuration over its nginx.conf (I(config) C(changed) is the same "
        "with the response header X-NPL-Config 2 instead of 1; C(broken) adds a directive nginx does not know) "
        "and sends the master SIGHUP, as nginx -s reload does. The workers before and a second after are "
        "recorded; the clients record which configuration answered each of them.",
    ],
    "deadline": [
        "Seconds after the clients start by which the case ends, whatever the clients do.",
    ],
    "settle_s": [
        "Seconds sampled before the clients start.",
    ],
    "tail_s": [
        "Seconds sampled after the clients end.",
    ],
    "strace": [
        "C(startup) runs nginx under C(strace -f) from exec on (its listen() calls); C(workers) attaches strace "
        "to the workers for the client phase (per-request system calls). The output is parsed into the result's "
        "C(meta.strace).",
    ],
    "trace_connects": [
        "Record when each nginx worker connects to the upstream with the kernel's own tracer (an ftrace instance "
        "of the case's, event sys_exit_connect filtered to the workers, on CLOCK_MONOTONIC like the upstream's "
        "events), in the result's C(connects). With the upstream's accepts and closes this gives every "
        "upstream-path line's life in /proc/net/unix exactly, without sampling.",
        "Uses tracefs where the host mounts it, else mounts it in a mount namespace of a helper process of its "
        "own; the instance is removed whatever happens. A host whose kernel cannot trace says so in "
        "C(meta.connect_trace_error).",
    ],
    "unix_interval_ms": [
        "Sampling interval of /proc/net/unix and sock_diag, in milliseconds.",
    ],
    "stub_interval_ms": [
        "Sampling interval of stub_status and nginx memory, in milliseconds.",
    ],
    "stub_status_sampling": [
        "C(during) polls stub_status every I(stub_interval_ms) while the clients run. C(after) reads it once, "
        "after the clients ended, and not during, because every poll is a connection to the listener the clients "
        "contend for (it takes a slot, moves C(accepts) and resets the worker's ngx_accept_disabled); labs of the "
        "accept path read the counters after the fact. nginx's memory and descriptors are sampled either way.",
    ],
    "sampler_nice": [
        "Nice value of the two sampling threads. 0, the default, leaves them at the priority of nginx and the "
        "upstream. Below 0 they sample steadily on an overloaded host, but they take the CPU from nginx while "
        "they do (on a 2-CPU TCG VM at -10, nginx needed up to 1.2 s for case 1's requests instead of 0.03 s).",
    ],
    "client_nice": [
        "Nice value of the load generator and every curl process it starts. Above 0 the clients yield the CPU to "
        "nginx, the upstream and the samplers; on a one-CPU emulated VM 100 curl processes at 0 starved the "
        "samplers (one sample every 0.27 s where 0.01 s was asked).",
    ],
    "repetition": [
        "Which repetition of the case this is (1 for the first), recorded in the result's C(meta.repetition).",
    ],
    "run_id": [
        "The run this case belongs to. When set, the case refuses to start unless that run holds the host (module "
        "M(npl.nginx_proxy_lab.nginx_lab_lock)), and stamps the lock with the time by which it will have ended.",
    ],
    "save_as": [
        "Path on the controller where the action plugin writes the result document (atomically, parent folders "
        "created) as soon as the case ends, as M(ansible.builtin.fetch) writes its C(dest). C(case_result) is "
        "then left out of the returned values, so a run's memory does not grow with its results.",
    ],
    "pace_retries": [
        "How many more times the action plugin runs the case when it came out invalid only for the host's pace "
        "(C(meta.validity.retryable), such as a sampler that fell behind or a ramp the host could not keep). A "
        "case invalid for its own failure (a process that died, a load generator without its records, a host out "
        "of room) is never run again.",
        "Each spoiled try is kept beside the result, in C(tries/<name>.t<try>.json) (with I(save_as)), and listed "
        "in the result's C(meta.tries) with its problems; the verdicts read only the final result.",
    ],
}
# The sub-options' paragraphs, by option.
SUB_DOCS = {
    "actions": {
        "at_s": [
            "Seconds after the clients start.",
        ],
        "action": [
            "What to do.",
        ],
        "seconds": [
            "How long C(stop-workers) lasts (more than 0, at most 600; it must end before the case deadline). Not "
            "for C(reload).",
        ],
        "config": [
            "The configuration C(reload) loads.",
        ],
    },
}


# The checks over this table (param_checks.py), here too: params.check(p), params.defaults(...) read as the table's own.
from .param_checks import (CASE_FOLDER_BYTES, CASE_FOLDER_BYTES_PER_CLIENT, LOADGEN_BYTES_PER_CLIENT,  # noqa: E402,F401
                           LOADGEN_SPARE_FDS, NGINX_BODY_BUFFER, check, check_given, check_host, check_run,
                           check_types, complete, defaults, matches, needs, size_bytes, trickle_seconds)
