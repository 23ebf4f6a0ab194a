"""Helpers for the integration tests: run the kit for real and look for anything it left behind."""

import json
import os
import subprocess
import time

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import ftrace
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.reaper import CASE_NAME

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import role_defaults

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
RUN_DIR = "/run/nginx-proxy-lab"
NGINX_BINARY, UPSTREAM_BINARY = role_defaults.nginx_binary(), role_defaults.upstream_binary()
LAB_EXES = (NGINX_BINARY, UPSTREAM_BINARY)
# How a case's Python process shows in its command line: the module (AnsiballZ) or the action plugin's runner.
CASE_MARKS = ("AnsiballZ_nginx_proxy_case", "npl-case-runner")


def _is_case_process(cmdline):
    return any(mark in cmdline for mark in CASE_MARKS)


def env():
    e = dict(os.environ)
    e["PATH"] = VENV_BIN + os.pathsep + e.get("PATH", "")
    e["ANSIBLE_FORCE_COLOR"] = "0"
    e["ANSIBLE_NOCOLOR"] = "1"
    return e


def run_module(args, check=False, timeout=300, extra_env=None):
    """Run nginx_proxy_case through `ansible localhost -m` (its action plugin); returns the task's result dict."""
    e = env()
    e.update(extra_env or {})
    e["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    e["ANSIBLE_STDOUT_CALLBACK"] = "json"
    cmd = [os.path.join(VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_proxy_case", "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    out = subprocess.run(cmd, cwd=ROOT, env=e, capture_output=True, text=True, timeout=timeout)
    doc = json.loads(out.stdout)
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def playbook(*args, timeout=900, playbook_file="run_cases.yml", **kwargs):
    """ansible-playbook run_cases.yml (or `playbook_file`; None when the first argument names the playbook)."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook")] + ([playbook_file] if playbook_file else []) + list(args)
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout, **kwargs)


def somaxconn():
    with open("/proc/sys/net/core/somaxconn") as handle:
        return int(handle.read())


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _exe(pid):
    try:
        return os.readlink("/proc/%s/exe" % pid)
    except OSError:
        return ""


def _zombie(pid):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def lab_processes():
    """Live nginx/upstream processes, and any module or guardian process of the kit."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid() or _zombie(pid):
            continue
        if _exe(pid) in LAB_EXES or _is_case_process(_cmdline(pid)):
            found.append((int(pid), _cmdline(pid)[:120]))
    return found


def lab_namespaces():
    """Case namespaces (npl-<8 hex digits>, the names cases create). The matrix's npl-matrix namespace is
    not one: scripts/matrix owns it, it outlives a matrix run that was killed, and its next run replaces it."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and CASE_NAME.match(line.split()[0])]


def journals():
    """Guardian journals: one exists while its case runs, and is removed once the case is cleaned up."""
    folder = os.path.join(RUN_DIR, "journal")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def run_dir_entries():
    """Case folders (npl-<8 hex digits>) under the kit's run folder."""
    return sorted(e for e in os.listdir(RUN_DIR) if CASE_NAME.match(e)) if os.path.isdir(RUN_DIR) else []


def ftrace_instances():
    """ftrace instances of cases (npl-<8 hex digits>, ftrace.py): kernel objects that outlive every process."""
    return ftrace.instances(CASE_NAME)


def leftovers(expected_somaxconn):
    found = {}
    if ftrace_instances():
        found["ftrace"] = ftrace_instances()
    if lab_processes():
        found["processes"] = lab_processes()
    if lab_namespaces():
        found["namespaces"] = lab_namespaces()
    if run_dir_entries():
        found["run_dir"] = run_dir_entries()
    if somaxconn() != expected_somaxconn:
        found["somaxconn"] = somaxconn()
    if journals():
        found["journals"] = journals()
    return found


def wait_for_leftovers_to_go(expected_somaxconn, seconds=20):
    """What is still left after `seconds` (an empty dict when the clean-up finished)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not leftovers(expected_somaxconn):
            return {}
        time.sleep(0.2)
    return leftovers(expected_somaxconn)


def _ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return int(handle.read().rpartition(")")[2].split()[1])
    except OSError:
        return None


def module_process():
    """PID of the running case: the Python process (module or runner) whose parent is not one (its guardian
    and load generator are forks of it, with the same command line)."""
    pythons = [int(pid) for pid in os.listdir("/proc") if pid.isdigit()
               and _is_case_process(_cmdline(pid)) and "python" in _cmdline(pid).split(" ")[0]]
    roots = [pid for pid in pythons if _ppid(pid) not in pythons]
    return roots[0] if len(roots) == 1 else None


def wait_for(predicate, seconds=60, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def ctrl_c(proc, seconds=30):
    """What Ctrl-C in a terminal does to an ansible-playbook started with start_new_session=True: SIGINT to its
    whole process group; waits for it to end (SIGKILL of the group if it does not)."""
    import signal

    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(seconds)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
