"""Text for people: findings grouped by file with the source line and a marker under the range,
then a summary by severity and category; and a concise one-line-per-finding variant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rich.cells import cell_len

from keelhaul.findings import Finding, Location, Origin, Severity
from keelhaul.report.model import BrokenFile, Report, printable

TAB_SIZE = 4
MAX_WIDTH = 100
"""Source lines wider than this (in terminal cells) are cut to a window around the range."""
CONTEXT = 24
"""Cells shown before the range when a long line is cut."""
MAX_LINES = 5
"""A range over more lines shows its first lines, an elision, and its last line."""

_SGR = {"bold": "1", "dim": "2", "red": "31", "yellow": "33", "cyan": "36", "blue": "34"}
SEVERITY_STYLE = {
    Severity.ERROR: ("bold", "red"),
    Severity.WARNING: ("bold", "yellow"),
    Severity.INFO: ("bold", "cyan"),
    Severity.STYLE: ("dim",),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Paint:
    """ANSI colour when asked for, plain text otherwise."""

    on: bool

    def __call__(self, text: str, *styles: str) -> str:
        if not self.on or not styles or not text:
            return text
        codes = ";".join(_SGR[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def safe(text: str) -> str:
    """A message or path made harmless for a terminal: control characters shown escaped."""

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}")

    return _CONTROL.sub(escape, printable(text))


def headline(report: Report, finding: Finding, paint: Paint) -> str:
    """``path:line:col: severity CODE name: message``; in an image
    ``image!/path (layer 3): severity CODE name [base]: message``."""
    where = safe(report.position(finding.location)) + ":"
    sev = finding.severity
    base = " " + paint("[base]", "dim") if finding.origin is Origin.BASE else ""
    return (
        f"{paint(where, 'bold')} {paint(sev.value, *SEVERITY_STYLE[sev])} "
        f"{paint(safe(finding.code), 'bold')} {safe(finding.name)}{base}: {safe(finding.message)}"
    )


def broken_headline(report: Report, broken: BrokenFile, paint: Paint) -> str:
    where = safe(report.display_path(broken.path))
    if broken.line is not None:
        where += f":{broken.line}:{broken.column or 1}"
    return (
        f"{paint(where + ':', 'bold')} {paint('error', *SEVERITY_STYLE[Severity.ERROR])} "
        f"{paint('parse-error', 'bold')}: {safe(broken.message)}"
    )


# --- source lines with a marker -------------------------------------------------------------


def _cells(line: str) -> list[tuple[str, int]]:
    """Each character as it is drawn (tabs expanded, control characters replaced) and its width."""
    out: list[tuple[str, int]] = []
    col = 0
    for ch in printable(line):
        if ch == "\t":
            shown = " " * (TAB_SIZE - col % TAB_SIZE)
        elif _CONTROL.match(ch):
            shown = "\ufffd"
        else:
            shown = ch
        width = len(shown) if ch == "\t" else cell_len(shown)
        out.append((shown, width))
        col += width
    return out


def draw_line(line: str, start: int, end: int, marker: str) -> tuple[str, str]:
    """The line as drawn and the marker row under characters ``start``..``end`` (0-based, end
    exclusive; an empty range still gets one marker cell). Wide lines are cut to a window."""
    cells = _cells(line)
    starts = [0]
    for _, width in cells:
        starts.append(starts[-1] + width)
    start = min(max(start, 0), len(cells))
    end = min(max(end, start), len(cells))
    mark_lo = starts[start]
    mark_hi = max(starts[end], mark_lo + 1)
    total = starts[-1]
    lo, hi = 0, max(total, mark_hi)
    if hi > MAX_WIDTH:
        lo = max(0, min(mark_lo - CONTEXT, hi - MAX_WIDTH))
        lo = next(s for s in starts if s >= lo)  # a character's first cell
        hi = lo + MAX_WIDTH
    shown = [text for (text, w), s in zip(cells, starts, strict=False) if lo <= s and s + w <= hi]
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < total else ""
    drawn = prefix + "".join(shown) + suffix
    width = min(mark_hi, hi) - max(mark_lo, lo)
    row = " " * (len(prefix) + max(mark_lo, lo) - lo) + marker[0] + marker[1] * max(width - 1, 0)
    return drawn, row


def _first_text(line: str) -> int:
    return len(line) - len(line.lstrip())


def _marked_lines(lines: list[str], loc: Location) -> list[tuple[int, int, int]]:
    """(line number, start, end) character ranges the location covers, one per line."""
    first = loc.line
    last = loc.end_line if loc.end_line is not None and loc.end_line > first else first
    end_col = loc.end_column
    if last > first and end_col is not None and end_col <= 1:
        last -= 1  # an exclusive end at column 1 stops at the end of the line before
        end_col = len(lines[last - 1]) + 1 if last <= len(lines) else None
    if last > len(lines):
        last, end_col = len(lines), None  # a range past the end of the file: mark to the end
    out: list[tuple[int, int, int]] = []
    for number in range(first, last + 1):
        text = lines[number - 1]
        lo = loc.column - 1 if number == first else _first_text(text)
        if number < last or (last > first and end_col is None):
            hi = len(text)
        elif end_col is not None:
            hi = end_col - 1
        else:
            hi = lo + 1
        out.append((number, lo, max(hi, lo)))
    return out


def snippet(report: Report, path: str, loc: Location, style: tuple[str, ...], paint: Paint) -> str:
    """The lines the location covers, each with its marker row; "" when the source is unknown."""
    lines = report.source_lines(path)
    if lines is None or not 1 <= loc.line <= len(lines):
        return ""
    marked = _marked_lines(lines, loc)
    if len(marked) > MAX_LINES:
        marked = [*marked[: MAX_LINES - 2], (0, 0, 0), marked[-1]]
    width = len(str(marked[-1][0]))
    bar = paint("|", "blue")
    out: list[str] = []
    for i, (number, lo, hi) in enumerate(marked):
        if number == 0:
            out.append(paint(" " + "." * width, "blue"))
            continue
        drawn, row = draw_line(lines[number - 1], lo, hi, "^~" if i == 0 else "~~")
        out.append(f"{paint(f' {number:>{width}} ', 'blue')}{bar} {drawn}".rstrip())
        out.append(f"{' ' * (width + 2)}{bar} {paint(row, *style)}")
    return "\n".join(out)


# --- summary ----------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fix_kind(report: Report, finding: Finding) -> str | None:
    """The finding's own fix when it was built, else what its rule offers."""
    if finding.fix is not None:
        return finding.fix.safety.value
    info = report.rules.get(finding.code)
    return info.fix if info is not None else None


