"""JUnit XML: one test suite per file, one failing test case per finding, one passing test case
for a clean file, an errored one for a file that does not parse.

Per file rather than per rule, because GitLab's test report and Jenkins list suites and cases
by name: a suite per Dockerfile reads as "this file passed" or "this file has 3 problems", and
the case names (code, name, line) say which.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from keelhaul.findings import Finding, Origin
from keelhaul.report.model import BrokenFile, Report
from keelhaul.report.xmldoc import document, xml_safe


def _details(report: Report, finding: Finding) -> str:
    loc = finding.location
    rule = report.rule(finding.code)
    lines = [
        f"{report.position(loc)}: "
        f"{finding.severity.value} {finding.code} {finding.name}: {finding.message}",
    ]
    if finding.stage is not None:
        lines.append(f"stage: {finding.stage}")
    if finding.origin is not None:
        lines.append("origin: the base image" if finding.origin is Origin.BASE
                     else "origin: the image's own layers")  # fmt: skip
    if rule.summary:
        lines.append(f"rule: {rule.summary}")
    if rule.help_uri:
        lines.append(f"help: {rule.help_uri}")
    return "\n".join(lines)


def _finding_case(suite: ET.Element, report: Report, finding: Finding) -> None:
    path = xml_safe(report.display_path(finding.location.path))
    loc = finding.location
    place = (f"in layer {loc.layer}" if loc.layer is not None
             else f"at line {loc.line}, column {loc.column}")  # fmt: skip
    case = ET.SubElement(
        suite,
        "testcase",
        name=xml_safe(f"{finding.code} {finding.name} {place}"),
        classname=path,
        file=path,
        line=str(loc.line),
    )
    failure = ET.SubElement(
        case,
        "failure",
        message=xml_safe(finding.message),
        type=xml_safe(f"{finding.severity.value} {finding.code}"),
    )
    failure.text = xml_safe(_details(report, finding))


def _broken_case(suite: ET.Element, report: Report, broken: BrokenFile) -> None:
    path = xml_safe(report.display_path(broken.path))
    where = f"{path}:{broken.line}" if broken.line is not None else path
    case = ET.SubElement(suite, "testcase", name="parse", classname=path, file=path)
    error = ET.SubElement(case, "error", message=xml_safe(broken.message), type="parse-error")
    error.text = xml_safe(f"{where}: {broken.message}")


def render_junit(report: Report) -> str:
    findings: dict[str, list[Finding]] = {}
    for finding in report.ordered:
        findings.setdefault(finding.location.path, []).append(finding)
    broken: dict[str, list[BrokenFile]] = {}
    for b in report.broken:
        broken.setdefault(b.path, []).append(b)

    root = ET.Element("testsuites", name=xml_safe(report.tool))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for path in report.all_files:
        found, bad = findings.get(path, []), broken.get(path, [])
        suite = ET.SubElement(root, "testsuite", name=xml_safe(report.display_path(path)))
        for b in bad:
            _broken_case(suite, report, b)
        for finding in found:
            _finding_case(suite, report, finding)
        if not found and not bad:
            shown = xml_safe(report.display_path(path))
            ET.SubElement(suite, "testcase", name=report.tool, classname=shown, file=shown)
        counts = {
            "tests": max(len(found) + len(bad), 1),
            "failures": len(found),
            "errors": len(bad),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("skipped", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    return document(root)
