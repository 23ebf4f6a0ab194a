"""Running one case from complete parameters, the same way for the Ansible module and for the runner the action
plugin starts (plugins/action/nginx_proxy_case.py, BOOTSTRAP): take the host's lock stamp, run the case, summarise
it. Target side."""

import time

from . import case as lab_case
from . import hostlock


def summary_line(result):
    """The one line a person reads: states, queue, Active peak, client outcomes, latency, validity."""
    s = result["summary"]
    states = " ".join("%s:%s%%" % (code, pct) for code, pct in s["unix_states_pct"].items() if pct)
    outcomes = " ".join("%s×%d" % (k, v) for k, v in s["clients"]["status_counts"].items())
    lat = {k: "-" if v is None else v for k, v in s["clients"]["latency_s"].items()}
    validity = result["meta"].get("validity") or {}
    invalid = "" if validity.get("valid", True) else " | INVALID: " + "; ".join(validity.get("problems", []))
    return "%s [%s] states %s | queue peak %s backlog %s | active peak %s | clients %s | latency median %ss max %ss%s" % (
        result["meta"]["case"], result["meta"]["kernel"], states or "-", s["queue_len_peak"], s["backlog"],
        s["active_peak"], outcomes, lat["median"], lat["max"], invalid)


def run_case(params):
    """{"failed": False, "case_result", "summary_line", "warnings", "elapsed"} or {"failed": True, "msg", "elapsed"}
    for complete, checked parameters (params.complete over the argument spec)."""
    started = time.monotonic()
    try:
        stamp = None
        if params["run_id"]:
            busy_s = params["deadline"] + params["settle_s"] + params["tail_s"] + 60
            stamp = lambda: hostlock.stamp(params["run_id"], busy_s)  # noqa: E731
        result = lab_case.execute(params, before=stamp)
    except (lab_case.CaseError, hostlock.Held) as exc:
        return {"failed": True, "msg": str(exc), "elapsed": round(time.monotonic() - started, 3)}
    return {"failed": False, "case_result": result, "summary_line": summary_line(result),
            "warnings": list(result["meta"]["warnings"]), "elapsed": round(time.monotonic() - started, 3)}
