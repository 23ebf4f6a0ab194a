"""A request sent with its connect: head and body leave in the thread that made the connection (its `request_sent`
between connecting and the end), and a real loopback server gets every request whole. Which cases send that way is
clientrun's rule."""

import os
import socket
import threading

import yaml

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import clientrun, loadgen, params

from .helpers import ROOT

BODY = 262144


def _server(clients):
    """Accepts `clients` connections, reads each request whole (head and BODY bytes), answers 200 and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(clients)
    got = []

    def one(conn):
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < BODY:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        got.append(data)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()

    def serve():
        for _ in range(clients):
            conn, _ = srv.accept()
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, got


def test_a_request_with_a_body_arrives_whole_when_it_goes_with_the_connect():
    srv, got = _server(8)
    try:
        records, stats = loadgen.run_python("127.0.0.1", srv.getsockname()[1], 8, method="POST", body_bytes=BODY,
                                            timeout=20.0, send_with_connect=True)
    finally:
        srv.close()
    assert [r.get("status") for r in records] == [200] * 8, records
    assert all(r["connected"] <= r["request_sent"] <= r["end"] for r in records), records
    assert len(got) == 8
    for data in got:
        head, body = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"POST / HTTP/1.1") and b"Content-Length: %d" % BODY in head
        assert len(body) == BODY


def test_cases_that_outnumber_worker_connections_or_listen_deferred_send_with_the_connect():
    with open(os.path.join(ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        catalogue = yaml.safe_load(handle)["npl_catalogue"]
    base = params.defaults()

    def sends(name):
        return clientrun.sends_with_connect(dict(base, **catalogue[name]["params"]))

    assert sends("lab-flood-1mb-wc256") and sends("lab-wc-4") and sends("lab-slots-wc32")
    assert not sends("lab-flood-1mb-100") and not sends("lab-flood-1mb-wc4096") and not sends("case2-no-accept")
