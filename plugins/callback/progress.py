"""stdout callback of nginx-proxy-lab: the default output, with the run's progress where the cases are."""

from __future__ import annotations

DOCUMENTATION = """
    name: progress
    type: stdout
    short_description: Ansible's default output, with one line per case and the run's progress
    description:
      - Prints what the default callback prints, except for the case tasks. When a case ends it prints one line,
        C([7/21] debian-6.12 case2-no-accept.r1 8.6 s | elapsed 1m12s, about 2m40s left | <summary>), the count
        and the estimate coming from the run's schedule (the nginx_lab_run task that starts the run).
      - It does not print the C(included:) line of each included task file.
      - SIGTERM to ansible-playbook stops the run as Ctrl-C does, saying so; an interrupted run whose folder holds no
        file yet leaves no folder behind.
      - With the environment variable C(NPL_PROGRESS_FILE) set, it also appends one JSON object per line to that
        file for every play start and every case end (time, host, case, count, seconds), which
        C(scripts/matrix) folds into C(matrix.json).
    extends_documentation_fragment:
      - default_callback
      - result_format_callback
    requirements:
      - set as stdout callback in ansible.cfg (the kit's ansible.cfg does)
"""

import atexit
import json
import os
import signal
import time

from ansible.plugins.callback.default import CallbackModule as DefaultCallback
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import run_folder

CASE_ACTIONS = ("nginx_proxy_case",)
RUN_ACTIONS = ("nginx_lab_run",)


def _short(action):
    return action.rsplit(".", 1)[-1]


def clock(seconds):
    """90 -> '1m30s', 5.2 -> '5s'."""
    seconds = int(round(seconds))
    return "%dm%02ds" % divmod(seconds, 60) if seconds >= 60 else "%ds" % seconds


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "npl.nginx_proxy_lab.progress"

    def __init__(self):
        super().__init__()
        self._started = time.monotonic()
        self._total = None
        self._done = 0
        self._first_case_start = None
        self._progress_file = os.environ.get("NPL_PROGRESS_FILE")
        self._run_dir = None
        self._main_pid = os.getpid()
        try:
            signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread: leave SIGTERM as it is
            pass
        atexit.register(self._drop_empty_run)

    def _on_sigterm(self, signum, frame):
        """SIGTERM to ansible-playbook: say so and stop as Ctrl-C does (each case's guardian cleans up; the results
        saved so far stay). In a worker process (forks inherit this handler) SIGTERM keeps its default."""
        if os.getpid() != self._main_pid:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self._display.display("ansible-playbook got SIGTERM: stopping every case as Ctrl-C would (each case's guardian "
                              "cleans up)%s" % ("; the results saved so far stay in %s" % self._run_dir
                                                if self._run_dir else ""), color="red", stderr=True)
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpgrp(), signal.SIGINT)  # the cases' runners too, as a terminal's Ctrl-C reaches them
        raise KeyboardInterrupt

    def _drop_empty_run(self):
        """An interrupted run whose folder holds no file (nothing saved yet) leaves no folder behind; one that holds a
        result keeps it."""
        if os.getpid() != self._main_pid or not self._run_dir or not os.path.isdir(self._run_dir):
            return
        run_folder.remove_if_empty(self._run_dir)

    def _event(self, **fields):
        if not self._progress_file:
            return
        fields["t"] = round(time.time(), 3)
        with open(self._progress_file, "a") as handle:
            handle.write(json.dumps(fields) + "\n")

    def v2_playbook_on_play_start(self, play):
        self._event(event="play", name=play.get_name())
        super().v2_playbook_on_play_start(play)

    def v2_playbook_on_include(self, included_file):
        return

    def v2_runner_on_ok(self, result):
        if _short(result.task.action) in CASE_ACTIONS:
            # each case's line printed its warnings, with the host and the case: not again for the whole loop
            result.result.pop("warnings", None)
        if _short(result.task.action) in RUN_ACTIONS and "schedule" in result.result:
            schedule = result.result["schedule"]
            units = sum(len(s) for s in schedule.get("slots", [])) + len(schedule.get("alone", []))
            self._total = units * max(len(result.result.get("hosts") or [1]), 1)
            self._first_case_start = time.monotonic()
            self._run_dir = result.result.get("run_dir") if not result.result.get("_ansible_check_mode") else None
        super().v2_runner_on_ok(result)

    def _case_line(self, result, ok):
        if self._last_task_banner != result.task._uuid:
            self._print_task_banner(result.task)
        self._done += 1
        host = result.result.get("_ansible_delegated_vars", {}).get("inventory_hostname") or result.host.get_name()
        host = host.split("~")[0]
        item = result.result.get("npl_unit") or {}
        name = "%s.r%s%s" % (item.get("case", "?"), item.get("repetition", "?"), item.get("column", ""))
        if (result.result.get("tries") or 1) > 1:
            name += " (try %d)" % result.result["tries"]
        since = time.monotonic() - (self._first_case_start or self._started)
        count = "[%d/%s]" % (self._done, self._total if self._total else "?")
        left = ""
        if self._total and self._done < self._total:
            left = ", about %s left" % clock(since / self._done * (self._total - self._done))
        took = result.result.get("elapsed")
        detail = result.result.get("summary_line") if ok else "FAILED: %s" % result.result.get("msg", "")
        self._display.display("%s %s %s %s| elapsed %s%s | %s" % (
            count, host, name, ("%.1f s " % took) if isinstance(took, (int, float)) else "", clock(since), left, detail),
            color="green" if ok else "red")
        self._event(event="case", host=host, case=item.get("case"), repetition=item.get("repetition"), ok=ok,
                    done=self._done, total=self._total, case_s=took, transport_s=result.result.get("transport_s"))
        for warning in result.result.get("warnings", []) or []:
            self._display.warning("%s %s: %s" % (host, name, warning))

    def v2_runner_item_on_ok(self, result):
        if _short(result.task.action) in CASE_ACTIONS:
            # the run's task keeps going past a failed case (failed_when: false): a case without its line failed
            return self._case_line(result, "summary_line" in result.result)
        return super().v2_runner_item_on_ok(result)

    def v2_runner_item_on_failed(self, result):
        if _short(result.task.action) in CASE_ACTIONS:
            return self._case_line(result, False)
        return super().v2_runner_item_on_failed(result)
