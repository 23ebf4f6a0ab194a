"""Action plugin of nginx_proxy_case: one task runs a case on the target and saves its result on the controller.

The case runs through the same code as the module (runtime.case_entry), started by a few lines of Python fed the
case runtime (plugins/module_utils/runtime) as one zip on stdin, under its collection name as AnsiballZ ships
module_utils, so the code imports the same way there as here: the module's own start-up (AnsiballZ and
ansible.module_utils.basic, about 2.3 s of CPU per case on an emulated VM) is not paid, nothing is installed or
left on the target, and the code on the target is always the controller's. The arguments are checked on the
controller against the module's argument spec first, so bad input fails before anything starts. In check mode,
or with NPL_CASE_VIA_MODULE=1 in the environment, the module runs instead. With save_as, the result document
is written on the controller (atomically) as soon as the case ends, and left out of the task's result. With
pace_retries, a case that came out invalid only for the host's pace (validity.retryable: a sampler that fell behind,
a ramp the host could not keep) runs again, at most that many more times; each spoiled try is kept in the tries/
folder beside the result and named in the result's meta.tries. A case invalid for its own failure is never re-run.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shlex
import tempfile
import time
import zipfile

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import results_io
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params

# The case runtime, shipped to the target by its collection name: the same import path there as here.
RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "runtime")
RUNTIME_NAME = "ansible_collections/npl/nginx_proxy_lab/plugins/module_utils/runtime"

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
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import case_entry
    outcome = case_entry.run_case(doc["params"])
finally:
    if os.getpid() == me:
        os.unlink(bundle)
sys.stdout.write(json.dumps(outcome))
'''
# The runner's command line: `python3 -c <reader> npl-case-runner <case>.r<repetition> run=<run id>`.
RUNNER_COMMAND = "%s -c 'import base64,sys;exec(base64.b64decode(sys.stdin.readline()))' npl-case-runner %s run=%s"

_CACHE = {}


def _bundle():
    """The case runtime as a zip, base64, under its collection name (with the package markers a zip import needs):
    built once per process, the same bytes for the same files. Nothing else of the collection goes to the target."""
    if "bundle" not in _CACHE:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            parts = RUNTIME_NAME.split("/")
            for depth in range(1, len(parts)):
                info = zipfile.ZipInfo("/".join(parts[:depth]) + "/__init__.py", date_time=(2020, 1, 1, 0, 0, 0))
                archive.writestr(info, b"")
            for name in sorted(os.listdir(RUNTIME)):
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(RUNTIME, name), "rb") as handle:
                    info = zipfile.ZipInfo(RUNTIME_NAME + "/" + name, date_time=(2020, 1, 1, 0, 0, 0))
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
        pace_retries = args.pop("pace_retries", 0)
        checked = ArgumentSpecValidator(params.ARGUMENT_SPEC).validate(args)
        retries = ArgumentSpecValidator(params.CONTROLLER_OPTIONS).validate({"pace_retries": pace_retries})
        # Failures are returned, not raised: a raised error skips the task's failed_when (ansible-core 2.19), and the
        # run's slots record a failed case and go on (playbooks/tasks/slot_cases.yml).
        errors = checked.error_messages + retries.error_messages + params.check_types(args)
        if errors:
            result.update(failed=True, msg="nginx_proxy_case: %s" % "; ".join(errors))
            return result
        pace_retries = retries.validated_parameters["pace_retries"]
        low, high = params.BOUNDS["pace_retries"]
        if not low <= pace_retries <= high:
            result.update(failed=True, msg="nginx_proxy_case: pace_retries=%s is outside %d..%d: pick a value in that "
                                           "range" % (pace_retries, low, high))
            return result
        if self._task.check_mode:
            return self._via_module(result, task_vars)
        earlier = []
        for attempt in range(1, pace_retries + 2):
            outcome = self._once(dict(result), task_vars, params, checked.validated_parameters)
            if outcome.get("failed"):
                return dict(outcome, tries=attempt, earlier_tries=earlier)
            doc = outcome["case_result"]
            validity = doc["meta"].get("validity") or {}
            if validity.get("valid", True) or not validity.get("retryable") or attempt > pace_retries:
                break
            earlier.append(self._set_aside(save_as, doc, attempt))
        doc["meta"]["tries"] = {"count": attempt, "earlier": earlier}
        if earlier:
            outcome["warnings"] = ["try %d of %s was spoiled by the host's pace and run again: %s" % (
                e["attempt"], doc["meta"]["case"], "; ".join(e["problems"])) for e in earlier] + outcome["warnings"]
        outcome.update(tries=attempt, earlier_tries=earlier, valid=bool(validity.get("valid", True)))
        return self._finish(outcome, save_as)

    def _once(self, result, task_vars, params, p):
        """Run the case once on the target; the task's result with the outcome (case_result, summary_line, warnings,
        elapsed), or failed with why."""
        if os.environ.get("NPL_CASE_VIA_MODULE") == "1":
            return self._via_module(result, task_vars)
        started = time.monotonic()
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
        if outcome.pop("failed", False):
            result.update(failed=True, msg=outcome.get("msg", "the case failed"), elapsed=outcome.get("elapsed"))
            return result
        result.update(outcome, runner="runner", warnings=result.get("warnings", []) + outcome.get("warnings", []),
                      transport_s=round(time.monotonic() - started - outcome.get("elapsed", 0), 3))
        return result

    def _via_module(self, result, task_vars):
        # the task's own name for the module: nginx_proxy_case in the kit, its FQCN from the collection
        args = {k: v for k, v in self._task.args.items() if k not in params_controller_options()}
        outcome = self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars)
        result["runner"] = "module"
        if self._task.check_mode or outcome.get("failed"):
            result.update(outcome)
            return result
        result.update(outcome, failed=False, warnings=result.get("warnings", []) + outcome.get("warnings", []))
        return result

    def _set_aside(self, save_as, doc, attempt):
        """Keep a try the host's pace spoiled: its whole result beside the run's (<host folder>/tries/, which the
        verdicts do not read) when the task saves results, and what was wrong with it in the final result."""
        record = {"attempt": attempt, "problems": doc["meta"]["validity"]["problems"],
                  "started_at": doc["meta"].get("started_at"), "ended_at": doc["meta"].get("ended_at"),
                  "conditions": doc["meta"].get("conditions")}
        if save_as:
            base = os.path.basename(save_as)
            path = os.path.join(os.path.dirname(save_as), "tries", "%s.t%d.json" % (base[:-5] if base.endswith(".json")
                                                                                    else base, attempt))
            try:
                save(path, doc)
                record["saved_as"] = os.path.join("tries", os.path.basename(path))
            except OSError as exc:
                record["not_saved"] = results_io.write_error(exc, "the spoiled try", path)
        return record

    def _finish(self, result, save_as):
        if not result.get("warnings"):
            result.pop("warnings", None)
        if save_as:
            try:
                result["saved_to"] = save(save_as, result.pop("case_result"))
            except OSError as exc:
                result.update(failed=True, msg="nginx_proxy_case: the case ran, but %s"
                              % results_io.write_error(exc, "its result", save_as))
                return result
        result["changed"] = True
        return result


def params_controller_options():
    """The options the action plugin takes for itself (save_as, pace_retries), not passed to the module."""
    return params.CONTROLLER_OPTIONS
