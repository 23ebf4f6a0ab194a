from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.sockdiag import parse_ss_xl

from .helpers import CAPTURE_SOCKET, data


def test_ss_xln_capture_gives_queue_and_backlog():
    # Same moment as proc_net_unix_no_accept.txt: 5 queued, listen(fd, 64).
    assert parse_ss_xl(data("ss_xln_no_accept.txt"), CAPTURE_SOCKET) == (5, 64)


def test_ss_xln_unknown_path():
    assert parse_ss_xl(data("ss_xln_no_accept.txt"), "/nowhere.sock") == (None, None)
