"""The verdicts pinned per kernel in molecule/expected_verdicts.yml, and how a run is held against them.

A pin is a verdict (CONFIRMED, REFUTED, INCONCLUSIVE, VARIES). VARIES comes with the measure whose number
moves across its threshold on that kernel, the range it was seen in and the cause of the spread: a run agrees
with it when its verdict is VARIES, or when it landed on one side (one repetition, or repetitions that happened
to agree) with every value of that measure inside the range. check_pins() refuses a VARIES pin without a cause
and one whose range spans every value its measure can take.
"""

import fnmatch

VERDICTS = ("CONFIRMED", "REFUTED", "INCONCLUSIVE", "VARIES")


class PinError(ValueError):
    """The pins file is malformed; the message names the entry and the fix."""


def check_pins(expected, domains=None):
    """Refuse lists, unknown verdicts, and VARIES pins that cannot fail or say nothing: a VARIES pin names its
    measure, a range within the values that measure can take (`domains`: {measure: (low, high)}, None where
    unbounded; a range that spans the whole of it verifies nothing) and the `cause` of the spread, measured and
    named (a pin widened after a red run, without one, is a claim the kit stopped deciding)."""
    for glob, pins in expected.items():
        for cid, pin in pins.items():
            where = "molecule/expected_verdicts.yml %s %s" % (glob, cid)
            if isinstance(pin, str):
                if pin not in VERDICTS or pin == "VARIES":
                    raise PinError("%s: %r is not a verdict to pin (one of %s; VARIES is written "
                                   "{verdict: VARIES, measure: ..., range: [low, high], cause: ...})"
                                   % (where, pin, ", ".join(VERDICTS)))
                continue
            if not isinstance(pin, dict) or pin.get("verdict") != "VARIES":
                raise PinError("%s: pin one verdict, not %r" % (where, pin))
            rng = pin.get("range")
            if not pin.get("measure") or not (isinstance(rng, list) and len(rng) == 2 and rng[0] <= rng[1]):
                raise PinError("%s: a VARIES pin names its measure and a range [low, high]" % where)
            if len(" ".join(str(pin.get("cause") or "").split())) < 30:
                raise PinError("%s: a VARIES pin says what makes the number move (cause: the mechanism, measured and "
                               "named, e.g. which nginx function and which state of the lab); find it before pinning "
                               "a spread" % where)
            low, high = (domains or {}).get(pin["measure"], (None, None))
            if low is not None and high is not None and rng[0] <= low and rng[1] >= high:
                raise PinError("%s: the range %s spans every value %s can take (%s..%s), so the pin can never fail: "
                               "make the lab control what moves it" % (where, rng, pin["measure"], low, high))


def pins_for(expected, release, domains=None):
    """The pins of the first glob matching `release` (uname -r), or None."""
    check_pins(expected, domains)
    for glob, pins in expected.items():
        if fnmatch.fnmatch(release, glob):
            return pins
    return None


def disagreement(pin, row):
    """None when the verdict row agrees with the pin, else the sentence that says how it differs."""
    if isinstance(pin, str):
        if row["verdict"] == pin:
            return None
        return "expected %s, measured %s (%s)" % (pin, row["verdict"], row["ours"])
    if row["verdict"] == "VARIES":
        return None
    low, high = pin["range"]
    values = [v for check in row["checks"] if check["measure"] == pin["measure"]
              for v in check.get("values", [check.get("value")]) if v is not None]
    if not values:
        return "expected VARIES in %s, measured %s without a value of it (%s)" % (pin["measure"], row["verdict"], row["reason"])
    outside = [v for v in values if not low <= v <= high]
    if outside:
        return "expected VARIES with %s in [%s, %s], measured %s with %s" % (
            pin["measure"], low, high, row["verdict"], ", ".join(str(v) for v in outside))
    return None
