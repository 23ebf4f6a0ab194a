"""Parse `strace -f -tt` output of nginx and reduce it to what the research claims about.

Lines look like
    1234 10:00:00.123456 accept4(6, {sa_family=AF_INET, ...}, [112 => 16], SOCK_NONBLOCK) = 12
    1234 10:00:00.123470 epoll_wait(8,  <unfinished ...>
    1234 10:00:05.130000 <... epoll_wait resumed>[{events=EPOLLIN, ...}], 512, 5000) = 1
    1234 10:00:05.130100 connect(13, {sa_family=AF_UNIX, sun_path="/x.sock"}, 110) = -1 EAGAIN (Resource ...)
"""

import re

TRACED = "accept4,socket,connect,writev,write,sendmsg,recvfrom,readv,read,epoll_wait,close,listen,bind"

_PREFIX = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\d\d:\d\d:\d\d(?:\.\d+)?)?\s*(.*)$")
_CALL = re.compile(r"^([a-z_0-9]+)\((.*)$")
_RESUMED = re.compile(r"^<\.\.\. ([a-z_0-9]+) resumed>(.*)$")
_RESULT = re.compile(r"\)\s+=\s+(-?\d+|\?)(?:\s+([A-Z][A-Z0-9_]+))?.*$")


def _seconds(stamp):
    if not stamp:
        return None
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse(text):
    """Every completed system call as a dict: pid, t (s since midnight), name, args, ret, errno."""
    calls = []
    pending = {}
    for line in text.splitlines():
        match = _PREFIX.match(line.strip())
        if not match:
            continue
        pid, stamp, rest = int(match.group(1)), match.group(2), match.group(3)
        if rest.startswith(("---", "+++")):
            continue
        resumed = _RESUMED.match(rest)
        if resumed:
            name, tail = resumed.groups()
            start = pending.pop((pid, name), None)
            if start is None:
                continue
            body = start["head"] + tail
            t = start["t"]
        else:
            call = _CALL.match(rest)
            if not call:
                continue
            name, body = call.groups()
            t = _seconds(stamp)
            if body.endswith("<unfinished ...>"):
                pending[(pid, name)] = {"head": body[: -len("<unfinished ...>")].rstrip(), "t": t}
                continue
        result = _RESULT.search(body)
        ret = errno = None
        args = body
        if result:
            args = body[: result.start()]
            ret = None if result.group(1) == "?" else int(result.group(1))
            errno = result.group(2)
        calls.append({"pid": pid, "t": t, "name": name, "args": args, "ret": ret, "errno": errno})
    return calls


def _fd(args):
    head = args.split(",", 1)[0].strip()
    return int(head) if head.isdigit() else None


def listen_calls(calls):
    """(fd, backlog) of every successful listen()."""
    out = []
    for c in calls:
        if c["name"] == "listen" and c["ret"] == 0:
            fd, _, backlog = c["args"].partition(",")
            out.append((int(fd), int(backlog.strip())))
    return out


def counts(calls):
    out = {}
    for c in calls:
        out[c["name"]] = out.get(c["name"], 0) + 1
    return dict(sorted(out.items()))


def requests(calls):
    """Per proxied request, in order: what nginx did with the client and upstream sockets.

    A request starts at an accept4() that returns a descriptor; the next AF_UNIX socket() of
    the same process is its upstream. Each step is a token: accept4, recv_client, socket,
    connect=<0|EAGAIN|EINPROGRESS|...>, write_upstream, epoll_wait, close_upstream,
    write_client, close_client.
    """
    done = []
    open_by_pid = {}
    for c in calls:
        pid, name, args = c["pid"], c["name"], c["args"]
        mine = open_by_pid.setdefault(pid, [])
        if name == "accept4" and c["ret"] is not None and c["ret"] >= 0:
            mine.append({"pid": pid, "client_fd": c["ret"], "upstream_fd": None, "start": c["t"], "steps": ["accept4"],
                         "connect": None, "upstream_closed": False})
            continue
        if name == "epoll_wait":
            for r in mine:
                if r["upstream_fd"] is not None and not r["upstream_closed"] and r["steps"][-1] != "epoll_wait":
                    r["steps"].append("epoll_wait")
            continue
        if name == "socket" and "AF_UNIX" in args and c["ret"] is not None and c["ret"] >= 0:
            for r in mine:
                if r["upstream_fd"] is None:
                    r["upstream_fd"] = c["ret"]
                    r["steps"].append("socket")
                    break
            continue
        fd = _fd(args)
        for r in list(mine):
            if fd == r["upstream_fd"] and not r["upstream_closed"]:
                if name == "connect":
                    r["connect"] = "0" if c["ret"] == 0 else (c["errno"] or str(c["ret"]))
                    r["steps"].append("connect=" + r["connect"])
                elif name in ("writev", "write", "sendmsg") and c["ret"] is not None and c["ret"] > 0:
                    r["steps"].append("write_upstream")
                elif name == "close":
                    r["steps"].append("close_upstream")
                    r["upstream_closed"] = True
            elif fd == r["client_fd"]:
                if name in ("recvfrom", "read", "readv") and c["ret"]:
                    if r["steps"][-1] != "recv_client":
                        r["steps"].append("recv_client")
                elif name in ("writev", "write", "sendmsg") and c["ret"] is not None and c["ret"] > 0:
                    if r["steps"][-1] != "write_client":
                        r["steps"].append("write_client")
                elif name == "close":
                    r["steps"].append("close_client")
                    r["end"] = c["t"]
                    mine.remove(r)
                    done.append(r)
    for mine in open_by_pid.values():
        done.extend(mine)
    return sorted(done, key=lambda r: (r["start"] or 0))


def summarize(text, excerpt_lines=2000):
    calls = parse(text)
    every = requests(calls)
    # Requests that never opened an upstream socket are the sampler's own stub_status fetches.
    reqs = [r for r in every if "socket" in r["steps"]]
    connects = {}
    for r in reqs:
        connects[r["connect"] or "none"] = connects.get(r["connect"] or "none", 0) + 1
    return {
        "calls": counts(calls),
        "listen": [{"fd": fd, "backlog": backlog} for fd, backlog in listen_calls(calls)],
        "requests": [{"steps": r["steps"], "connect": r["connect"]} for r in reqs],
        "request_count": len(reqs),
        "unproxied_count": len(every) - len(reqs),
        "connect_results": dict(sorted(connects.items())),
        "excerpt": text.splitlines()[:excerpt_lines],
    }
