"""Which cases a claim reads, and what its outcome depends on: the claims file's `checks` and `depends_on`.

Standard library only, with no import of the rest of the judge: the kit's filter plugin loads this file alone to
choose the cases of a run (npl_depends_on) from the claims that depend on the kernel or on the nginx release."""

# The arguments of a check that name cases of the catalogue: one (`case`, `one`, `many`, `after`) or a list (`cases`).
CASE_ARGS = ("case", "cases", "one", "many", "after")
# What a claim's outcome can depend on (claims.yml `depends_on`): the kernel, the nginx release, or both.
DEPENDS = ("kernel", "nginx")


def tested_by(claim):
    """The cases a claim reads, in the order its checks name them: derived from the checks, so it has one home."""
    found = []
    for check in claim.get("checks", []):
        for key in CASE_ARGS:
            value = check.get("args", {}).get(key)
            for name in (value if isinstance(value, list) else [value] if value else []):
                if name not in found:
                    found.append(name)
    return found


def depends_errors(claim):
    """What is wrong with a claim's `depends_on` (kernel and/or nginx) and `depends_why` (the reason), as messages."""
    cid = claim.get("id", "?")
    errors = []
    on = claim.get("depends_on")
    if not isinstance(on, list) or not on or any(item not in DEPENDS for item in on) or len(set(on)) != len(on):
        errors.append("%s: depends_on must list kernel, nginx or both, once each; got %r" % (cid, on))
    why = claim.get("depends_why")
    if not isinstance(why, str) or not why.strip():
        errors.append("%s: depends_why must say why the outcome depends on %s" % (cid, on))
    return errors


def cases_depending_on(claims, on, catalogue):
    """The catalogue's cases (in catalogue order) that the claims depending on `on` (kernel or nginx) read."""
    if on not in DEPENDS:
        raise ValueError("npl_depends_on must be one of %s or empty, not %r" % (", ".join(DEPENDS), on))
    wanted = set()
    for claim in claims:
        if on in (claim.get("depends_on") or []):
            wanted.update(tested_by(claim))
    return [name for name in catalogue if name in wanted]
