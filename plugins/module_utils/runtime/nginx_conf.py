"""The nginx configuration of a case: the research's proxy, every value a parameter."""

import os
import re
import subprocess

from . import params

# The access log carries $request_time and $upstream_response_time (GoAccess: %T and %^).
ACCESS_LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time $upstream_connect_time'
)
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# The location keepalive-idle clients request (nginx answers 204 itself).
KEEPALIVE_PATH = "/npl-keepalive"
# nginx's listen backlog when `listen` names none (NGX_LISTEN_BACKLOG on Linux, src/os/unix/ngx_linux_config.h).
NGINX_DEFAULT_BACKLOG = 511
# The response header that tells which configuration answered, in cases that reload nginx.
CONFIG_HEADER = "X-NPL-Config"


class UnsafeValue(ValueError):
    """A value that could become more than one token of nginx.conf."""


def _token(key, value):
    """`value` as one nginx.conf token: it must match the option's grammar (params.GRAMMARS) or be a path the
    case made; anything else raises, so a value can never close a directive or open a block."""
    text = str(value)
    if key in params.GRAMMARS:
        ok = params.matches(key, text)
    else:
        ok = re.fullmatch(r"[A-Za-z0-9._/:-]+", text) is not None
    if not ok:
        raise UnsafeValue("%s=%r cannot go into nginx.conf (%s)" % (key, text, params.GRAMMARS.get(key, ("", "a plain path"))[1]))
    return text


def reloads(p):
    """True when the case reloads nginx (an action `reload`)."""
    return any(a.get("action") == "reload" for a in p.get("actions") or [])


