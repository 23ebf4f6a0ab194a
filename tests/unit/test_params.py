"""Every case parameter has bounds or a grammar, checked before anything starts; nginx.conf can hold no other directive."""

import os
import shutil

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import nginx_conf, params

# The values of issue 7, each of which used to reach nginx.conf.
HOSTILE = {
    "stub_status_path": "/stats { stub_status; } location = /pwn { return 200 injected; } location = /zz",
    "client_max_body_size": "1m; access_log /tmp/x.log",
    "client_body_buffer_size": "16k;\n    server { listen 127.0.0.1:81; }",
    "request_path": "/ HTTP/1.1\r\nHost: x\r\n\r\nGET /pwn",
}


@pytest.mark.parametrize("key", sorted(HOSTILE))
def test_hostile_strings_are_refused_by_their_grammar(key):
    errors = params.check(params.defaults(case="x", mode="ok", **{key: HOSTILE[key]}))
    assert len(errors) == 1 and errors[0].startswith("%s=" % key) and "is not" in errors[0]


@pytest.mark.parametrize("key", ["stub_status_path", "client_max_body_size", "client_body_buffer_size"])
def test_render_refuses_what_the_grammar_refuses(key):
    with pytest.raises(nginx_conf.UnsafeValue):
        nginx_conf.render(params.defaults(case="x", mode="ok", **{key: HOSTILE[key]}), "/p", "/p/u.sock")


@pytest.mark.parametrize("key, value", [("stub_status_path", "/nginx_status"), ("request_path", "/a/b.html?x=1&y=2"),
                                        ("client_max_body_size", "2m"), ("client_body_buffer_size", "16k"),
                                        ("case", "lab-flood-1mb-wc256")])
def test_ordinary_values_pass(key, value):
    assert params.check(dict(params.defaults(case="x", mode="ok"), **{key: value})) == []


@pytest.mark.parametrize("key, value", [("deadline", 0), ("proxy_timeout", 0), ("proxy_timeout", 0.0001),
                                        ("settle_s", -1), ("client_timeout", -1), ("clients", 0),
                                        ("request_body_bytes", 10 * 10 ** 9), ("nginx_port", 70000),
                                        ("sampler_nice", 20), ("case", "../../etc/x"), ("case", "a b")])
def test_out_of_range_values_are_refused_naming_the_range(key, value):
    errors = params.check(dict(params.defaults(case="x", mode="ok"), **{key: value}))
    assert errors and errors[0].startswith("%s=" % key), errors


def test_a_request_path_that_is_the_status_page_is_refused():
    errors = params.check(params.defaults(case="x", mode="no-accept", request_path="/stats"))
    assert any("stub_status location" in e for e in errors)


def test_host_limits_refuse_more_clients_than_descriptors_and_more_body_than_memory():
    p = params.defaults(case="x", mode="ok", clients=100000)
    assert any("hard limit is 20000" in e and "at most 19744 clients" in e for e in params.check_host(p, 20000, 8 << 30))
    p = params.defaults(case="x", mode="ok", clients=1, request_body_bytes=1 << 30)
    assert any("MB of memory" in e for e in params.check_host(p, 20000, 512 << 20))
    assert params.check_host(params.defaults(case="x", mode="ok"), 20000, 8 << 30) == []


def test_every_string_option_that_reaches_nginx_conf_has_a_grammar():
    strings = {k for k, v in params.ARGUMENT_SPEC.items() if v["type"] == "str" and "choices" not in v}
    assert strings <= set(params.GRAMMARS), strings - set(params.GRAMMARS)


def test_every_number_has_bounds():
    numbers = {k for k, v in params.ARGUMENT_SPEC.items() if v["type"] in ("int", "float")}
    assert numbers <= set(params.BOUNDS), numbers - set(params.BOUNDS)


def test_real_nginx_accepts_the_largest_values_the_grammar_admits(tmp_path):
    prefix = str(tmp_path)
    p = params.defaults(case="x", mode="ok", client_max_body_size="1g", client_body_buffer_size="512k",
                        stub_status_path="/a-b_c.d~e%20/f")
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as handle:
        handle.write(nginx_conf.render(p, prefix, prefix + "/u.sock"))
    ok, output = nginx_conf.test_config(shutil.which("nginx") or "/usr/sbin/nginx", prefix, conf)
    assert ok, output


