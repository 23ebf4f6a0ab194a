"""Measures of nginx's lifecycle during a case: what clients saw around a reload (action `reload`).

Every response of a case that reloads carries X-NPL-Config, the generation of the configuration that answered
(1: the one nginx started with; 2: the one the reload wrote), which the load generator keeps as `config`.
The reload's record (meta.actions.done) says when the master got SIGHUP and its workers before and a second
after; the workers sampler follows the worker PIDs for the rest of the case.
"""

from .measure_common import Missing, case_result, finished, rounded

__all__ = ["reload_old_config_share", "reload_workers_replaced", "reload_failures", "reload_new_config_share",
           "reload_in_flight_old_config", "reload_idle_kept_share"]
# The measures whose value is a share (0..1): a pin may not span all of it (pinned.py).
SHARES = ("reload_old_config_share", "reload_workers_replaced", "reload_new_config_share", "reload_in_flight_old_config", "reload_idle_kept_share")


def _reload(doc, case):
    done = [a for a in (doc["meta"].get("actions") or {}).get("done", []) if a["action"] == "reload"]
    if not done or done[0].get("signalled") is None:
        raise Missing("%s: no reload was sent (meta.actions: %s)" % (case, doc["meta"].get("actions")))
    return done[0]


def _old_workers_gone(doc, reload):
    """Seconds from the SIGHUP to the last workers sample that still listed a worker from before it; None when
    the old workers outlived the samples."""
    w = doc["samples"].get("workers") or {}
    before = set(reload["workers_before"])
    seen = [t for t, pids in zip(w.get("t", []), w.get("pids", [])) if before & set(pids)]
    last = max(seen, default=None)
    if last is None or last >= w["t"][-1]:
        return None
    return rounded(last - reload["signalled"])


def _evidence(doc, reload):
    configs = {}
    for c in doc["clients"]:
        key = "%s/%s" % (c.get("status"), c.get("config"))
        configs[key] = configs.get(key, 0) + 1
    return {"config": reload["config"], "signalled_at": reload["signalled"], "workers_before": reload["workers_before"],
            "workers_after_1s": reload["workers_after_1s"], "master_alive_after_1s": reload["master_alive_after_1s"],
            "status_config_counts": configs, "old_workers_gone_after_s": _old_workers_gone(doc, reload),
            "emerg_lines": [l[:200] for l in doc["logs"]["error"] if "[emerg]" in l][:3]}


def _later_share(results, case, after_s, generation):
    """Of the clients that started `after_s` or more after the SIGHUP, the share answered 200 by configuration
    `generation`, with the evidence."""
    doc = finished(case_result(results, case), case)
    reload = _reload(doc, case)
    later = [c for c in doc["clients"] if c["start"] is not None and c["start"] >= reload["signalled"] + after_s]
    if not later:
        raise Missing("%s: no client started %ss or more after the reload" % (case, after_s))
    hits = sum(1 for c in later if c["status"] == 200 and c.get("config") == generation)
    evidence = _evidence(doc, reload)
    evidence["clients_after"] = len(later)
    return hits / float(len(later)), evidence


def reload_old_config_share(results, case, after_s=0.5):
    """Of the clients that started `after_s` or more after the SIGHUP, the share answered 200 by the first
    configuration."""
    return _later_share(results, case, after_s, 1)


def reload_new_config_share(results, case, after_s=1.0):
    """Of the clients that started `after_s` or more after the SIGHUP, the share answered 200 by the new
    configuration."""
    return _later_share(results, case, after_s, 2)


def reload_workers_replaced(results, case):
    """Share of the workers from before the SIGHUP that were gone a second after it (0: the same workers serve
    on; 1: every one was replaced)."""
    doc = case_result(results, case)
    reload = _reload(doc, case)
    before = set(reload["workers_before"])
    if not before:
        raise Missing("%s: the reload's record lists no worker before it" % case)
    gone = before - set(reload["workers_after_1s"])
    return len(gone) / float(len(before)), _evidence(doc, reload)


def reload_failures(results, case):
    """Clients that did not get a complete 200 among those in flight at the SIGHUP or started after it."""
    doc = finished(case_result(results, case), case)
    reload = _reload(doc, case)
    around = [c for c in doc["clients"] if c["end"] is not None and c["end"] >= reload["signalled"]]
    if not around:
        raise Missing("%s: no client was in flight at the reload or started after it" % case)
    failed = [c for c in around if c["status"] != 200 or not c["complete"]]
    evidence = _evidence(doc, reload)
    evidence.update(clients_around=len(around), failed_examples=[
        {"id": c["id"], "status": c["status"], "error": c["error"]} for c in failed[:5]])
    return len(failed), evidence


def reload_in_flight_old_config(results, case, sent_after=False):
    """Of the requests in flight at the SIGHUP (connected before it, ended after it), the share answered 200 by
    the first configuration: they finished on the old workers. With `sent_after`, only the connections whose request
    went after the SIGHUP (client_pause_s: connected, then silent across the reload)."""
    doc = finished(case_result(results, case), case)
    reload = _reload(doc, case)
    t = reload["signalled"]
    flying = [c for c in doc["clients"] if c.get("connected") is not None and c["connected"] < t
              and c["end"] is not None and c["end"] > t and (not sent_after or (c.get("sent") or 0) > t)]
    if not flying:
        raise Missing("%s: no request was in flight at the reload%s" % (case, " with its request sent after it"
                                                                          if sent_after else ""))
    old = sum(1 for c in flying if c["status"] == 200 and c.get("config") == 1)
    evidence = _evidence(doc, reload)
    evidence.update(in_flight=len(flying), last_in_flight_end_after_s=rounded(max(c["end"] for c in flying) - t))
    return old / float(len(flying)), evidence


def reload_idle_kept_share(results, case, within_s=1.0):
    """Of the keep-alive connections idle at the SIGHUP (answered before it, their next request due after it), the
    share nginx kept open through the reload: not closed within `within_s` after the signal (the client watches
    the idle connection, so `closed` is when nginx closed it)."""
    doc = finished(case_result(results, case), case)
    reload = _reload(doc, case)
    t = reload["signalled"]
    idle = [c for c in doc["clients"] if c.get("first_byte") is not None and c["first_byte"] < t
            and (c.get("closed") is None or c["closed"] > t) and "sent" in c]
    if not idle:
        raise Missing("%s: no keep-alive connection was idle at the reload (client_behaviour keepalive-requests with "
                      "client_pause_s)" % case)
    closed = [c["closed"] - t for c in idle if c.get("closed") is not None and c["closed"] - t <= within_s]
    evidence = _evidence(doc, reload)
    evidence.update(idle_at_reload=len(idle), closed_within_s=len(closed),
                    closed_after_s={"min": rounded(min(closed)) if closed else None,
                                    "max": rounded(max(closed)) if closed else None},
                    next_request_answered=sum(1 for c in idle if (c.get("responses") or 0) >= 2))
    return (len(idle) - len(closed)) / float(len(idle)), evidence
