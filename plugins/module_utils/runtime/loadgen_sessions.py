"""Clients of the load generator that do more than one plain request: keep-alive request sequences and trickles.

- keepalive-requests: `count` HTTP/1.1 keep-alive requests one after another on one connection, each answer read
  to its end (Content-Length, chunked, or no body), until all are answered or the server closes. The record adds
  `responses` (answers read), `close_after` (the answer that carried "Connection: close", None if none did) and
  `closed` (when the server closed the connection; None when the client closed it).
- trickle-headers / trickle-body: one request (Connection: close) whose header block, or body, is sent
  `chunk` bytes at a time every `interval_s` seconds; the record adds `sent_last`, taken just before the last
  byte was written, so that the server cannot have had it earlier (None if the server stopped the client first). The response is read as a plain request's is.

Times are seconds on the case's monotonic clock (t0), like every other client time.
"""

import asyncio
import time


def _head_fields(head):
    """(status, content length or None, chunked, connection close) of a response header block."""
    status_line, _, rest = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    length, chunked, close = None, False, False
    for line in rest.split(b"\r\n"):
        key, _, value = line.partition(b":")
        key, value = key.strip().lower(), value.strip().lower()
        if key == b"content-length" and value.isdigit():
            length = int(value)
        elif key == b"transfer-encoding" and value == b"chunked":
            chunked = True
        elif key == b"connection" and value == b"close":
            close = True
    return status, length, chunked, close


async def _read_chunked(reader):
    """Read a chunked body to its end; returns its size on the wire."""
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size += len(line)
        length = int(line.split(b";")[0].strip() or b"0", 16)
        if length == 0:
            size += len(await reader.readuntil(b"\r\n"))  # the empty trailer
            return size
        size += len(await reader.readexactly(length + 2))


async def _read_answer(reader):
    """One response; (status, bytes, connection close). IncompleteReadError when the server closed first."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, chunked, close = _head_fields(head)
    size = len(head)
    if status in (204, 304) or (status is not None and status < 200):
        pass
    elif length is not None:
        size += len(await reader.readexactly(length))
    elif chunked:
        size += await _read_chunked(reader)
    else:  # no length: the body lasts until the server closes
        size += len(await reader.read())
        close = True
    return status, size, close


async def read_until_close(reader, record, seen, t0, keep_head=8192):
    """Read a response until the server closes: the first byte's time and the byte count go to `record`, the
    first `keep_head` bytes and the last 16 to `seen` as they arrive (a client stopped half-way keeps them)."""
    head = seen["head"]
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        if record["first_byte"] is None:
            record["first_byte"] = time.monotonic() - t0
        record["bytes"] += len(chunk)
        if len(head) < keep_head:
            head.extend(chunk[: keep_head - len(head)])
        seen["tail"] = (seen["tail"] + chunk)[-16:]


def opened(record, writer, t0):
    """Note when the client's connection was made, and its local port (nginx's debug log names the client by it)."""
    record["connected"] = time.monotonic() - t0
    try:
        record["local_port"] = writer.get_extra_info("sockname")[1]
    except (TypeError, IndexError):
        record["local_port"] = None


async def _closed_while_idle(reader, seconds):
    """Watch an idle keep-alive connection for `seconds`: True as soon as the server closes it."""
    try:
        chunk = await asyncio.wait_for(reader.read(1), seconds)
    except asyncio.TimeoutError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    return chunk == b""


async def keepalive_requests(record, host, port, request, count, t0, meter, pause_s=0.0):
    """`count` requests in a row on one keep-alive connection (see the module's docstring), `pause_s` apart (from
    one answer to the next request, watching the idle connection: a close by the server then is noted in `closed`
    when it happens; `sent` notes when each request went)."""
    record.update(responses=0, close_after=None, closed=None)
    if pause_s:
        record["sent"] = []
    reader, writer = await asyncio.open_connection(host, port)
    opened(record, writer, t0)
    meter.up()
    try:
        for k in range(count):
            if k and pause_s and await _closed_while_idle(reader, pause_s):
                # nginx closed the idle keep-alive connection (its keepalive_timeout, or a reload)
                record["closed"] = time.monotonic() - t0
                record["error"] = "server-closed"
                return
            if pause_s:
                record["sent"].append(time.monotonic() - t0)
            writer.write(request)
            await writer.drain()
            try:
                status, size, close = await _read_answer(reader)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                record["closed"] = time.monotonic() - t0
                record["error"] = "server-closed"
                return
            if record["first_byte"] is None:
                record["first_byte"] = time.monotonic() - t0
            record["responses"] += 1
            record["status"] = status
            record["bytes"] += size
            if close:
                record["close_after"] = record["responses"]
                break
        if record["close_after"] is not None:
            # The server said it closes: wait for it to (the client's own timeout bounds the wait).
            if await reader.read(1) == b"":
                record["closed"] = time.monotonic() - t0
            if record["responses"] < count:
                record["error"] = "server-closed"
        record["complete"] = record["responses"] == count
    finally:
        meter.down()
        writer.close()


async def trickle(record, seen, host, port, head, body, what, chunk, interval_s, t0, meter):
    """One request whose header block (`what` "headers") or body ("body") goes out `chunk` bytes at a time every
    `interval_s`; then its response is read until the server closes, into `seen` as loadgen._request does."""
    record["sent_last"] = None
    reader, writer = await asyncio.open_connection(host, port)
    opened(record, writer, t0)
    meter.up()
    try:
        slow = head if what == "headers" else body
        if what == "body":
            writer.write(head)
        for i in range(0, len(slow), chunk):
            if i:
                await asyncio.sleep(interval_s)
            if i + chunk >= len(slow):
                # Taken before the last write: the server cannot have the last byte earlier than this.
                record["sent_last"] = time.monotonic() - t0
            writer.write(slow[i:i + chunk])
            await writer.drain()
        await read_until_close(reader, record, seen, t0)
    finally:
        meter.down()
        writer.close()
