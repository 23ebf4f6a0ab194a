"""The case runner's parameters: the module's argument spec with the bounds and grammar of every option.

This is the single source of what a valid case is. The module (plugins/modules/nginx_proxy_case.py) validates
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

# Descriptors the load generator needs beyond one per client (loadgen.raise_nofile).
LOADGEN_SPARE_FDS = 256
# Memory the asyncio load generator uses per client, measured: 10,000 clients peaked at 116 MB (README).
LOADGEN_BYTES_PER_CLIENT = 12 * 1024


def matches(key, value):
    """True when string option `key` has a value of its grammar (a key without a grammar always matches)."""
    if key not in GRAMMARS or value is None:
        return True
    return isinstance(value, str) and re.fullmatch(GRAMMARS[key][0], value) is not None


def check_run(sizes):
    """Reasons to refuse a run's own sizes ({"repeat": ..., "slots": ...}, as given on the command line)."""
    errors = []
    for key, value in sorted(sizes.items()):
        low, high = RUN_BOUNDS[key]
        if value is None:
            continue
        if not re.fullmatch(r"[0-9]+", str(value).strip()) or not low <= int(value) <= high:
            errors.append("%s=%s: a run's %s is a whole number from %d to %d: fix the -e value (%s)"
                          % (key, value, key, low, high, RUN_VARIABLES[key]))
    return errors


def check_types(values):
    """A yes/no given where a number is wanted (`clients: true`): Ansible's argument spec would read it as 1."""
    return ["%s=%s is a yes/no, where a number is wanted: give a number" % (key, value)
            for key, value in sorted(values.items())
            if ARGUMENT_SPEC.get(key, {}).get("type") in ("int", "float") and isinstance(value, bool)]


def check_given(values, releases=None):
    """Reasons to refuse what a catalogue entry and the overrides give a case (`values`, before the argument spec
    converts them): a yes/no where a number is wanted (the spec would read true as 1), a parameter the kit sets
    itself, and an nginx_binary of its own in a run over several releases (every release's column would run it)."""
    errors = check_types(values)
    for key in sorted(values):
        if key in KIT_SET:
            errors.append("%s is set by the kit for every case: drop it from the catalogue entry or the "
                          "overrides" % key)
    if "nginx_binary" in values and len(releases or ()) > 1:
        errors.append("nginx_binary=%s would replace the binary of every release of the run (%s): drop it, or "
                      "run one release" % (values["nginx_binary"], ", ".join(releases)))
    return errors


def check(p):
    """Every reason the parameters `p` (types already checked) are not a case that can run as designed."""
    errors = []
    for key, (low, high) in BOUNDS.items():
        value = p.get(key)
        if value is not None and not low <= value <= high:
            errors.append("%s=%s is outside %s..%s: pick a value in that range" % (key, value, low, high))
    for key, (_, what, example) in GRAMMARS.items():
        if not matches(key, p.get(key)):
            errors.append("%s=%r is not %s (e.g. %s); nothing else may reach nginx.conf or a file name"
                          % (key, p.get(key), what.replace("%%", "%"), example))
    errors += _check_clients(p) + _check_actions(p)
    if p.get("upstream_release_s") is not None and p.get("mode") not in HOLDING_MODES:
        errors.append("upstream_release_s=%s tells the upstream to close the connections it holds, and mode %s "
                      "holds none: use it with mode %s, or drop it" % (p["upstream_release_s"], p.get("mode"),
                                                                      ", ".join(HOLDING_MODES)))
    if p.get("request_path") is not None and p.get("stub_status_path") is not None \
            and p["request_path"].split("?")[0] == p["stub_status_path"]:
        errors.append("request_path %s is the stub_status location: the clients would get the status page, not the "
                      "upstream; pick another request_path or stub_status_path" % p["request_path"])
    return errors