@pytest.mark.parametrize("overrides, fix", [
    ({"client_behaviour": "hold-idle"}, "set client_hold_s"),
    ({"client_hold_s": 3}, "set client_behaviour to hold-idle or hold-partial or keepalive-idle"),
    ({"client_mode": "curl", "client_ramp_s": 1}, "need client_mode=python"),
    ({"client_behaviour": "hold-idle", "client_hold_s": 25, "client_ramp_s": 5, "deadline": 30}, "raise deadline"),
    ({"actions": [{"at_s": 20, "action": "stop-workers", "seconds": 15}]}, "raise deadline"),
    ({"actions": [{"at_s": 1, "action": "stop-workers", "seconds": 0}]}, "seconds in 0..600"),
    ({"upstream_delay_ms": -1}, "upstream_delay_ms=-1 is outside 0..3600000"),
])
def test_the_operator_lab_options_are_refused_with_the_fix(overrides, fix):
    errors = params.check(params.defaults(case="x", mode="delay", **overrides))
    assert any(fix in e for e in errors), errors


@pytest.mark.parametrize("overrides, fix", [
    ({"client_requests": 5}, "needs client_behaviour=keepalive-requests"),
    ({"client_behaviour": "trickle-body"}, "set request_body_bytes"),
    ({"client_behaviour": "trickle-headers", "client_hold_s": 2}, "drop client_hold_s"),
    ({"client_behaviour": "trickle-body", "request_body_bytes": 1000, "client_trickle_bytes": 10,
      "client_trickle_interval_ms": 500, "deadline": 30}, "raise deadline"),
    ({"omit_directives": ["worker_processes"]}, None),
    ({"upstream_keepalive": 0}, "upstream_keepalive=0 is outside 1..100000"),
    ({"keepalive_requests": 0}, "keepalive_requests=0 is outside 1..1000000"),
])
def test_the_protocol_lab_options_are_refused_with_the_fix(overrides, fix):
    if fix is None:  # a choice the argument spec refuses (Ansible names the choices)
        assert "keepalive_timeout" in params.ARGUMENT_SPEC["omit_directives"]["choices"]
        assert "worker_processes" not in params.ARGUMENT_SPEC["omit_directives"]["choices"]
        return
    errors = params.check(params.defaults(case="x", mode="ok", **overrides))
    assert any(fix in e for e in errors), errors


def test_a_trickle_lasts_as_many_intervals_as_it_has_pieces():
    p = params.defaults(case="x", mode="ok", client_behaviour="trickle-body", request_body_bytes=1000,
                        client_trickle_bytes=100, client_trickle_interval_ms=250)
    assert params.trickle_seconds(p) == 2.5
    assert params.trickle_seconds(params.defaults(case="x", mode="ok")) == 0


@pytest.mark.parametrize("action, fix", [
    ({"at_s": 1, "action": "reload"}, "reload needs config"),
    ({"at_s": 1, "action": "reload", "config": "changed", "seconds": 2}, "reload needs config (changed or broken) and no seconds"),
    ({"at_s": 29.5, "action": "reload", "config": "broken"}, "leave a second before the case deadline"),
    ({"at_s": 1, "action": "stop-workers", "seconds": 1, "config": "broken"}, "config is for reload"),
    ({"at_s": 1, "action": "stop-workers"}, "seconds in 0..600"),
])
def test_reload_actions_are_refused_with_the_fix(action, fix):
    errors = params.check(params.defaults(case="x", mode="ok", actions=[action], deadline=30))
    assert any(fix in e for e in errors), errors
    ok = params.defaults(case="x", mode="ok", actions=[{"at_s": 1, "action": "reload", "config": "broken"}])
    assert params.check(ok) == []


@pytest.mark.parametrize("sizes, words", [
    ({"repeat": 0}, "repeat=0"), ({"repeat": "3x"}, "repeat=3x"), ({"slots": 65}, "slots=65"),
    ({"repeat": 101, "slots": 0}, "fix the -e value"),
])
def test_a_run_size_outside_the_one_table_of_run_bounds_is_refused(sizes, words):
    errors = params.check_run(sizes)
    assert errors and words in " ".join(errors)
    assert params.check_run({"repeat": "3", "slots": 6}) == []


def test_no_playbook_setting_restates_a_default_the_case_module_owns():
    import yaml
    from .helpers import ROOT
    with open(os.path.join(ROOT, "playbooks", "vars", "settings.yml")) as handle:
        settings = yaml.safe_load(handle)
    for name, value in settings.items():
        if isinstance(value, dict):
            same = [k for k, v in value.items() if k in params.ARGUMENT_SPEC and params.ARGUMENT_SPEC[k].get("default") == v]
            assert not same, "%s restates the module's defaults of %s: the module owns them" % (name, same)
