from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import count_path_states, fd_usage, parse_stat, parse_status, parse_unix_line

from .helpers import CAPTURE_SOCKET, data


def test_no_accept_capture_counts_listener_and_queued_lines():
    # Real capture: the upstream listens, 5 clients connected, none accepted.
    counts, total = count_path_states(data("proc_net_unix_no_accept.txt"), CAPTURE_SOCKET)
    assert total == 6
    assert counts["01"] == 1  # the listener
    assert counts["02"] == 5  # the five connections waiting to be accepted
    assert counts["03"] == 0


def test_no_read_capture_counts_accepted_lines_as_03():
    counts, total = count_path_states(data("proc_net_unix_no_read.txt"), CAPTURE_SOCKET)
    assert counts["01"] == 1
    assert counts["03"] == total - 1 == 5  # the five accepted connections


def test_lines_of_other_paths_and_unbound_sockets_are_ignored():
    text = data("proc_net_unix_no_accept.txt")
    assert count_path_states(text, "/run/other.sock") == ({"00": 0, "01": 0, "02": 0, "03": 0, "04": 0}, 0)
    # A path that only ends like ours must not match.
    assert count_path_states(text, "upstream.sock")[1] == 0


def test_parse_unix_line_fields():
    line = data("proc_net_unix_no_accept.txt").splitlines()[1]
    entry = parse_unix_line(line)
    assert entry["state"] == "01"
    assert entry["flags"] == 0x10000  # __SO_ACCEPTCON: a listener
    assert entry["path"] == CAPTURE_SOCKET
    assert parse_unix_line(data("proc_net_unix_no_accept.txt").splitlines()[0]) is None


def test_parse_status_of_a_real_nginx_worker():
    status = parse_status(data("proc_status_nginx_worker.txt"))
    assert status["vmsize_kb"] > 1000
    assert 0 < status["vmrss_kb"] <= status["vmsize_kb"]


def test_parse_status_of_a_zombie_has_no_memory():
    assert parse_status("Name:\tnginx\nState:\tZ (zombie)\n") == {"vmsize_kb": None, "vmrss_kb": None}


def test_parse_stat_of_a_real_nginx_worker():
    pid, comm, state, ppid, pgrp = parse_stat(data("proc_stat_nginx_worker.txt"))
    assert comm == "nginx"
    assert pid > ppid > 0
    assert state in "RSD"


def test_parse_stat_with_spaces_and_parentheses_in_comm():
    assert parse_stat("42 (a) b (c)) S 7 42 42 0 -1") == (42, "a) b (c)", "S", 7, 42)


def test_parse_netstat_reads_the_listen_counters_of_a_real_capture():
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import NETSTAT_KEYS, parse_netstat
    from .helpers import data
    values = parse_netstat(data("proc_net_netstat.txt"))
    for key in NETSTAT_KEYS:
        assert isinstance(values[key], int) and values[key] >= 0
    assert values["TcpExtListenDrops"] >= values["TcpExtListenOverflows"]


def test_fd_usage_counts_sockets_and_unlinked_body_files_of_this_process(tmp_path):
    """On this process's real /proc/PID/fd: sockets, and a client_body_temp file nginx-style (opened,
    then unlinked), found with its size; above the readlink cap only the descriptors are counted."""
    import os
    import socket

    before = fd_usage(os.getpid())
    folder = tmp_path / "client_body_temp"
    folder.mkdir()
    path = folder / "0000000001"
    handle = open(path, "wb")
    handle.write(b"x" * 5000)
    handle.flush()
    os.unlink(path)
    pair = socket.socketpair()
    try:
        after = fd_usage(os.getpid())
        assert after["fds"] == before["fds"] + 3
        assert after["sockets"] == before["sockets"] + 2
        assert after["body_temp_files"] == before["body_temp_files"] + 1
        assert after["body_temp_bytes"] == before["body_temp_bytes"] + 5000
        capped = fd_usage(os.getpid(), readlinks_up_to=after["fds"] - 1)
        assert capped == {"fds": after["fds"], "sockets": None, "body_temp_files": None, "body_temp_bytes": None}
    finally:
        handle.close()
        for s in pair:
            s.close()


def test_fd_usage_of_a_gone_process_is_all_none():
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    assert set(fd_usage(child.pid).values()) == {None}
