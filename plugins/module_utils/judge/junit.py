"""Verdicts as JUnit XML: one test suite per host, one test case per claim, named `<claim id> on <host>`.

CONFIRMED passes; REFUTED is a failure (the claim does not hold on this host); VARIES is a failure
of type VARIES (some repetitions confirmed and others refuted the claim: it is not settled here, and
a CI job should say so); INCONCLUSIVE is skipped (the kit could not decide: its reason is the message).
The claim's statement and the numbers are in the body; `time` is the claim's cases' wall time.
"""

import json
import xml.etree.ElementTree as ET

FAILURES = ("REFUTED", "VARIES")


def _seconds(row, case_seconds):
    cases = {c for check in row["checks"] for c in _cases(check.get("args", {}))}
    return sum(case_seconds.get(c, 0.0) for c in cases)


def _cases(args):
    out = [args[k] for k in ("case", "after", "one", "many") if isinstance(args.get(k), str)]
    return out + list(args.get("cases", []))


def render(verdicts, claims, hosts_meta, case_seconds=None, unreachable=None):
    """`case_seconds`: {host: {case: seconds its repetitions took}} for the `time` attributes; `unreachable`: {host:
    why} of the hosts nothing ran on, each a suite with one test case in error."""
    text_of = {c["id"]: c["statement"] for c in claims}
    root = ET.Element("testsuites", name="nginx-proxy-lab claims")
    for host, why in sorted((unreachable or {}).items()):
        suite = ET.SubElement(root, "testsuite", name="%s (unreachable)" % host, tests="1", failures="0", skipped="0",
                              errors="1", time="0.000")
        case = ET.SubElement(suite, "testcase", classname="claims.%s" % host.replace(".", "_"),
                             name="%s could be reached" % host, time="0.000")
        ET.SubElement(case, "error", message="unreachable: nothing ran on %s: %s" % (host, why), type="UNREACHABLE")
    for host, rows in verdicts.items():
        kernel = hosts_meta.get(host, {}).get("kernel", "?")
        release = hosts_meta.get(host, {}).get("nginx_version", "?")
        seconds = (case_seconds or {}).get(host, {})
        times = [_seconds(row, seconds) for row in rows]
        suite = ET.SubElement(root, "testsuite", name="%s (Linux %s, nginx %s)" % (host, kernel, release), tests=str(len(rows)),
                              failures=str(sum(r["verdict"] in FAILURES for r in rows)),
                              skipped=str(sum(r["verdict"] == "INCONCLUSIVE" for r in rows)), errors="0",
                              time="%.3f" % sum(times))
        for row, spent in zip(rows, times):
            case = ET.SubElement(suite, "testcase", classname="claims.%s" % host.replace(".", "_"),
                                 name="%s on %s, nginx %s" % (row["id"], host, release), time="%.3f" % spent)
            if row["verdict"] in FAILURES:
                ET.SubElement(case, "failure", message="%s: %s" % (row["verdict"], row["ours"]), type=row["verdict"])
            elif row["verdict"] == "INCONCLUSIVE":
                ET.SubElement(case, "skipped", message="INCONCLUSIVE: %s" % (row["reason"] or row["ours"]))
            out = ET.SubElement(case, "system-out")
            out.text = "%s\n%s\n%s" % (text_of.get(row["id"], ""), row["ours"],
                                        json.dumps(row["checks"], indent=1, default=str))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
