"""A .dockerignore read, and its patterns applied, the way Docker's BuildKit does.

Three steps, each following the Go code a ``docker build`` runs (our own code, same rules):

* **reading** (moby ``patternmatcher/ignorefile.ReadAll``): a UTF-8 BOM is dropped; a line
  whose very first character is ``#`` is a comment; other lines are trimmed of white space
  (Go's ``unicode.IsSpace``), blank ones skipped; a leading ``!`` marks an exception and the rest
  is trimmed again; the pattern goes through ``filepath.Clean`` (so ``./a``, ``a/``, ``a//b/..``
  become ``a``) and one leading ``/`` is dropped.
* **compiling** (moby ``patternmatcher.New`` and ``Pattern.compile``): each pattern is checked
  with Go's ``filepath.Match`` grammar (an unclosed ``[`` or a trailing ``\\`` fails the build),
  then turned into an exact, prefix (``dir/**``) or suffix (``**/name``) comparison or a Go
  regular expression: ``*`` and ``?`` never cross ``/``, ``**`` crosses any number of folders,
  ``[...]`` classes and ``\\`` escapes pass through as Go regexp syntax (see ``_goregex``).
* **deciding** (tonistiigi/fsutil's filtered walk, which sends the context): the last pattern
  that matches wins; a pattern that matches a folder matches everything below it; an excluded
  folder is not even entered unless an exception could bring something below it back, which
  fsutil decides from the exceptions' text (:meth:`DockerIgnore.may_reinclude_under`).

Paths are relative to the context root and use ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from keelhaul.context._goregex import GoRegexError, compile_go
from keelhaul.errors import SourcePosition, SyntaxProblem

#: Go's unicode.IsSpace, which strings.TrimSpace trims.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: bufio.Scanner's limit: BuildKit cannot read a longer line.
MAX_LINE_BYTES = 64 * 1024
#: fsutil: an exception holding one of these may match anywhere, so no folder is skipped.
_WILDCARD_CHARS = frozenset("*[]?^\\")
#: Characters moby escapes because they are special in a regexp but not in a glob.
_REGEXP_ONLY = frozenset(".+()|{}$")


class DockerIgnoreError(SyntaxProblem):
    """A .dockerignore line BuildKit refuses: the build fails before it starts."""


class MatchKind(Enum):
    """How moby compares a compiled pattern with a path."""

    EXACT = "exact"
    PREFIX = "prefix"  # ``dir/**``: the path starts with ``dir/``
    SUFFIX = "suffix"  # ``**/name`` or ``**name``: the path ends with it
    REGEXP = "regexp"


def go_clean(path: str) -> str:
    """Go's ``path.Clean``: the shortest equivalent path (``""`` gives ``"."``)."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def relative(path: str) -> str:
    """A context path as the matcher wants it: cleaned, no leading ``/``; the root is ``"."``."""
    cleaned = go_clean(path).lstrip("/")
    return cleaned or "."


# --- filepath.Match's grammar ---------------------------------------------------------------


def _class_member(pattern: str, i: int) -> int:
    """Go's getEsc: one member of a ``[...]`` class starting at ``i``; the index after it."""
    n = len(pattern)
    if i >= n:
        raise ValueError("a `[` class is never closed")
    if pattern[i] in "-]":
        raise ValueError(f"unescaped `{pattern[i]}` in a `[` class (write `\\{pattern[i]}`)")
    if pattern[i] == "\\":
        i += 1
        if i >= n:
            raise ValueError("a `[` class is never closed")
    if "\udc80" <= pattern[i] <= "\udcff":
        raise ValueError("a `[` class holds bytes that are not UTF-8")
    if i + 1 >= n:
        raise ValueError("a `[` class is never closed")
    return i + 1


def glob_syntax_error(pattern: str) -> str | None:
    """Why Go's ``filepath.Match`` rejects ``pattern`` (as moby checks it), or None."""
    i, n = 0, len(pattern)
    try:
        while i < n:
            c = pattern[i]
            if c == "\\":
                if i + 1 >= n:
                    return "the pattern ends with a lone backslash"
                i += 2
            elif c == "[":
                i += 1
                if i < n and pattern[i] == "^":
                    i += 1
                members = 0
                while not (i < n and pattern[i] == "]" and members):
                    i = _class_member(pattern, i)
                    if pattern[i] == "-":
                        i = _class_member(pattern, i + 1)
                    members += 1
                i += 1
            else:
                i += 1
    except ValueError as exc:
        return str(exc)
    return None


# --- patterns -------------------------------------------------------------------------------


