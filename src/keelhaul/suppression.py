"""Suppressions written in the checked file itself: one grammar for every kind of file.

``# keelhaul: ignore=CODES [-- reason]`` and ``# keelhaul: ignore-file=CODES`` mean the same
in a Dockerfile, a Kubernetes manifest, a Compose file or a script with ``docker run`` lines;
only what "the next thing" is differs by format (an instruction, or a YAML block and a
continued shell line: see :func:`text_suppressions`). CODES are rule codes or names of any
kind, or ``ALL``.

In a Dockerfile four forms are honoured:

``# keelhaul: ignore=KH101,root-user -- reason``
    On a comment line directly above an instruction (a run of comment lines counts, a blank
    line breaks it) or on a comment line inside its continuation lines: the listed codes or
    rule names are not reported on that instruction, whichever of its lines they point at.
    ``ALL`` stands for every code. The ``-- reason`` is optional and recommended.
``# keelhaul: ignore-file=KH101`` (on a comment line anywhere in the file)
    The codes are not reported anywhere in the file.
``# hadolint ignore=DL3008,SC2086`` and ``# hadolint global ignore=DL3008``
    The same, instruction or file wide, with hadolint's DL codes read through the catalogue's
    hadolint aliases (a DL code silences every keelhaul rule that aliases it) and ShellCheck
    codes taken as they are.
``# check=skip=StageNameCasing,FromAsCasing`` (BuildKit's parser directive, or the
``BUILDKIT_DOCKERFILE_CHECK`` build arg, which BuildKit prefers)
    The rules that alias those BuildKit checks are not reported in the file; ``skip=all``
    silences every rule that aliases a BuildKit check.

Words no rule answers to are skipped (and noted under ``-v``). The check of the
suppressions themselves, ``KH001 unused-suppression`` (off by default), reports a keelhaul
pragma that silenced nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from keelhaul.dockerfile.syntax import Dockerfile, Instruction, Line, LineRole, Trivia
from keelhaul.findings import Finding, Location, Severity
from keelhaul.selection import (
    ALL,
    HADOLINT_CODE,
    SHELLCHECK_CODE,
    UNUSED_SUPPRESSION,
    Vocabulary,
)

_KEELHAUL = re.compile(r"#\s*keelhaul\s*:\s*(?P<kind>ignore-file|ignore)\s*=(?P<rest>.*)", re.I)
_HADOLINT = re.compile(r"#\s*hadolint\s+(?P<glob>global\s+)?ignore\s*=(?P<rest>.*)", re.I)
_REASON = re.compile(r"(?P<words>.*?)(?:(?:^|\s)--(?:\s+(?P<reason>.*?))?)?\s*", re.S)
_WORDS = re.compile(r"[,\s]+")
_HADOLINT_WORD = re.compile(r"[A-Za-z]{2}\d{4}")
#: The build arg that BuildKit reads in place of the ``# check=`` directive.
CHECK_BUILD_ARG = "BUILDKIT_DOCKERFILE_CHECK"


@dataclass(frozen=True, slots=True)
class Pragma:
    """One suppression comment (or the BuildKit check directive), resolved to codes."""

    line: int
    column: int
    end_column: int
    tool: str
    """``keelhaul``, ``hadolint`` or ``buildkit``."""
    file_wide: bool
    words: tuple[str, ...]
    """The words as written, for messages."""
    codes: frozenset[str]
    everything: bool = False
    reason: str | None = None
    target: tuple[int, int] | None = None
    """The lines of the instruction it applies to; None when file wide or orphaned."""


@dataclass
class Suppressions:
    """The suppressions of one file, and which of them silenced something."""

    path: str
    pragmas: list[Pragma] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _targets: list[tuple[int, list[int]]] = field(default_factory=list)
    """Per instruction with pragmas, in line order: (end line, indexes into pragmas)."""
    _file_wide: list[int] = field(default_factory=list)
    _used: set[tuple[int, str]] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        tree: Dockerfile,
        vocabulary: Vocabulary,
        *,
        inline: bool = True,
        build_args: dict[str, str] | None = None,
    ) -> Suppressions:
        """The suppressions in ``tree``; ``inline=False`` honours none of them."""
        found = cls(tree.path)
        if not inline:
            return found
        _Reader(found, vocabulary).read(tree, (build_args or {}).get(CHECK_BUILD_ARG))
        return found

    def _add(self, pragma: Pragma) -> None:
        index = len(self.pragmas)
        self.pragmas.append(pragma)
        if pragma.file_wide:
            self._file_wide.append(index)
        elif pragma.target is not None:
            start, end = pragma.target
            if self._starts and self._starts[-1] == start:
                self._targets[-1][1].append(index)
            else:
                self._starts.append(start)
                self._targets.append((end, [index]))

    def _covering(self, line: int) -> list[int]:
        """The pragmas of the instruction that holds ``line``, then the file-wide ones."""
        found = list(self._file_wide)
        at = bisect.bisect_right(self._starts, line) - 1
        if at >= 0 and line <= self._targets[at][0]:
            found += self._targets[at][1]
        return found

    def suppresses(self, finding: Finding) -> bool:
        """Whether a pragma silences ``finding`` (and remember that it did)."""
        if not self.pragmas:
            return False
        hit = False
        for index in self._covering(finding.location.line):
            pragma = self.pragmas[index]
            if pragma.everything or finding.code in pragma.codes:
                self._used.add((index, ALL if pragma.everything else finding.code))
                hit = True
        return hit

    def keep(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings no pragma silences."""
        return [f for f in findings if not self.suppresses(f)]

    def unused(self, wanted: Callable[[str], bool]) -> list[Finding]:
        """``KH001`` findings for keelhaul pragmas (or their codes) that silenced nothing.

        ``wanted(code)`` says whether the code runs on this file: a pragma for a rule that
        is switched off is moot, not stale.
        """
        found: list[Finding] = []
        for index, pragma in enumerate(self.pragmas):
            if pragma.tool != "keelhaul":
                continue
            if pragma.everything:
                stale = [] if any(i == index for i, _ in self._used) else [ALL]
            else:
                stale = sorted(c for c in pragma.codes
                               if wanted(c) and (index, c) not in self._used)  # fmt: skip
            if not stale:
                continue
            if pragma.file_wide:
                where = "in this file"
            elif pragma.target is None:
                where = "(it applies to the instruction right below it, with no blank line between)"
            else:
                where = "on the instruction it applies to"
            found.append(
                Finding(
                    code=UNUSED_SUPPRESSION.code,
                    name=UNUSED_SUPPRESSION.name,
                    severity=Severity.WARNING,
                    category=UNUSED_SUPPRESSION.category,
                    location=Location(
                        self.path, pragma.line, pragma.column, pragma.line, pragma.end_column
                    ),
                    message=f"the suppression of {', '.join(stale)} silences nothing {where}; "
                    "remove it",
                )
            )
        return found


