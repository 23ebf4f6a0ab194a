"""Speed and memory figures of the kit's own instruments (not of nginx): prints two tables.

    sudo make bench            (sudo make bench BENCH_ARGS=--quick skips the 10,000-client run)

1. The load generator, against the lab's upstream in TCP mode that accepts, reads and never
   answers (so every connection stays open until the client's 3 s timeout), in a private
   network namespace: time until every client is done, connections open at once, memory, CPU.
   1,024 and 10,000 asyncio clients, beside 1,024 curl processes (the research's client).
2. The sampler, during real cases (upstream never accepts, proxy timeout 3 s) with 100, 1,024 and
   8,000 connections queued on the upstream path: /proc/net/unix + sock_diag samples per second
   and the CPU share of the sampling thread.
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case, loadgen, loadgen_curl, netns, params
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.guardian import run_supervised
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import role_defaults

UPSTREAM = role_defaults.upstream_binary()
PORT = 8080


def _loadgen_in_namespace(client_mode, clients, track):
    tag = "npl-bench-%d" % os.getpid()
    track("netns", tag)
    netns.create(tag)
    netns.enter(tag)
    with open("/proc/sys/net/core/somaxconn", "w") as handle:
        handle.write("16384")
    workdir = "/run/nginx-proxy-lab/" + tag
    track("paths", workdir)
    os.makedirs(workdir)
    upstream = subprocess.Popen([UPSTREAM, "--mode", "no-write", "--tcp", "127.0.0.1:%d" % PORT,
                                 "--backlog", "16384"], stdout=subprocess.PIPE, text=True, start_new_session=True)
    track("pgids", upstream.pid)
    upstream.stdout.readline()
    run = loadgen_curl.run_curl if client_mode == "curl" else loadgen.run_python
    kwargs = {"workdir": workdir} if client_mode == "curl" else {}
    records, stats = run("127.0.0.1", PORT, clients, timeout=3.0, **kwargs)
    outcomes = {}
    for r in records:
        key = str(r["status"]) if r["status"] else r["error"]
        outcomes[key] = outcomes.get(key, 0) + 1
    return {"stats": stats, "outcomes": outcomes}


def bench_loadgen(quick):
    print("\n## Load generator (clients held open for 3 s each)\n")
    header = ("client", "clients", "all done s", "open at once", "memory peak MB", "CPU s", "outcomes")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for client_mode, clients in (("python", 1024), ("python", 10000), ("curl", 1024)):
        if quick and clients > 5000:
            continue
        out, _ = run_supervised(lambda track: _loadgen_in_namespace(client_mode, clients, track))
        st = out["stats"]
        if client_mode == "curl":
            row = (st["curl_running_peak"], st["curl_rss_kb_sum_peak"] / 1024.0, st["curl_cpu_s"] + st["cpu_s"])
        else:
            row = (st["open_peak"], st["peak_rss_kb"] / 1024.0, st["cpu_s"])
        outcomes = ", ".join("%s×%d" % kv for kv in sorted(out["outcomes"].items()))
        print("| %s | %d | %.2f | %d | %.1f | %.2f | %s |" % (client_mode, clients, st["wall_s"], row[0], row[1],
                                                            row[2], outcomes))
        sys.stdout.flush()


def case_params(clients):
    return params.defaults(case="bench-sampler-%d" % clients, mode="no-accept", clients=clients, proxy_timeout=3,
                           deadline=60, error_log_level="error", worker_connections=20000, somaxconn=16384,
                           upstream_backlog=16384, nginx_backlog=16384)


def bench_sampler(quick):
    print("\n## Sampler (/proc/net/unix + sock_diag every 10 ms, during a case)\n")
    header = ("queued connections", "path lines peak", "samples/s", "sampler CPU %", "stub_status+memory CPU %")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for clients in (100, 1024, 8000):
        if quick and clients > 5000:
            continue
        doc = case.execute(case_params(clients))
        t = doc["samples"]["unix"]["t"]
        span = t[-1] - t[0]
        cpu = doc["meta"]["sampler"]["cpu_seconds"]
        print("| %d | %s | %.0f | %.1f | %.1f |" % (clients, doc["summary"]["unix_lines_peak"], (len(t) - 1) / span,
                                                  100.0 * cpu["unix"] / span, 100.0 * cpu["stub_memory"] / span))
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the runs with thousands of clients")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (it runs real cases in network namespaces): sudo make bench")
    print("kernel %s, %d CPUs, %s" % (os.uname().release, os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
    bench_loadgen(args.quick)
    bench_sampler(args.quick)


if __name__ == "__main__":
    main()
