"""The case runner's parameters: the module's argument spec, and complete parameter sets for scripts and tests."""

MODES = ("ok", "no-accept", "no-read", "no-write", "no-close")

ARGUMENT_SPEC = dict(
    case=dict(type="str", required=True),
    mode=dict(type="str", required=True, choices=list(MODES)),
    isolation=dict(type="str", default="netns", choices=["netns", "host"]),
    somaxconn=dict(type="int", default=4096),
    somaxconn_after_listen=dict(type="int"),
    upstream_backlog=dict(type="int", default=4096),
    upstream_content_length=dict(type="bool", default=False),
    upstream_binary=dict(type="path", default="/opt/nginx-proxy-lab/bin/upstream"),
    nginx_binary=dict(type="path", default="/usr/sbin/nginx"),
    nginx_port=dict(type="int", default=80),
    nginx_backlog=dict(type="int"),
    worker_processes=dict(type="int", default=1),
    worker_connections=dict(type="int", default=256),
    worker_rlimit_nofile=dict(type="int"),
    keepalive_timeout=dict(type="int", default=10),
    proxy_buffering=dict(type="bool", default=False),
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
    deadline=dict(type="float", default=30),
    settle_s=dict(type="float", default=0.3),
    tail_s=dict(type="float", default=0.5),
    strace=dict(type="str", default="none", choices=["none", "startup", "workers"]),
    unix_interval_ms=dict(type="float", default=10),
    stub_interval_ms=dict(type="float", default=100),
    sampler_nice=dict(type="int", default=0),
)


def complete(params):
    """`params` with the values derived from others filled in (client_timeout from deadline)."""
    out = dict(params)
    if out.get("client_timeout") is None:
        out["client_timeout"] = max(out["deadline"] - 1.0, 0.5)
    return out


def defaults(**overrides):
    """Every parameter at its default, then `overrides`: what the module would pass to case.run()."""
    out = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    unknown = set(overrides) - set(out)
    if unknown:
        raise KeyError("unknown case parameters: %s" % ", ".join(sorted(unknown)))
    out.update(overrides)
    return complete(out)
