"""Holding clients against a real loopback listener: every client is held until client_hold_s after the last one
is set up, and a server that closes a connection is noted with its time."""

import socket
import threading
import time

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import loadgen
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.summary import outcome


def _listener(close_first=0):
    """A real TCP listener that accepts everything; it closes the first `close_first` connections at once."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(512)
    kept = []

    def serve():
        n = 0
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            n += 1
            if n <= close_first:
                conn.close()
            else:
                kept.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return srv, kept


def test_every_holding_client_is_held_together_until_the_hold_after_the_last_connect():
    srv, kept = _listener()
    try:
        started = time.monotonic()
        records, stats = loadgen.run_python("127.0.0.1", srv.getsockname()[1], 40, ramp_s=0.8,
                                            behaviour="hold-idle", hold_s=0.4, t0=started)
    finally:
        srv.close()
        for conn in kept:
            conn.close()
    assert stats["open_peak"] == 40
    assert [outcome(r) for r in records] == ["held"] * 40
    last_connect = max(r["connected"] for r in records)
    for r in records:
        assert r["closed"] is None and abs(r["end"] - (last_connect + 0.4)) < 0.2


def test_a_connection_the_server_closes_is_noted_with_its_time():
    srv, kept = _listener(close_first=1)
    try:
        records, _ = loadgen.run_python("127.0.0.1", srv.getsockname()[1], 3, ramp_s=0.3,
                                        behaviour="hold-idle", hold_s=0.3)
    finally:
        srv.close()
        for conn in kept:
            conn.close()
    closed = [r for r in records if r["closed"] is not None]
    assert len(closed) == 1 and closed[0]["error"] == "server-closed" and not closed[0]["complete"]
    assert closed[0]["closed"] < min(r["end"] for r in records if r["closed"] is None)
