import os
import shutil
import subprocess

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import nginx_conf

BASE = dict(worker_processes=1, worker_connections=256, error_log_level="info", keepalive_timeout=10,
            proxy_buffering=False, nginx_default_timeouts=False, proxy_timeout=5, proxy_locations=1,
            stub_status_path="/stats", nginx_port=80)


def test_render_has_the_research_setup():
    conf = nginx_conf.render(BASE, "/p", "/p/u.sock")
    for line in ("worker_processes 1;", "worker_connections 256;", "keepalive_timeout 10;", "proxy_buffering off;",
                 "server unix:/p/u.sock;", "stub_status;", "proxy_read_timeout 5000ms;", "daemon off;"):
        assert line in conf


def test_default_timeouts_switch_leaves_nginx_defaults():
    conf = nginx_conf.render(dict(BASE, nginx_default_timeouts=True), "/p", "/p/u.sock")
    assert "proxy_read_timeout" not in conf and "proxy_connect_timeout" not in conf


def test_proxy_locations_adds_proxy_pass_blocks():
    conf = nginx_conf.render(dict(BASE, proxy_locations=3), "/p", "/p/u.sock")
    assert conf.count("proxy_pass http://lab_upstream;") == 3


def test_accept_mutex_is_written_only_when_asked():
    assert "accept_mutex" not in nginx_conf.render(dict(BASE, accept_mutex="default"), "/p", "/p/u.sock")
    assert "accept_mutex on;" in nginx_conf.render(dict(BASE, accept_mutex="on"), "/p", "/p/u.sock")


def test_keepalive_idle_clients_get_nginx_s_own_location():
    assert nginx_conf.KEEPALIVE_PATH not in nginx_conf.render(BASE, "/p", "/p/u.sock")
    conf = nginx_conf.render(dict(BASE, client_behaviour="keepalive-idle"), "/p", "/p/u.sock")
    assert "location = %s {" % nginx_conf.KEEPALIVE_PATH in conf and "return 204;" in conf


def test_real_nginx_accepts_the_rendered_config(tmp_path):
    prefix = str(tmp_path)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as handle:
        handle.write(nginx_conf.render(dict(BASE, proxy_locations=2, client_max_body_size="2m",
                                            worker_rlimit_nofile=4096, accept_mutex="on",
                                            client_behaviour="keepalive-idle", nginx_backlog=8,
                                            client_header_timeout=300),
                                       prefix, prefix + "/u.sock"))
    ok, output = nginx_conf.test_config(shutil.which("nginx"), prefix, conf)
    assert ok, output


def test_nginx_version_is_read_from_the_binary():
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    version = nginx_conf.version(nginx)
    assert version == subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().split("/")[1]


def test_upstream_keepalive_and_its_headers_are_written_only_when_asked():
    plain = nginx_conf.render(BASE, "/p", "/p/u.sock")
    for text in ("keepalive 32;", "proxy_http_version", "proxy_set_header Connection", "proxy_request_buffering"):
        assert text not in plain
    conf = nginx_conf.render(dict(BASE, upstream_keepalive=32, proxy_http_version="1.1", proxy_clear_connection=True,
                                  proxy_request_buffering=False), "/p", "/p/u.sock")
    assert "server unix:/p/u.sock;\n        keepalive 32;\n    }" in conf
    for line in ("proxy_http_version 1.1;", 'proxy_set_header Connection "";', "proxy_request_buffering off;"):
        assert line in conf


def test_an_omitted_directive_leaves_nginx_s_default():
    conf = nginx_conf.render(dict(BASE, omit_directives=["keepalive_timeout"]), "/p", "/p/u.sock")
    assert "keepalive_timeout" not in conf and "keepalive_requests" not in conf
    assert "keepalive_requests 5;" in nginx_conf.render(dict(BASE, keepalive_requests=5), "/p", "/p/u.sock")


def test_keepalive_request_clients_get_nginx_s_own_location_when_they_ask_for_it():
    conf = nginx_conf.render(dict(BASE, client_behaviour="keepalive-requests", request_path="/"), "/p", "/p/u.sock")
    assert nginx_conf.KEEPALIVE_PATH not in conf
    conf = nginx_conf.render(dict(BASE, client_behaviour="keepalive-requests", request_path=nginx_conf.KEEPALIVE_PATH),
                             "/p", "/p/u.sock")
    assert "location = %s {" % nginx_conf.KEEPALIVE_PATH in conf


def test_real_nginx_accepts_the_protocol_lab_config(tmp_path):
    prefix = str(tmp_path)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as handle:
        handle.write(nginx_conf.render(dict(BASE, upstream_keepalive=4, proxy_http_version="1.1",
                                            proxy_clear_connection=True, proxy_request_buffering=False,
                                            omit_directives=["keepalive_timeout"], keepalive_requests=1000,
                                            client_body_buffer_size="16k"), prefix, prefix + "/u.sock"))
    ok, output = nginx_conf.test_config(shutil.which("nginx"), prefix, conf)
    assert ok, output


def test_a_case_that_reloads_marks_its_responses_and_its_broken_config_fails_nginx_t(tmp_path):
    assert nginx_conf.CONFIG_HEADER not in nginx_conf.render(BASE, "/p", "/p/u.sock")
    reloading = dict(BASE, actions=[{"at_s": 1, "action": "reload", "config": "changed"}])
    prefix = str(tmp_path)
    conf = os.path.join(prefix, "nginx.conf")
    outcomes = []
    for generation, broken in ((1, False), (2, False), (2, True)):
        text = nginx_conf.render(reloading, prefix, prefix + "/u.sock", generation=generation, broken=broken)
        assert "add_header X-NPL-Config %d always;" % generation in text
        with open(conf, "w") as handle:
            handle.write(text)
        ok, output = nginx_conf.test_config(shutil.which("nginx"), prefix, conf)
        outcomes.append((ok, "unknown directive" in output))
    assert outcomes == [(True, False), (True, False), (False, True)]


def test_reuseport_goes_on_the_listen_directive_only_when_asked():
    assert "reuseport" not in nginx_conf.render(BASE, "/p", "/p/u.sock")
    conf = nginx_conf.render(dict(BASE, listen_reuseport=True, nginx_backlog=8), "/p", "/p/u.sock")
    assert "listen 127.0.0.1:80 reuseport backlog=8;" in conf
