"""The load generator: N concurrent HTTP clients on asyncio sockets (curl processes: loadgen_curl).

Each client yields one record: start, first_byte and end (seconds on the
case's monotonic clock), HTTP status or error name, bytes received, and
whether the response was complete.
"""

import asyncio
import concurrent.futures
import errno
import os
import resource
import signal
import socket
import threading
import time

from . import loadgen_sessions

# The error name of a client the case deadline stopped.
DEADLINE = "case-deadline"


def raise_nofile(wanted):
    """Raise the soft RLIMIT_NOFILE to `wanted`; refuse, naming the fix, when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise RuntimeError("the clients need %d open files but the hard limit here is %d: raise it (ulimit -Hn, "
                           "LimitNOFILE=) or run fewer clients" % (wanted, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def build_request(method, path, body_bytes):
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: nginx-proxy-lab\r\nConnection: close\r\n" % (method, path)
    if body_bytes:
        head += "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n" % body_bytes
    return (head + "\r\n").encode()


def parse_response(head, total_bytes, tail):
    """Status and completeness of a raw HTTP response read until the server closed.

    `head` holds the first bytes of the response, `tail` its last bytes and
    `total_bytes` its length. Returns (status or None, complete).
    """
    header_end = head.find(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or header_end < 0:
        return None, False
    status_line, _, header_text = head[:header_end].partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in header_text.split(b"\r\n"):
        key, _, value = line.partition(b":")
        headers[key.strip().lower()] = value.strip().lower()
    body = total_bytes - header_end - 4
    if b"content-length" in headers:
        return status, body >= int(headers[b"content-length"])
    if headers.get(b"transfer-encoding") == b"chunked":
        return status, tail.endswith(b"0\r\n\r\n")
    return status, True


def response_header(head, name):
    """The value of header `name` (lower case, bytes) in a raw response head, as text; None when absent."""
    end = head.find(b"\r\n\r\n")
    for line in head[:end if end >= 0 else len(head)].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


_ERRNO_OF = {ConnectionResetError: "ECONNRESET", BrokenPipeError: "EPIPE", ConnectionRefusedError: "ECONNREFUSED",
             ConnectionAbortedError: "ECONNABORTED"}


def error_name(exc):
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "client-timeout"
    code = getattr(exc, "errno", None)
    if code:
        return errno.errorcode.get(code, "errno-%d" % code)
    return _ERRNO_OF.get(type(exc), type(exc).__name__)


class Meter(object):
    """Connections open at once, and the most seen."""

    def __init__(self):
        self.open = 0
        self.peak = 0

    def up(self):
        self.open += 1
        self.peak = max(self.peak, self.open)

    def down(self):
        self.open -= 1


def _new_record(index):
    return {"id": index, "start": None, "first_byte": None, "end": None, "status": None, "error": None,
            "bytes": 0, "complete": False}


def _connect_and_send(host, port, data, timeout, t0):
    """In a thread: connect and send `data` (a request's head and body) at once, with nothing between the two but the
    kernel, the body at the pace the server reads it, as a curl process sends it; (socket, when it connected, when the
    last byte went)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    connected = time.monotonic() - t0
    try:
        sock.sendall(data)
        sent = time.monotonic() - t0
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, connected, sent


async def _request(record, seen, host, port, request, body, t0, meter, pause_s=0.0, senders=None):
    """One request, read until the server closes; the response's first and last bytes go to `seen`
    as they arrive (a client stopped half-way keeps what it got). `pause_s`: seconds between connecting and sending
    (`sent` notes when the request went). With `senders` (a thread pool) the request goes out the moment the
    connection is made, in the thread that made it, however busy the event loop is (listen ... deferred: nginx
    takes the connection only with its request, and only for a second)."""
    if senders is not None:
        # the request goes with the connect, its body too: left to the event loop, the bodies came late when it fell
        # behind, and the worker took in clients still sending (clientrun.sends_with_connect). A thread whose client
        # waits in nginx's listen queue waits with it; nginx takes or resets it at its own accept pace.
        sock, connected, sent = await asyncio.get_running_loop().run_in_executor(
            senders, _connect_and_send, host, port, request + body, 30.0, t0)
        reader, writer = await asyncio.open_connection(sock=sock)
        loadgen_sessions.opened(record, writer, t0)
        record["connected"], record["request_sent"] = connected, sent
        request = body = b""
    else:
        reader, writer = await asyncio.open_connection(host, port)
        loadgen_sessions.opened(record, writer, t0)
    meter.up()
    try:
        if pause_s:
            await asyncio.sleep(pause_s)
            record["sent"] = time.monotonic() - t0
        if request:
            writer.write(request)
        if body:
            writer.write(body)
        await writer.drain()
        await loadgen_sessions.read_until_close(reader, record, seen, t0)
    finally:
        meter.down()
        writer.close()


class SetUp(object):
    """Counts the holding clients through their set-up (connected and answered, or failed); the hold of every
    client lasts until `hold_s` after the last one is set up, so all of them are held together for `hold_s`
    however slowly the host opens them."""

    def __init__(self, clients):
        self.left = clients
        self.counted = set()
        self.all_done = asyncio.Event()
        self.at = None

    def done(self, record):
        if record["id"] in self.counted:
            return
        self.counted.add(record["id"])
        self.left -= 1
        if self.left <= 0:
            self.at = time.monotonic()
            self.all_done.set()


async def _idle(reader, setup, hold_s):
    """Wait until `hold_s` after every client is set up; the first byte (b"" at a close) if the server
    acted first, None if the hold ran out."""
    read = asyncio.ensure_future(reader.read(1))
    everyone = asyncio.ensure_future(setup.all_done.wait())
    try:
        await asyncio.wait({read, everyone}, return_when=asyncio.FIRST_COMPLETED)
        if not read.done():
            return await asyncio.wait_for(read, max(0.0, setup.at + hold_s - time.monotonic()))
        return read.result()
    except asyncio.TimeoutError:
        return None
    finally:
        everyone.cancel()
        read.cancel()


async def _hold(record, host, port, hold, timeout, t0, meter, setup):
    """Connect, send what the hold sends (`hold`: (bytes or None, whether an answer comes, seconds)) and read the
    answer if one comes, then stay idle until `hold_s` after the last client is set up. `closed` is when the
    server closed the connection, None when it stayed open."""
    send, answered, hold_s = hold
    record["closed"] = None
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    loadgen_sessions.opened(record, writer, t0)
    meter.up()
    try:
        if send:
            writer.write(send)
            await writer.drain()
        if send and answered:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            record["first_byte"] = time.monotonic() - t0
            record["bytes"] = len(head)
            record["status"], _ = parse_response(head, len(head), head[-16:])
        setup.done(record)
        try:
            chunk = await _idle(reader, setup, hold_s)
        except OSError as exc:
            record["closed"] = time.monotonic() - t0
            record["error"] = error_name(exc)
            return
        if chunk is None:
            record["complete"] = True
        else:
            record["closed"] = time.monotonic() - t0
            record["error"] = "server-closed" if not chunk else "unexpected-data"
    finally:
        meter.down()
        writer.close()


async def _client(index, host, port, request, body, timeout, t0, gate, meter, offset=0.0, hold=None, setup=None,
                  session=None, pause_s=0.0, senders=None):
    """One client: wait at the gate, then `offset` seconds (the ramp), then a request (`pause_s` after connecting),
    a hold (`hold`: (what it sends or None, whether an answer comes, seconds), `setup`: the SetUp all holding clients
    share) or a session of loadgen_sessions (`session(record, seen, meter)`)."""
    record = _new_record(index)
    seen = {"head": bytearray(), "tail": b""}
    try:
        await gate.wait()
        if offset:
            await asyncio.sleep(offset)
        record["start"] = time.monotonic() - t0
        if hold is not None:
            try:
                await _hold(record, host, port, hold, timeout, t0, meter, setup)
            except Exception as exc:  # a failed connect or keep-alive request: recorded by name
                setup.done(record)
                record["error"] = record["error"] or error_name(exc)
                if record.get("connected") is not None and record["closed"] is None:
                    record["closed"] = time.monotonic() - t0
            record["end"] = time.monotonic() - t0
            return record
        if session is not None:
            await asyncio.wait_for(session(record, seen, meter), timeout)
            if "responses" in record:  # a keep-alive sequence: its record is complete
                record["end"] = time.monotonic() - t0
                return record
        else:
            await asyncio.wait_for(_request(record, seen, host, port, request, body, t0, meter, pause_s, senders),
                                   timeout)
    except asyncio.CancelledError:  # the case deadline: stopped, keeps its start time, has no end
        record["error"] = DEADLINE
        return record
    except Exception as exc:  # every failure is a finding, recorded by name
        record["error"] = error_name(exc)
    record["end"] = time.monotonic() - t0
    status, complete = parse_response(bytes(seen["head"]), record["bytes"], seen["tail"])
    generation = response_header(bytes(seen["head"]), b"x-npl-config")
    if generation is not None:
        record["config"] = int(generation) if generation.isdigit() else generation
    record["status"] = status
    record["complete"] = complete and record["error"] is None
    if status is None and record["error"] is None:
        record["error"] = "no-response" if record["bytes"] == 0 else "bad-response"
    return record


async def _run_python(host, port, clients, request, body, timeout, t0, meter, ramp_s=0.0, hold=None, session=None,
                      pause_s=0.0, senders=None):
    # Every client waits at the gate, so all of them start together (or on the ramp's schedule from then).
    gate = asyncio.Event()
    step = ramp_s / clients if clients else 0.0
    setup = SetUp(clients)
    tasks = [asyncio.ensure_future(_client(i, host, port, request, body, timeout, t0, gate, meter, i * step, hold,
                                           setup, session, pause_s, senders)) for i in range(clients)]
    # SIGTERM is the case deadline: every client still running is cancelled and recorded as stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: [t.cancel() for t in tasks])
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks)


