"""One verdict per claim and host from all repetitions of the cases behind it (controller side).

Each repetition is judged on its own (claims.evaluate_claim on repetition k of every case). The
claim then gets, from the per-repetition verdicts (c confirmed, r refuted, i inconclusive of n):

  - VARIES        when c > 0 and r > 0: the same parameters gave both answers, so the claim is not
                  settled on this host; the report shows what the host was doing in each repetition.
  - CONFIRMED     when r = 0 and c > n/2: every repetition that could decide agrees, and most could.
  - REFUTED       when c = 0 and r > n/2: likewise.
  - INCONCLUSIVE  otherwise: most repetitions could not decide (their reasons are kept).

Why this rule and not a confidence bound on the pass rate: with the few repetitions a run can afford
(3 by default) a bound says little, while one repetition that contradicts the others is exactly what a
user must see. Every check's numbers are given as median [min-max] over the repetitions, with how many
passed.
"""

import statistics

from .claims import CONFIRMED, INCONCLUSIVE, REFUTED, evaluate_claim, tested_by

VARIES = "VARIES"
VERDICTS = (CONFIRMED, REFUTED, VARIES, INCONCLUSIVE)


def _r(x):
    return round(x, 4) if isinstance(x, float) else x


def decide(per_repetition):
    """The claim's verdict from its per-repetition verdicts (the rule above)."""
    n = len(per_repetition)
    c = per_repetition.count(CONFIRMED)
    r = per_repetition.count(REFUTED)
    if c and r:
        return VARIES
    if c * 2 > n:
        return CONFIRMED
    if r * 2 > n:
        return REFUTED
    return INCONCLUSIVE


def _check_summary(checks):
    """One check over the repetitions: its values, median [min, max], and how many passed."""
    first = checks[0]
    values = [c["value"] for c in checks]
    present = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    out = {"measure": first["measure"], "args": first["args"], "op": first["op"], "threshold": first["threshold"],
           "values": values, "passed": sum(1 for c in checks if c["passed"] is True),
           "decided": sum(1 for c in checks if c["passed"] is not None), "repetitions": len(checks),
           "value": _r(statistics.median(present)) if present else None,
           "min": _r(min(present)) if present else None, "max": _r(max(present)) if present else None,
           "evidence": next((c["evidence"] for c in checks if c.get("evidence") is not None), None),
           "reasons": sorted({c["reason"] for c in checks if c.get("reason")})}
    return out


def _ours(check):
    if check["value"] is None:
        return "%s n/a" % check["measure"]
    spread = "" if check["min"] == check["max"] else " [%s–%s]" % (check["min"], check["max"])
    return "%s %s%s, %d of %d %s %s" % (check["measure"], check["value"], spread, check["passed"],
                                       check["repetitions"], check["op"], check["threshold"])


def conditions(claim, repetition_results):
    """What the host was doing in one repetition, over the cases the claim reads (the worst of them)."""
    metas = [doc["meta"] for name, doc in repetition_results.items() if name in claim.get("tested_by", [])]
    conds = [m.get("conditions") for m in metas if m.get("conditions")]
    if not conds:
        return None

    def worst(key, pick=max):
        values = [c[key] for c in conds if c.get(key) is not None]
        return pick(values) if values else None

    lag = [c["sampler_achieved_s"]["unix"] / c["sampler_asked_s"]["unix"] for c in conds
           if c.get("sampler_achieved_s", {}).get("unix") and c.get("sampler_asked_s", {}).get("unix")]
    return {"cpu_busy_share": worst("cpu_busy_share"), "loadavg_1m": max(c["loadavg_start"][0] for c in conds),
            "unix_sampler_lag": round(max(lag), 2) if lag else None,
            "client_start_spread_s": worst("client_start_spread_s")}


def tries(claim, judged):
    """How many case runs the verdict took: `judged` is every repetition's {case: doc} the claim was judged on. A
    repetition the host's pace spoiled ran again (meta.tries, the action plugin's pace_retries); its spoiled tries
    stay recorded with their problems, and only the last try is judged."""
    docs = [doc for results in judged for case, doc in sorted(results.items()) if case in claim.get("tested_by", [])]
    counts = [((doc["meta"].get("tries") or {}).get("count") or 1) for doc in docs]
    spoiled = [problem for doc in docs for early in (doc["meta"].get("tries") or {}).get("earlier") or []
               for problem in early.get("problems") or []]
    return {"case_runs": len(docs), "tries": sum(counts), "retried": sum(1 for c in counts if c > 1),
            "spoiled_problems": sorted(set(spoiled))[:5]}


def evaluate_host(claim, reps_by_case):
    """The aggregated row of `claim` on one host; `reps_by_case` is {case: [doc of repetition 1, 2, ...]}.

    The claim's repetitions are those of its own cases (the fewest any of them ran, so that every repetition judged
    has all of them): a lab run three times for its min_repeat beside cases run once leaves the others' claims one
    repetition, not three with two missing."""
    mine = [len(reps_by_case[case]) for case in claim.get("tested_by") or tested_by(claim) if case in reps_by_case]
    n = min(mine) if mine else 1
    rows, conds, judged = [], [], []
    for k in range(n):
        results = {case: docs[k] for case, docs in reps_by_case.items() if len(docs) > k}
        rows.append(evaluate_claim(claim, results))
        conds.append(conditions(claim, results))
        judged.append(results)
    per = [row["verdict"] for row in rows]
    checks = [_check_summary([row["checks"][i] for row in rows]) for i in range(len(claim["checks"]))]
    verdict = decide(per)
    reasons = []
    for row in rows:  # in repetition order, each once; the same cause in other words counts once per repetition
        if row.get("reason") and row["reason"] not in reasons:
            reasons.append(row["reason"])
    if len(reasons) > 1:
        reasons = [reasons[0] + " (and in %d more repetition(s), in other numbers)" % (len(reasons) - 1)]
    return {"id": claim["id"], "verdict": verdict, "repetitions": n, "per_repetition": per,
            "counts": {v: per.count(v) for v in (CONFIRMED, REFUTED, INCONCLUSIVE)},
            "checks": checks, "ours": "; ".join(_ours(c) for c in checks),
            "reason": "; ".join(reasons) or None, "published": claim.get("published"), "conditions": conds,
            "tries": tries(dict(claim, tested_by=claim.get("tested_by") or tested_by(claim)), judged)}


def evaluate(claims, by_host):
    """{host: [row, ...]} for every claim on every host; `by_host` as results_io.load_run returns it."""
    return {host: [evaluate_host(c, reps) for c in claims] for host, reps in sorted(by_host.items())}


def plain(claim, row):
    """One sentence for the report's summary: the claim, yes/no/varies, in how many runs, with the numbers."""
    answer = {CONFIRMED: "yes", REFUTED: "no", VARIES: "it varies", INCONCLUSIVE: "not decided"}[row["verdict"]]
    counts = row["counts"]
    if row["verdict"] in (CONFIRMED, REFUTED, VARIES):
        runs = "%d of %d repetitions confirm it, %d refute it" % (counts[CONFIRMED], row["repetitions"],
                                                                 counts[REFUTED])
    else:
        runs = "no repetition could decide" if not (counts[CONFIRMED] or counts[REFUTED]) else \
            "%d of %d repetitions decided" % (counts[CONFIRMED] + counts[REFUTED], row["repetitions"])
    return "%s: **%s**, %s (%s)%s" % (claim["statement"].rstrip("."), answer, runs, row["ours"],
                                      ("; " + row["reason"]) if row["verdict"] == INCONCLUSIVE and row["reason"] else "")
