"""A lab decides only while it controls the state nginx's code reads: the same slot lab run for real with the one
state changed gives the other outcome. Busy connections (their request there when nginx accepts them, listen ...
deferred) are refused at accept and counted in accepts - handled; connected, silent clients are reusable, so nginx
closes the oldest of them instead (ngx_drain_connections) and the gap stays 0."""

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_accept

from . import lab

SLOTS = {"mode": "delay", "upstream_delay_ms": 3000, "worker_connections": 16, "clients": 24, "client_ramp_s": 1,
         "listen_deferred": True, "stub_status_sampling": "after", "error_log_level": "debug", "deadline": 25}


def _measured(name, args):
    result = lab.run_module(dict(args, case=name))
    assert result.get("failed") is not True, result.get("msg")
    doc = {name: result["case_result"]}
    share, evidence = measures_accept.refused_at_accept_share(doc, [name])
    gap, _ = measures_accept.gap_when_dropped(doc, [name])
    return share, gap, evidence[name]


def test_busy_clients_are_refused_at_accept_and_silent_ones_make_nginx_drain(host_somaxconn):
    share, gap, evidence = _measured("control-busy", SLOTS)
    assert share == 1.0 and gap == evidence["refused_at_accept"] == 17, evidence
    # the same lab with clients that connect and say nothing for 2 s: the state the busy reading controls is gone
    share, gap, evidence = _measured("control-silent", dict(SLOTS, listen_deferred=False, client_pause_s=2))
    assert share == 0.0 and gap == 0 and evidence["closed_to_make_room"] > 0, evidence
    assert lab.leftovers(host_somaxconn) == {}


def test_the_path_lines_go_when_the_upstream_lets_go_not_when_nginx_does(host_somaxconn):
    """R7s/R8s: the lab that moves the upstream's release moves the switch with it. nginx closes its ends at its
    1 s timeout in both runs; the path keeps all its lines until the upstream's release, 0.5 s or 1.5 s after the
    clients end, and loses them within a sampling interval of it."""
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURES

    base = {"mode": "no-read", "clients": 10, "proxy_timeout": 1, "deadline": 10}
    switch = {}
    for release in (0.5, 1.5):
        result = lab.run_module(dict(base, case="release-%s" % release, upstream_release_s=release, tail_s=0.5))
        assert result.get("failed") is not True, result.get("msg")
        doc = result["case_result"]
        lag, evidence = MEASURES["release_delay"]({"c": doc}, "c")
        assert abs(evidence["release_after_clients_s"] - release) < 0.2, evidence
        assert evidence["lines_before_release"] == 11 and evidence["samples_with_only_the_listener_before_release"] == 0
        assert 0 <= lag <= 0.05, evidence
        switch[release] = evidence["release_after_clients_s"] + lag
    assert 0.8 < switch[1.5] - switch[0.5] < 1.2, switch
    assert lab.wait_for_leftovers_to_go(host_somaxconn, seconds=10) == {}
