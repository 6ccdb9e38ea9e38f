"""What every formatter reads: the findings of one run, the files, and the rules as plain data.

Formatters know nothing about the catalogue; the caller hands in the rules
(:class:`keelhaul.rule.Rule`, see :func:`rule_infos`) with the findings.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePath
from urllib.parse import quote

from keelhaul import __version__
from keelhaul.errors import SyntaxProblem
from keelhaul.findings import Category, Edit, FileChange, Finding, Location, Origin, Severity
from keelhaul.rule import Rule
from keelhaul.secrets import mask_text, redact_text

#: Where ShellCheck documents its checks; SC findings come from ShellCheck, not the catalogue.
SHELLCHECK_WIKI = "https://www.shellcheck.net/wiki/"

_SHELLCHECK_CODE = re.compile(r"SC\d{4}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def rule_infos(rules: Iterable[Rule], docs_url: str | None = None) -> dict[str, Rule]:
    """Code -> rule for ``rules``, each with its help link.

    ``docs_url`` is the address of the rendered docs/rules.md; each rule's help link is its
    anchor there (``#kh101-mutable-base-tag``), the anchors docs/rules.md already uses. A rule
    that has a link of its own (an advisory's page) keeps it.
    """
    out: dict[str, Rule] = {}
    for rule in rules:
        if docs_url and rule.help_uri is None:
            rule = replace(rule, help_uri=f"{docs_url}#{rule.code.lower()}-{rule.name}")
        out[rule.code] = rule
    return out


@dataclass(frozen=True, slots=True)
class BrokenFile:
    """A file that could not be read or parsed: no findings, one line saying why."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def from_error(cls, path: str, error: BaseException) -> BrokenFile:
        """From a keelhaul error; a syntax error keeps its line and column."""
        if isinstance(error, SyntaxProblem):
            pos = error.position
            return cls(path, one_line(error.message), pos.line, pos.column)
        return cls(path, one_line(str(error)))

    def __str__(self) -> str:
        """``path:line:column: message`` (as much of the place as is known)."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return self.message if self.message.startswith(where) else f"{where}: {self.message}"


@dataclass(frozen=True)
class Report:
    """One run of keelhaul, ready to be written in any format."""

    findings: Sequence[Finding]
    files: Sequence[str] = ()
    """Every file looked at, parsed or not (paths as in the findings)."""
    broken: Sequence[BrokenFile] = ()
    rules: Mapping[str, Rule] = field(default_factory=dict)
    """Code -> rule documentation; codes missing here get a minimal entry from their findings."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Path -> source text, for the source lines under each finding in the text format."""
    cwd: Path | None = None
    """The working directory: paths under it are shown relative to it."""
    color: bool = False
    gate: int | None = None
    """How many findings reach the failure threshold (None: not a gated run)."""
    fail_on: str | None = None
    """The threshold (``warning``, ``none``...) when one holds for every file."""
    baseline: bool = False
    """A baseline was read: the findings are the ones not in it."""
    fixable: tuple[int, int] | None = None
    """How many findings ``keelhaul fix`` would change, and how many more ``--unsafe-fixes``
    would, as the fix loop plans them (:func:`keelhaul.fix.fixing.fixable_counts`); None: not
    planned, the summary then counts the findings whose rule has a fix (an upper bound)."""
    tool: str = "keelhaul"
    version: str = __version__
    information_uri: str | None = None

    @cached_property
    def ordered(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    @cached_property
    def numbered(self) -> list[tuple[Finding, int]]:
        """Each finding in order with its 1-based count among findings of the same fingerprint.

        The fingerprint leaves the line out, so two identical findings in one file share it;
        the count tells them apart, as a baseline does.
        """
        seen: Counter[str] = Counter()
        out: list[tuple[Finding, int]] = []
        for finding in self.ordered:
            seen[finding.fingerprint] += 1
            out.append((finding, seen[finding.fingerprint]))
        return out

    @staticmethod
    def unique_fingerprint(finding: Finding, occurrence: int) -> str:
        """The fingerprint, told apart from earlier identical findings by their count."""
        if occurrence == 1:
            return finding.fingerprint
        key = f"{finding.fingerprint}:{occurrence}".encode()
        return hashlib.sha256(key).hexdigest()[:32]

    @cached_property
    def all_files(self) -> list[str]:
        """Every file, in order: the files checked, then any only named by a finding or error."""
        seen = dict.fromkeys(self.files)
        seen.update(dict.fromkeys(b.path for b in self.broken))
        seen.update(dict.fromkeys(f.location.path for f in self.ordered))
        return list(seen)

    @cached_property
    def rule_list(self) -> list[Rule]:
        """The rules given plus one for each unknown code in the findings, sorted by code."""
        rules = dict(self.rules)
        for finding in self.ordered:
            if finding.code not in rules:
                rules[finding.code] = fallback_rule(finding)
        return sorted(rules.values(), key=lambda r: r.code)

    @cached_property
    def rule_index(self) -> dict[str, int]:
        return {rule.code: i for i, rule in enumerate(self.rule_list)}

    def rule(self, code: str) -> Rule:
        return self.rule_list[self.rule_index[code]]

    def display_path(self, path: str) -> str:
        """``path`` relative to the working directory when under it, with ``/`` separators."""
        pure = PurePath(path)
        if self.cwd is not None and pure.is_absolute():
            with contextlib.suppress(ValueError):
                pure = pure.relative_to(self.cwd)
        text = pure.as_posix()
        return text if text != "." else path

    def uri(self, path: str) -> tuple[str, bool]:
        """A URI for ``path`` and whether it is relative to the working directory.

        Relative paths stay relative (percent-encoded, ``/`` separators); an absolute path
        outside the working directory becomes a ``file://`` URI.
        """
        shown = self.display_path(path)
        if PurePath(shown).is_absolute():
            return "file://" + quote(to_bytes(shown), safe="/"), False
        return quote(to_bytes(shown), safe="/"), True

    @cached_property
    def _split_sources(self) -> dict[str, list[str]]:
        return {}  # filled as files are asked for, so each is split once

    def source_lines(self, path: str) -> list[str] | None:
        """The file's lines without their line ends (and without a BOM), when known."""
        cached = self._split_sources.get(path)
        if cached is not None:
            return cached
        text = self.sources.get(path)
        if text is None:
            return None
        text = text.removeprefix("\ufeff")
        lines = [line.removesuffix("\r") for line in text.split("\n")]
        self._split_sources[path] = lines
        return lines

    def position(self, loc: Location) -> str:
        """``path:line:column``, or ``image!/path (layer 3)`` in an image."""
        path = self.display_path(loc.path)
        if loc.layer is not None:
            return f"{path} (layer {loc.layer})"
        return f"{path}:{loc.line}:{loc.column}"

    @cached_property
    def from_base(self) -> int:
        """Findings that come from the base image's layers (image findings only)."""
        return sum(1 for f in self.findings if f.origin is Origin.BASE)

    def count_by_severity(self) -> dict[Severity, int]:
        counts = Counter(f.severity for f in self.findings)
        return {s: counts[s] for s in sorted(Severity, key=lambda s: -s.rank)}

    def count_by_category(self) -> dict[Category, int]:
        counts = Counter(f.category for f in self.findings)
        return {c: counts[c] for c in Category}


def redacted(report: Report) -> Report:
    """``report`` as any format may show it: every secret hidden (:mod:`keelhaul.secrets`).

    Messages, parse errors and fixes get the redacted form (``ghp_…``); source lines are
    masked character for character, so markers still line up under them.
    """

    def finding(f: Finding) -> Finding:
        message = redact_text(f.message)
        fix = f.fix
        if fix is not None:
            fix = replace(
                fix,
                description=redact_text(fix.description),
                edits=tuple(Edit(e.start_line, e.end_line, mask_text(e.text)) for e in fix.edits),
                files=tuple(FileChange(c.path, mask_text(c.text)) for c in fix.files),
            )
        members = tuple(finding(m) for m in f.members)
        if message == f.message and fix is f.fix and members == f.members:
            return f
        return replace(f, message=message, fix=fix, members=members)

    return replace(
        report,
        findings=[finding(f) for f in report.findings],
        broken=[replace(b, message=redact_text(b.message)) for b in report.broken],
        sources=_MaskedSources(report.sources),
    )


class _MaskedSources(Mapping[str, str]):
    """Sources masked (:func:`~keelhaul.secrets.mask_text`) when a format asks for one: the
    text format shows only the files with findings."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = sources
        self._masked: dict[str, str] = {}

    def __getitem__(self, path: str) -> str:
        masked = self._masked.get(path)
        if masked is None:
            masked = self._masked[path] = mask_text(self._sources[path], yaml=True)
        return masked

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


def image_note(finding: Finding) -> str:
    """`` (layer 3, from the base image)`` for an image finding, "" for any other: for the
    formats whose only place for it is the text."""
    parts = []
    if finding.location.layer is not None:
        parts.append(f"layer {finding.location.layer}")
    if finding.origin is Origin.BASE:
        parts.append("from the base image")
    return f" ({', '.join(parts)})" if parts else ""


def fallback_rule(finding: Finding) -> Rule:
    """Documentation for a code the caller gave no rule for (e.g. a ShellCheck SC code)."""
    help_uri = SHELLCHECK_WIKI + finding.code if _SHELLCHECK_CODE.fullmatch(finding.code) else None
    return Rule(
        code=finding.code,
        name=finding.name,
        severity=finding.severity,
        category=finding.category,
        summary=f"{finding.code} ({finding.name})",
        explanation="",
        help_uri=help_uri,
    )


def to_bytes(text: str) -> bytes:
    """Text to UTF-8, undecodable bytes (kept as lone surrogates) restored."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def printable(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (undecodable bytes) become U+FFFD.

    One character stays one character, so columns still line up.
    """
    return _SURROGATE.sub("\ufffd", text)


def one_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()
