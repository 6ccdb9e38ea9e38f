"""Checkstyle XML, which Jenkins (warnings-ng), reviewdog, Bitbucket and many CI tools read."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from keelhaul.findings import Severity
from keelhaul.report.model import Report, image_note
from keelhaul.report.xmldoc import document, xml_safe

CHECKSTYLE_VERSION = "4.3"
#: Checkstyle knows error, warning, info and ignore.
SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
    Severity.STYLE: "info",
}


def render_checkstyle(report: Report) -> str:
    root = ET.Element("checkstyle", version=CHECKSTYLE_VERSION)
    elements: dict[str, ET.Element] = {}
    for path in report.all_files:  # clean files too: a reader then knows they were checked
        elements[path] = ET.SubElement(root, "file", name=xml_safe(report.display_path(path)))
    for broken in report.broken:
        ET.SubElement(
            elements[broken.path],
            "error",
            line=str(broken.line or 1),
            column=str(broken.column or 1),
            severity="error",
            message=xml_safe(broken.message),
            source=f"{report.tool}.parse-error",
        )
    for finding in report.ordered:
        loc = finding.location
        ET.SubElement(
            elements[loc.path],
            "error",
            line=str(loc.line),
            column=str(loc.column),
            severity=SEVERITY[finding.severity],
            message=xml_safe(
                f"{finding.message} ({finding.code} {finding.name}){image_note(finding)}"
            ),
            source=xml_safe(f"{report.tool}.{finding.code}.{finding.name}"),
        )
    return document(root)