def text_suppressions(
    name: str, text: str, vocabulary: Vocabulary, *, inline: bool = True
) -> Suppressions:
    """The keelhaul pragmas of a YAML file or a script (runtime files), in the same grammar.

    A pragma on a line of its own silences its codes on the next line that is not a comment
    and, when that line opens a YAML block (a service, a container, a ``securityContext``), in
    the whole block, or with its continuation lines (a trailing backslash); a blank line in
    between attaches it to nothing. At the end of a line it silences that line.
    ``ignore-file`` silences the whole file. ``inline=False`` honours none of them.
    """
    found = Suppressions(name)
    if not inline or "keelhaul" not in text:
        return found
    reader = _Reader(found, vocabulary)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        hash_at = line.find("#")
        if hash_at < 0:
            continue
        m = _KEELHAUL.search(line, hash_at)
        if m is None:
            continue
        pragma = reader._keelhaul(index + 1, m.start() + 1, len(line.rstrip()) + 1, m)
        if pragma is None:
            continue
        if not pragma.file_wide:
            alone = line[: m.start()].strip() == ""
            pragma = replace(pragma, target=_block_after(lines, index, alone))
        found._add(pragma)
    return found


def _block_after(lines: list[str], index: int, alone: bool) -> tuple[int, int] | None:
    """The lines a pragma on line ``index`` (0-based) of a YAML file or script covers, 1-based
    and inclusive (see :func:`text_suppressions`)."""
    if not alone:
        return (index + 1, index + 1)
    k = index + 1
    while k < len(lines) and lines[k].strip().startswith("#"):
        k += 1
    if k >= len(lines) or not lines[k].strip():
        return None
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


