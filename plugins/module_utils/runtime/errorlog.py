"""nginx's error log as the case keeps it (target side): its lines but the debug ones (`logs.error`), and, when nginx
logs at level debug, the lines of its accept record in file order (`logs.nginx_events`, parsed on the controller by
judge.nginx_events: every kind it parses is one of these lines)."""

import re

_ACCEPT_RECORD = re.compile(r"accept|worker_connections are not enough|reusing connection|close http connection|"
                            r"epoll (?:add|del) event|gracefully shutting down|: exiting$")


def keep_line(line):
    """Whether an error-log line belongs to the accept record (target side: the case keeps only these)."""
    return _ACCEPT_RECORD.search(line) is not None


def is_debug(line):
    """Whether an error-log line is at level debug ("YYYY/MM/DD HH:MM:SS [debug] ...")."""
    return "] " in line and line[20:27] == "[debug]"


# nginx's own levels for what it could not do: a case's nginx logs these only when the lab drives it there on purpose
# (the lines below) or when the host failed it (a full disk, no descriptors left to the host, an I/O error).
_SEVERE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(crit|alert|emerg)\] ")
# errno values of a host out of room: ENOSPC, EDQUOT, EIO, EROFS, ENOMEM, ENFILE (the whole system's descriptors).
_NO_ROOM = re.compile(r"\((28|122|5|30|12|23): [^)]*\)")
# Lines a lab asks for, with the parameters that ask: slots exhausted (worker_connections is the lab's knob: R3, O1,
# O2, O13), descriptors exhausted when the case sets worker_rlimit_nofile (O3: EMFILE), and the [emerg] of a reload
# action that loads a broken configuration (O8).
_ASKED = (
    (re.compile(r"worker_connections are not enough"), lambda p: True),
    (re.compile(r"\(24: Too many open files\)"), lambda p: p.get("worker_rlimit_nofile") is not None),
    (re.compile(r"\[emerg\] .*npl_unknown_directive"),
     lambda p: any(a.get("action") == "reload" and a.get("config") == "broken" for a in p.get("actions") or [])),
)


def unasked(lines, p, limit=3):
    """Why nginx's error log (`lines`, without debug lines) shows the case did not run as designed: its [crit],
    [alert] and [emerg] lines that the case's parameters `p` did not ask for, quoted (the first `limit`), with how many
    there were. A host out of room (no space, no memory, an I/O error) is named as such."""
    found = []
    for line in lines:
        if not _SEVERE.match(line):
            continue
        if not _NO_ROOM.search(line) and any(pattern.search(line) and asks(p) for pattern, asks in _ASKED):
            continue
        found.append(line)
    if not found:
        return []
    room = [line for line in found if _NO_ROOM.search(line)]
    what = ("the host ran out of room for the case (%d such lines in nginx's error log)" % len(room) if room else
            "nginx logged %d line(s) at crit, alert or emerg that the case did not ask for" % len(found))
    quoted = (room or found)[:limit]
    return ["%s: %s" % (what, " | ".join(line[:300] for line in quoted))]
