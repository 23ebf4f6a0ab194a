"""nginx's error log as the case keeps it (target side): its lines but the debug ones (`logs.error`), and, when nginx
logs at level debug, the lines of its accept record in file order (`logs.nginx_events`, parsed on the controller by
nginx_lab.judge.nginx_events: every kind it parses is one of these lines)."""

import re

_ACCEPT_RECORD = re.compile(r"accept|worker_connections are not enough|reusing connection|close http connection|"
                            r"epoll (?:add|del) event|gracefully shutting down|: exiting$")


def keep_line(line):
    """Whether an error-log line belongs to the accept record (target side: the case keeps only these)."""
    return _ACCEPT_RECORD.search(line) is not None


def is_debug(line):
    """Whether an error-log line is at level debug ("YYYY/MM/DD HH:MM:SS [debug] ...")."""
    return "] " in line and line[20:27] == "[debug]"
