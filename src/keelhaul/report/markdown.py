"""Markdown: a summary and a table of findings, for a CI job summary (GitHub's
``$GITHUB_STEP_SUMMARY``) or a pull-request comment."""

from __future__ import annotations

from collections import Counter

from keelhaul.findings import Origin, Severity
from keelhaul.report.model import Report, printable

_ICON = {Severity.ERROR: "🔴 error", Severity.WARNING: "🟠 warning", Severity.INFO: "🔵 info",
         Severity.STYLE: "⚪ style"}  # fmt: skip


def cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, line breaks or HTML."""
    text = printable(text).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def render_markdown(report: Report) -> str:
    findings = report.ordered
    counts = Counter(f.severity for f in findings)
    lines = ["## keelhaul", ""]
    if not findings and not report.broken:
        lines.append(f"No findings in {len(report.files)} file(s).")
        return "\n".join(lines) + "\n"
    summary = ", ".join(f"{n} {s.value}" for s in Severity if (n := counts.get(s)))
    base = f", {report.from_base} from the base image" if report.from_base else ""
    lines.append(f"**{len(findings)} finding(s)** ({summary or 'none'}) in "
                 f"{len(report.files)} file(s){base}.")  # fmt: skip
    if report.broken:
        lines += ["", f"**{len(report.broken)} file(s) could not be read:**", ""]
        lines += [f"- `{cell(report.display_path(b.path))}`: {cell(b.message)}"
                  for b in report.broken]  # fmt: skip
    if findings:
        lines += ["", "| severity | rule | where | message |", "|---|---|---|---|"]
        for f in findings:
            rule = report.rules.get(f.code)
            code = f"[{f.code}]({rule.help_uri})" if rule and rule.help_uri else f.code
            loc = f.location
            where = (report.position(loc) if loc.layer is not None
                     else f"{report.display_path(loc.path)}:{loc.line}")  # fmt: skip
            base = " (base image)" if f.origin is Origin.BASE else ""
            lines.append(f"| {_ICON[f.severity]} | {code} {cell(f.name)} | `{cell(where)}`{base} "
                         f"| {cell(f.message)} |")  # fmt: skip
    return "\n".join(lines) + "\n"
