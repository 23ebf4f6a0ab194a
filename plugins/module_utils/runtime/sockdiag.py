"""Listener queue length and backlog of a Unix socket, from sources independent of /proc/net/unix (and of a TCP
listener: nginx's own).

The kernel reports, for a listening AF_UNIX socket, the number of connections
waiting in its accept queue (udiag_rqueue, `ss -xl` Recv-Q) and the backlog
in force (udiag_wqueue, `ss -xl` Send-Q).
"""

import socket

TCP_LISTEN = 10


class UnixListenerDiag(object):
    """sock_diag over netlink (pyroute2), in the network namespace of the thread that creates it."""

    def __init__(self):
        from pyroute2 import DiagSocket  # imported late: only the target needs pyroute2
        from pyroute2.netlink.diag import UDIAG_SHOW_NAME, UDIAG_SHOW_RQLEN

        self._show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN
        self._sock = DiagSocket()
        self._sock.bind()

    def listeners(self):
        """{path: (queue_len, backlog)} for every listening Unix socket bound to a path."""
        found = {}
        for msg in self._sock.get_sock_stats(family=socket.AF_UNIX, states=1 << TCP_LISTEN, show=self._show):
            name = msg.get_attr("UNIX_DIAG_NAME")
            rqlen = msg.get_attr("UNIX_DIAG_RQLEN")
            if name and rqlen is not None:
                found[name] = (rqlen["udiag_rqueue"], rqlen["udiag_wqueue"])
        return found

    def tcp_listeners(self):
        """{(address, port): (queue_len, backlog)} for every listening IPv4 TCP socket (`ss -ltn` Recv-Q, Send-Q)."""
        return {(msg["idiag_src"], msg["idiag_sport"]): (msg["idiag_rqueue"], msg["idiag_wqueue"])
                for msg in self._sock.get_sock_stats(family=socket.AF_INET, states=1 << TCP_LISTEN)}

    def queue(self, path):
        """(queue_len, backlog) of the listener on `path`, or (None, None) if nothing listens there."""
        return self.listeners().get(path, (None, None))

    def close(self):
        self._sock.close()


def parse_ss_xl(text, path):
    """(queue_len, backlog) for `path` from the output of `ss -xlnH` or `ss -xln`, or (None, None)."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] == "Netid":
            continue
        # u_str LISTEN Recv-Q Send-Q Local-Address Port Peer-Address Port
        if fields[1] == "LISTEN" and fields[4] == path:
            return int(fields[2]), int(fields[3])
    return None, None