def moby_regexp(pattern: str) -> tuple[MatchKind, str]:
    """How moby's ``Pattern.compile`` reads a cleaned pattern: its kind and Go regexp text.

    The regexp text only matters for :attr:`MatchKind.REGEXP`; the other kinds compare strings.
    """
    out = ["^"]
    kind = MatchKind.EXACT
    i, n, step = 0, len(pattern), 0
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*" and i < n and pattern[i] == "*":
            i += 1
            if i < n and pattern[i] == "/":
                i += 1  # "**/" reads as "**"
            if i >= n:  # trailing "**" takes everything, as in .gitignore
                if kind is MatchKind.EXACT:
                    kind = MatchKind.PREFIX
                else:
                    out.append(".*")
                    kind = MatchKind.REGEXP
            else:
                out.append("(.*/)?")  # any number of folders, even none
                kind = MatchKind.REGEXP
            if step == 0:
                kind = MatchKind.SUFFIX
        elif ch == "*":
            out.append("[^/]*")
            kind = MatchKind.REGEXP
        elif ch == "?":
            out.append("[^/]")
            kind = MatchKind.REGEXP
        elif ch in _REGEXP_ONLY:
            out.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                out.append("\\" + pattern[i])
                i += 1
                kind = MatchKind.REGEXP
            else:
                out.append("\\")
        elif ch in "[]":
            out.append(ch)
            kind = MatchKind.REGEXP
        else:
            out.append(ch)
        step += 1
    if kind is MatchKind.REGEXP:
        out.append("$")
    return kind, "".join(out)


def _tester(kind: MatchKind, text: str, regexp: str) -> Callable[[str], bool]:
    if kind is MatchKind.EXACT:
        return text.__eq__
    if kind is MatchKind.PREFIX:
        return _starts_with(text[:-2])
    if kind is MatchKind.SUFFIX:
        return _ends_with(text[2:])
    search = compile_go(regexp).search
    return lambda path: search(path) is not None


def _starts_with(prefix: str) -> Callable[[str], bool]:
    return lambda path: path.startswith(prefix)


def _ends_with(suffix: str) -> Callable[[str], bool]:
    bare = suffix[1:] if suffix.startswith("/") else None  # "**/foo" also matches "foo"
    return lambda path: path.endswith(suffix) or path == bare


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One pattern as BuildKit keeps it: cleaned, ``!`` removed into :attr:`exception`."""

    text: str
    exception: bool
    line: int
    kind: MatchKind
    regexp: str | None
    """moby's Go regular expression, for :attr:`MatchKind.REGEXP` patterns."""
    _test: Callable[[str], bool] = field(repr=False, compare=False)

    @classmethod
    def compile(cls, text: str, exception: bool, line: int) -> IgnorePattern:
        """Raises ``GoRegexError`` when Go could not compile moby's regexp."""
        kind, regexp = moby_regexp(text)
        test = _tester(kind, text, regexp)
        return cls(text, exception, line, kind, regexp if kind is MatchKind.REGEXP else None, test)

    def matches(self, path: str) -> bool:
        """Whether the pattern matches ``path`` itself (folders above it not considered)."""
        return self._test(path)

    @property
    def literal_prefix(self) -> str:
        """fsutil's view of an exception: the text without a trailing ``/**`` or ``/*``."""
        return self.text.removesuffix("/**").removesuffix("/*")

    def __str__(self) -> str:
        return ("!" if self.exception else "") + self.text


@dataclass(frozen=True, slots=True)
class Verdict:
    """What BuildKit's context walk decides about one path."""

    excluded: bool
    """The patterns leave the path out. (An excluded folder still appears when something
    below it is re-included, but holds only that.)"""
    descend: bool
    """For a folder: the walk still looks inside it."""
    state: tuple[bool, ...]
    """Per pattern, whether it matched this path or a folder above; the children's start."""
    decider: int | None
    """Index of the last pattern that matched (and so decided), or None."""