def summary(report: Report, paint: Paint) -> str:
    files = len(report.all_files)
    broken = len(report.broken)
    unparsed = f" {_plural(broken, 'file')} could not be parsed." if broken else ""
    if not report.findings:
        return f"{_plural(files, 'file')} checked: no findings.{unparsed}"
    touched = len({f.location.path for f in report.findings})
    base = f" ({report.from_base} from the base image)" if report.from_base else ""
    head = (
        f"Found {_plural(len(report.findings), 'finding')} in {touched} of "
        f"{_plural(files, 'file')}{base}."
    )
    by_sev = ", ".join(
        paint(f"{n} {sev.value}", *SEVERITY_STYLE[sev])
        for sev, n in report.count_by_severity().items()
        if n
    )
    by_cat = ", ".join(
        f"{n} {cat.value}"
        for cat, n in sorted(report.count_by_category().items(), key=lambda kv: -kv[1])
        if n
    )
    lines = [paint(head, "bold") + unparsed, f"  by severity: {by_sev}", f"  by category: {by_cat}"]
    if report.fixable is not None:
        safe, unsafe = report.fixable
    else:
        kinds = [_fix_kind(report, f) for f in report.findings]
        safe, unsafe = kinds.count("safe"), kinds.count("unsafe")
    if safe or unsafe:
        more = f" ({unsafe} more with `--unsafe-fixes`)" if unsafe else ""
        lines.append(f"  fixable: up to {safe} with `keelhaul fix`{more}; `--diff` shows them")
    failing = gate_line(report)
    if failing:
        lines.append(failing)
    return "\n".join(lines)


#: Where ``--write-baseline`` is suggested to write (any path works).
BASELINE_FILE = "keelhaul-baseline.json"


def _threshold(fail_on: str | None) -> str:
    if fail_on is None:
        return "at or above each file's `fail-on`"
    return "at error" if fail_on == "error" else f"at {fail_on} or above"


def gate_line(report: Report) -> str:
    """How many findings fail the gate, and how to adopt keelhaul on files that do: record
    today's findings in a baseline, then fail only on new ones ("" for an ungated run)."""
    if report.gate is None:
        return ""
    if report.fail_on == "none":
        return "  failing: none (`fail-on = none`: never exit 1)"
    level = _threshold(report.fail_on)
    new = " new" if report.baseline else ""
    if not report.gate:
        return f"  failing: no{new} finding {level} (exit 0)"
    count = _plural(report.gate, f"{new.strip()} finding".strip())
    if report.baseline:
        return (
            f"  failing: {count} {level}, not in the baseline (exit 1); fix them, or accept "
            "them by writing the baseline again (`keelhaul check --write-baseline FILE`)"
        )
    return (
        f"  failing: {count} {level} (exit 1); to adopt keelhaul on existing files, "
        f"`keelhaul check --write-baseline {BASELINE_FILE}` records today's findings and "
        f"`keelhaul check --baseline {BASELINE_FILE}` then fails only on new ones"
    )


# --- the two formats --------------------------------------------------------------------------


def _groups(report: Report) -> Iterator[tuple[str, list[BrokenFile], list[Finding]]]:
    by_path: dict[str, list[Finding]] = {}
    for finding in report.ordered:
        by_path.setdefault(finding.location.path, []).append(finding)
    broken: dict[str, list[BrokenFile]] = {}
    for b in report.broken:
        broken.setdefault(b.path, []).append(b)
    for path in report.all_files:
        if path in by_path or path in broken:
            yield path, broken.get(path, []), by_path.get(path, [])


def render_text(report: Report) -> str:
    paint = Paint(report.color)
    blocks: list[str] = []
    for path, broken, findings in _groups(report):
        parts = [paint(safe(report.display_path(path)), "bold")]
        for b in broken:
            parts.append(broken_headline(report, b, paint))
            if b.line is not None:
                loc = Location(b.path, b.line, b.column or 1)
                parts.append(snippet(report, path, loc, SEVERITY_STYLE[Severity.ERROR], paint))
        for finding in findings:
            parts.append(headline(report, finding, paint))
            style = SEVERITY_STYLE[finding.severity]
            parts.append(snippet(report, path, finding.location, style, paint))
        blocks.append("\n".join(p for p in parts if p))
    blocks.append(summary(report, paint))
    return "\n\n".join(blocks) + "\n"


def render_concise(report: Report) -> str:
    paint = Paint(report.color)
    lines = [broken_headline(report, b, paint) for b in report.broken]
    lines += [headline(report, f, paint) for f in report.ordered]
    lines.append(summary(report, paint).splitlines()[0])
    if report.findings and gate_line(report):
        lines.append(gate_line(report).strip())
    return "\n".join(lines) + "\n"
