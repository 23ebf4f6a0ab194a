"""The upstream program (roles/lab_upstream/files/upstream.c), built from source and run for real: its keep-alive
mode, its events file, and the load generator's keep-alive and trickling clients against it."""

import os
import socket
import subprocess
import time

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import loadgen, upstream_events

from .helpers import data

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "lab_upstream", "files", "upstream.c")


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("upstream") / "upstream")
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", path, SOURCE], check=True)
    return path


def _start(binary, tmp_path, mode, *extra, tcp=False):
    events = str(tmp_path / "events.txt")
    if tcp:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        where = ["--tcp", "127.0.0.1:%d" % probe.getsockname()[1]]
        probe.close()
    else:
        where = ["--unix", str(tmp_path / "up.sock")]
    proc = subprocess.Popen([binary, "--mode", mode, "--events", events] + where + list(extra),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("ready")
    return proc, where[1], events


def _stop(proc):
    proc.terminate()
    proc.wait(5)


def _events(path, t0=0.0):
    with open(path) as handle:
        return upstream_events.parse(handle.read(), t0)


def _answer(stream):
    """One response with a Content-Length from a socket's file: its head and body."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        assert line, "the upstream closed before the end of a response head"
        head += line
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return head + stream.read(length)


def test_keepalive_mode_answers_every_request_of_a_connection_until_it_is_told_to_close(binary, tmp_path):
    proc, path, events = _start(binary, tmp_path, "keepalive")
    try:
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        stream = client.makefile("rb")
        answers = []
        for last in (False, False, True):
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n%s\r\n" % (b"Connection: close\r\n" if last else b""))
            answers.append(_answer(stream))
        assert stream.read() == b""  # closed after the request that said close
        client.close()
        old = socket.socket(socket.AF_UNIX)
        old.connect(path)
        old.sendall(b"GET / HTTP/1.0\r\n\r\n")
        stream = old.makefile("rb")
        assert b"Connection: close" in _answer(stream) and stream.read() == b""
        old.close()
    finally:
        _stop(proc)
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert all(b"Content-Length: 3\r\n" in a for a in answers)
    assert b"Connection: close" in answers[2] and b"Connection: close" not in answers[0]
    parsed = _events(events)
    assert parsed["counts"] == {"accept": 2, "first-byte": 4, "request": 4, "close": 2}
    ev = parsed["events"]
    # SO_PEERCRED: the connecting process is this test
    assert [v for k, v in zip(ev["kind"], ev["value"]) if k == "accept"] == [os.getpid()] * 2
    assert [v for k, v in zip(ev["kind"], ev["value"]) if k == "close"] == [3, 1]


def test_keepalive_clients_send_their_requests_in_a_row_on_one_connection(binary, tmp_path):
    proc, where, events = _start(binary, tmp_path, "keepalive", tcp=True)
    host, port = where.split(":")
    try:
        t0 = time.monotonic()
        records, _ = loadgen.run_python(host, int(port), 3, behaviour="keepalive-requests", requests=5, t0=t0)
    finally:
        _stop(proc)
    assert [(r["responses"], r["status"], r["complete"], r["error"]) for r in records] == [(5, 200, True, None)] * 3
    assert all(r["close_after"] is None and r["closed"] is None for r in records)
    counts = _events(events, t0)["counts"]
    assert (counts["accept"], counts["request"]) == (3, 15)


def test_a_trickled_body_reaches_a_direct_upstream_before_its_last_byte_is_sent(binary, tmp_path):
    proc, where, events = _start(binary, tmp_path, "ok", tcp=True)
    host, port = where.split(":")
    try:
        t0 = time.monotonic()
        records, _ = loadgen.run_python(host, int(port), 1, method="POST", body_bytes=4000, t0=t0,
                                        behaviour="trickle-body", trickle=(1000, 0.1))
    finally:
        _stop(proc)
    record = records[0]
    assert record["status"] == 200 and record["error"] is None
    assert record["sent_last"] - record["connected"] >= 0.3  # four pieces, 0.1 s apart
    ev = _events(events, t0)["events"]
    first = [t for t, k in zip(ev["t"], ev["kind"]) if k == "first-byte"]
    request = [t for t, k in zip(ev["t"], ev["kind"]) if k == "request"]
    assert first[0] < record["sent_last"] <= request[0] + 0.05


def test_the_events_of_a_real_upstream_parse_with_times_from_the_case_start():
    parsed = upstream_events.parse(data("upstream/events-keepalive.txt"), 3227.0)
    assert parsed["counts"] == {"accept": 2, "first-byte": 5, "request": 5, "close": 2}
    assert parsed["events"]["t"][0] == pytest.approx(0.71268)
    assert parsed["truncated"] is False
    assert upstream_events.parse(data("upstream/events-keepalive.txt"), 0, limit=3)["truncated"] is True
    with pytest.raises(ValueError, match="line 2"):
        upstream_events.parse("1.0 accept 1 5\n1.1 bogus 1 2\n", 0)
