"""Markdown: a summary and a table of findings, for a CI job summary (GitHub's
``$GITHUB_STEP_SUMMARY``) or a pull-request comment."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import quote

from keelhaul.findings import Origin, Severity
from keelhaul.report.model import Report, printable

_ICON = {Severity.ERROR: "🔴 error", Severity.WARNING: "🟠 warning", Severity.INFO: "🔵 info",
         Severity.STYLE: "⚪ style"}  # fmt: skip


#: Control characters: shown as ``\xNN``, never sent to whatever renders the summary.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Markdown's punctuation: escaped, so a file name or advisory id cannot become a link, an
#: image (``![x](https://tracker/...)``), emphasis or a heading in a job summary.
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def _controls(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", printable(text))


def cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, line breaks, HTML or Markdown syntax."""
    text = " ".join(_controls(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PUNCTUATION.sub(r"\\\1", text)


def code(text: str) -> str:
    """Text as a code span inside a table cell: a fence longer than any run of backticks in
    it (no escape works inside one), and ``|`` escaped, which GFM tables need even there."""
    text = " ".join(_controls(text).split()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(text: str, url: str | None) -> str:
    if not url:
        return cell(text)
    return f"[{cell(text)}](<{quote(url, safe=':/#?&=%~+@,;')}>)"


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
        lines += [f"- {code(report.display_path(b.path))}: {cell(b.message)}"
                  for b in report.broken]  # fmt: skip
    if findings:
        lines += ["", "| severity | rule | where | message |", "|---|---|---|---|"]
        for f in findings:
            rule = report.rules.get(f.code)
            linked = _link(f.code, rule.help_uri if rule else None)
            loc = f.location
            where = (report.position(loc) if loc.layer is not None
                     else f"{report.display_path(loc.path)}:{loc.line}")  # fmt: skip
            base = " (base image)" if f.origin is Origin.BASE else ""
            lines.append(f"| {_ICON[f.severity]} | {linked} {cell(f.name)} | {code(where)}{base} "
                         f"| {cell(f.message)} |")  # fmt: skip
    return "\n".join(lines) + "\n"
