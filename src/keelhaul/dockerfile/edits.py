"""Applying line edits to a Dockerfile's text: every line no edit touches stays byte for byte."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from keelhaul.dockerfile.syntax import BOM, Instruction
from keelhaul.findings import Edit, Finding, Fix


def split_lines(text: str) -> tuple[str, list[str]]:
    """(BOM or "", physical lines with their endings), as the parser numbers them."""
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom) :]
    parts = body.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return bom, lines


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with ``edits`` applied; they must not overlap (see :func:`choose_fixes`)."""
    bom, lines = split_lines(text)
    for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line), reverse=True):
        start = edit.start_line - 1
        end = edit.end_line  # exclusive index of the last replaced line
        if not (0 <= start <= len(lines) and start <= end <= len(lines)):
            raise ValueError(f"edit of lines {edit.start_line}-{edit.end_line} is out of range")
        new = edit.text
        # Inserting after a last line that has no line break: give it one first.
        if start == len(lines) and lines and not lines[-1].endswith("\n") and new:
            lines[-1] += "\n"
        lines[start:end] = [new] if new else []
    return bom + "".join(lines)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


_FROM_LINE = re.compile(r"^[ \t]*FROM[ \t]", re.IGNORECASE | re.MULTILINE)


def _adds_stage(fix: Fix | None) -> bool:
    """The fix writes a FROM line where there was none (an insertion)."""
    return fix is not None and any(
        e.end_line < e.start_line and _FROM_LINE.search(e.text) for e in fix.edits
    )


def choose_fixes(findings: Sequence[Finding], allowed: set[str]) -> list[Finding]:
    """The findings whose fixes apply together in one pass, no two on the same lines: first
    the fixes that add a stage (a multi-stage conversion, so that the fixes of single
    instructions apply to the new structure on the next pass), then in order.

    ``allowed`` holds the fix safeties wanted ("safe", and "unsafe" with ``--unsafe-fixes``).
    Fixes left out (they touch an instruction another fix changes) apply on the next pass,
    against the text the first fix produced, so several fixes on one instruction compose.
    """
    chosen: list[Finding] = []
    taken: list[tuple[int, int]] = []
    candidates = [
        f for f in findings if f.fix is not None and f.fix.safety.value in allowed and f.fix.edits
    ]
    candidates.sort(key=lambda f: not _adds_stage(f.fix))
    for finding in candidates:
        span = finding.fix.lines if finding.fix is not None else (0, 0)
        if any(_overlaps(span, t) for t in taken):
            continue
        chosen.append(finding)
        taken.append(span)
    return chosen


def line_ending(inst: Instruction) -> str:
    """The line break the instruction's last line ends with ("" at the end of a file)."""
    last = inst.lines[-1].text
    return "\r\n" if last.endswith("\r\n") else "\n" if last.endswith("\n") else ""


def indentation(inst: Instruction) -> str:
    first = inst.lines[0].text
    return first[: len(first) - len(first.lstrip(" \t"))]


def replace_instruction(inst: Instruction, body: str) -> Edit:
    """An edit that turns ``inst`` (all its lines) into ``body``.

    ``body`` is the new instruction without indentation or final line break; the old first
    line's indentation and last line's break are kept. ``\\n`` inside ``body`` becomes the
    file's line break style.
    """
    end = line_ending(inst)
    newline = end or "\n"
    text = indentation(inst) + body.replace("\n", newline) + end
    return Edit(inst.start_line, inst.end_line, text)


def keyword_prefix(inst: Instruction) -> str:
    """``ONBUILD `` (as written) for a trigger, else ""; the effective keyword follows it."""
    return f"{inst.keyword} " if inst.sub is not None else ""


def double_quoted(value: str) -> str:
    """``value`` as a Dockerfile double-quoted word that means the same after expansion."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
