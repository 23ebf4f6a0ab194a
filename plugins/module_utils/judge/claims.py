"""The evaluator: result JSONs + the claims file -> a verdict per claim and host, with its numbers.

It never runs anything. Each check of a claim names a measure (a function of measures_*.py) with its
arguments, a comparison and a threshold, all from the claims file. A measure that lacks its
data raises Missing, and the claim is INCONCLUSIVE with the reason.
"""

import operator

from . import (measures_accept, measures_capacity, measures_clients, measures_kernel, measures_lifecycle, measures_lines,
               measures_protocol, measures_sockets, measures_status)
from .claim_cases import depends_errors, tested_by
from .measure_common import Missing, rounded

CONFIRMED, REFUTED, INCONCLUSIVE = "CONFIRMED", "REFUTED", "INCONCLUSIVE"
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}

__all__ = ["CONFIRMED", "REFUTED", "INCONCLUSIVE", "MEASURES", "MEASURE_DOMAINS", "Missing", "evaluate",
           "evaluate_claim", "tested_by", "validate_claims"]


_MODULES = (measures_sockets, measures_lines, measures_status, measures_clients, measures_capacity, measures_accept,
            measures_kernel, measures_protocol, measures_lifecycle)


def _measures():
    """Every public function of the measures_* modules, by name (a check's `measure`)."""
    found = {}
    for module in _MODULES:
        for name in getattr(module, "__all__"):
            if name in found:
                raise ImportError("measure %s is defined twice (%s and %s): rename one"
                                  % (name, found[name].__module__, module.__name__))
            found[name] = getattr(module, name)
    return found


MEASURES = _measures()
# The values each measure can take: (0, 1) for the shares its module lists in SHARES, unbounded otherwise.
MEASURE_DOMAINS = dict({name: (None, None) for name in MEASURES},
                       **{name: (0.0, 1.0) for module in _MODULES for name in getattr(module, "SHARES", ())})


# verdicts ------------------------------------------------------------------

def evaluate_claim(claim, results):
    checks = []
    for check in claim["checks"]:
        entry = {"measure": check["measure"], "args": check.get("args", {}), "op": check["op"],
                 "threshold": check["value"]}
        try:
            value, evidence = MEASURES[check["measure"]](results, **check.get("args", {}))
            entry.update(value=rounded(value, 4), evidence=evidence, passed=bool(OPS[check["op"]](value, check["value"])))
        except Missing as exc:
            entry.update(value=None, evidence=None, passed=None, reason=str(exc))
        checks.append(entry)
    if claim.get("not_decided"):
        # the claims file says, with the numbers that showed it, why this quantity cannot decide the claim: its
        # values are measured and shown, the verdict stays INCONCLUSIVE with that reason
        verdict = INCONCLUSIVE
    elif any(c["passed"] is False for c in checks):
        verdict = REFUTED
    elif any(c["passed"] is None for c in checks):
        verdict = INCONCLUSIVE
    else:
        verdict = CONFIRMED
    reasons = ([" ".join(claim["not_decided"].split())] if claim.get("not_decided") else []) + \
        [c["reason"] for c in checks if c.get("reason")]
    ours = "; ".join("%s %s%s" % (c["measure"], c["value"] if c["value"] is not None else "n/a",
                                  "" if c["passed"] is None else " (%s %s %s)" % (
                                      "✓" if c["passed"] else "✗", c["op"], c["threshold"])) for c in checks)
    return {"id": claim["id"], "verdict": verdict, "checks": checks, "ours": ours,
            "reason": "; ".join(reasons) or None, "published": claim.get("published")}


def validate_claims(claims):
    """Errors in a claims file (unknown measure or operator, missing fields)."""
    errors = []
    seen = set()
    for claim in claims:
        for field in ("id", "source", "statement", "checks"):
            if field not in claim:
                errors.append("%s: missing %s" % (claim.get("id", "?"), field))
        if "tested_by" in claim and list(claim["tested_by"]) != tested_by(claim):
            errors.append("%s: tested_by is derived from the cases its checks name (%s); drop it from the claims file"
                          % (claim.get("id"), ", ".join(tested_by(claim))))
        errors.extend(depends_errors(claim))
        if claim.get("id") in seen:
            errors.append("%s: duplicate id" % claim["id"])
        seen.add(claim.get("id"))
        for check in claim.get("checks", []):
            if check.get("measure") not in MEASURES:
                errors.append("%s: unknown measure %s (known: %s)" % (claim.get("id"), check.get("measure"),
                                                                       ", ".join(sorted(MEASURES))))
            if check.get("op") not in OPS:
                errors.append("%s: unknown op %s" % (claim.get("id"), check.get("op")))
    return errors


def evaluate(claims, results_by_host):
    """{host: [verdict, ...]} for every claim on every host."""
    return {host: [evaluate_claim(c, results) for c in claims] for host, results in sorted(results_by_host.items())}
