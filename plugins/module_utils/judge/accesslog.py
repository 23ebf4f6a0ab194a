"""Parse the lab's nginx access log (nginx_conf.ACCESS_LOG_FORMAT) into one dict per request."""

import re

# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
# "$http_user_agent" $request_time $upstream_response_time $upstream_connect_time
_LINE = re.compile(
    r'^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<request_time>[\d.]+) '
    r'(?P<upstream_response_time>.+?) (?P<upstream_connect_time>[^ ]+(?:, [^ ]+)*)$'
)


class AccessLogError(ValueError):
    """A line does not have the lab's log format."""


def _upstream_seconds(text):
    """$upstream_* holds "-" without an upstream, and "a, b" (or "a : b") when nginx tried several."""
    values = [v for v in re.split(r"[,:] ?", text.replace(" ", "")) if v and v != "-"]
    return sum(float(v) for v in values) if values else None


def parse_line(line):
    match = _LINE.match(line.strip())
    if not match:
        raise AccessLogError("not an access-log line of the lab's format: %r" % line[:200])
    g = match.groupdict()
    return {
        "request": g["request"],
        "status": int(g["status"]),
        "bytes": int(g["bytes"]),
        "request_time": float(g["request_time"]),
        "upstream_response_time": _upstream_seconds(g["upstream_response_time"]),
        "upstream_connect_time": _upstream_seconds(g["upstream_connect_time"]),
    }


def parse(lines):
    return [parse_line(line) for line in lines if line.strip()]
