"""The runtime files in ``keelhaul check`` and ``keelhaul fix``: what the shared CLI and
:class:`keelhaul.checking.Checker` call, so that they need only a few lines for them.

- :func:`runtime_targets` (re-exported from :mod:`keelhaul.runtime.discover`): the runtime
  files in the folders a check walks, told by content.
- :func:`runtime_kind`: whether a file (named, or on stdin) is one, by content; a Dockerfile
  never is (its ``RUN docker run`` lines belong to the Dockerfile rules).
- :func:`check_runtime_file`: its findings (``check_runs`` over what the reader gives), its
  suppressions (``# keelhaul: ignore=KH405`` comments) and its text, or its error.
- :func:`fix_runtime`: ``keelhaul fix`` for it, as a :class:`keelhaul.fix.fixing.FixOutcome`.

Suppression comments in runtime files: ``# keelhaul: ignore=CODES [-- reason]`` on its own
line silences those codes on the line below it and, when that line opens a YAML block (a
service, a container, a ``securityContext``), in the whole block; at the end of a line it
silences them on that line. ``# keelhaul: ignore-file=CODES`` anywhere silences them in the
whole file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keelhaul.dockerfile.discover import is_dockerfile_name
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Finding, Fix, Safety
from keelhaul.runtime.discover import (
    COMPOSE,
    DOCKER_RUN,
    KUBERNETES,
    RuntimeFile,
    kind_of,
    runtime_targets,
)
from keelhaul.runtime.model import ContainerRun
from keelhaul.suppression import Pragma, Suppressions

if TYPE_CHECKING:
    from keelhaul.fix.fixing import FixOutcome

__all__ = [
    "RuntimeCheck",
    "RuntimeFile",
    "check_runtime_file",
    "check_target",
    "fix_runtime",
    "read_runs",
    "runtime_kind",
    "runtime_suppressions",
    "runtime_targets",
]

_PRAGMA = re.compile(
    r"#\s*keelhaul\s*:\s*(?P<kind>ignore-file|ignore)\s*=\s*(?P<words>.*?)(?:\s--\s*(?P<reason>.*))?\s*$",
    re.I,
)
_CODE = re.compile(r"KH\d{3}", re.I)
UNSAFE_WHY = (
    "hardening changes what the container may do: a program that writes outside /tmp, "
    "needs a capability or runs as root may stop working"
)


def runtime_kind(name: str, text: str) -> str | None:
    """``kubernetes``, ``compose``, ``docker-run`` or None; Dockerfiles are never runtime
    files."""
    if name not in ("", "-") and is_dockerfile_name(os.path.basename(name)):
        return None
    return kind_of(name, text)


def read_runs(kind: str, text: str, name: str) -> list[ContainerRun]:
    """What the reader of ``kind`` makes of the file (raises KeelhaulError on bad YAML)."""
    if kind == KUBERNETES:
        from keelhaul.runtime.kubernetes import read_kubernetes

        return read_kubernetes(text, name)
    if kind == COMPOSE:
        from keelhaul.runtime.compose import read_compose

        return read_compose(text, name)
    if kind == DOCKER_RUN:
        from keelhaul.runtime.docker_run import read_docker_run

        return read_docker_run(text, name)
    raise ValueError(f"unknown runtime file kind {kind!r}")


@dataclass
class RuntimeCheck:
    """What checking one runtime file gave."""

    name: str
    kind: str
    source: str
    findings: list[Finding] = field(default_factory=list)
    suppressions: Suppressions | None = None
    runs: list[ContainerRun] = field(default_factory=list)
    error: KeelhaulError | None = None


def check_runtime_file(
    name: str,
    text: str,
    settings: Mapping[str, object] | None = None,
    pss: str | None = None,
    *,
    kind: str | None = None,
    enabled: Callable[[str], bool] | None = None,
    codes_of: Callable[[str], Iterable[str] | None] | None = None,
) -> RuntimeCheck | None:
    """Check ``text`` when it is a runtime file (None when it is not one).

    ``enabled(code)`` filters the findings (the configuration's selection); ``codes_of(word)``
    resolves a pragma's word to codes (the vocabulary; default: ``KHnnn`` codes as written).
    A file that does not parse comes back with ``error`` set and no findings.
    """
    kind = kind or runtime_kind(name, text)
    if kind is None:
        return None
    result = RuntimeCheck(name, kind, text)
    try:
        result.runs = read_runs(kind, text, name)
    except KeelhaulError as exc:
        result.error = exc
        return result
    from keelhaul.runtime.checking import check_runs

    found = check_runs(result.runs, settings, pss)
    if enabled is not None:
        from keelhaul.runtime.pss import PSS_CODES

        # ``--pss`` asks for the Pod Security Standards findings whatever the selection says
        found = [f for f in found if enabled(f.code) or (pss is not None and f.code in PSS_CODES)]
    result.findings = found
    result.suppressions = runtime_suppressions(name, text, codes_of)
    return result


def runtime_suppressions(
    name: str, text: str, codes_of: Callable[[str], Iterable[str] | None] | None = None
) -> Suppressions:
    """The ``# keelhaul: ignore=`` comments of a runtime file (see the module documentation)."""
    found = Suppressions(name)
    if "keelhaul" not in text:
        return found
    lines = text.split("\n")
    for index, line in enumerate(lines):
        hash_at = line.find("#")
        if hash_at < 0:
            continue
        match = _PRAGMA.search(line, hash_at)
        if match is None:
            continue
        number = index + 1
        words = tuple(w for w in re.split(r"[,\s]+", match.group("words")) if w)
        codes: set[str] = set()
        everything = False
        for word in words:
            if word.upper() == "ALL":
                everything = True
                continue
            resolved = codes_of(word) if codes_of is not None else None
            if resolved is None and _CODE.fullmatch(word):
                resolved = frozenset({word.upper()})
            if resolved is None:
                found.notes.append(
                    f"{name}:{number}: keelhaul pragma: unknown rule {word}; skipped"
                )
            else:
                codes.update(resolved)
        file_wide = match.group("kind").lower() == "ignore-file"
        alone = line[: match.start()].strip() == ""
        target = None if file_wide else _target(lines, index, alone)
        pragma = Pragma(
            number,
            match.start() + 1,
            len(line.rstrip()) + 1,
            "keelhaul",
            file_wide,
            words,
            frozenset(codes),
            everything,
            match.group("reason") or None,
            target,
        )
        found._add(pragma)
    return found


def _target(lines: list[str], index: int, alone: bool) -> tuple[int, int] | None:
    """The lines a pragma on line ``index`` (0-based) covers, 1-based and inclusive: its own
    line when it ends a line; else the next line, with the block it opens (deeper lines) or
    its continuation lines (a trailing backslash)."""
    if not alone:
        return (index + 1, index + 1)
    k = index + 1
    while k < len(lines) and lines[k].strip().startswith("#"):
        k += 1
    if k >= len(lines) or not lines[k].strip():
        return None  # a blank line between: the pragma is attached to nothing
    first = lines[k].rstrip("\r")
    indent = len(first) - len(first.lstrip(" "))
    end = k
    if first.endswith("\\"):
        while end + 1 < len(lines) and lines[end].rstrip("\r").endswith("\\"):
            end += 1
        return (k + 1, end + 1)
    for j in range(k + 1, len(lines)):
        line = lines[j]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip(" ")) <= indent:
            break
        end = j
    return (k + 1, end + 1)


