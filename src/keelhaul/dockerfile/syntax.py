"""A lossless Dockerfile syntax tree that reads files the way BuildKit's parser does.

Every physical line of the input belongs to exactly one item of the tree (a blank line, a
comment, a parser directive, or an instruction with its continuation lines and heredoc
bodies), so ``parse(src).render() == src`` for any input, valid or not.

On top of the lines, each :class:`Instruction` carries what BuildKit's parser makes of it
(``moby/buildkit/frontend/dockerfile/parser``): the keyword, the builder flags, the argument
nodes, whether it is in JSON (exec) form, and its heredocs. Where BuildKit would refuse the
file, the tree records a located :class:`~keelhaul.errors.DockerfileSyntaxError` and carries
on, so one broken instruction never hides the rest of the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from keelhaul import limits
from keelhaul.dockerfile.lex import ExpansionError, Lexer
from keelhaul.errors import DockerfileSyntaxError, FileMissing, FileUnreadable, SourcePosition
from keelhaul.reading import read_limited

BOM = "\ufeff"

#: Go's unicode.IsSpace: ASCII whitespace plus NEL, NBSP and the Unicode Z categories.
#: (Python's str.isspace also counts \x1c-\x1f, which Go does not.)
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_GO_SPACE_STR = "".join(sorted(_GO_SPACE))
#: The same, for readers outside the parser (a fix must not turn a key into two words).
GO_SPACE = _GO_SPACE
#: BuildKit's reWhitespace.
_RE_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
#: The body of a parser directive once "#" and leading space are cut (Go's \s is [\t\n\f\r ]).
_RE_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*")
_RE_HEREDOC = re.compile(r"(\d*)<<(-?)[\t\n\f\r ]*([^<]*)", re.DOTALL)
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_INSTRUCTIONS = frozenset({"add", "copy", "run"})
#: bufio.MaxScanTokenSize: BuildKit cannot read a longer line.
_MAX_LINE_BYTES = limits.DOCKERFILE_LINE_BYTES
#: The biggest Dockerfile read (the largest real ones are a few hundred KiB).
MAX_DOCKERFILE_BYTES = limits.DOCKERFILE_BYTES

#: Every instruction BuildKit's Dockerfile frontend knows.
KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)


def _go_lstrip(text: str) -> str:
    return text.lstrip(_GO_SPACE_STR)


def _go_strip(text: str) -> str:
    return text.strip(_GO_SPACE_STR)


def _trim_newline(text: str) -> str:
    return text.rstrip("\r\n")


def _is_comment(text: str) -> bool:
    return _go_lstrip(text).startswith("#")


class LineRole(Enum):
    """What a physical line is to the instruction or trivia that owns it."""

    BLANK = "blank"
    COMMENT = "comment"
    DIRECTIVE = "directive"
    CODE = "code"
    HEREDOC = "heredoc"
    TERMINATOR = "heredoc-terminator"


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line, with its line ending (``\\n`` or ``\\r\\n``, or none at EOF)."""

    number: int
    text: str
    role: LineRole

    @property
    def content(self) -> str:
        """The line without its line ending."""
        return _trim_newline(self.text)


