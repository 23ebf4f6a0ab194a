"""The checks over the parameter table (params.py): what makes a case's parameters one that can run as designed,
what it needs of its host, and its derived values. params.py re-exports them, so callers write params.check(p)."""

import re

from .params import (ARGUMENT_SPEC, BOUNDS, GRAMMARS, HOLD_BEHAVIOURS, HOLDING_MODES, KIT_SET, NGINX_SIZE,
                     RELOAD_CONFIGS, RUN_BOUNDS, RUN_VARIABLES, TRICKLE_BEHAVIOURS)

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
