"""ansible-playbook --check: validates everything, says what provisioning would change, runs no case, exits 0."""

import os
import re

import yaml
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claim_cases
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from . import lab


def lock_state():
    """The host lock's content, or None (a dead run's lock may be there: the next real run takes it over)."""
    try:
        with open("/run/nginx-proxy-lab/run.lock") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def test_check_mode_runs_no_case_and_exits_0(tmp_path, host_somaxconn):
    results = tmp_path / "results"
    lock_before = lock_state()
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % results)
    assert out.returncode == 0, out.stdout[-4000:]
    assert "lab_packages : Install the lab packages]" in out.stdout  # provisioning is checked
    assert "check mode: would run alone case1-ok.r1" in out.stdout and "case2-no-accept.r3" in out.stdout
    assert "Run the case]" not in out.stdout
    assert not os.path.exists(str(results)) or not [p for p in results.rglob("*.json")], "a case ran or a run was recorded"
    assert "[WARNING]" not in out.stdout + out.stderr
    assert lab.leftovers(host_somaxconn) == {}
    assert lock_state() == lock_before, "check mode took or changed the host lock"


def test_check_mode_still_refuses_bad_parameters(tmp_path):
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % (tmp_path / "results"),
                       "-e", '{"npl_case_overrides": {"deadline": 0}}')
    assert out.returncode != 0 and "deadline=0.0 is outside 1..86400" in out.stdout


def _would_run(stdout):
    """The case names the check-mode lines say would run."""
    names = set()
    for line in re.findall(r'"check mode: would run (?:alone )?([^"]*)"', stdout):
        names.update(unit.strip().rsplit(".r", 1)[0] for unit in line.split(","))
    return names


def test_the_kernel_dependency_runs_the_cases_of_the_kernel_claims_only(tmp_path):
    """-e npl_depends_on=kernel (what the matrix passes) selects the cases of the claims tagged kernel in claims.yml."""
    claims = load_claims(os.path.join(lab.ROOT, "playbooks", "vars", "claims.yml"))
    with open(os.path.join(lab.ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        names = list(yaml.safe_load(handle)["npl_catalogue"])
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % (tmp_path / "results"), "-e", "npl_depends_on=kernel")
    assert out.returncode == 0, out.stdout[-4000:]
    assert _would_run(out.stdout) == set(claim_cases.cases_depending_on(claims, "kernel", names))
    assert "lab-flood-1mb-wc4096" not in _would_run(out.stdout)


def test_a_run_over_releases_runs_the_cases_of_the_nginx_claims_unless_told_otherwise(tmp_path):
    """Several nginx releases (the nginx axis) select the cases of the claims tagged nginx; -e npl_depends_on= (empty)
    runs every case on every release."""
    claims = load_claims(os.path.join(lab.ROOT, "playbooks", "vars", "claims.yml"))
    with open(os.path.join(lab.ROOT, "playbooks", "vars", "catalogue.yml")) as handle:
        names = list(yaml.safe_load(handle)["npl_catalogue"])
    args = ("--check", "-e", "npl_results_dir=%s" % (tmp_path / "results"), "-e", "npl_nginx_versions=1.22.1,1.18.0")
    out = lab.playbook(*args)
    assert out.returncode == 0, out.stdout[-4000:]
    assert _would_run(out.stdout) == set(claim_cases.cases_depending_on(claims, "nginx", names))
    assert "case1-ok" not in _would_run(out.stdout)  # R1a/R1b/R4 read the kernel's socket states alone
    every = lab.playbook(*args, "-e", "npl_depends_on=")
    assert every.returncode == 0, every.stdout[-4000:]
    assert _would_run(every.stdout) == set(names)


def test_an_unknown_dependency_is_refused_before_provisioning(tmp_path):
    out = lab.playbook("--check", "-e", "npl_results_dir=%s" % (tmp_path / "results"), "-e", "npl_depends_on=libc")
    assert out.returncode != 0
    assert "-e npl_depends_on=kernel or -e npl_depends_on=nginx" in out.stdout and "got libc" in out.stdout
    assert "lab_packages : " not in out.stdout


def test_an_inventory_names_the_releases_of_its_hosts(tmp_path):
    """npl_nginx_versions set on the host in the inventory (as molecule's releases scenario sets it) is the run's
    releases: settings.yml defaults it without overriding the inventory."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"lab": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "npl_nginx_versions": ["1.18.0", "1.22.1"]}}}}}}))
    out = lab.playbook("--check", "-i", str(inventory), "-e", "npl_results_dir=%s" % (tmp_path / "results"))
    assert out.returncode == 0, out.stdout[-4000:]
    columns = set(re.findall(r"\.r\d+(@nginx-[0-9.]+)", out.stdout))
    assert columns == {"@nginx-1.18.0", "@nginx-1.22.1"}, columns
