"""The Markdown format: summary and a table whose cells cannot break out of the table."""

from __future__ import annotations

from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.report import Report, render


def finding(message: str, severity: Severity = Severity.WARNING) -> Finding:
    return Finding("KH101", "mutable-base-tag", severity, Category.REPRODUCIBILITY,
                   Location("app/Dockerfile", 3), message)  # fmt: skip


def test_table_and_summary() -> None:
    text = render("markdown", Report([finding("a | b\nc <script>"), finding("x", Severity.ERROR)],
                                     files=["app/Dockerfile"]))  # fmt: skip
    lines = text.splitlines()
    assert lines[2] == "**2 finding(s)** (1 error, 1 warning) in 1 file(s)."
    rows = [line for line in lines if line.startswith("| ") and "KH101" in line]
    assert len(rows) == 2
    warning = next(r for r in rows if "warning" in r)
    assert warning.replace("\\|", "").count("|") == 5  # the message's pipe is escaped
    assert "a \\| b c &lt;script&gt;" in warning
    assert "`app/Dockerfile:3`" in rows[0]


def test_nothing_found() -> None:
    assert "No findings in 2 file(s)." in render("markdown", Report([], files=["a", "b"]))
