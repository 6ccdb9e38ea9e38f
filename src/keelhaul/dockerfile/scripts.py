"""The shell scripts a RUN instruction runs, read the way BuildKit runs them.

``RUN <<EOF`` runs the heredoc body with the shell, unless a ``#!`` line names another program;
any other command line runs with its heredocs attached as input, so in ``RUN cat > f <<EOF``
the body is data and in ``RUN bash <<EOF`` it is a script the command line runs.
"""

from __future__ import annotations

import re

from keelhaul.dockerfile.shell import SHELLS
from keelhaul.dockerfile.syntax import Instruction

_HEREDOC_ONLY = re.compile(r"\s*<<-?\s*(['\"]?)([A-Za-z_][\w.-]*)\1\s*\Z")
_SHEBANG = re.compile(r"#!\s*(\S+)(?:[ \t]+(\S+))?")


def heredoc_is_script(inst: Instruction) -> bool:
    """``RUN <<EOF``: the first heredoc is the whole script."""
    eff = inst.effective
    return (
        bool(eff.heredocs) and _HEREDOC_ONLY.match(eff.values[0] if eff.values else "") is not None
    )


def script_program(body: str) -> str | None:
    """The program a ``#!`` line names (``env`` followed through), or None without one."""
    shebang = _SHEBANG.match(body)
    if shebang is None:
        return None
    program = shebang.group(1).rsplit("/", 1)[-1]
    if program == "env":
        program = (shebang.group(2) or "").rsplit("/", 1)[-1]
    return program


def script_texts(inst: Instruction) -> list[str]:
    """The shell scripts a shell-form RUN runs (none for a ``#!/usr/bin/env python3`` body)."""
    eff = inst.effective
    if not eff.heredocs:
        return list(eff.values[:1])
    if heredoc_is_script(inst):
        body = eff.heredocs[0].content
        program = script_program(body)
        if program is not None and program not in SHELLS:
            return []
        return [body]
    text = (eff.values[0] if eff.values else "") + "\n"
    for doc in eff.heredocs:
        body = doc.content if not doc.content or doc.content.endswith("\n") else doc.content + "\n"
        text += body + doc.name + "\n"
    return [text]


def skip_words(text: str, start: int, count: int) -> int:
    """The offset in ``text`` after ``count`` blank-separated words from ``start``.

    Finds where a RUN's script starts on its first line, after the keyword and the flags.
    """
    pos = start
    for _ in range(count):
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        while pos < len(text) and text[pos] not in " \t":
            pos += 1
    return pos