def _usage(started, extra):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {"wall_s": round(time.monotonic() - started, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
             "peak_rss_kb": usage.ru_maxrss}
    stats.update(extra)
    return stats


def keepalive_request(path):
    return ("GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: nginx-proxy-lab\r\n\r\n" % path).encode()


def partial_request(path):
    """A request line and Host header whose header block never ends: nginx keeps reading it (hold-partial)."""
    return ("GET %s HTTP/1.1\r\nHost: localhost\r\n" % path).encode()


def _session(behaviour, host, port, request, body, path, t0, requests, trickle, pause_s=0.0):
    """The session coroutine of a keepalive-requests or trickle-* client (loadgen_sessions), or None."""
    if behaviour == "keepalive-requests":
        again = keepalive_request(path)
        return lambda record, seen, meter: loadgen_sessions.keepalive_requests(record, host, port, again, requests,
                                                                               t0, meter, pause_s)
    if behaviour in ("trickle-headers", "trickle-body"):
        what = behaviour.split("-")[1]
        return lambda record, seen, meter: loadgen_sessions.trickle(record, seen, host, port, request, body, what,
                                                                    trickle[0], trickle[1], t0, meter)
    return None


def run_python(host, port, clients, method="GET", path="/", body_bytes=0, timeout=30.0, t0=None, ramp_s=0.0,
               behaviour="request", hold_s=0.0, keepalive_path="/npl-keepalive", requests=1, trickle=(1, 0.1),
               pause_s=0.0, send_with_connect=False):
    """Run `clients` asyncio clients, all at once or spread over `ramp_s`; each sends one request
    (`behaviour` request), holds its connection (hold-idle, keepalive-idle) until `hold_s` after the
    last client has connected (and been answered), so all are held together for `hold_s`, sends `requests`
    keep-alive requests in a row (keepalive-requests), or trickles its request's headers or body
    (trickle-headers, trickle-body; `trickle`: (bytes, seconds between them)).
    Returns (their records in client order, load generator stats)."""
    started = time.monotonic()
    t0 = started if t0 is None else t0
    raise_nofile(clients + 256)
    body = os.urandom(body_bytes) if body_bytes else b""
    request = build_request(method, path, body_bytes)
    hold = {"hold-idle": (None, False, hold_s), "hold-partial": (partial_request(path), False, hold_s),
            "keepalive-idle": (keepalive_request(keepalive_path), True, hold_s)}.get(behaviour)
    session = _session(behaviour, host, port, request, body, path, t0, requests, trickle, pause_s)
    meter = Meter()
    loop = asyncio.new_event_loop()
    # send_with_connect (request clients without a pause): connect and send in one thread each
    senders = concurrent.futures.ThreadPoolExecutor(min(clients, 64)) if send_with_connect and behaviour == "request" \
        and not pause_s else None
    if senders is not None:
        # start the threads now, not as the ramp needs them (on an emulated VM that made a 1 s ramp last 4 s)
        barrier = threading.Barrier(min(clients, 64))
        list(senders.map(lambda _: barrier.wait(5.0), range(min(clients, 64))))
    try:
        records = loop.run_until_complete(_run_python(host, port, clients, request, body, timeout, t0, meter,
                                                      ramp_s, hold, session, pause_s, senders))
    finally:
        loop.close()
        if senders is not None:
            senders.shutdown(wait=False, cancel_futures=True)
    return records, _usage(started, {"mode": "python", "open_peak": meter.peak})
