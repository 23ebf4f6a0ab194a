"""nginx's own record of its accept path, from its error log at level debug (nginx built --with-debug).

The case keeps, in file order, the lines of the error log that say who accepted what (`logs.nginx_events`,
raw lines: runtime.errorlog chooses them on the target); parse() turns them into events for the measures
on the controller. Every line carries the worker's PID, and the workers append to one file, so the order of the lines is
the order in which the workers wrote them. The line formats are those of nginx 1.22 (src/event/ngx_event_accept.c,
src/core/ngx_connection.c, src/event/modules/ngx_epoll_module.c, src/http/ngx_http_request.c).
"""

import re

_HEAD = re.compile(r"^(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>\w+)\] (?P<pid>\d+)#\d+: (?:\*(?P<conn>\d+) )?"
                   r"(?P<text>.*)$")
# (kind, pattern of the text after "PID#TID: [*N ]") for every line kept.
_KINDS = (
    ("accept", re.compile(r"^accept: (?P<addr>[^ ]+):(?P<port>\d+) fd:(?P<fd>\d+)$")),
    ("accept_event", re.compile(r"^accept on (?P<listen>[^ ]+), ready: (?P<ready>\d+)$")),
    ("not_ready", re.compile(r"^accept\(\) not ready")),
    ("mutex_locked", re.compile(r"^accept mutex locked$")),
    ("mutex_failed", re.compile(r"^accept mutex lock failed: (?P<held>\d+)$")),
    # a connection accepted but refused a slot: ngx_get_connection() found none free (counted in accepts, not handled)
    # (nginx 1.22 logs it with the listener's log: no "while ..." context follows)
    ("no_slot", re.compile(r"^(?P<n>\d+) worker_connections are not enough(?: while accepting new connection.*)?$")),
    # no slot for a connection to the upstream
    ("no_slot_upstream", re.compile(r"^(?P<n>\d+) worker_connections are not enough while connecting to upstream")),
    # ngx_drain_connections(): at most once a second, then a debug line per connection it closes
    ("drain", re.compile(r"^(?P<n>\d+) worker_connections are not enough, reusing connections")),
    ("reusing", re.compile(r"^reusing connection(?: again)?$")),
    ("close", re.compile(r"^close http connection: (?P<fd>\d+)$")),
    ("epoll_add", re.compile(r"^epoll add event: fd:(?P<fd>\d+) op:(?P<op>\d+) ev:(?P<ev>[0-9A-Fa-f]+)$")),
    ("epoll_del", re.compile(r"^epoll del event: fd:(?P<fd>\d+) op:(?P<op>\d+) ev:(?P<ev>[0-9A-Fa-f]+)$")),
    ("shutting_down", re.compile(r"^gracefully shutting down$")),
    ("exiting", re.compile(r"^exiting$")),
)
# EPOLLEXCLUSIVE in the ev field of an epoll add (nginx's listener with accept_mutex off, Linux 4.5+).
EPOLLEXCLUSIVE = 0x10000000


def parse(lines):
    """One event per line that parses: {"i" (its index), "time" (whole seconds, nginx's clock), "level", "pid",
    "conn" (nginx's connection number, or None), "kind", and the fields of its kind}. Lines of other kinds (an
    error line that only mentions accept, say) are skipped."""
    events = []
    for i, line in enumerate(lines):
        head = _HEAD.match(line.rstrip("\n"))
        if not head:
            continue
        text = head.group("text")
        for kind, pattern in _KINDS:
            found = pattern.match(text)
            if found:
                event = {"i": i, "time": head.group("time"), "level": head.group("level"),
                         "pid": int(head.group("pid")), "conn": int(head.group("conn")) if head.group("conn") else None,
                         "kind": kind}
                for key, value in found.groupdict().items():
                    event[key] = int(value) if key in ("port", "fd", "op", "held", "n", "ready") else value
                events.append(event)
                break
    return events
