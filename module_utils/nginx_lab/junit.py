"""Verdicts as JUnit XML: one test suite per host, one test case per claim.

REFUTED is a failure, INCONCLUSIVE is skipped, CONFIRMED passes, so CI systems show the verdicts.
"""

import json
import xml.etree.ElementTree as ET


def render(verdicts, claims, hosts_meta):
    text_of = {c["id"]: c["statement"] for c in claims}
    root = ET.Element("testsuites", name="nginx-proxy-lab claims")
    for host, rows in verdicts.items():
        kernel = hosts_meta.get(host, {}).get("kernel", "?")
        suite = ET.SubElement(root, "testsuite", name="%s (Linux %s)" % (host, kernel), tests=str(len(rows)),
                              failures=str(sum(r["verdict"] == "REFUTED" for r in rows)),
                              skipped=str(sum(r["verdict"] == "INCONCLUSIVE" for r in rows)), errors="0")
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname="claims.%s" % host.replace(".", "_"),
                                 name="%s: %s" % (row["id"], text_of.get(row["id"], "")))
            if row["verdict"] == "REFUTED":
                ET.SubElement(case, "failure", message="REFUTED: %s" % row["ours"], type="REFUTED")
            elif row["verdict"] == "INCONCLUSIVE":
                ET.SubElement(case, "skipped", message="INCONCLUSIVE: %s" % (row["reason"] or row["ours"]))
            out = ET.SubElement(case, "system-out")
            out.text = json.dumps(row["checks"], indent=1, default=str)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
