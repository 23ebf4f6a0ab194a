"""Action plugin of nginx_proxy_case: one task runs a case on the target and saves its result on the controller.

The case runs through the same code as the module (module_utils nginx_lab.target.case_entry), started by a few lines
of Python fed the kit's target package (module_utils/nginx_lab/target) as one zip on stdin: the module's own start-up (AnsiballZ and
ansible.module_utils.basic, about 2.3 s of CPU per case on an emulated VM) is not paid, nothing is installed or
left on the target, and the code on the target is always the controller's. The arguments are checked on the
controller against the module's argument spec first, so bad input fails before anything starts. In check mode,
or with NPL_CASE_VIA_MODULE=1 in the environment, the module runs instead. With save_as, the result document
is written on the controller (atomically) as soon as the case ends, and left out of the task's result.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import shlex
import tempfile
import time
import zipfile

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "nginx_lab")

# Run on the target: name the process, unpack the bundle to a private temporary file, run the case, print one JSON
# document. It comes as the first line of stdin (base64), the parameters and the bundle as the second, so that the
# process's own command line stays short and says which case of which run it is (RUNNER_COMMAND).
BOOTSTRAP = r'''
import base64, ctypes, json, os, sys, tempfile
try:
    ctypes.CDLL(None).prctl(15, b"npl-runner", 0, 0, 0)  # PR_SET_NAME: `ps -C npl-runner -o pid,args` finds it
except Exception:
    pass
doc = json.loads(sys.stdin.readline())
me = os.getpid()
fd, bundle = tempfile.mkstemp(prefix="npl-runner-", suffix=".zip")
try:
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64decode(doc["bundle"]))
    sys.path.insert(0, bundle)
    from nginx_lab.target import case_entry
    outcome = case_entry.run_case(doc["params"])
finally:
    if os.getpid() == me:
        os.unlink(bundle)
sys.stdout.write(json.dumps(outcome))
'''
# The runner's command line: `python3 -c <reader> npl-case-runner <case>.r<repetition> run=<run id>`.
RUNNER_COMMAND = "%s -c 'import base64,sys;exec(base64.b64decode(sys.stdin.readline()))' npl-case-runner %s run=%s"

_CACHE = {}


def _kit_module(side, name):
    """module_utils/nginx_lab/<side>/<name>.py (target params: the argument spec and complete(); judge results_io:
    write_error), both standard library only, loaded once per process."""
    if (side, name) not in _CACHE:
        spec = importlib.util.spec_from_file_location("npl_" + name, os.path.join(PACKAGE, side, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _CACHE[side, name] = module
    return _CACHE[side, name]


# What the runner ships to the target: the package's top and its target side, nothing of the controller's judge.
SHIPPED = ("__init__.py", "target/")


def _bundle():
    """The nginx_lab package's target side as a zip, base64: built once per process, the same bytes for the same
    files."""
    if "bundle" not in _CACHE:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            for folder, _, names in sorted(os.walk(PACKAGE)):
                for name in sorted(names):
                    relative = os.path.relpath(os.path.join(folder, name), PACKAGE)
                    if not name.endswith(".py") or not relative.startswith(SHIPPED):
                        continue
                    with open(os.path.join(folder, name), "rb") as handle:
                        info = zipfile.ZipInfo("nginx_lab/" + relative, date_time=(2020, 1, 1, 0, 0, 0))
                        info.compress_type = zipfile.ZIP_DEFLATED
                        archive.writestr(info, handle.read())
        _CACHE["bundle"] = base64.b64encode(data.getvalue()).decode("ascii")
    return _CACHE["bundle"]


def save(path, document):
    """Write `document` as JSON at `path` on the controller: parents created, never half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".npl-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return os.path.abspath(path)


class ActionModule(ActionBase):

    def _interpreter(self, task_vars):
        value = task_vars.get("ansible_python_interpreter")
        if isinstance(value, str) and "{{" in value:
            value = self._templar.template(value)
        if not value or str(value).startswith("auto"):
            value = task_vars.get("ansible_facts", {}).get("discovered_interpreter_python") or "/usr/bin/python3"
        return str(value)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        save_as = args.pop("save_as", None)  # params.CONTROLLER_OPTIONS
        params = _kit_module("target", "params")
        checked = ArgumentSpecValidator(params.ARGUMENT_SPEC).validate(args)
        # Failures are returned, not raised: a raised error skips the task's failed_when (ansible-core 2.19), and the
        # run's slots record a failed case and go on (playbooks/tasks/slot_cases.yml).
        if checked.error_messages:
            result.update(failed=True, msg="nginx_proxy_case: %s" % "; ".join(checked.error_messages))
            return result
        if self._task.check_mode or os.environ.get("NPL_CASE_VIA_MODULE") == "1":
            return self._via_module(result, task_vars, save_as)
        started = time.monotonic()
        p = checked.validated_parameters
        command = RUNNER_COMMAND % (shlex.quote(self._interpreter(task_vars)),
                                    shlex.quote("%s.r%s" % (p["case"], p.get("repetition") or 1)),
                                    shlex.quote(p.get("run_id") or "-"))
        stdin = base64.b64encode(BOOTSTRAP.encode()).decode("ascii") + "\n" + json.dumps(
            {"bundle": _bundle(), "params": params.complete(p)})
        ran = self._low_level_execute_command(command, in_data=stdin.encode())
        try:
            outcome = json.loads(ran["stdout"])
        except ValueError:
            killed = " (killed by signal %d)" % (ran["rc"] - 128) if ran["rc"] and ran["rc"] > 128 else ""
            result.update(failed=True, elapsed=round(time.monotonic() - started, 3),
                          msg="nginx_proxy_case: the case runner on the target ended with %s%s and no result: %s"
                              % (ran["rc"], killed, (ran["stderr"] or ran["stdout"])[-2000:].strip() or "(no output)"))
            return result
        result["runner"] = "runner"
        result["transport_s"] = round(time.monotonic() - started - outcome.get("elapsed", 0), 3)
        return self._finish(result, outcome, save_as)

    def _via_module(self, result, task_vars, save_as):
        # the task's own name for the module: nginx_proxy_case in the kit, its FQCN from the collection
        outcome = self._execute_module(module_name=self._task.action, module_args=self._task.args, task_vars=task_vars)
        result["runner"] = "module"
        if self._task.check_mode or outcome.get("failed"):
            result.update(outcome)
            return result
        outcome = dict(outcome, failed=False)
        return self._finish(result, outcome, save_as)

    def _finish(self, result, outcome, save_as):
        if outcome.pop("failed", False):
            result.update(failed=True, msg=outcome.get("msg", "the case failed"), elapsed=outcome.get("elapsed"))
            return result
        warnings = outcome.pop("warnings", [])
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        if save_as:
            try:
                result["saved_to"] = save(save_as, outcome.pop("case_result"))
            except OSError as exc:
                result.update(failed=True, elapsed=outcome.get("elapsed"), msg="nginx_proxy_case: the case ran, but %s"
                              % _kit_module("judge", "results_io").write_error(exc, "its result", save_as))
                return result
        result.update(outcome)
        result["changed"] = True
        return result
