"""At the case deadline the load generator keeps every finished client and the start of every stopped one
(real sockets: a server on loopback that answers the first connections and holds the rest)."""

import json
import os
import signal
import socket
import threading
import time

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import loadgen

ANSWERED = 3


def serve(listener, stop):
    held = []
    count = 0
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        count += 1
        if count <= ANSWERED:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            conn.close()
        else:
            held.append(conn)
    for conn in held:
        conn.close()


def test_sigterm_keeps_finished_clients_and_stopped_clients_keep_their_start():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()
    server = threading.Thread(target=serve, args=(listener, stop), daemon=True)
    server.start()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            records, _ = loadgen.run_python("127.0.0.1", listener.getsockname()[1], 8, timeout=30.0)
            os.write(write_end, json.dumps(records).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        time.sleep(1.0)
        os.kill(pid, signal.SIGTERM)
        with os.fdopen(read_end) as handle:
            records = json.loads(handle.read())
        os.waitpid(pid, 0)
    finally:
        stop.set()
        server.join(2)
        listener.close()
    finished = [r for r in records if r["status"] == 200]
    stopped = [r for r in records if r["error"] == loadgen.DEADLINE]
    assert len(records) == 8 and len(finished) == ANSWERED and len(stopped) == 8 - ANSWERED
    assert all(r["start"] is not None and r["end"] is None for r in stopped)
    assert all(r["end"] >= r["start"] for r in finished)