@dataclass(frozen=True, slots=True)
class Span:
    """A range in the source: 1-based lines, 1-based columns, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Trivia:
    """A line that is not part of an instruction: blank, a comment or a parser directive."""

    line: Line

    @property
    def lines(self) -> tuple[Line, ...]:
        return (self.line,)

    @property
    def start_line(self) -> int:
        return self.line.number

    @property
    def end_line(self) -> int:
        return self.line.number


@dataclass(frozen=True, slots=True)
class Directive:
    """A parser directive (``# syntax=``, ``# escape=``, ``# check=``) that BuildKit honours."""

    name: str
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document attached to RUN, COPY or ADD."""

    name: str
    file_descriptor: int
    expand: bool
    chomp: bool
    content: str


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: its physical lines and what BuildKit's parser makes of them.

    ``values`` are BuildKit's argument nodes, as its parser produces them: for ENV and LABEL
    the triples (key, value, separator), for HEALTHCHECK the type then the command, for the
    JSON form the decoded strings, and so on.
    """

    keyword: str
    flags: tuple[str, ...]
    args: str
    values: tuple[str, ...]
    json: bool
    original: str
    heredocs: tuple[Heredoc, ...]
    lines: tuple[Line, ...]
    sub: Instruction | None = None

    @property
    def name(self) -> str:
        """The instruction name, upper-cased (``RUN``, ``FROM``...)."""
        return self.keyword.upper()

    @property
    def start_line(self) -> int:
        return self.lines[0].number

    @property
    def end_line(self) -> int:
        return self.lines[-1].number

    @property
    def text(self) -> str:
        """The source text of the instruction, continuation lines and heredocs included."""
        return "".join(line.text for line in self.lines)

    @property
    def effective(self) -> Instruction:
        """The instruction that takes effect: the wrapped one for ONBUILD, else itself."""
        return self.sub if self.sub is not None else self

    @property
    def span(self) -> Span:
        """From the keyword to the end of the last line (line ending excluded)."""
        first = self.lines[0]
        indent = len(first.text) - len(_go_lstrip(first.text))
        last = self.lines[-1]
        return Span(first.number, indent + 1, last.number, len(last.content) + 1)

    def locate(self, needle: str) -> Span | None:
        """Where ``needle`` first appears on one of the instruction's code or heredoc lines."""
        if not needle:
            return None
        for line in self.lines:
            if line.role in (LineRole.COMMENT, LineRole.BLANK):
                continue
            col = line.content.find(needle)
            if col >= 0:
                return Span(line.number, col + 1, line.number, col + 1 + len(needle))
        return None

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """ENV/LABEL key-value pairs (values as written, quotes included)."""
        vals = self.effective.values
        return tuple((vals[i], vals[i + 1]) for i in range(0, len(vals) - 2, 3))

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value`` (last one wins), ``""`` for a bare ``--name``."""
        found: str | None = None
        for flag in self.flags:
            key, sep, value = flag[2:].partition("=")
            if key == name:
                found = value if sep else ""
        return found


Item = Trivia | Instruction


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something BuildKit accepts with a warning (empty continuation lines)."""

    message: str
    line: int


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile. ``render()`` gives back the input exactly."""

    path: str
    items: tuple[Item, ...]
    bom: bool = False
    escape: str = "\\"
    directives: tuple[Directive, ...] = ()
    warnings: tuple[ParseWarning, ...] = ()
    errors: tuple[DockerfileSyntaxError, ...] = ()
    _instructions: tuple[Instruction, ...] = field(default=(), repr=False)

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return self._instructions

    def directive(self, name: str) -> str | None:
        for d in self.directives:
            if d.name == name:
                return d.value
        return None

    def lines(self) -> Iterator[Line]:
        for item in self.items:
            yield from item.lines

    def render(self) -> str:
        """The source text, byte for byte as read (decode undecodable bytes as surrogates)."""
        body = "".join(line.text for line in self.lines())
        return BOM + body if self.bom else body

    def to_bytes(self) -> bytes:
        return self.render().encode("utf-8", "surrogateescape")

    def raise_for_errors(self) -> None:
        if self.errors:
            raise self.errors[0]


# --- reading -------------------------------------------------------------------------


def read_dockerfile(path: Path | str) -> Dockerfile:
    """Read and parse a Dockerfile from disk; a missing or unreadable file is a user error."""
    p = Path(path)
    try:
        data = read_limited(p, MAX_DOCKERFILE_BYTES, pipes=True)
    except FileNotFoundError:
        raise FileMissing(p) from None
    except IsADirectoryError:
        raise FileUnreadable(p, "is a directory") from None
    except OSError as exc:
        raise FileUnreadable(p, exc.strerror or str(exc)) from None
    if len(data) > MAX_DOCKERFILE_BYTES:
        raise FileUnreadable(p, f"larger than {MAX_DOCKERFILE_BYTES >> 20} MiB")
    return parse(data, str(p))


def decode(data: bytes) -> str:
    """Bytes to text without loss: bytes that are not UTF-8 become lone surrogates."""
    return data.decode("utf-8", "surrogateescape")


def _split_lines(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class _Escape:
    """The escape character and the continuation pattern that goes with it."""

    def __init__(self, token: str) -> None:
        self.token = token
        e = re.escape(token)
        self.continuation = re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z", re.DOTALL)

    def trim_continuation(self, text: str) -> tuple[str, bool]:
        """Strip a trailing escape token; the flag says whether the instruction ends here."""
        m = self.continuation.search(text)
        if m is None:
            return text, True
        return text[: m.start()] + (m.group(1) or ""), False


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.bom = text.startswith(BOM)
        self.lines = _split_lines(text[1:] if self.bom else text)
        self.pos = 0
        self.escape = _Escape("\\")
        self.directives_done = False
        self.directives: list[Directive] = []
        self.seen_directives: set[str] = set()
        self.errors: list[DockerfileSyntaxError] = []
        self.warnings: list[ParseWarning] = []

    def error(self, message: str, line: int, end_line: int | None = None) -> None:
        self.errors.append(
            DockerfileSyntaxError(message, SourcePosition(self.path, line), end_line)
        )

    def check_directive(self, token: str, number: int) -> bool:
        """BuildKit's DirectiveParser.ParseLine: directives only lead the file."""
        if self.directives_done:
            return False
        if not token.startswith("#"):
            self.directives_done = True
            return False
        m = _RE_DIRECTIVE.fullmatch(_go_lstrip(token[1:]))
        if m is None or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            self.directives_done = True
            return False
        name, value = m.group(1).lower(), m.group(2)
        if name in self.seen_directives:
            self.error(f"only one {name} parser directive can be used", number)
            return False
        self.seen_directives.add(name)
        if name == "escape":
            if value not in ("`", "\\"):
                self.error(f"invalid escape token '{value}' does not match ` or \\", number)
                return False
            self.escape = _Escape(value)
        self.directives.append(Directive(name, value, number))
        return True

    def parse(self) -> Dockerfile:
        items: list[Item] = []
        instructions: list[Instruction] = []
        lines = self.lines
        while self.pos < len(lines):
            raw = lines[self.pos]
            self.pos += 1
            number = self.pos
            token = _go_lstrip(_trim_newline(raw))
            is_directive = self.check_directive(token, number)
            content = "" if _is_comment(token) else token
            joined, end = self.escape.trim_continuation(content)
            if end and not joined:
                role = (
                    LineRole.DIRECTIVE
                    if is_directive
                    else LineRole.COMMENT
                    if content != token
                    else LineRole.BLANK
                )
                items.append(Trivia(Line(number, raw, role)))
                continue
            inst = self.read_instruction(raw, number, joined, end)
            items.append(inst)
            instructions.append(inst)
        if not instructions and not self.errors:
            self.error("file with no instructions", max(len(lines), 1))
        return Dockerfile(
            path=self.path,
            items=tuple(items),
            bom=self.bom,
            escape=self.escape.token,
            directives=tuple(self.directives),
            warnings=tuple(self.warnings),
            errors=tuple(self.errors),
            _instructions=tuple(instructions),
        )

    def read_instruction(self, raw: str, number: int, first: str, end: bool) -> Instruction:
        own = [Line(number, raw, LineRole.CODE)]
        parts = [first]
        empty_continuation = False
        lines = self.lines
        while not end and self.pos < len(lines):
            raw = lines[self.pos]
            self.pos += 1
            token = _trim_newline(raw)
            self.check_directive(token, self.pos)
            if _is_comment(token):
                own.append(Line(self.pos, raw, LineRole.COMMENT))
                continue
            if not _go_lstrip(token):
                empty_continuation = True
                own.append(Line(self.pos, raw, LineRole.BLANK))
                continue
            token, end = self.escape.trim_continuation(token)
            parts.append(token)
            own.append(Line(self.pos, raw, LineRole.CODE))
        line = "".join(parts)
        if empty_continuation:
            self.warnings.append(
                ParseWarning(f"Empty continuation line found in: {line}", self.pos)
            )
        for own_line in own:
            if len(own_line.text) * 4 > _MAX_LINE_BYTES and (
                len(own_line.text.encode("utf-8", "surrogateescape")) > _MAX_LINE_BYTES
            ):
                self.error(
                    f"dockerfile line greater than max allowed size of {_MAX_LINE_BYTES - 1}",
                    own_line.number,
                )
        try:
            node = _node_from_line(line, self.escape.token)
        except _NodeError as exc:
            self.error(str(exc), number, self.pos)
            keyword = _RE_WHITESPACE.split(_go_strip(line), maxsplit=1)[0]
            return Instruction(keyword, (), "", (), False, line, (), tuple(own))
        heredocs: list[Heredoc] = []
        if _can_contain_heredoc(node) and "<<" in line:
            try:
                found = _heredocs_from_line(line)
            except ExpansionError as exc:
                self.error(str(exc), number, self.pos)
                found = []
            for doc in found:
                body: list[str] = []
                terminated = False
                while self.pos < len(lines):
                    raw = lines[self.pos]
                    self.pos += 1
                    candidate = _trim_newline(raw)
                    if doc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == doc.name:
                        own.append(Line(self.pos, raw, LineRole.TERMINATOR))
                        terminated = True
                        break
                    own.append(Line(self.pos, raw, LineRole.HEREDOC))
                    body.append(raw)
                if not terminated:
                    self.error("unterminated heredoc", number, self.pos)
                heredocs.append(
                    Heredoc(doc.name, doc.file_descriptor, doc.expand, doc.chomp, "".join(body))
                )
        sub = node.sub
        if sub is not None:
            sub = replace(sub, heredocs=tuple(heredocs), lines=tuple(own))
        return Instruction(
            keyword=node.keyword,
            flags=node.flags,
            args=node.args,
            values=node.values,
            json=node.json,
            original=line,
            heredocs=tuple(heredocs),
            lines=tuple(own),
            sub=sub,
        )


def parse(source: bytes | str, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile source; never raises on bad syntax (see ``Dockerfile.errors``)."""
    text = decode(source) if isinstance(source, bytes) else source
    return _Parser(text, path).parse()


# --- one logical line to an instruction (BuildKit's line parsers) ----------------------


class _NodeError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Node:
    keyword: str
    flags: tuple[str, ...]
    args: str
    values: tuple[str, ...]
    json: bool
    sub: Instruction | None


def _node_from_line(line: str, escape: str) -> _Node:
    keyword, flags, args = _split_command(line, escape)
    lower = keyword.lower()
    sub: Instruction | None = None
    is_json = False
    values: tuple[str, ...]
    if lower in ("add", "copy", "volume"):
        values, is_json = _maybe_json_to_list(args)
    elif lower in ("cmd", "entrypoint", "run", "shell"):
        values, is_json = _maybe_json(args)
    elif lower == "arg":
        values = tuple(_parse_words(args, escape))
    elif lower in ("env", "label"):
        values = _name_val(args, "LABEL" if lower == "label" else "ENV", escape)
    elif lower in ("expose", "from"):
        values = _whitespace_delimited(args)
    elif lower == "healthcheck":
        values, is_json = _health_config(args)
    elif lower in ("maintainer", "stopsignal", "user", "workdir"):
        values = (args,) if args else ()
    elif lower == "onbuild":
        values = ()
        if args:
            inner = _node_from_line(args, escape)
            sub = Instruction(
                keyword=inner.keyword,
                flags=inner.flags,
                args=inner.args,
                values=inner.values,
                json=inner.json,
                original=args,
                heredocs=(),
                lines=(),
                sub=None,
            )
            values = ("",)  # BuildKit: one node whose child is the wrapped instruction
            is_json = inner.json
    else:
        values = ("",)  # BuildKit's parseIgnore: one empty node; the instruction is unknown
    return _Node(keyword, flags, args, values, is_json, sub)


def _split_command(line: str, escape: str) -> tuple[str, tuple[str, ...], str]:
    parts = _RE_WHITESPACE.split(_go_strip(line), maxsplit=1)
    if len(parts) < 2:
        return parts[0], (), ""
    args, flags = _extract_builder_flags(parts[1], escape)
    return parts[0], tuple(flags), _go_strip(args)


def _extract_builder_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading ``--flag`` words; returns the rest of the line and the flags (unquoted).

    BuildKit scans this part byte by byte, taking each byte for a character: non-ASCII
    text in a flag comes out as Latin-1 mojibake, and bytes 0x85 and 0xA0 count as spaces.
    keelhaul reproduces that, so that it reads the same flags.
    """
    if not line.isascii():
        as_bytes = line.encode("utf-8", "surrogateescape").decode("latin-1")
        rest, words = _extract_flags(as_bytes, escape)
        return rest.encode("latin-1").decode("utf-8", "surrogateescape"), words
    return _extract_flags(line, escape)


def _extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    # BuildKit's extractBuilderFlags escapes with a backslash whatever `# escape=` says (a
    # backtick-escaped file still reads `--flag=a\ b` as one word): its own hard-coded rune.
    escape = "\\"
    words: list[str] = []
    n = len(line)
    pos = 0
    while True:
        while pos < n and line[pos] in _GO_SPACE:
            pos += 1
        if pos == n:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        word: list[str] = []
        quote = ""
        blank_ok = False
        while pos < n:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == escape:
                    if pos + 1 == n:
                        quote = ""
                    else:
                        pos += 1
                        word.append(line[pos])
                else:
                    word.append(ch)
            elif ch in _GO_SPACE:
                break
            elif ch in "'\"":
                quote = ch
                blank_ok = True
            elif ch == escape:
                if pos + 1 < n:
                    pos += 1
                    word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if pos < n and text == "--":
            return line[pos:], words
        if text != "--" and (blank_ok or text):
            words.append(text)
        if pos == n:
            return "", words


def _parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split on spaces, keep quotes and escapes in the words."""
    words: list[str] = []
    n = len(rest)
    pos = 0
    while True:
        while pos < n and rest[pos] in _GO_SPACE:
            pos += 1
        if pos == n:
            return words
        word: list[str] = []
        quote = ""
        blank_ok = False
        while pos < n:
            ch = rest[pos]
            if quote:
                if ch == quote:
                    quote = ""
                if ch == escape and quote != "'":
                    if pos + 1 == n:
                        quote = ""
                        pos += 1
                        continue
                    pos += 1
                    word.append(ch)
                    ch = rest[pos]
                word.append(ch)
            else:
                if ch in _GO_SPACE:
                    break
                if ch in "'\"":
                    quote = ch
                    blank_ok = True
                if ch == escape:
                    if pos + 1 == n:
                        pos += 1
                        continue
                    word.append(ch)
                    pos += 1
                    ch = rest[pos]
                word.append(ch)
            pos += 1
        if blank_ok or word:
            words.append("".join(word))


def _name_val(rest: str, key: str, escape: str) -> tuple[str, ...]:
    words = _parse_words(rest, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = _RE_WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _NodeError(f"{key} must have two arguments")
        return (parts[0], parts[1], "")
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise _NodeError(
                f"Syntax error - can't find = in {json.dumps(word, ensure_ascii=False)}. "
                "Must be of the form: name=value"
            )
        k, _, v = word.partition("=")
        values += (k, v, "=")
    return tuple(values)


def _whitespace_delimited(rest: str) -> tuple[str, ...]:
    if not rest:
        return ()
    return tuple(_RE_WHITESPACE.split(rest))


def _reject_constant(name: str) -> object:
    raise ValueError(name)


_NOT_JSON = object()


def _parse_json(rest: str) -> tuple[str, ...] | object:
    """A JSON array of strings, or ``_NOT_JSON``; a JSON array of anything else is an error."""
    rest = _go_lstrip(rest)
    if not rest.startswith("["):
        return _NOT_JSON
    try:
        data = json.loads(rest, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _NOT_JSON
    if not isinstance(data, list):
        return _NOT_JSON
    if not all(isinstance(item, str) for item in data):
        raise _NodeError("when using JSON array syntax, arrays must be comprised of strings only")
    return tuple(data)


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if not rest:
        return (), False
    parsed = _parse_json(rest)
    if isinstance(parsed, tuple):
        return parsed, True
    return (rest,), False


def _maybe_json_to_list(rest: str) -> tuple[tuple[str, ...], bool]:
    parsed = _parse_json(rest)
    if isinstance(parsed, tuple):
        return parsed, True
    return _whitespace_delimited(rest), False


def _health_config(rest: str) -> tuple[tuple[str, ...], bool]:
    sep = 0
    while sep < len(rest) and rest[sep] not in _GO_SPACE:
        sep += 1
    if sep == 0:
        return (), False
    nxt = sep
    while nxt < len(rest) and rest[nxt] in _GO_SPACE:
        nxt += 1
    cmd, is_json = _maybe_json(rest[nxt:])
    return (rest[:sep], *cmd), is_json


def _can_contain_heredoc(node: _Node) -> bool:
    if node.keyword.lower() == "onbuild":
        if node.sub is None:
            return False
        return node.sub.keyword.lower() in _HEREDOC_INSTRUCTIONS and not node.sub.json
    return node.keyword.lower() in _HEREDOC_INSTRUCTIONS and not node.json


_HEREDOC_WORDS = Lexer(raw_quotes=True, raw_escapes=True, skip_unset=True)
_HEREDOC_NAME = Lexer(skip_unset=True)
_HEREDOC_NAME_RAW = Lexer(raw_quotes=True, skip_unset=True)


def parse_heredoc_word(word: str) -> Heredoc | None:
    """A heredoc opener (``<<EOF``, ``<<-"EOF"``, ``3<<EOF``) or None."""
    m = _RE_HEREDOC.fullmatch(word)
    if m is None or not m.group(3):
        return None
    rest = m.group(3)
    words = _HEREDOC_NAME.process_words(rest, {})
    if len(words) != 1:
        return None
    raw_words = _HEREDOC_NAME_RAW.process_words(rest, {})
    if len(raw_words) != len(words):
        raise ExpansionError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name = words[0]
    quotes = name.count("'") + name.count('"')
    raw_quotes = raw_words[0].count("'") + raw_words[0].count('"')
    fd = int(m.group(1)) if m.group(1) else 0
    return Heredoc(name, fd, quotes == raw_quotes, m.group(2) == "-", "")


def _heredocs_from_line(line: str) -> list[Heredoc]:
    try:
        words = _HEREDOC_WORDS.process_words(line, {})
    except ExpansionError:
        return []
    docs: list[Heredoc] = []
    for word in words:
        doc = parse_heredoc_word(word)
        if doc is not None:
            docs.append(doc)
    return docs