def trickle_seconds(p):
    """How long a trickling client takes to send what it trickles (0 for the other behaviours)."""
    behaviour = p.get("client_behaviour") or "request"
    if behaviour not in TRICKLE_BEHAVIOURS:
        return 0.0
    size = (p.get("request_body_bytes") or 0) if behaviour == "trickle-body" else 200  # about the header block
    steps = -(-size // max(p.get("client_trickle_bytes") or 1, 1))
    return steps * (p.get("client_trickle_interval_ms") or 0) / 1000.0


def _check_clients(p):
    errors = []
    behaviour, hold = p.get("client_behaviour") or "request", p.get("client_hold_s") or 0
    if behaviour in HOLD_BEHAVIOURS and hold <= 0:
        errors.append("client_behaviour=%s holds each connection for client_hold_s, which is 0: set client_hold_s "
                      "to the seconds to hold" % behaviour)
    if behaviour not in HOLD_BEHAVIOURS and hold > 0:
        errors.append("client_hold_s=%s has no effect with client_behaviour=%s: set client_behaviour to "
                      "%s, or drop client_hold_s" % (hold, behaviour, " or ".join(HOLD_BEHAVIOURS)))
    if (p.get("client_pause_s") or 0) > 0 and behaviour not in ("request", "keepalive-requests"):
        errors.append("client_pause_s=%s pauses a request (between connecting and sending) or a keep-alive sequence "
                      "(between requests), not client_behaviour=%s: drop it or pick one of those behaviours"
                      % (p["client_pause_s"], behaviour))
    if (p.get("client_requests") or 1) > 1 and behaviour != "keepalive-requests":
        errors.append("client_requests=%s needs client_behaviour=keepalive-requests (the others send one request "
                      "per connection)" % p["client_requests"])
    if behaviour == "trickle-body" and not (p.get("request_body_bytes") or 0) > 0:
        errors.append("client_behaviour=trickle-body trickles the request body, which is empty: set "
                      "request_body_bytes (and request_method POST)")
    if p.get("client_mode") == "curl" and (behaviour != "request" or (p.get("client_ramp_s") or 0) > 0):
        errors.append("client_mode=curl starts one request per client as the research's loop did: client_behaviour "
                      "and client_ramp_s need client_mode=python")
    if p.get("client_mode") == "curl" and (p.get("client_pause_s") or 0) > 0:
        errors.append("client_pause_s needs client_mode=python (curl sends its request as soon as it connects)")
    pauses = (p.get("client_pause_s") or 0) * max(1, (p.get("client_requests") or 1) - (
        1 if behaviour == "keepalive-requests" else 0))
    busy = (p.get("client_ramp_s") or 0) + hold + trickle_seconds(p) + pauses
    if p.get("deadline") is not None and busy >= p["deadline"]:
        errors.append("client_ramp_s + client_hold_s + the trickle's and the pauses' duration (%s s) reach the case deadline of "
                      "%ss: raise deadline" % (round(busy, 3), p["deadline"]))
    return errors


def _check_actions(p):
    errors = []
    for i, action in enumerate(p.get("actions") or []):
        at, seconds = action.get("at_s"), action.get("seconds")
        if action.get("action") == "reload":
            if action.get("config") not in RELOAD_CONFIGS or seconds is not None:
                errors.append("actions[%d]: reload needs config (%s) and no seconds, got config=%s seconds=%s"
                              % (i, " or ".join(RELOAD_CONFIGS), action.get("config"), seconds))
            elif at is None or not 0 <= at <= 3600 or (p.get("deadline") is not None and at + 1 >= p["deadline"]):
                errors.append("actions[%d]: reload at_s must be in 0..3600 and leave a second before the case deadline "
                              "of %ss, got %s" % (i, p.get("deadline"), at))
            continue
        if action.get("config") is not None:
            errors.append("actions[%d]: config is for reload, not %s: drop it" % (i, action.get("action")))
        if at is None or seconds is None or not 0 <= at <= 3600 or not 0 < seconds <= 600:
            errors.append("actions[%d]: at_s must be in 0..3600 and seconds in 0..600 (more than 0), got %s and %s"
                          % (i, at, seconds))
        elif p.get("deadline") is not None and at + seconds >= p["deadline"]:
            errors.append("actions[%d] (%s at %ss for %ss) would outlast the case deadline of %ss: raise deadline"
                          % (i, action.get("action"), at, seconds, p["deadline"]))
    return errors


# What a case writes in its folder besides request bodies: logs, the clients' records, nginx.conf, the upstream's
# events (meta.case_folder_bytes, measured here: lab-slots-wc64, 96 clients at error_log_level debug, 410-437 KB;
# lab-accept-mutex-on-long-delay, 128 at debug, 316-331 KB; case1-ok, 100 at info, 45 KB; lab-strace-case2, 10
# clients and an strace of the workers, 62 KB), with room to spare: a floor, and about 3x the most seen per client.
CASE_FOLDER_BYTES = 4 << 20
CASE_FOLDER_BYTES_PER_CLIENT = {"debug": 16 << 10, "other": 4 << 10}
# nginx's client_body_buffer_size when the case names none: two memory pages on x86-64 (ngx_http_core_module).
NGINX_BODY_BUFFER = 16 << 10


def size_bytes(text):
    """Bytes of an nginx size ('16k', '2m', '1g', '512'); None for a value outside the grammar (check() refuses it)."""
    text = str(text)
    if not re.fullmatch(NGINX_SIZE, text):
        return None
    factor = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    return int(text[:-1] if factor > 1 else text) * factor


def needs(p):
    """What the case will need of its host: open files of the load generator, memory in bytes, and room in its folder
    (disk_bytes): nginx spools to a temporary file in the case folder every request body larger than
    client_body_buffer_size while proxy_request_buffering is on, all clients' at once at worst."""
    clients = p.get("clients") or 0
    body = p.get("request_body_bytes") or 0
    buffer = size_bytes(p.get("client_body_buffer_size") or NGINX_BODY_BUFFER) or NGINX_BODY_BUFFER
    spooled = body > buffer and p.get("proxy_request_buffering", True) is not False
    per_client = CASE_FOLDER_BYTES_PER_CLIENT["debug" if p.get("error_log_level") == "debug" else "other"]
    return {"nofile": clients + LOADGEN_SPARE_FDS, "memory_bytes": body + clients * LOADGEN_BYTES_PER_CLIENT,
            "disk_bytes": CASE_FOLDER_BYTES + clients * per_client + (clients * body if spooled else 0)}


def check_host(p, hard_nofile, mem_available_bytes, free_run_bytes=None, run_dir="/run/nginx-proxy-lab"):
    """Reasons the host cannot give the case what it needs (hard RLIMIT_NOFILE, MemAvailable, the free space of the
    file system that holds the case folders)."""
    errors = []
    need = needs(p)
    if free_run_bytes is not None and need["disk_bytes"] > free_run_bytes:
        errors.append("clients=%s with request_body_bytes=%s write up to %d MB in the case folder (request bodies "
                      "nginx spools to disk, logs) but the file system of %s has %d MB free: free space there, or "
                      "send smaller bodies or fewer clients" % (p.get("clients"), p.get("request_body_bytes"),
                                                                need["disk_bytes"] >> 20, run_dir,
                                                                free_run_bytes >> 20))
    if hard_nofile is not None and need["nofile"] > hard_nofile:
        errors.append("clients=%s needs %d open files in the load generator but this host's hard limit is %d: run "
                      "at most %d clients, or raise the hard limit (ulimit -Hn, LimitNOFILE=)"
                      % (p["clients"], need["nofile"], hard_nofile, hard_nofile - LOADGEN_SPARE_FDS))
    if mem_available_bytes is not None and need["memory_bytes"] > mem_available_bytes:
        errors.append("clients=%s with request_body_bytes=%s need about %d MB of memory but this host has %d MB "
                      "available: send smaller bodies or fewer clients"
                      % (p.get("clients"), p.get("request_body_bytes"), need["memory_bytes"] >> 20,
                         mem_available_bytes >> 20))
    return errors


def complete(params):
    """`params` with the values derived from others filled in (client_timeout from deadline)."""
    out = dict(params)
    if out.get("client_timeout") is None:
        out["client_timeout"] = max(out["deadline"] - 1.0, 0.5)
    return out


def defaults(**overrides):
    """Every parameter at its default, then `overrides`: what the module would pass to case.execute()."""
    out = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    unknown = set(overrides) - set(out)
    if unknown:
        raise KeyError("unknown case parameters: %s" % ", ".join(sorted(unknown)))
    out.update(overrides)
    return complete(out)
