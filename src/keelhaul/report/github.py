"""GitHub Actions workflow commands: each finding becomes an annotation on its line."""

from __future__ import annotations

import re

from keelhaul.findings import Finding, Severity
from keelhaul.report.model import BrokenFile, Report, image_note, printable

#: Annotation commands: error, warning and notice.
COMMAND = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
    Severity.STYLE: "notice",
}

# Control characters other than line ends (which are escaped) would reach the job log as is:
# an escape sequence there could recolour or hide lines. They become U+FFFD.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


def escape_data(text: str) -> str:
    """A command's message, escaped as the Actions runner unescapes it."""
    text = _CONTROL.sub("\ufffd", printable(text))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: like the message, and ``:`` and ``,`` too, which end properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(message)}"


def _finding(report: Report, finding: Finding) -> str:
    loc = finding.location
    props: dict[str, object] = {"file": report.display_path(loc.path), "line": loc.line}
    end_line = loc.end_line if loc.end_line is not None else loc.line
    if end_line > loc.line:
        props["endLine"] = end_line  # columns only count when the range is on one line
    else:
        props["col"] = loc.column
        if loc.end_column is not None and loc.end_column > loc.column:
            props["endColumn"] = loc.end_column
    props["title"] = f"{finding.code} {finding.name}{image_note(finding)}"
    return command(COMMAND[finding.severity], props, finding.message)


def _broken(report: Report, broken: BrokenFile) -> str:
    props: dict[str, object] = {"file": report.display_path(broken.path)}
    if broken.line is not None:
        props["line"] = broken.line
        if broken.column is not None:
            props["col"] = broken.column
    props["title"] = "parse-error"
    return command("error", props, broken.message)


def render_github(report: Report) -> str:
    lines = [_broken(report, b) for b in report.broken]
    lines += [_finding(report, f) for f in report.ordered]
    return "".join(line + "\n" for line in lines)