class _Reader:
    """Walks a tree's lines once and records the pragmas it meets."""

    def __init__(self, found: Suppressions, vocabulary: Vocabulary) -> None:
        self.found = found
        self.vocabulary = vocabulary

    def read(self, tree: Dockerfile, check_arg: str | None) -> None:
        check = check_arg if check_arg is not None else tree.directive("check")
        if check is not None:
            self._buildkit(check, self._directive_line(tree))
        waiting: list[Pragma] = []
        for item in tree.items:
            if isinstance(item, Trivia):
                if item.line.role is LineRole.COMMENT:
                    pragma = self._comment(item.line)
                    if pragma is not None:
                        if pragma.file_wide:
                            self.found._add(pragma)
                        else:
                            waiting.append(pragma)
                elif item.line.role is LineRole.BLANK:
                    self._orphan(waiting)
                    waiting = []
                continue
            self._attach(item, waiting)
            waiting = []
        self._orphan(waiting)

    @staticmethod
    def _directive_line(tree: Dockerfile) -> int:
        return next((d.line for d in tree.directives if d.name == "check"), 1)

    def _attach(self, inst: Instruction, waiting: list[Pragma]) -> None:
        inside = [self._comment(line) for line in inst.lines if line.role is LineRole.COMMENT]
        target = (inst.start_line, inst.end_line)
        for pragma in [*waiting, *(p for p in inside if p is not None)]:
            if pragma.file_wide:
                self.found._add(pragma)
            else:
                self.found._add(replace(pragma, target=target))

    def _orphan(self, waiting: list[Pragma]) -> None:
        for pragma in waiting:
            self.found._add(pragma)

    def _note(self, line: int, message: str) -> None:
        self.found.notes.append(f"{self.found.path}:{line}: {message}")

    def _comment(self, line: Line) -> Pragma | None:
        text = line.content
        stripped = text.lstrip()
        if not stripped.startswith("#"):
            return None
        column = len(text) - len(stripped) + 1
        end = len(text.rstrip()) + 1
        m = _KEELHAUL.fullmatch(stripped)
        if m is not None:
            return self._keelhaul(line.number, column, end, m)
        m = _HADOLINT.fullmatch(stripped)
        if m is not None:
            return self._hadolint(line.number, column, end, m)
        return None

    def _keelhaul(self, number: int, column: int, end: int, m: re.Match[str]) -> Pragma | None:
        parts = _REASON.fullmatch(m.group("rest"))
        assert parts is not None  # the pattern matches any text
        words = tuple(w for w in _WORDS.split(parts.group("words")) if w)
        if not words:
            self._note(number, "keelhaul pragma without codes; skipped")
            return None
        codes: set[str] = set()
        everything = False
        for word in words:
            if word.upper() == ALL:
                everything = True
                continue
            resolved = self.vocabulary.pragma_codes(word)
            if resolved is None:
                self._note(number, f"keelhaul pragma: {self.vocabulary.unknown(word)}; skipped")
            else:
                codes.update(resolved)
        return Pragma(
            number,
            column,
            end,
            "keelhaul",
            m.group("kind").lower() == "ignore-file",
            words,
            frozenset(codes),
            everything,
            parts.group("reason") or None,
        )

    def _hadolint(self, number: int, column: int, end: int, m: re.Match[str]) -> Pragma:
        words: list[str] = []
        for word in _WORDS.split(m.group("rest").strip()):
            if not _HADOLINT_WORD.fullmatch(word):
                break  # hadolint reads a list of codes; whatever follows is prose
            words.append(word)
        codes: set[str] = set()
        for word in words:
            code = word.upper()
            if SHELLCHECK_CODE.fullmatch(code):
                codes.add(code)
            elif HADOLINT_CODE.fullmatch(code) and code in self.vocabulary.hadolint:
                codes.update(self.vocabulary.hadolint[code])
            else:
                self._note(number, f"hadolint pragma: {word}: no keelhaul rule covers it")
        return Pragma(
            number, column, end, "hadolint", m.group("glob") is not None, tuple(words),
            frozenset(codes),
        )  # fmt: skip

    def _buildkit(self, value: str, line: int) -> None:
        """``skip=A,B;error=true``: the skipped checks, through the BuildKit aliases."""
        for part in value.split(";"):
            key, _, names = part.partition("=")
            if key.strip().lower() != "skip":
                continue
            words = tuple(n.strip() for n in names.split(",") if n.strip())
            codes: set[str] = set()
            for word in words:
                if word.lower() == "all":
                    codes.update(c for cs in self.vocabulary.buildkit.values() for c in cs)
                elif word.lower() in self.vocabulary.buildkit:
                    codes.update(self.vocabulary.buildkit[word.lower()])
                else:
                    self._note(line, f"check=skip: {word}: no keelhaul rule covers it")
            self.found._add(Pragma(line, 1, 1, "buildkit", True, words, frozenset(codes)))
