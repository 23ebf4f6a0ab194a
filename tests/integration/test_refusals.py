"""Bad input is refused before anything changes, with a message that names the fix."""

import json
import os
import subprocess
import sys

import pytest

from . import lab

BASE = {"case": "refusal", "mode": "no-accept", "clients": 2}


@pytest.mark.parametrize("args, words", [
    ({"mode": "never-answer"}, ["value of mode must be one of", "no-accept"]),
    ({"somaxconn": 0}, ["somaxconn=0 is outside 1..", "pick a value"]),
    ({"somaxconn": 2 ** 31}, ["somaxconn=2147483648 is outside 1..2147483647"]),
    ({"somaxconn_after_listen": -5}, ["somaxconn_after_listen=-5 is outside"]),
    ({"worker_connections": 0}, ["worker_connections=0 is outside 1..1048576"]),
    ({"clients": 0}, ["clients=0 is outside 1..100000"]),
    ({"stub_status_path": "/stats { stub_status; } location = /pwn { return 200 injected; } location = /zz",
      "request_path": "/pwn"}, ["stub_status_path=", "is not a URI path"]),
    ({"client_max_body_size": "1m; access_log /tmp/npl-injected.log"}, ["client_max_body_size=", "is not an nginx size"]),
    ({"client_body_buffer_size": "16k;\n    server { listen 127.0.0.1:81; }"}, ["client_body_buffer_size="]),
    ({"clients": 100000}, ["open files", "hard limit"]),
    ({"request_body_bytes": 10 * 10 ** 9}, ["request_body_bytes=10000000000 is outside 0..1073741824"]),
    ({"case": "../../tmp/x"}, ["case='../../tmp/x' is not a name"]),
    ({"upstream_binary": "/nonexistent/upstream"}, ["upstream binary /nonexistent/upstream is missing",
                                                   "provision the host first"]),
])
def test_module_refuses_bad_arguments_before_changing_anything(args, words, host_somaxconn):
    result = lab.run_module(dict(BASE, **args))
    assert result.get("failed") is True
    for word in words:
        assert word in result["msg"]
    assert lab.leftovers(host_somaxconn) == {}
    assert not os.path.exists("/tmp/npl-injected.log")


def test_check_mode_validates_without_running(host_somaxconn):
    assert lab.run_module(dict(BASE), check=True).get("failed") is not True
    assert "somaxconn=0" in lab.run_module(dict(BASE, somaxconn=0), check=True)["msg"]
    assert lab.leftovers(host_somaxconn) == {}


def test_module_refuses_to_run_without_root():
    code = ("from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case, params; "
            "print(case.validate(params.defaults(case='x', mode='ok')))")
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
                         cwd=lab.ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "needs root" in out.stdout and "sudo" in out.stdout


def test_playbook_refuses_unknown_case_before_provisioning(host_somaxconn):
    out = lab.playbook("-e", '{"npl_cases": ["case2-no-accept", "case9-imaginary"]}')
    assert out.returncode != 0
    assert "Unknown case or lab: case9-imaginary" in out.stdout
    assert "lab_packages" not in out.stdout and "Provision" not in out.stdout
    assert lab.leftovers(host_somaxconn) == {}


def refused_before_anything(out, results, host_somaxconn):
    assert out.returncode != 0
    assert "Provision" not in out.stdout and "lab_packages" not in out.stdout
    assert not os.path.exists(str(results)) or os.listdir(str(results)) == [], "a run folder was made"
    assert lab.leftovers(host_somaxconn) == {}


@pytest.mark.parametrize("overrides, words", [
    ({"deadline": 0, "proxy_timeout": 0.0001, "settle_s": -1, "client_timeout": -1, "clients": 100000,
      "request_body_bytes": 10 * 10 ** 9},
     ["deadline=0.0 is outside 1..86400", "proxy_timeout=0.0001 is outside 0.1..3600", "settle_s=-1",
      "client_timeout=-1", "clients=100000 needs", "request_body_bytes=10000000000 is outside"]),
    ({"mode": "never-answer"}, ["value of mode must be one of"]),
    ({"worker_connections": 0}, ["worker_connections=0 is outside 1..1048576"]),
    ({"stub_status_path": "/stats { stub_status; } location = /pwn { return 200 injected; } location = /zz",
      "request_path": "/pwn"}, ["stub_status_path=", "is not a URI path"]),
    ({"client_max_body_size": "1m; access_log /tmp/npl-injected.log"}, ["is not an nginx size"]),
])
def test_playbook_refuses_bad_parameters_before_provisioning(overrides, words, tmp_path, host_somaxconn):
    results = tmp_path / "results"
    out = lab.playbook("-e", "npl_results_dir=%s" % results,
                       "-e", json.dumps({"npl_cases": ["case2-no-accept"], "npl_case_overrides": overrides}))
    for word in words:
        assert word in out.stdout, out.stdout[-3000:]
    refused_before_anything(out, results, host_somaxconn)
    assert not os.path.exists("/tmp/npl-injected.log")


def test_a_catalogue_name_that_leaves_the_results_folder_is_refused(tmp_path, host_somaxconn):
    results = tmp_path / "results"
    out = lab.playbook("-e", "npl_results_dir=%s" % results, "-e", json.dumps({
        "npl_catalogue": {"../../escape": {"params": {"mode": "ok"}}}, "npl_cases": ["../../escape"]}))
    assert "'../../escape' is not a safe case name" in out.stdout, out.stdout[-3000:]
    refused_before_anything(out, results, host_somaxconn)
    assert not os.path.exists(str(tmp_path / "escape.json"))


def test_npl_cases_as_a_comma_separated_string_names_cases_not_letters():
    out = lab.playbook("playbooks/validate.yml", "-e", "npl_cases=case2-no-accept,case9-imaginary", playbook_file=None)
    assert "Unknown case or lab: case9-imaginary." in out.stdout, out.stdout[-3000:]
