"""The upstream program's events file (--events): one line per accept, first byte, request and close.

Line grammar (roles/lab_upstream/files/upstream.c): "<CLOCK_MONOTONIC seconds> <kind> <connection> <value>",
where value is the peer's PID for accept (SO_PEERCRED: the nginx worker; -1 over TCP), the request's number on
its connection for first-byte, the request's bytes for request, and the requests answered for close.
"""

KINDS = ("accept", "first-byte", "request", "close")
# Events kept in a result; a case with more keeps the counts of all and the first LIMIT events.
LIMIT = 100000


def parse(text, t0, limit=LIMIT):
    """Columns of the events in `text`, times relative to `t0` (the case's monotonic origin), with the count of
    every kind over all lines; a malformed line raises ValueError naming it."""
    columns = {"t": [], "kind": [], "conn": [], "value": []}
    counts = dict((kind, 0) for kind in KINDS)
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if len(fields) != 4 or fields[1] not in KINDS:
            raise ValueError("upstream events line %d is not '<seconds> <kind> <conn> <value>': %r" % (number, line))
        counts[fields[1]] += 1
        if len(columns["t"]) < limit:
            columns["t"].append(round(float(fields[0]) - t0, 6))
            columns["kind"].append(fields[1])
            columns["conn"].append(int(fields[2]))
            columns["value"].append(int(fields[3]))
    return {"events": columns, "counts": counts, "truncated": sum(counts.values()) > len(columns["t"])}