# --------------------------------------------------------------------------------------------
# keelhaul fix


def fix_runtime(
    name: str,
    text: str,
    unsafe: bool,
    *,
    kind: str | None = None,
    settings: Mapping[str, object] | None = None,
) -> FixOutcome:
    """``keelhaul fix`` on a runtime file: a :class:`keelhaul.fix.fixing.FixOutcome`.

    Every runtime fix is unsafe (see :mod:`keelhaul.runtime.fixing`): without ``unsafe`` the
    text is unchanged and ``unsafe_left`` lists the findings ``--unsafe-fixes`` would fix.
    ``docker run`` lines are not rewritten (a shell command is the user's to change). A file
    that does not parse gives ``broken``.
    """
    from keelhaul.fix.fixing import FixOutcome
    from keelhaul.runtime.fixing import fix_runtime_text

    outcome = FixOutcome(name, text, text)
    kind = kind or runtime_kind(name, text)
    if kind is None:
        return outcome
    before = check_runtime_file(name, text, settings, kind=kind)
    if before is None:
        return outcome
    if before.error is not None:
        outcome.broken = str(before.error)
        return outcome
    if kind == DOCKER_RUN:
        outcome.remaining = before.findings
        return outcome
    change = fix_runtime_text(text, name, kind)
    if change.text == text:
        outcome.remaining = before.findings
        return outcome
    after = check_runtime_file(name, change.text, settings, kind=kind)
    left = {_key(f) for f in (after.findings if after is not None else [])}
    fixed = [f for f in before.findings if _key(f) not in left]
    fix = Fix((), "add the run-time hardening", Safety.UNSAFE, UNSAFE_WHY)
    fixed = [_with_fix(f, fix) for f in fixed]
    if unsafe:
        outcome.after = change.text
        outcome.applied = fixed
        outcome.remaining = after.findings if after is not None else []
    else:
        outcome.unsafe_left = fixed
        outcome.remaining = before.findings
    return outcome


def _key(finding: Finding) -> tuple[str, str]:
    """Findings before and after a fix are matched by code and message (lines move)."""
    return (finding.code, finding.message)


def _with_fix(finding: Finding, fix: Fix) -> Finding:
    from dataclasses import replace

    return replace(finding, fix=fix)


def check_target(
    path: Path,
    name: str,
    data: bytes | None,
    settings: Mapping[str, object] | None = None,
    pss: str | None = None,
    *,
    enabled: Callable[[str], bool] | None = None,
    codes_of: Callable[[str], Iterable[str] | None] | None = None,
) -> RuntimeCheck | None:
    """:func:`check_runtime_file` for a target of :class:`keelhaul.checking.Checker`: the
    file on disk (or ``data``, read from stdin). None when it is not a runtime file, or cannot
    be read (the Dockerfile path then reports that)."""
    shown = os.path.basename(name)
    if shown not in ("", "-") and is_dockerfile_name(shown):
        return None
    try:
        raw = data if data is not None else path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return check_runtime_file(name, text, settings, pss, enabled=enabled, codes_of=codes_of)
