"""Bad input is refused before anything changes, with a message that names the fix."""

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
    ({"worker_connections": 0}, ["worker_connections=0 must be at least 1"]),
    ({"clients": 0}, ["clients=0 must be at least 1"]),
    ({"upstream_binary": "/nonexistent/upstream"}, ["upstream binary /nonexistent/upstream is missing",
                                                   "provision the host first"]),
])
def test_module_refuses_bad_arguments_before_changing_anything(args, words, host_somaxconn):
    result = lab.run_module(dict(BASE, **args))
    assert result.get("failed") is True
    for word in words:
        assert word in result["msg"]
    assert lab.leftovers(host_somaxconn) == {}


def test_check_mode_validates_without_running(host_somaxconn):
    assert lab.run_module(dict(BASE), check=True).get("failed") is not True
    assert "somaxconn=0" in lab.run_module(dict(BASE, somaxconn=0), check=True)["msg"]
    assert lab.leftovers(host_somaxconn) == {}


def test_module_refuses_to_run_without_root():
    code = ("import sys; sys.path.insert(0, 'module_utils'); from nginx_lab import case, params; "
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


def test_playbook_refuses_out_of_range_parameters(host_somaxconn):
    out = lab.playbook("-e", '{"npl_case_overrides": {"worker_connections": 0}}')
    assert out.returncode != 0
    assert "worker_connections at least 1 (got 0)" in out.stdout
    assert "Provision" not in out.stdout
    assert lab.leftovers(host_somaxconn) == {}