def render(p, prefix, socket_path, generation=1, broken=False):
    """nginx.conf text for case parameters `p` (the module's params), rooted at `prefix`.

    A case that reloads nginx marks every response with its configuration's `generation` (header
    X-NPL-Config); `broken` adds a directive nginx does not know, for a reload that must fail.
    Numbers are formatted as numbers and every string goes through _token(), so the text has
    exactly the directives written here whatever the parameters hold."""
    prefix = _token("prefix", prefix)
    socket_path = _token("socket_path", socket_path)
    main = [
        "daemon off;",
        "master_process on;",
        "worker_processes %d;" % p["worker_processes"],
        "pid %s;" % os.path.join(prefix, "nginx.pid"),
        "error_log %s %s;" % (os.path.join(prefix, "error.log"), _token("error_log_level", p["error_log_level"])),
    ]
    if p.get("worker_rlimit_nofile"):
        main.append("worker_rlimit_nofile %d;" % p["worker_rlimit_nofile"])
    http = [
        "log_format lab '%s';" % ACCESS_LOG_FORMAT,
        "access_log %s lab;" % os.path.join(prefix, "access.log"),
    ]
    omitted = p.get("omit_directives") or []
    if "keepalive_timeout" not in omitted:
        http.append("keepalive_timeout %d;" % p["keepalive_timeout"])
    if p.get("keepalive_requests"):
        http.append("keepalive_requests %d;" % p["keepalive_requests"])
    if p.get("client_header_timeout"):
        http.append("client_header_timeout %ds;" % p["client_header_timeout"])
    for name in TEMP_DIRS:
        http.append("%s_temp_path %s;" % (name, os.path.join(prefix, name + "_temp")))
    if p.get("client_max_body_size"):
        http.append("client_max_body_size %s;" % _token("client_max_body_size", p["client_max_body_size"]))
    if p.get("client_body_buffer_size"):
        http.append("client_body_buffer_size %s;" % _token("client_body_buffer_size", p["client_body_buffer_size"]))
    pool = "\n        keepalive %d;" % p["upstream_keepalive"] if p.get("upstream_keepalive") else ""
    http.append("upstream lab_upstream {\n        server unix:%s;%s\n    }" % (socket_path, pool))

    proxy = ["proxy_pass http://lab_upstream;", "proxy_buffering %s;" % ("on" if p["proxy_buffering"] else "off")]
    if p.get("proxy_request_buffering") is False:
        proxy.append("proxy_request_buffering off;")
    if p.get("proxy_http_version"):  # none: nginx's own default (1.0 before 1.29.7, 1.1 since)
        proxy.append("proxy_http_version %s;" % _token("proxy_http_version", p["proxy_http_version"]))
    if p.get("proxy_clear_connection"):
        # What the articles prescribe for upstream keep-alive: no "Connection: close" to the upstream.
        proxy.append('proxy_set_header Connection "";')
    if not p["nginx_default_timeouts"]:
        t = "%dms" % round(p["proxy_timeout"] * 1000)
        proxy += ["proxy_connect_timeout %s;" % t, "proxy_send_timeout %s;" % t, "proxy_read_timeout %s;" % t]
    locations = ["location / {\n            %s\n        }" % "\n            ".join(proxy)]
    # More proxy_pass locations, for the listen()-per-proxy_pass claim (R12).
    for i in range(2, p["proxy_locations"] + 1):
        locations.append("location /p%d/ {\n            %s\n        }" % (i, "\n            ".join(proxy)))
    if p.get("client_behaviour") == "keepalive-idle" or (p.get("request_path") or "").split("?")[0] == KEEPALIVE_PATH:
        # The keep-alive clients' request: answered by nginx itself, so only client connections stay.
        locations.append("location = %s {\n            return 204;\n            access_log off;\n        }" % KEEPALIVE_PATH)
    locations.append("location = %s {\n            stub_status;\n            access_log off;\n        }"
                     % _token("stub_status_path", p["stub_status_path"]))
    listen = "listen 127.0.0.1:%d%s%s%s;" % (p["nginx_port"], " reuseport" if p.get("listen_reuseport") else "",
                                            " deferred" if p.get("listen_deferred") else "",
                                            " backlog=%d" % p["nginx_backlog"] if p.get("nginx_backlog") else "")
    if reloads(p):
        listen += "\n        add_header %s %d always;" % (CONFIG_HEADER, int(generation))
    if broken:
        http.append("npl_unknown_directive on;")
    server = "server {\n        %s\n        %s\n    }" % (listen, "\n        ".join(locations))
    http.append(server)
    events = ["worker_connections %d;" % p["worker_connections"]]
    if p.get("accept_mutex", "default") != "default":
        events.append("accept_mutex %s;" % _token("accept_mutex", p["accept_mutex"]))
    if p.get("accept_mutex_delay_ms"):
        events.append("accept_mutex_delay %dms;" % p["accept_mutex_delay_ms"])
    events = "events {\n    %s\n}" % "\n    ".join(events)
    return "\n".join(main) + "\n" + events + "\nhttp {\n    " + "\n    ".join(http) + "\n}\n"


def version(binary):
    """'1.22.1' from `nginx -v` (which prints to stderr)."""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"nginx/(\S+)", out.stderr + out.stdout)
    return match.group(1) if match else None


def release_tuple(text):
    """(1, 18, 0) from '1.18.0'; () when it is not a release number."""
    try:
        return tuple(int(part) for part in (text or "").split("."))
    except ValueError:
        return ()


def start_args(binary, prefix, conf):
    """nginx's arguments for the case's prefix and configuration; the start-up error log in the prefix too (`-e`)
    where the release has the flag (1.19.5 and later; before it the build's own path is used until the
    configuration's error_log takes over: the kit builds those releases with --error-log-path=stderr)."""
    args = [binary, "-p", prefix, "-c", conf]
    if release_tuple(version(binary)) >= (1, 19, 5):
        args += ["-e", os.path.join(prefix, "error.log")]
    return args


def test_config(binary, prefix, conf):
    """`nginx -t`; returns (ok, output)."""
    cmd = start_args(binary, prefix, conf)
    out = subprocess.run(cmd[:1] + ["-t", "-q"] + cmd[1:], capture_output=True, text=True, check=False)
    return out.returncode == 0, (out.stderr + out.stdout).strip()
