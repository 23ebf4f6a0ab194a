"""Checking claims.yml's depends_on against a run that varies an axis (controller side).

A claim says what it depends on: the kernel, the nginx release, or both. When a run varies an axis the claim says it
does not depend on (kernels of one release, or releases on one host), its verdict and its numbers should not move.
A changed verdict is flagged by the report's diff; this module finds the quieter contradiction: the same verdict with
numbers that moved. A check's numbers differ between two columns when the ranges its repetitions spanned do not
overlap and the medians lie more than TOLERANCE apart, relative to the largest of the two and the check's threshold
(14 against 12 upstream connections in 400 requests, 0.035 and 0.03 against a limit of 0.2, is not a move; a lead of
15 ms against 39 ms over a limit of 0 is). A spread seen within one column is the measure's own noise and never
counts as a difference. Times move with the host's speed: a flagged time says so much, and the report shows it.
"""

# Medians closer than this (relative) are the same number, whatever their ranges.
TOLERANCE = 0.10


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _span(check):
    """(median, low, high) of a check over its repetitions, or None when it measured nothing."""
    value = check.get("value")
    if not _number(value):
        return None
    low, high = check.get("min", value), check.get("max", value)
    return float(value), float(low if low is not None else value), float(high if high is not None else value)


def differ(a, b, threshold=0.0):
    """Whether two (median, low, high) spans differ: disjoint ranges and medians more than TOLERANCE apart, relative
    to the larger median and the threshold."""
    if a[2] < b[1] or b[2] < a[1]:
        scale = max(abs(a[0]), abs(b[0]), abs(threshold))
        return scale > 0 and abs(a[0] - b[0]) / scale > TOLERANCE
    return False


def differing_checks(rows):
    """[(measure, [median per row])] of the checks (paired by position and measure) whose numbers differ between any
    two of `rows` (verdict rows of one claim, one per column)."""
    if len(rows) < 2 or any(not row for row in rows):
        return []
    out = []
    for index, first in enumerate(rows[0].get("checks", [])):
        checks = [row["checks"][index] if index < len(row.get("checks", [])) else None for row in rows]
        if any(c is None or c.get("measure") != first.get("measure") for c in checks):
            continue
        spans = [_span(c) for c in checks]
        if any(s is None for s in spans):
            continue
        threshold = first.get("threshold") if _number(first.get("threshold")) else 0.0
        if any(differ(a, b, threshold) for i, a in enumerate(spans) for b in spans[i + 1:]):
            out.append((first["measure"], [s[0] for s in spans]))
    return out


def contradicts(claim, axis):
    """Whether a change along `axis` (kernel or nginx) contradicts the claim's depends_on."""
    return bool(claim.get("depends_on")) and axis not in claim["depends_on"]
