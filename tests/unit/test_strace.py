from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import strace
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measures_clients import follows

from .helpers import data


def test_startup_capture_listen_calls():
    calls = strace.parse(data("strace_startup_3_locations.txt"))
    # Three proxy_pass locations, one listen directive: nginx 1.22 listens on one socket.
    assert {fd for fd, _ in strace.listen_calls(calls)} == {6}
    assert all(backlog == 511 for _, backlog in strace.listen_calls(calls))


def test_worker_capture_of_never_accepting_upstream():
    out = strace.summarize(data("strace_workers_no_accept.txt"))
    assert out["request_count"] == 3
    assert out["connect_results"] == {"0": 3}
    for request in out["requests"]:
        assert follows(request["steps"], ["accept4", "socket", "connect=", "write_upstream", "epoll_wait",
                                                 "close_upstream", "write_client"])
    # The sampler's stub_status requests are told apart: no upstream socket.
    assert out["unproxied_count"] > 0


def test_worker_capture_of_ok_upstream_writes_the_client_before_closing_upstream():
    out = strace.summarize(data("strace_workers_ok.txt"))
    assert out["request_count"] == 3
    for request in out["requests"]:
        steps = request["steps"]
        assert steps.index("write_client") < steps.index("close_upstream")


def test_research_capture_with_pid_prefix_and_unfinished_call():
    calls = strace.parse(data("strace_research_single_request.txt"))
    names = [c["name"] for c in calls]
    assert names[:3] == ["accept4", "epoll_ctl", "epoll_wait"]  # the first line is a fragment without a pid
    connect = next(c for c in calls if c["name"] == "connect")
    assert connect["ret"] == 0 and connect["pid"] == 301051
    (request,) = strace.requests(calls)
    assert request["steps"][:5] == ["accept4", "recv_client", "socket", "connect=0", "write_upstream"]


def test_unfinished_and_resumed_calls_are_joined():
    text = ("7 10:00:00.000001 epoll_wait(8,  <unfinished ...>\n"
            "8 10:00:00.000002 connect(13, {sa_family=AF_UNIX}, 110) = -1 EAGAIN (Resource temporarily unavailable)\n"
            "7 10:00:05.000000 <... epoll_wait resumed>[], 512, 5000) = 0\n")
    calls = strace.parse(text)
    assert [(c["pid"], c["name"], c["ret"], c["errno"]) for c in calls] == [
        (8, "connect", -1, "EAGAIN"), (7, "epoll_wait", 0, None)]
    assert calls[1]["t"] == 36000.000001  # the start of the call, not its return


def test_follows_is_an_ordered_subsequence():
    assert follows(["a", "x", "b", "connect=EAGAIN"], ["a", "b", "connect="])
    assert not follows(["b", "a"], ["a", "b"])
