"""Things done to a running case at given times (the catalogue's `actions`), in a thread of the case.

stop-workers: SIGSTOP every nginx worker for `seconds`, then SIGCONT. Whatever happens (the clients end
early, the case fails, the deadline comes), finish() continues every process still stopped before the
case goes on; if the case process itself dies, the guardian's clean-up continues and ends the case's
processes (guardian.clean). Each action's record says when it began and ended on the case clock.

reload: write the case's next configuration (`config` changed: the same with the response header
X-NPL-Config 2; broken: that with a directive nginx does not know) over nginx.conf and send the master
SIGHUP, as `nginx -s reload` does. The record has the master's workers before, and one second later (the
workers sampler follows them for the rest of the case). New workers stay in the master's process group,
which the clean-up ends.
"""

import os
import signal
import threading
import time

from .procnet import alive, children_of


class CaseActions(object):
    def __init__(self, actions, t0, master, write_config=None):
        self.actions = sorted(actions or [], key=lambda a: a["at_s"])
        self.t0 = t0
        self.master = master
        self.write_config = write_config  # write_config(kind): the next nginx.conf, for reload
        self.records = []
        self.errors = []
        self._stopped = set()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread = None

    def start(self, base):
        """Run the actions in a thread; `at_s` counts from `base` (time.monotonic() when the clients start). Call it
        before the clients are let go: a stop-workers action at 0 s stops the workers here, before this returns, so
        the first client finds them stopped however slowly the host runs the action's thread (on an emulated VM it
        once took two seconds, and the clients met a running worker)."""
        if not self.actions:
            return
        first = None
        if self.actions[0]["at_s"] == 0 and self.actions[0]["action"] == "stop-workers":
            first = self._begin(self.actions[0])
            self._stop_now(first)
        self._thread = threading.Thread(target=self._run, args=(base, first), daemon=True)
        self._thread.start()

    def _now(self):
        return round(time.monotonic() - self.t0, 6)

    def _begin(self, action):
        record = {"action": action["action"], "at_s": action["at_s"], "seconds": action.get("seconds"),
                  "began": self._now(), "ended": None, "pids": []}
        self.records.append(record)
        return record

    def _run(self, base, first=None):
        for action in self.actions:
            if first is not None and action is self.actions[0]:
                record = first  # stopped already, in start()
                began = base
            else:
                if self._cancel.wait(max(0.0, base + action["at_s"] - time.monotonic())):
                    return
                record = self._begin(action)
                began = None
            try:
                if action["action"] == "reload":
                    self._reload(record, action.get("config") or "changed")
                else:
                    if began is None:
                        self._stop_now(record)
                        began = time.monotonic()
                    self._cancel.wait(max(0.0, began + action["seconds"] - time.monotonic()))
            except OSError as exc:
                self.errors.append("%s at %ss: %s" % (action["action"], action["at_s"], exc))
            finally:
                self._continue_all(record)

    def _stop_now(self, record):
        """SIGSTOP every worker of the master now; the record notes them and when they were stopped."""
        pids = children_of(self.master)
        with self._lock:
            for pid in pids:
                self._stopped.add(pid)
                os.kill(pid, signal.SIGSTOP)
                record["pids"].append(pid)
        record["stopped"] = self._now()

    def _reload(self, record, kind):
        record["config"] = kind
        record["master"] = self.master
        record["workers_before"] = sorted(children_of(self.master))
        self.write_config(kind)
        os.kill(self.master, signal.SIGHUP)
        record["signalled"] = self._now()
        self._cancel.wait(1.0)
        record["workers_after_1s"] = sorted(children_of(self.master)) if alive(self.master) else []
        record["master_alive_after_1s"] = alive(self.master)

    def _continue_all(self, record=None):
        with self._lock:
            for pid in sorted(self._stopped):
                if alive(pid):
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            self._stopped.clear()
        if record is not None and record["ended"] is None:
            record["ended"] = self._now()

    def finish(self):
        """Cut any action short, continue every stopped process, and return the records."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(10)
        self._continue_all()
        return {"done": self.records, "errors": self.errors}
