"""Parse and fetch nginx's stub_status page."""

import re
import socket

_PATTERN = re.compile(
    r"Active connections:\s*(\d+)\s*\n"
    r"\s*server accepts handled requests\s*\n"
    r"\s*(\d+)\s+(\d+)\s+(\d+)\s*\n"
    r"\s*Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)"
)
FIELDS = ("active", "accepts", "handled", "requests", "reading", "writing", "waiting")


def parse(body):
    """The seven stub_status counters as a dict; ValueError if `body` is not a stub_status page."""
    match = _PATTERN.search(body)
    if not match:
        raise ValueError("not a stub_status page: %r" % body[:200])
    return dict(zip(FIELDS, (int(v) for v in match.groups())))


def fetch(host, port, path="/stats", timeout=0.5):
    """GET the status page over a fresh HTTP/1.0 connection and parse it."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % path).encode())
        chunks = []
        while True:
            data = conn.recv(4096)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks).decode("latin-1")
    head, _, body = raw.partition("\r\n\r\n")
    status = head.split(" ", 2)[1] if " " in head else "?"
    if status != "200":
        raise ValueError("stub_status answered HTTP %s" % status)
    return parse(body)
