"""Re-capture the real /proc, ss, stub_status and HTTP samples the unit tests parse.

Run as root from the repo: .venv/bin/python tests/data/capture.py
It starts the upstream and nginx in a throw-away network namespace, captures, and removes everything.
"""

import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import netns, nginx_conf

UPSTREAM = "/opt/nginx-proxy-lab/bin/upstream"
NS = "npl-capture"
WORK = "/run/nginx-proxy-lab/capture"
SOCK = WORK + "/upstream.sock"
PARAMS = dict(worker_processes=1, error_log_level="info", keepalive_timeout=10, proxy_buffering=False,
              nginx_default_timeouts=False, proxy_timeout=2, proxy_locations=1, stub_status_path="/stats",
              nginx_port=80, worker_connections=256)


def save(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(HERE, name), mode) as handle:
        handle.write(data)
    print("saved", name)


def raw_get(path="/", timeout=10):
    with socket.create_connection(("127.0.0.1", 80), timeout=timeout) as conn:
        conn.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
        out = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return out
            out += chunk


def with_upstream(mode, body):
    upstream = subprocess.Popen([UPSTREAM, "--mode", mode, "--unix", SOCK, "--backlog", "64"], stdout=subprocess.PIPE)
    upstream.stdout.readline()
    conf = WORK + "/nginx.conf"
    with open(conf, "w") as handle:
        handle.write(nginx_conf.render(PARAMS, WORK, SOCK))
    nginx = subprocess.Popen(["nginx", "-p", WORK, "-c", conf, "-e", WORK + "/error.log"])
    time.sleep(0.5)
    try:
        body(upstream, nginx)
    finally:
        for proc in (nginx, upstream):
            proc.terminate()
            proc.wait()


def capture_no_accept(upstream, nginx):
    clients = [socket.socket(socket.AF_UNIX) for _ in range(5)]
    for c in clients:
        c.connect(SOCK)
    save("proc_net_unix_no_accept.txt", open("/proc/net/unix").read())
    save("ss_xln_no_accept.txt", subprocess.run(["ss", "-xln"], capture_output=True, text=True).stdout)
    save("http_504.bin", raw_get())
    save("stub_status.txt", raw_get("/stats").split(b"\r\n\r\n", 1)[1].decode())
    workers = subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True, text=True).stdout.split()
    save("proc_status_nginx_worker.txt", open("/proc/%s/status" % workers[0]).read())
    save("proc_stat_nginx_worker.txt", open("/proc/%s/stat" % workers[0]).read())
    for c in clients:
        c.close()


def capture_no_read(upstream, nginx):
    clients = [socket.socket(socket.AF_UNIX) for _ in range(5)]
    for c in clients:
        c.connect(SOCK)
    time.sleep(0.2)
    save("proc_net_unix_no_read.txt", open("/proc/net/unix").read())
    for c in clients:
        c.close()


def capture_ok(upstream, nginx):
    save("http_200_close_delimited.bin", raw_get())


def capture_no_close(upstream, nginx):
    save("http_200_truncated_chunked.bin", raw_get())


def main():
    os.makedirs(WORK, exist_ok=True)
    netns.create(NS)
    try:
        previous = netns.enter(NS)
        for mode, body in (("no-accept", capture_no_accept), ("no-read", capture_no_read), ("ok", capture_ok),
                           ("no-close", capture_no_close)):
            with_upstream(mode, body)
        netns.leave(previous)
    finally:
        netns.delete(NS)
        subprocess.run(["rm", "-rf", WORK])


if __name__ == "__main__":
    main()
