"""The text formats: headline per finding, source line with a marker, summary, colour on demand."""

from __future__ import annotations

import re

import pytest

from keelhaul.findings import Category, Severity
from keelhaul.report import BrokenFile, Report, render
from keelhaul.report.text import MAX_WIDTH, draw_line
from tests.report.sample import (
    CWD,
    HOSTILE_PATH,
    PATH,
    SOURCE,
    empty_report,
    finding,
    hostile_report,
    sample_report,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def marker_under(text: str, line_prefix: str) -> tuple[str, str]:
    """The drawn source line starting with ``line_prefix`` and the marker row under it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(line_prefix):
            return line, lines[i + 1]
    raise AssertionError(f"no line starting {line_prefix!r} in\n{text}")


def one(source: str, **loc: int | None) -> Report:
    return Report(findings=[finding(**loc)], sources={PATH: source})  # type: ignore[arg-type]


def test_headline_and_marker() -> None:
    out = render("text", sample_report())
    assert "app/Dockerfile:3:6: warning KH101 mutable-base-tag: base image node" in out
    src, row = marker_under(out.split("KH101")[1], " 3 | ")
    assert src == " 3 | FROM node"
    assert row == "   |      ^~~~"


def test_grouped_by_file_with_summary() -> None:
    out = render("text", sample_report())
    blocks = out.split("\n\n")
    assert blocks[0].splitlines()[0] == "app/Dockerfile"
    assert blocks[1].splitlines()[0] == "broken/Dockerfile"
    assert "broken/Dockerfile:2:1: error parse-error: unknown instruction: FORM" in blocks[1]
    assert " 2 | FORM x" in blocks[1]
    summary = blocks[-1]
    n = len(sample_report().findings)
    assert summary.startswith(f"Found {n} findings in 1 of 3 files. 1 file could not be parsed.")
    assert "  by severity: " in summary
    assert "  by category: " in summary
    assert "security" in summary  # the sample has a secret in ENV


def test_summary_counts_follow_the_findings() -> None:
    report = Report(
        findings=[
            finding(severity=Severity.STYLE, category=Category.SIZE),
            finding(severity=Severity.STYLE, category=Category.SIZE, line=2),
            finding(severity=Severity.ERROR, category=Category.CORRECTNESS, path="b"),
        ],
        files=[PATH, "b", "c"],
    )
    last = render("text", report).split("\n\n")[-1]
    assert last.splitlines() == [
        "Found 3 findings in 2 of 3 files.",
        "  by severity: 1 error, 2 style",
        "  by category: 2 size, 1 correctness",
    ]


def test_no_findings() -> None:
    assert render("text", empty_report()) == "2 files checked: no findings.\n"
    assert render("concise", empty_report()) == "2 files checked: no findings.\n"
    assert render("text", Report(findings=[])) == "0 files checked: no findings.\n"


def test_colour_only_when_asked() -> None:
    plain = render("text", sample_report())
    assert "\x1b" not in plain
    coloured = render("text", sample_report(color=True))
    assert "\x1b[1;31merror\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_concise_is_one_line_per_finding() -> None:
    report = sample_report()
    lines = render("concise", report).splitlines()
    assert lines[0] == "broken/Dockerfile:2:1: error parse-error: unknown instruction: FORM"
    assert len(lines) == 1 + len(report.findings) + 1
    assert all(re.match(r"app/Dockerfile:\d+:\d+: \w+ KH\d+ [a-z-]+: ", ln) for ln in lines[1:-1])
    assert lines[-1].startswith(f"Found {len(report.findings)} findings")


def test_paths_relative_to_the_working_directory() -> None:
    report = Report(findings=[finding(path=f"{CWD}/sub/Dockerfile")], cwd=CWD)
    assert render("concise", report).startswith("sub/Dockerfile:1:1: warning KH999")
    outside = Report(findings=[finding(path="/else/Dockerfile")], cwd=CWD)
    assert render("concise", outside).startswith("/else/Dockerfile:1:1:")


def test_hostile_text_cannot_drive_the_terminal() -> None:
    for fmt in ("text", "concise"):
        out = render(fmt, hostile_report())
        assert "\x1b" not in out
        assert "\x00" not in out
        assert "\x07" not in out
        assert "\\x1b[31mred" in out
        assert "\\n" in out
        out.encode("utf-8")  # lone surrogates are gone
        headlines = [ln for ln in out.splitlines() if "KH999" in ln]
        assert len(headlines) == 2, "a newline in a message must not split its line"
    assert HOSTILE_PATH.replace("\udcff", "\ufffd") in render("concise", hostile_report())


def test_multi_line_range_marks_each_line() -> None:
    src = "RUN a \\\n    && b \\\n    && c\n"
    out = render("text", one(src, line=1, column=5, end_line=3, end_column=9))
    assert marker_under(out, " 1 | ") == (" 1 | RUN a \\", "   |     ^~~")
    assert marker_under(out, " 2 | ") == (" 2 |     && b \\", "   |     ~~~~~~")
    assert marker_under(out, " 3 | ") == (" 3 |     && c", "   |     ~~~~")


def test_range_ending_at_column_one_stops_at_the_line_before() -> None:
    src = "RUN a\nRUN b\n"
    out = render("text", one(src, line=1, column=1, end_line=2, end_column=1))
    assert " 2 | " not in out
    assert marker_under(out, " 1 | ")[1] == "   | ^~~~~"


def test_very_long_range_is_elided() -> None:
    src = "".join(f"  line{i}\n" for i in range(1, 21))
    out = render("text", one(src, line=2, column=3, end_line=19, end_column=5))
    numbers = [int(m) for m in re.findall(r"^ +(\d+) \|", out, re.M)]
    assert numbers == [2, 3, 4, 19]
    assert re.search(r"^ \.\.$", out, re.M)


@pytest.mark.parametrize(
    ("line", "start", "end", "drawn", "row"),
    [
        ("\tRUN x", 1, 4, "    RUN x", "    ^~~"),  # a tab is drawn to the next tab stop
        ("a\tb", 2, 3, "a   b", "    ^"),
        ("ab\u4e2d\u6587cd", 4, 6, "ab\u4e2d\u6587cd", "      ^~"),  # wide characters take 2 cells
        ("ab\u4e2d\u6587cd", 2, 3, "ab\u4e2d\u6587cd", "  ^~"),
        ("a\x1bb", 2, 3, "a\ufffdb", "  ^"),  # control characters never reach the terminal
        ("x\udcffy", 1, 2, "x\ufffdy", " ^"),  # undecodable bytes (surrogateescape)
        ("abc", 1, 1, "abc", " ^"),  # an empty range still gets a caret
        ("abc", 3, 3, "abc", "   ^"),  # just past the end of the line
        ("abc", 7, 9, "abc", "   ^"),  # a column past the end is clamped
    ],
)
def test_draw_line(line: str, start: int, end: int, drawn: str, row: str) -> None:
    assert draw_line(line, start, end, "^~") == (drawn, row)


def test_long_line_is_cut_around_the_range() -> None:
    line = "RUN " + "x" * 300 + " TARGET " + "y" * 300
    start = line.index("TARGET")
    drawn, row = draw_line(line, start, start + 6, "^~")
    assert drawn.startswith("…")
    assert drawn.endswith("…")
    assert len(drawn) <= MAX_WIDTH + 2
    assert drawn[row.index("^") : row.index("^") + 6] == "TARGET"
    assert row.strip() == "^~~~~~"


def test_long_range_is_cut_to_the_window() -> None:
    line = "x" * 500
    drawn, row = draw_line(line, 10, 480, "^~")
    assert len(row) <= MAX_WIDTH + 1
    assert drawn.endswith("…")


def test_range_past_the_end_of_the_file() -> None:
    out = render("text", one("RUN a\nRUN b", line=2, column=5, end_line=9, end_column=2))
    assert marker_under(out, " 2 | ") == (" 2 | RUN b", "   |     ^")


def test_unknown_source_shows_no_snippet() -> None:
    report = Report(findings=[finding(line=40)], sources={PATH: SOURCE})
    out = render("text", report)
    assert " | " not in out
    assert "app/Dockerfile:40:1: warning KH999" in out


def test_broken_file_without_a_line() -> None:
    report = Report(findings=[], files=["x"], broken=[BrokenFile("x", "cannot read: denied")])
    out = render("text", report)
    assert "x: error parse-error: cannot read: denied" in out
    assert "0 files" not in out
    assert "1 file checked: no findings. 1 file could not be parsed." in out


def test_bom_does_not_shift_columns() -> None:
    out = render("text", one("\ufeffFROM node\n", line=1, column=6, end_column=10))
    assert marker_under(out, " 1 | ") == (" 1 | FROM node", "   |      ^~~~")
