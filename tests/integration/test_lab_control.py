"""A lab decides only while it controls the state nginx's code reads: the same slot lab run for real with the one
state changed gives the other outcome. Busy connections (their request there when nginx accepts them, listen ...
deferred) are refused at accept and counted in accepts - handled; connected, silent clients are reusable, so nginx
closes the oldest of them instead (ngx_drain_connections) and the gap stays 0."""

from nginx_lab.judge import measures_accept

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
