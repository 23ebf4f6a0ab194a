"""requirements.yml names every collection the playbooks, roles and molecule scenarios use beyond ansible.builtin and
the kit's own modules: today none, and the file says so."""

import glob
import os

import yaml

from .helpers import ROOT

# Keys of a task that are not its module.
TASK_KEYS = {"name", "when", "register", "loop", "loop_control", "vars", "tags", "become", "become_user", "delegate_to",
             "run_once", "changed_when", "failed_when", "check_mode", "ignore_errors", "block", "rescue", "always",
             "notify", "environment", "no_log", "until", "retries", "delay", "args", "listen", "any_errors_fatal",
             "delegate_facts", "timeout", "throttle", "module_defaults", "collections", "diff", "ignore_unreachable"}


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from _tasks(node[key])
        modules = [k for k in node if k not in TASK_KEYS and not k.startswith("with_")]
        if "name" in node and len(modules) == 1 and not {"hosts", "import_playbook"} & set(node):
            yield modules[0]


def _all_used(files):
    found = []
    for path in files:
        if os.sep + "vars" + os.sep in path:
            continue
        with open(path) as handle:
            found += list(_tasks(yaml.safe_load(handle)))
    return found


def test_the_collections_the_tasks_use_are_the_ones_requirements_yml_names():
    with open(os.path.join(ROOT, "requirements.yml")) as handle:
        wanted = yaml.safe_load(handle)
    named = {c["name"] if isinstance(c, dict) else c for c in wanted["collections"]}
    own = {"npl.nginx_proxy_lab." + os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))}
    files = glob.glob(os.path.join(ROOT, "playbooks", "**", "*.yml"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(ROOT, "molecule", "*", "*.yml")) + \
        [os.path.join(ROOT, "run_cases.yml")]
    used = set()
    for path in files:
        if os.sep + "vars" + os.sep in path:
            continue
        with open(path) as handle:
            for module in _tasks(yaml.safe_load(handle)):
                if module in own:
                    continue
                assert module.count(".") >= 2, "%s: %s is not written by its FQCN" % (path, module)
                used.add(".".join(module.split(".")[:2]))
    assert own & set(_all_used(files)), "the kit's own modules are not used by their FQCN"
    assert used - {"ansible.builtin"} <= named, "requirements.yml misses %s" % (used - {"ansible.builtin"} - named)
    assert used, "no task found: the scan is broken"