def _position(path: str, line: int) -> SourcePosition:
    return SourcePosition(path, line)


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def read_lines(text: str | bytes, path: str = ".dockerignore") -> list[tuple[int, str]]:
    """ignorefile.ReadAll: the patterns of a .dockerignore with their 1-based line numbers."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    found: list[tuple[int, str]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # bufio.ScanLines gives no empty token after the last newline
    for number, raw in enumerate(lines, 1):
        line = raw.removesuffix("\r")
        if number == 1:
            line = line.removeprefix("\ufeff")
        if len(line) * 4 >= MAX_LINE_BYTES and _utf8_length(line) >= MAX_LINE_BYTES:
            raise DockerIgnoreError(
                "line longer than 64 KiB: BuildKit cannot read this file", _position(path, number)
            )
        if line.startswith("#"):
            continue
        pattern = line.strip(GO_SPACE)
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip(GO_SPACE)
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        found.append((number, "!" + pattern if invert else pattern))
    return found


def compile_patterns(lines: Iterable[tuple[int, str]], path: str) -> tuple[IgnorePattern, ...]:
    """patternmatcher.New: clean, split off ``!``, check and compile each pattern."""
    out: list[IgnorePattern] = []
    for number, raw in lines:
        text = raw.strip(GO_SPACE)
        if not text:
            continue
        text = go_clean(text)
        exception = text.startswith("!")
        if exception:
            if len(text) == 1:
                raise DockerIgnoreError(
                    'illegal exclusion pattern: "!" (an exception needs a path after the !)',
                    _position(path, number),
                )
            text = text[1:]
        problem = glob_syntax_error(text)
        if problem is not None:
            raise DockerIgnoreError(
                f"syntax error in pattern `{raw}`: {problem}", _position(path, number)
            )
        try:
            out.append(IgnorePattern.compile(text, exception, number))
        except GoRegexError as exc:
            raise DockerIgnoreError(
                f"pattern `{raw}` is not a valid Go regular expression once translated "
                f"({exc}); BuildKit fails the build when it reaches it",
                _position(path, number),
            ) from None
    return tuple(out)


@dataclass(frozen=True)
class DockerIgnore:
    """The patterns of one ignore file, and what they leave out of the build context."""

    path: str
    """The file's name as shown to the user (``.dockerignore``, ``app.Dockerfile.dockerignore``)."""
    patterns: tuple[IgnorePattern, ...]

    @classmethod
    def parse(cls, text: str | bytes, path: str = ".dockerignore") -> DockerIgnore:
        """Read an ignore file; a line BuildKit refuses raises :class:`DockerIgnoreError`."""
        return cls(path, compile_patterns(read_lines(text, path), path))

    @classmethod
    def from_patterns(cls, patterns: Iterable[str], path: str = "<patterns>") -> DockerIgnore:
        """Patterns given one by one (``COPY --exclude``, tests): compiled, not read from a file.

        The "line" of each is its 1-based position.
        """
        return cls(path, compile_patterns(enumerate(patterns, 1), path))

    @cached_property
    def has_exceptions(self) -> bool:
        return any(p.exception for p in self.patterns)

    @cached_property
    def _walks_every_folder(self) -> bool:
        # fsutil's onlyPrefixExcludeExceptions, negated: one wildcard exception and no
        # excluded folder is ever skipped.
        return any(
            p.exception and not _WILDCARD_CHARS.isdisjoint(p.literal_prefix) for p in self.patterns
        )

    # --- the walk (what gets sent) ----------------------------------------------------------

    def judge(self, path: str, is_dir: bool, parent: Verdict | None = None) -> Verdict:
        """fsutil's decision for ``path`` given its folder's verdict (None at the top level).

        For walking a tree: judge each entry with its folder's verdict and enter a folder
        only when ``descend`` is true.
        """
        if parent is not None and self._cannot_match(path):
            # no pattern can match the path itself: it inherits its folder's decision
            matched, state, decider = parent.excluded, parent.state, parent.decider
        else:
            matched, state, decider = self._evaluate(path, None if parent is None else parent.state)
        descend = is_dir and (not matched or self.may_reinclude_under(path))
        return Verdict(matched, descend, state, decider)

    @cached_property
    def _last_parts(self) -> re.Pattern[str] | None:
        """A prefilter: what the last part of a path must look like for some pattern to match it.

        A pattern's ``*`` and ``?`` never cross ``/``, so its last part matches the path's last
        part or nothing. None when some pattern's last part cannot be read that simply (``**``,
        a class, an escape): then every path is tried against every pattern.
        """
        parts: list[str] = []
        for pattern in self.patterns:
            last = pattern.text.rpartition("/")[2]
            if "**" in last:
                return None
            parts.append(_loose_regexp(last))
        return re.compile("|".join(dict.fromkeys(parts))) if parts else None

    def _cannot_match(self, path: str) -> bool:
        last = self._last_parts
        return last is not None and last.fullmatch(path.rpartition("/")[2]) is None

    def _evaluate(
        self, path: str, parent: tuple[bool, ...] | None
    ) -> tuple[bool, tuple[bool, ...], int | None]:
        # moby's MatchesUsingParentResults: a pattern that matched the folder matches its
        # contents; otherwise a pattern is only tried when it could change the outcome.
        matched = False
        decider: int | None = None
        state: list[bool] = []
        for index, pattern in enumerate(self.patterns):
            hit = parent is not None and parent[index]
            if not hit:
                if pattern.exception != matched:
                    state.append(False)
                    continue
                hit = pattern.matches(path)
                if not hit and parent is None:
                    hit = _matches_a_parent(pattern, path)
            state.append(hit)
            if hit:
                matched = not pattern.exception
                decider = index
        return matched, tuple(state), decider

    def _walk(self, relpath: str, is_dir: bool) -> tuple[bool, int | None]:
        path = relative(relpath)
        if path == ".":
            return False, None  # the root itself is always sent
        parts = path.split("/")
        verdict: Verdict | None = None
        for depth in range(1, len(parts)):
            verdict = self.judge("/".join(parts[:depth]), True, verdict)
            if not verdict.descend:
                return True, verdict.decider
        final = self.judge(path, is_dir, verdict)
        return final.excluded, final.decider

    def excludes(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether BuildKit leaves ``relpath`` out of the context it sends.

        True when the patterns exclude the path, or exclude a folder above it that the walk
        does not enter. An excluded folder is reported excluded even when an exception brings
        part of its contents back.
        """
        return self._walk(relpath, is_dir)[0]

    def excluded_by(self, relpath: str, is_dir: bool = False) -> IgnorePattern | None:
        """The pattern that leaves ``relpath`` out (itself or a folder above), or None if sent."""
        excluded, decider = self._walk(relpath, is_dir)
        return self.patterns[decider] if excluded and decider is not None else None

    def may_reinclude_under(self, dirpath: str) -> bool:
        """Whether the walk still enters ``dirpath`` once the patterns exclude it.

        fsutil enters an excluded folder only when some exception could match below it: any
        exception with a wildcard (then every folder is entered), or one whose text, minus a
        trailing ``/**`` or ``/*``, lies below the folder (``!docs/README.md`` for ``docs``).
        So after ``*``, ``!*/keep`` brings ``a/keep`` back, but ``!a/keep`` does too while
        ``!keep`` does not: ``a`` is skipped whole.
        """
        if not self.has_exceptions:
            return False
        if self._walks_every_folder:
            return True
        prefix = relative(dirpath) + "/"
        return any(
            (p.literal_prefix + "/").startswith(prefix) for p in self.patterns if p.exception
        )

    # --- BuildKit's own check ---------------------------------------------------------------

    def matches(self, relpath: str) -> bool:
        """moby's ``MatchesOrParentMatches``: the patterns match the path or a folder above.

        This is what BuildKit's CopyIgnoredFile check asks of a COPY source; it ignores how the
        walk prunes folders, so prefer :meth:`excludes` to know what is sent.
        """
        path = relative(relpath)
        if path == ".":
            return False
        matched = False
        for pattern in self.patterns:
            if pattern.exception != matched:
                continue
            if pattern.matches(path) or _matches_a_parent(pattern, path):
                matched = not pattern.exception
        return matched


_ESCAPED_CLASS = re.compile(r"\\[0-9A-Za-z]")


def _loose_regexp(part: str) -> str:
    """A Python regexp matching at least every name the glob ``part`` matches (a class is any
    one character): the prefilter may let through too much, never too little."""
    if _ESCAPED_CLASS.search(part):
        return ".*"  # moby passes `\d`, `\pL`... to Go's regexp: not worth reading here
    out: list[str] = []
    i, n = 0, len(part)
    while i < n:
        c = part[i]
        i += 1
        if c == "*":
            out.append("[^/]*")
        elif c in "?[":
            if c == "[":  # up to the first unescaped "]" (the syntax was checked)
                while i < n and part[i] != "]":
                    i += 2 if part[i] == "\\" else 1
                i += 1
            out.append("[^/]")
        elif c == "\\" and i < n:
            out.append(re.escape(part[i]))
            i += 1
        else:
            out.append(re.escape(c))
    return "".join(out)


def _matches_a_parent(pattern: IgnorePattern, path: str) -> bool:
    end = path.find("/")
    while end >= 0:
        if pattern.matches(path[:end]):
            return True
        end = path.find("/", end + 1)
    return False


__all__ = [
    "DockerIgnore",
    "DockerIgnoreError",
    "IgnorePattern",
    "MatchKind",
    "Verdict",
    "glob_syntax_error",
    "go_clean",
    "moby_regexp",
]
