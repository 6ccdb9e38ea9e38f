"""ShellCheck over RUN scripts, in batches, with its findings mapped back to Dockerfile lines.

Each shell-form RUN becomes one script file whose lines are the instruction's own physical lines
(keyword and flags cut from the front, comment lines inside the continuation dropped as BuildKit
drops them). The Dockerfile escape is a backslash, which is also the shell's line continuation,
so the script means what BuildKit hands to ``/bin/sh -c``, and ShellCheck's line and column
point straight back into the Dockerfile. A heredoc RUN (``RUN <<EOF``) is checked as its body.

All scripts of all files go to a few ShellCheck processes (one per chunk of files, chunks run
in parallel), never one process per RUN.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from keelhaul.dockerfile.scripts import heredoc_is_script, script_program, skip_words
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, LineRole
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.rules.registry import DockerfileContext

CHUNK = 400  # files per ShellCheck process: well under any argv limit
LEVELS = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "style": Severity.STYLE,
}
SHELLS = {"sh": "sh", "bash": "bash", "dash": "dash", "ash": "busybox", "ksh": "ksh"}


class ShellCheckFailed(KeelhaulError):
    """The ShellCheck binary ran but gave no usable answer."""


@dataclass(frozen=True, slots=True)
class Script:
    """One RUN script and where each of its lines sits in the Dockerfile."""

    path: str
    stage: str | None
    dialect: str
    text: str
    lines: tuple[tuple[int, int], ...]
    """Per script line: (Dockerfile line, columns cut from its front)."""
    known: tuple[tuple[str, str], ...] = ()
    """ARG and ENV values of the stage: ShellCheck then knows ``$VERSION`` is a plain word."""

    def source(self) -> str:
        """The file ShellCheck reads: :data:`HEADER_LINES` lines of header, then the script."""
        assigned = "; ".join(f"{k}={_quote(v)}" for k, v in self.known)
        return f"# shellcheck shell={self.dialect}\n{assigned}\n{self.text}"


HEADER_LINES = 2
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quote(value: str) -> str:
    return "'" + value.replace("\n", " ").replace("'", "'\\''") + "'"


def find_shellcheck() -> str | None:
    """``$KEELHAUL_SHELLCHECK``, else ``shellcheck`` beside this Python (a venv), else on PATH."""
    named = os.environ.get("KEELHAUL_SHELLCHECK")
    if named:
        return named
    beside = Path(sys.executable).parent / "shellcheck"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("shellcheck")


def _dialect(stage: Stage) -> str | None:
    """The shell a RUN of this stage runs in, as ShellCheck names it; None when not a POSIX one."""
    shell = ["/bin/sh", "-c"]
    for inst in stage.instructions:
        if inst.name == "SHELL" and inst.json and inst.values:
            shell = list(inst.values)
    name = os.path.basename(shell[0])
    return SHELLS.get(name)


def _script_lines(inst: Instruction) -> tuple[list[str], list[tuple[int, int]]] | None:
    """The shell-form script of a RUN as (lines, mapping), or None when there is none."""
    eff = inst.effective
    code = [line for line in inst.lines if line.role is LineRole.CODE]
    if not code:
        return None
    keywords = 2 if inst.sub is not None else 1
    words_left = keywords
    flags_left = len(eff.flags)
    texts: list[str] = []
    mapping: list[tuple[int, int]] = []
    for line in code:
        content = line.content
        pos = 0
        if words_left or flags_left:
            pos = skip_words(content, 0, words_left)
            words_left = 0
            while flags_left:
                nxt = skip_words(content, pos, 1)
                if nxt == pos or not content[pos:nxt].strip().startswith("--"):
                    break
                pos, flags_left = nxt, flags_left - 1
            rest = content[pos:]
            if not rest.strip() or rest.strip() == "\\":
                continue  # a line that held only the keyword and flags
            pos += len(rest) - len(rest.lstrip(" \t"))
        texts.append(content[pos:])
        mapping.append((line.number, pos))
    return texts, mapping


def scripts_of(ctx: DockerfileContext) -> Iterator[Script]:
    """Every shell-form RUN script of a Dockerfile, ready for ShellCheck."""
    if ctx.tree.escape != "\\":
        return  # backtick escape: Windows images, PowerShell or cmd scripts
    for stage in ctx.build.stages:
        dialect = _dialect(stage)
        if dialect is None:
            continue
        values = {**stage.args, **stage.env}
        known = tuple((k, v) for k, v in values.items() if _NAME.fullmatch(k))
        for inst in stage.instructions:
            eff = inst.effective
            if eff.name != "RUN" or eff.json:
                continue
            if eff.heredocs:
                if not heredoc_is_script(inst):
                    continue  # `python3 <<EOF`: the heredoc is data, not shell
                program = script_program(eff.heredocs[0].content)
                if program is not None and program not in SHELLS:
                    continue
                body = [line for line in inst.lines if line.role is LineRole.HEREDOC]
                texts = [line.content for line in body]
                mapping = [(line.number, 0) for line in body]
            else:
                found = _script_lines(inst)
                if found is None:
                    continue
                texts, mapping = found
            if not texts:
                continue
            yield Script(
                ctx.tree.path,
                stage.label,
                dialect,
                "\n".join(texts) + "\n",
                tuple(mapping),
                known,
            )


def _run_chunk(binary: str, folder: Path, names: list[str]) -> list[dict[str, object]]:
    try:
        proc = subprocess.run(
            # A Dockerfile cannot say where a sourced file lives (SC1090/SC1091).
            [binary, "--format=json1", "--norc", "--exclude=SC1090,SC1091", *names],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ShellCheckFailed(f"cannot run ShellCheck ({binary}): {exc.strerror}") from exc
    if proc.returncode not in (0, 1):
        first = (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise ShellCheckFailed(f"ShellCheck ({binary}) failed: {first}")
    try:
        comments = json.loads(proc.stdout)["comments"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ShellCheckFailed(f"ShellCheck ({binary}) gave output that is not json1") from exc
    return list(comments)


def check_scripts(scripts: Sequence[Script], binary: str) -> list[Finding]:
    """Run ShellCheck over ``scripts`` in a few processes; findings point into the Dockerfiles."""
    if not scripts:
        return []
    with tempfile.TemporaryDirectory(prefix="keelhaul-sc-") as tmp:
        folder = Path(tmp)
        names = []
        for n, script in enumerate(scripts):
            name = f"{n}.sh"
            (folder / name).write_text(script.source(), "utf-8", errors="surrogateescape")
            names.append(name)
        chunks = [names[i : i + CHUNK] for i in range(0, len(names), CHUNK)]
        workers = max(1, min(len(chunks), os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda c: _run_chunk(binary, folder, c), chunks))
    found: list[Finding] = []
    for comments in results:
        for comment in comments:
            finding = _finding(scripts, comment)
            if finding is not None:
                found.append(finding)
    return sorted(found, key=Finding.sort_key)


def _finding(scripts: Sequence[Script], comment: dict[str, object]) -> Finding | None:
    try:
        script = scripts[int(str(comment["file"]).removesuffix(".sh"))]
        line = int(str(comment["line"])) - 1 - HEADER_LINES
        end_line = int(str(comment["endLine"])) - 1 - HEADER_LINES
        column = int(str(comment["column"]))
        end_column = int(str(comment["endColumn"]))
        code = f"SC{comment['code']}"
        level = LEVELS[str(comment["level"])]
    except (KeyError, ValueError, IndexError):
        return None
    if not 0 <= line < len(script.lines):
        return None
    df_line, cut = script.lines[line]
    end_line = min(max(end_line, line), len(script.lines) - 1)
    df_end, end_cut = script.lines[end_line]
    return Finding(
        code=code,
        name="shellcheck",
        severity=level,
        category=Category.CORRECTNESS,
        location=Location(script.path, df_line, column + cut, df_end, end_column + end_cut),
        message=str(comment.get("message", "")),
        stage=script.stage,
    )
