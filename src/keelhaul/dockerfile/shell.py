"""Understand the shell in a RUN: turn a POSIX/bash script into a flat list of simple commands.

:func:`parse_shell` takes the text of a shell-form ``RUN`` (line continuations already joined)
or a heredoc body run by ``sh``/``bash`` and returns a :class:`ShellScript`: every simple
command the script would run, in source order, with its words (quotes removed, variables left
as written), leading assignments, wrappers (``sudo``, ``env``, ``xargs``, ``sh -c`` ...), the
operator joining it to the next command, its redirections, and the constructs it sits in
(``if``, ``for``, subshell, command substitution ...).

How it works:

1. A quote-aware lexer of our own splits the script into words, operators and redirections,
   removes quotes, and finds the inside of ``$(...)``, backticks, ``<(...)``, heredoc bodies
   and ``case`` arms.
2. Those parts, and the constructs bashlex cannot parse (``case``, ``$((...))``, ``[[ ]]``,
   ``time``, ``select``, arrays, heredocs, ``&&`` inside ``$(...)``), are masked out of a copy of the
   script with same-length filler, so every offset stays valid.
3. bashlex parses the masked copy and tells which words form which command and in which
   construct. If it refuses, each top-level statement is retried on its own, and only the
   statements it still refuses go to a tolerant parser of our own
   (:attr:`ShellScript.parsed_exactly` is then ``False``).
4. The masked parts are parsed the same way, recursively: substitutions, ``case`` arms,
   ``sh -c '...'`` strings and heredocs fed to a shell.

:func:`parse_shell` never raises, and bounds its work on huge or deeply nested input.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from keelhaul import limits

__all__ = [
    "MAX_SCRIPT_CHARS",
    "SHELLS",
    "ShellScript",
    "SimpleCommand",
    "TextMemo",
    "dollar_form",
    "parse_shell",
]

#: Scripts longer than this are cut; the rest is ignored and the parse is not exact.
MAX_SCRIPT_CHARS = limits.SCRIPT_CHARS
#: bashlex is only given pieces up to this size (it takes ~10 us per character).
_MAX_BASHLEX_CHARS = 65_536
#: At most this many commands are reported for one script.
_MAX_COMMANDS = 20_000
#: Nesting limit for substitutions, ``sh -c`` strings, case arms and heredocs.
_MAX_REGION_DEPTH = 12
#: At most this many nested regions are parsed for one script.
_MAX_REGIONS = 4_000
#: Nesting limit for the lexer's scanners of ``$(``, ``${``, quotes.
_MAX_NEST = 100

#: Programs that run a shell script (``-c STRING``, a heredoc, or stdin).
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "posh", "yash"})

# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command of a script.

    ``argv`` is the command after its wrappers and assignments: ``sudo -u app env X=1 pip
    install x`` has ``argv == ("pip", "install", "x")``, ``wrappers == ("sudo", "env")`` and
    ``env == (("X", "1"),)``. ``argv`` is empty for a bare assignment such as ``X=1`` (its
    assignment is then in ``env``). ``words`` keeps every word as written (quotes removed),
    wrappers included; ``arg_spans`` gives the offsets of each ``argv`` word in the script.

    ``start``/``end`` are offsets into the script given to :func:`parse_shell`, and
    ``raw == script[start:end]``. For a command found inside an ``sh -c '...'`` string they
    cover the command's text inside that (quoted) string.

    ``context`` lists the constructs the command sits in, outermost first: ``"subshell"``
    (``( )``), ``"group"`` (``{ }``), ``"if"``, ``"while"`` (also ``until``), ``"for"`` (also
    ``select``), ``"case"``, ``"condition"`` (the test list of an ``if``/``elif``/``while``/
    ``until``), ``"function"``, ``"substitution"`` (``$( )``, backticks, ``<( )``), and
    ``"heredoc"`` (a heredoc body fed to a shell).
    """

    argv: tuple[str, ...]
    raw: str
    start: int
    end: int
    env: tuple[tuple[str, str], ...] = ()
    wrappers: tuple[str, ...] = ()
    #: Operator joining this command to the next one: "&&", "||", ";", "|", "|&", "&", "\n".
    connector: str | None = None
    #: argv of the next command of the same pipeline when ``connector`` is "|" or "|&".
    pipe_to: tuple[str, ...] = ()
    negated: bool = False
    context: tuple[str, ...] = ()
    #: Redirections as (operator, target): (">", "/dev/null"), ("2>&", "1"), ("<<", "EOF").
    redirects: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()
    arg_spans: tuple[tuple[int, int], ...] = ()
    #: argv of the command this one is nested in: the command holding the substitution, the
    #: ``sh -c`` string or the heredoc it comes from. Empty at top level.
    parent: tuple[str, ...] = ()

    @cached_property
    def name(self) -> str:
        """The program's base name (``/usr/bin/pip3`` -> ``pip3``), or "" for a bare assignment."""
        return _basename(self.argv[0]) if self.argv else ""

    @property
    def args(self) -> tuple[str, ...]:
        return self.argv[1:]

    @property
    def in_subshell(self) -> bool:
        return "subshell" in self.context

    @property
    def in_substitution(self) -> bool:
        return "substitution" in self.context

    @property
    def in_condition(self) -> bool:
        return "condition" in self.context

    @property
    def in_function(self) -> bool:
        return "function" in self.context

    @property
    def background(self) -> bool:
        return self.connector == "&"


@dataclass(frozen=True)
class ShellScript:
    """The simple commands of a script, in source order."""

    commands: tuple[SimpleCommand, ...]
    #: Shell options switched on by ``set`` (``set -eux`` -> {"e", "u", "x", "errexit",
    #: "nounset", "xtrace"}; ``set -o pipefail`` -> {"pipefail"}), as they stand at the end of
    #: the script. ``set`` in subshells, substitutions, functions and ``sh -c`` is ignored.
    set_options: frozenset[str]
    #: False when part of the script had to be read by the tolerant fallback parser (bashlex
    #: refused it), was malformed (unterminated quote or heredoc), or was cut for size.
    parsed_exactly: bool

    def __iter__(self) -> Iterator[SimpleCommand]:
        return iter(self.commands)

    def __len__(self) -> int:
        return len(self.commands)


# --------------------------------------------------------------------------- small helpers


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_WS = frozenset(" \t\r\f\v")
_META = frozenset(" \t\r\f\v\n|&;<>()")
_OPS = ("&&", "||", ";;&", ";;", ";&", "|&", ";", "|", "&", "(", ")")
_REDIRS = ("&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">")
#: Operators that end a command.
_LIST_OPS = frozenset({"&&", "||", ";", "|", "|&", "&", "\n", ";;", ";&", ";;&"})
_CONNECTORS = frozenset({"&&", "||", ";", "|", "|&", "&", "\n"})

_OPENERS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{"})
_CLOSERS = frozenset({"fi", "done", "}", "esac"})
_RESERVED = _OPENERS | _CLOSERS | frozenset({"for", "select", "case", "function", "in"})

_SET_LONG = {
    "a": "allexport",
    "e": "errexit",
    "f": "noglob",
    "h": "hashall",
    "m": "monitor",
    "n": "noexec",
    "u": "nounset",
    "v": "verbose",
    "x": "xtrace",
    "C": "noclobber",
    "b": "notify",
    "B": "braceexpand",
    "H": "histexpand",
    "P": "physical",
    "T": "functrace",
    "E": "errtrace",
}
_SET_SHORT = {v: k for k, v in _SET_LONG.items()}

_WORD, _OP, _REDIR = 0, 1, 2

#: Escapes of $'...' strings.
_ANSI_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f",
    "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip


@dataclass(slots=True)
class _Tok:
    kind: int
    start: int
    end: int
    text: str
    value: str = ""
    vmap: list[int] | None = None
    quoted: bool = False
    #: >= 0: stands for the masked ``case`` number N; -2: a masked ``(( ))`` (dropped).
    placeholder: int = -1
    #: Preceded by the ``time`` keyword (which is removed from the token list).
    timed: bool = False
    cmd: bool = False  # at command position
    target: bool = False  # the word after a redirection operator

    @property
    def bare(self) -> bool:
        return self.kind == _WORD and not self.quoted and self.value == self.text


@dataclass(slots=True)
class _Sub:
    kind: str  # "$(", "`", "<(", ">("
    start: int  # content span, local
    end: int


@dataclass(slots=True)
class _Heredoc:
    op: int  # token index of the << operator
    strip: bool
    body_start: int
    body_end: int
    term_end: int
    delim_quoted: bool


@dataclass(slots=True)
class _Case:
    start: int
    end: int
    bodies: list[tuple[int, int]]  # local spans of the arms


# --------------------------------------------------------------------------- the lexer


class _Lexer:
    """Split a script into tokens with quotes removed, and find its nested parts."""

    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)
        self.toks: list[_Tok] = []
        self.subs: list[_Sub] = []
        self.heredocs: list[_Heredoc] = []
        self.masks: list[tuple[int, int]] = []  # spans to fill with "_" for bashlex
        self.clean = True  # False when a quote, substitution or heredoc is unterminated

    # -- scanners: each takes the index of the construct's first character and returns the
    # index just after it. ``rec`` says whether substitutions found are recorded.

    def _squote(self, i: int) -> int:
        j = self.t.find("'", i + 1)
        if j < 0:
            self.clean = False
            return self.n
        return j + 1

    def _ansi(self, i: int) -> int:  # $'...', i at the quote
        t, n = self.t, self.n
        j = i + 1
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
                continue
            if c == "'":
                return j + 1
            j += 1
        self.clean = False
        return n

    def _dquote(self, i: int, rec: bool, depth: int) -> int:
        t, n = self.t, self.n
        j = i + 1
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
            elif c == '"':
                return j + 1
            elif c == "$":
                j = self._dollar(j, rec, depth + 1)
            elif c == "`":
                j = self._backtick(j, rec)
            else:
                j += 1
        self.clean = False
        return n

    def _backtick(self, i: int, rec: bool) -> int:
        t, n = self.t, self.n
        j = i + 1
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
            elif c == "`":
                if rec:
                    self.subs.append(_Sub("`", i + 1, j))
                return j + 1
            else:
                j += 1
        self.clean = False
        if rec:
            self.subs.append(_Sub("`", i + 1, n))
        return n

    def _dollar(self, i: int, rec: bool, depth: int) -> int:
        t, n = self.t, self.n
        if i + 1 >= n or depth > _MAX_NEST:
            return i + 1
        c = t[i + 1]
        if c == "(":
            if i + 2 < n and t[i + 2] == "(":
                end = self._arith(i + 3, depth)
                if rec:
                    self.masks.append((i, end))
                return end
            end, closed = self._comsub(i + 2, depth)
            if rec:
                if closed and end - 1 == i + 2:  # "$()": bashlex refuses it
                    self.masks.append((i, end))
                else:
                    self.subs.append(_Sub("$(", i + 2, end - 1 if closed else end))
            return end
        if c == "{":
            return self._brace(i + 2, rec, depth)
        if c == "'":
            return self._ansi(i + 1)
        if c == '"':
            return self._dquote(i + 1, rec, depth)
        return i + 1

    def _brace(self, j: int, rec: bool, depth: int) -> int:
        """After ``${``: the index after the matching ``}``."""
        return self._balanced(j, "{", "}", 1, rec, depth)

    def _arith(self, j: int, depth: int) -> int:
        """After ``$((``: the index after the matching ``))``."""
        return self._balanced(j, "(", ")", 2, False, depth)

    def _balanced(self, j: int, opener: str, closer: str, level: int, rec: bool, depth: int) -> int:
        """Scan to where ``level`` open brackets close, skipping quotes and expansions."""
        t, n = self.t, self.n
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
            elif c == "'":
                j = self._squote(j)
            elif c == '"':
                j = self._dquote(j, rec, depth + 1)
            elif c == "$":
                j = self._dollar(j, rec, depth + 1)
            elif c == "`":
                j = self._backtick(j, rec)
            elif c == opener:
                level += 1
                j += 1
            elif c == closer:
                level -= 1
                j += 1
                if level == 0:
                    return j
            else:
                j += 1
        self.clean = False
        return n

    def _comsub(self, j: int, depth: int) -> tuple[int, bool]:
        """After ``$(`` (or ``<(``): the index after the matching ``)``, and whether found."""
        t, n = self.t, self.n
        level = 0
        cases = 0
        word_start = True
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
                word_start = False
                continue
            if c == "'":
                j = self._squote(j)
            elif c == '"':
                j = self._dquote(j, False, depth + 1)
            elif c == "`":
                j = self._backtick(j, False)
            elif c == "$":
                j = self._dollar(j, False, depth + 1)
            elif c == "#" and word_start:
                k = t.find("\n", j)
                j = n if k < 0 else k
            elif c == "(":
                level += 1
                j += 1
            elif c == ")":
                j += 1
                if level > 0:
                    level -= 1
                elif cases == 0:
                    return j, True
            else:
                if word_start and c in "ce":
                    if t.startswith("case", j) and (j + 4 >= n or t[j + 4] in _META):
                        cases += 1
                    elif t.startswith("esac", j) and (j + 4 >= n or t[j + 4] in _META):
                        cases = max(0, cases - 1)
                j += 1
                word_start = c in _META
                continue
            word_start = c in _META
        self.clean = False
        return n, False

    def _parens(self, j: int) -> int:
        """At ``(`` of an array assignment: the index after the matching ``)``."""
        t, n = self.t, self.n
        level = 0
        while j < n:
            c = t[j]
            if c == "\\":
                j += 2
            elif c == "'":
                j = self._squote(j)
            elif c == '"':
                j = self._dquote(j, False, 1)
            elif c == "$":
                j = self._dollar(j, False, 1)
            elif c == "`":
                j = self._backtick(j, False)
            elif c == "(":
                level += 1
                j += 1
            elif c == ")":
                level -= 1
                j += 1
                if level == 0:
                    return j
            else:
                j += 1
        self.clean = False
        return n

    # -- words

    def _word(self, i: int) -> _Tok:
        t, n = self.t, self.n
        val: list[str] = []
        vmap: list[int] = []
        quoted = False
        j = i
        while j < n:
            c = t[j]
            if c in _META:
                if c == "(" and j > i and _ASSIGN_RE.fullmatch(t, i, j):
                    end = self._parens(j)
                    self.masks.append((j, end))
                    val.extend(t[j:end])
                    vmap.extend(range(j, end))
                    j = end
                    continue
                break
            if c == "\\":
                if j + 1 < n:
                    if t[j + 1] != "\n":
                        val.append(t[j + 1])
                        vmap.append(j + 1)
                    quoted = True
                    j += 2
                else:
                    val.append(c)
                    vmap.append(j)
                    j += 1
            elif c == "'":
                end = self._squote(j)
                stop = end - 1 if end <= n and t[end - 1 : end] == "'" and end - 1 > j else end
                val.extend(t[j + 1 : stop])
                vmap.extend(range(j + 1, stop))
                quoted = True
                j = end
            elif c == '"':
                j = self._dq_value(j, val, vmap)
                quoted = True
            elif c == "$" and j + 1 < n and t[j + 1] == "'":
                j = self._ansi_value(j + 1, val, vmap)
                quoted = True
            elif c == "$" and j + 1 < n and t[j + 1] == '"':
                j = self._dq_value(j + 1, val, vmap)
                quoted = True
            elif c == "$":
                j = self._keep(j, self._dollar(j, True, 0), val, vmap)
            elif c == "`":
                j = self._keep(j, self._backtick(j, True), val, vmap)
            else:
                val.append(c)
                vmap.append(j)
                j += 1
        return _Tok(_WORD, i, j, t[i:j], "".join(val), vmap, quoted)

    def _keep(self, j: int, end: int, val: list[str], vmap: list[int]) -> int:
        """Keep ``t[j:end]`` (an expansion) as written in a word's value; return ``end``."""
        val.extend(self.t[j:end])
        vmap.extend(range(j, end))
        return end

    def _dq_value(self, i: int, val: list[str], vmap: list[int]) -> int:
        t, n = self.t, self.n
        j = i + 1
        while j < n:
            c = t[j]
            if c == '"':
                return j + 1
            if c == "\\" and j + 1 < n and t[j + 1] in '$`"\\\n':
                if t[j + 1] != "\n":
                    val.append(t[j + 1])
                    vmap.append(j + 1)
                j += 2
            elif c == "$":
                j = self._keep(j, self._dollar(j, True, 1), val, vmap)
            elif c == "`":
                j = self._keep(j, self._backtick(j, True), val, vmap)
            else:
                val.append(c)
                vmap.append(j)
                j += 1
        self.clean = False
        return n

    def _ansi_value(self, i: int, val: list[str], vmap: list[int]) -> int:
        t, n = self.t, self.n
        j = i + 1
        while j < n:
            c = t[j]
            if c == "'":
                return j + 1
            if c == "\\" and j + 1 < n:
                val.append(_ANSI_ESCAPES.get(t[j + 1], "\\" + t[j + 1]))
                vmap.extend([j] * (len(val[-1])))
                j += 2
            else:
                val.append(c)
                vmap.append(j)
                j += 1
        self.clean = False
        return n

    def scan_expanding(self, i: int) -> None:
        """Record the substitutions of an unquoted heredoc body starting at ``i``."""
        t, n = self.t, self.n
        while i < n:
            c = t[i]
            if c == "\\":
                i += 2
            elif c == "$":
                i = self._dollar(i, True, 1)
            elif c == "`":
                i = self._backtick(i, True)
            else:
                i += 1

    # -- main loop

    def run(self) -> _Lexer:
        t, n = self.t, self.n
        toks = self.toks
        pending: list[tuple[int, str, bool, bool]] = []  # (op index, delimiter, strip, quoted)
        i = 0
        while i < n:
            c = t[i]
            if c in _WS:
                i += 1
                continue
            if c == "\\" and i + 1 < n and t[i + 1] == "\n":
                i += 2
                continue
            if c == "\n":
                toks.append(_Tok(_OP, i, i + 1, "\n"))
                i += 1
                if pending:
                    i = self._bodies(i, pending)
                    pending = []
                continue
            if c == "#":
                k = t.find("\n", i)
                i = n if k < 0 else k
                continue
            if c in "<>" and i + 1 < n and t[i + 1] == "(":
                end, closed = self._comsub(i + 2, 0)
                self.subs.append(_Sub(c + "(", i + 2, end - 1 if closed else end))
                toks.append(_Tok(_WORD, i, end, t[i:end], t[i:end], list(range(i, end))))
                i = end
                continue
            j = i
            while j < n and j - i < 10 and t[j].isdigit():
                j += 1
            if j > i and j < n and t[j] in "<>" and not t.startswith("(", j + 1):
                start = i
                i = j
                c = t[i]
            else:
                start = i
            op = None
            if c in "<>&":
                for r in _REDIRS:
                    if t.startswith(r, i):
                        op = r
                        break
            if op is not None:
                toks.append(_Tok(_REDIR, start, i + len(op), t[start : i + len(op)], op))
                i += len(op)
                if op in ("<<", "<<-"):
                    i = self._heredoc_delim(i, op == "<<-", pending)
                continue
            if start == i and c in "|&;()":
                for o in _OPS:
                    if t.startswith(o, i):
                        toks.append(_Tok(_OP, i, i + len(o), o))
                        i += len(o)
                        break
                continue
            tok = self._word(start)
            if tok.end == start:  # cannot happen, but never loop forever
                tok = _Tok(_WORD, start, start + 1, t[start], t[start], [start])
            toks.append(tok)
            i = tok.end
        if pending:
            self.clean = False
            for op_index, _d, strip, quoted in pending:
                self.heredocs.append(_Heredoc(op_index, strip, n, n, n, quoted))
        return self

    def _heredoc_delim(
        self, i: int, strip: bool, pending: list[tuple[int, str, bool, bool]]
    ) -> int:
        t, n = self.t, self.n
        op_index = len(self.toks) - 1
        while i < n and t[i] in _WS:
            i += 1
        if i >= n or t[i] in _META:
            return i
        tok = self._word(i)
        tok.target = True
        self.toks.append(tok)
        pending.append((op_index, tok.value, strip, tok.quoted))
        return tok.end

    def _bodies(self, i: int, pending: list[tuple[int, str, bool, bool]]) -> int:
        """Consume the heredoc bodies that start at ``i``; return the index after them."""
        t, n = self.t, self.n
        for op_index, delim, strip, quoted in pending:
            body_start = i
            while True:
                if i >= n:
                    self.clean = False
                    self.heredocs.append(_Heredoc(op_index, strip, body_start, n, n, quoted))
                    break
                k = t.find("\n", i)
                line_end = n if k < 0 else k
                line = t[i:line_end]
                if (line.lstrip("\t") if strip else line) == delim:
                    self.heredocs.append(_Heredoc(op_index, strip, body_start, i, line_end, quoted))
                    i = line_end
                    break
                i = line_end + 1
            # the newline that ends the terminator line is left for the main loop
            if i < n and t[i] == "\n" and op_index != pending[-1][0]:
                i += 1
        return i


# --------------------------------------------------------------------------- preparation


def _mark(toks: list[_Tok]) -> None:
    """Mark which tokens are at command position and which are redirection targets."""
    cmd = True
    after_redir = False
    for tk in toks:
        if tk.kind == _OP:
            cmd = True
            after_redir = False
            tk.cmd = False
            continue
        if tk.kind == _REDIR:
            tk.cmd = False
            after_redir = True
            continue
        if after_redir:
            tk.target = True
            tk.cmd = False
            after_redir = False
            continue
        tk.cmd = cmd
        if cmd and tk.placeholder != -1:
            cmd = False
        elif cmd and ((tk.bare and tk.text in _OPENERS | _CLOSERS) or _ASSIGN_RE.match(tk.text)):
            cmd = True
        else:
            cmd = False


def _find_case(toks: list[_Tok], k: int) -> tuple[int, list[tuple[int, int]], int] | None:
    """Parse ``case`` starting at token k: (index after esac, arm token ranges, subject end).

    None when there is no ``in`` before the next operator: that is no case statement.
    """
    n = len(toks)
    j = k + 1
    while j < n and not (toks[j].bare and toks[j].text == "in"):
        if toks[j].kind == _OP and toks[j].text != "\n":
            return None
        j += 1
    if j >= n:
        return None
    subject_end = j
    j += 1
    arms: list[tuple[int, int]] = []
    while j < n:
        tk = toks[j]
        if tk.kind == _OP and tk.text in ("\n", ";"):
            j += 1
            continue
        if tk.bare and tk.text == "esac":
            return j + 1, arms, subject_end
        if tk.kind == _OP and tk.text == "(":
            j += 1
        while j < n and not (toks[j].kind == _OP and toks[j].text == ")"):
            j += 1
        j += 1
        first = j
        nested = 0
        cmd = True
        while j < n:
            tk = toks[j]
            if cmd and tk.bare:
                if tk.text == "case":
                    nested += 1
                elif tk.text == "esac":
                    if nested == 0:
                        break
                    nested -= 1
            if tk.kind == _OP and tk.text in (";;", ";&", ";;&") and nested == 0:
                break
            if tk.kind == _OP:
                cmd = True
            elif tk.kind == _WORD:
                cmd = cmd and tk.bare and tk.text in _OPENERS | _CLOSERS
            j += 1
        if j > first:
            arms.append((first, j))
        if j < n and toks[j].kind == _OP:
            j += 1
    return n, arms, subject_end


@dataclass(slots=True)
class _Prepared:
    toks: list[_Tok]
    masked: str
    cases: list[_Case]
    subs: list[_Sub]


def _prepare(lx: _Lexer) -> _Prepared:
    """Adjust the token list and build the masked text given to bashlex."""
    text = lx.t
    masked = list(text)
    for i, c in enumerate(masked):
        if c == "\x00":
            masked[i] = "_"
    for a, b in lx.masks:
        for i in range(a, min(b, len(masked))):
            if masked[i] != "\n":
                masked[i] = "_"
    for s in lx.subs:
        if s.end > s.start:
            masked[s.start] = ":"
            for i in range(s.start + 1, s.end):
                masked[i] = " "
    toks = lx.toks
    for h in lx.heredocs:
        # "<<-'EOF'" becomes "<  _____": a redirection from a file, same length
        op = toks[h.op]
        for i in range(op.start, op.end):
            if masked[i] == "<":
                masked[i] = " "
        masked[op.end - 1] = "<"
        if h.op + 1 < len(toks) and toks[h.op + 1].target:
            delim = toks[h.op + 1]
            for i in range(delim.start, delim.end):
                masked[i] = "_"
        for i in range(h.body_start, h.term_end):
            if masked[i] != "\n":
                masked[i] = " "

    _mark(toks)
    out: list[_Tok] = []
    cases: list[_Case] = []
    skip_subs: list[tuple[int, int]] = []
    timed = False
    k = 0
    n = len(toks)
    while k < n:
        tk = toks[k]
        if tk.cmd and tk.bare and tk.text == "time":
            for i in range(tk.start, tk.end):
                masked[i] = " "
            timed = True
            k += 1
            if k < n and toks[k].bare and toks[k].text == "-p":
                for i in range(toks[k].start, toks[k].end):
                    masked[i] = " "
                k += 1
            continue
        if tk.cmd and tk.bare and tk.text == "select":
            # bashlex lacks ``select``; its grammar is the one of ``for``
            masked[tk.start : tk.end] = list("for   ")
        found_case = _find_case(toks, k) if tk.cmd and tk.bare and tk.text == "case" else None
        if found_case is not None:
            end, arms, subject_end = found_case
            start = tk.start
            stop = toks[end - 1].end
            bodies = [(toks[a].start, toks[b - 1].end) for a, b in arms]
            masked[start] = ":"
            for i in range(start + 1, stop):
                masked[i] = " "
            after_subject = toks[subject_end].start if subject_end < n else stop
            skip_subs.append((after_subject, stop))
            out.append(_Tok(_WORD, start, start + 1, ":", ":", [start], placeholder=len(cases)))
            cases.append(_Case(start, stop, bodies))
            k = end
            continue
        if tk.cmd and tk.bare and tk.text == "[[":
            j = k + 1
            while j < n and not (toks[j].kind == _WORD and toks[j].text == "]]"):
                j += 1
            j = min(j, n - 1)
            for m in range(k, j + 1):
                t2 = toks[m]
                if t2.kind != _WORD:
                    t2.kind = _WORD
                    t2.value = t2.text
                    t2.vmap = list(range(t2.start, t2.end))
                t2.target = False
                for i in range(t2.start, t2.end):
                    if masked[i] not in " \t\n":
                        masked[i] = "_"
                out.append(t2)
            if timed:
                tk.timed = True
                timed = False
            k = j + 1
            continue
        if (
            tk.cmd is False
            and tk.kind == _OP
            and tk.text == "("
            and k + 1 < n
            and toks[k + 1].kind == _OP
            and toks[k + 1].text == "("
            and toks[k + 1].start == tk.end
            and (not out or out[-1].kind == _OP or (out[-1].bare and out[-1].text in _OPENERS))
        ):
            # (( arithmetic )) as a command: mask it and drop it
            end = lx._arith(tk.start + 2, 0)
            masked[tk.start] = ":"
            for i in range(tk.start + 1, min(end, len(masked))):
                masked[i] = " "
            out.append(_Tok(_WORD, tk.start, tk.start + 1, ":", ":", [tk.start], placeholder=-2))
            while k < n and toks[k].start < end:
                k += 1
            continue
        if timed and tk.kind != _OP:
            tk.timed = True
            timed = False
        out.append(tk)
        k += 1
    _mark(out)
    subs = lx.subs
    if skip_subs:
        subs = [s for s in subs if not any(a <= s.start < b for a, b in skip_subs)]
    return _Prepared(out, "".join(masked), cases, subs)


# --------------------------------------------------------------------------- structure

#: (first token index, end token index, context, negated)
_Found = tuple[int, int, tuple[str, ...], bool]


def _walk(
    node: Any, ctx: tuple[str, ...], neg: bool, out: list[tuple[int, int, tuple[str, ...], bool]]
) -> None:
    """Collect (start, end, context, negated) of the command nodes of a bashlex tree."""
    stack: list[tuple[Any, tuple[str, ...], bool]] = [(node, ctx, neg)]
    while stack:
        nd, cx, ng = stack.pop()
        kind = getattr(nd, "kind", "")
        if kind == "command":
            out.append((nd.pos[0], nd.pos[1], cx, ng))
            continue
        if kind == "pipeline":
            parts = list(nd.parts)
            if any(p.kind == "reservedword" and p.word == "!" for p in parts):
                ng = True
            stack.extend((p, cx, ng) for p in reversed(parts))
            continue
        if kind == "list":
            stack.extend((p, cx, ng) for p in reversed(list(nd.parts)))
            continue
        if kind == "compound":
            members = list(nd.list)
            first = next((p for p in members if p.kind == "reservedword"), None)
            if first is not None and first.word == "(":
                cx = (*cx, "subshell")
            elif first is not None and first.word == "{":
                cx = (*cx, "group")
            stack.extend((p, cx, ng) for p in reversed(members))
            continue
        if kind in ("if", "while", "until", "for"):
            label = {"if": "if", "while": "while", "until": "while", "for": "for"}[kind]
            cur = (*cx, label)
            items: list[tuple[Any, tuple[str, ...], bool]] = []
            for p in nd.parts:
                if p.kind == "reservedword":
                    if p.word in ("if", "elif", "while", "until"):
                        cur = (*cx, label, "condition")
                    elif p.word in ("then", "else", "do"):
                        cur = (*cx, label)
                    continue
                if kind == "for" and p.kind == "word":
                    continue
                items.append((p, cur, ng))
            stack.extend(reversed(items))
            continue
        if kind == "function":
            stack.extend(
                (p, (*cx, "function"), ng) for p in reversed(list(nd.parts)) if p.kind != "word"
            )
            continue


_FAST_PATH = True
#: Words that make a script more than a list of simple commands (bashlex must see them).
_NOT_PLAIN = _RESERVED | frozenset({"coproc", "time", "[[", "]]", "((", "))"})


def _is_plain_list(toks: list[_Tok]) -> bool:
    """No subshell, group, compound keyword or masked construct: a plain list of commands."""
    for tk in toks:
        if tk.placeholder != -1:
            return False
        if tk.kind == _OP and tk.text in ("(", ")"):
            return False
        if tk.kind == _WORD and tk.bare and tk.text in _NOT_PLAIN:
            return False
    return True


def _tolerant(
    toks: list[_Tok], lo: int, hi: int, base_ctx: tuple[str, ...]
) -> list[tuple[list[int], tuple[str, ...], bool]]:
    """Group tokens[lo:hi] into commands without bashlex, tracking compound constructs."""
    out: list[tuple[list[int], tuple[str, ...], bool]] = []
    stack: list[str] = []
    cur: list[int] = []
    neg = False
    pending_function = False

    def flush() -> None:
        nonlocal cur
        if cur:
            out.append((cur, (*base_ctx, *stack), neg))
            cur = []

    def pop_to(*labels: str) -> None:
        for idx in range(len(stack) - 1, -1, -1):
            if stack[idx] in labels:
                del stack[idx:]
                return

    i = lo
    while i < hi:
        tk = toks[i]
        if tk.kind == _OP:
            if tk.text == "(" and not cur:
                stack.append("function" if pending_function else "subshell")
                pending_function = False
            elif tk.text == "(" and len(cur) == 1 and i + 1 < hi and toks[i + 1].text == ")":
                cur = []  # name() -- a function definition
                pending_function = True
                i += 2
                continue
            elif tk.text == ")":
                flush()
                pop_to("subshell", "function")
            elif tk.text in _LIST_OPS:
                flush()
                if tk.text not in ("|", "|&"):
                    neg = False
            i += 1
            continue
        if tk.kind == _REDIR:
            cur.append(i)
            if i + 1 < hi and toks[i + 1].kind == _WORD and toks[i + 1].target:
                cur.append(i + 1)
                i += 1
            i += 1
            continue
        if not cur and tk.bare and tk.text in _RESERVED and tk.placeholder == -1:
            w = tk.text
            if w == "if":
                stack += ["if", "condition"]
            elif w in ("then", "else"):
                if stack and stack[-1] == "condition":
                    stack.pop()
                if w == "else" and (not stack or stack[-1] != "if"):
                    stack.append("if")
            elif w == "elif":
                if stack and stack[-1] == "if":
                    stack.append("condition")
            elif w == "fi":
                pop_to("if")
            elif w in ("while", "until"):
                stack += ["while", "condition"]
            elif w == "do":
                if stack and stack[-1] == "condition":
                    stack.pop()
            elif w == "done":
                pop_to("while", "for")
            elif w in ("for", "select"):
                j = i + 1
                while j < hi and not (
                    toks[j].bare and toks[j].text == "do" and toks[j - 1].kind == _OP
                ):
                    j += 1
                stack.append("for")
                i = j + 1
                continue
            elif w == "{":
                stack.append("function" if pending_function else "group")
                pending_function = False
            elif w == "}":
                pop_to("group", "function")
            elif w == "!":
                neg = True
            elif w == "function":
                pending_function = True
                i += 2
                if i + 1 < hi and toks[i].text == "(" and toks[i + 1].text == ")":
                    i += 2
                continue
            elif w in ("in", "esac"):
                pass  # stray keyword of a broken construct
            elif w == "case":
                j = i + 1
                while j < hi and not (toks[j].bare and toks[j].text == "in"):
                    j += 1
                if j < hi:
                    i = j + 1
                    continue
            i += 1
            continue
        cur.append(i)
        i += 1
    flush()
    return out


def _split_statements(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Token ranges of the top-level statements (split at list operators and pipes)."""
    ranges: list[tuple[int, int]] = []
    depth = 0
    lo = 0
    for i, tk in enumerate(toks):
        if tk.kind == _OP:
            if tk.text == "(":
                depth += 1
            elif tk.text == ")":
                depth = max(0, depth - 1)
            elif depth == 0 and tk.text in _LIST_OPS:
                if i > lo:
                    ranges.append((lo, i))
                lo = i + 1
        elif tk.cmd and tk.bare:
            if tk.text in ("{", "if", "for", "select", "while", "until", "case"):
                depth += 1
            elif tk.text in _CLOSERS:
                depth = max(0, depth - 1)
    if lo < len(toks):
        ranges.append((lo, len(toks)))
    return ranges


# --------------------------------------------------------------------------- commands


@dataclass(slots=True)
class _PosMap:
    """Maps offsets in a region's text to offsets in the script."""

    base: int
    arr: list[int] | None = None

    def __call__(self, i: int) -> int:
        if self.arr is None:
            return self.base + i
        if not self.arr:
            return self.base
        if i < len(self.arr):
            return self.arr[i]
        return self.arr[-1] + 1

    def end(self, i: int) -> int:
        """Map an exclusive end offset."""
        if i <= 0:
            return self(0)
        return self(i - 1) + 1

    def slice(self, a: int, b: int) -> _PosMap:
        if self.arr is None:
            return _PosMap(self.base + a)
        return _PosMap(self(a), self.arr[a:b])

    def through(self, vmap: list[int]) -> _PosMap:
        return _PosMap(self(vmap[0]) if vmap else self.base, [self(k) for k in vmap])


#: Wrappers: name -> (options taking a value, positional arguments before the command,
#: options meaning "not running a command", whether NAME=VALUE words are assignments).
_WRAPPERS: dict[str, tuple[frozenset[str], int, frozenset[str], bool]] = {
    "sudo": (
        frozenset(
            [
                "-u",
                "-g",
                "-p",
                "-C",
                "-D",
                "-r",
                "-t",
                "-U",
                "-T",
                "-h",
                "-R",
                "--user",
                "--group",
                "--prompt",
                "--close-from",
                "--chdir",
                "--role",
                "--type",
                "--other-user",
                "--host",
                "--chroot",
                "--command-timeout",
            ]
        ),
        0,
        frozenset(
            [
                "-l",
                "-v",
                "-k",
                "-K",
                "-e",
                "-V",
                "-ll",
                "--list",
                "--validate",
                "--version",
                "--edit",
                "--reset-timestamp",
                "--remove-timestamp",
            ]
        ),
        True,
    ),
    "doas": (frozenset({"-u", "-C"}), 0, frozenset(), False),
    "env": (
        frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
        0,
        frozenset(),
        True,
    ),
    "xargs": (
        frozenset(
            [
                "-a",
                "-d",
                "-E",
                "-I",
                "-L",
                "-n",
                "-P",
                "-s",
                "--arg-file",
                "--delimiter",
                "--eof",
                "--replace",
                "--max-lines",
                "--max-args",
                "--max-procs",
                "--max-chars",
                "--process-slot-var",
            ]
        ),
        0,
        frozenset({"--help", "--version"}),
        False,
    ),
    "nohup": (frozenset(), 0, frozenset({"--help", "--version"}), False),
    "setsid": (frozenset(), 0, frozenset({"--help", "--version"}), False),
    "eatmydata": (frozenset(), 0, frozenset(), False),
    "fakeroot": (frozenset({"-l", "-s", "-i", "--lib", "--faked"}), 0, frozenset(), False),
    "time": (frozenset({"-f", "--format", "-o", "--output"}), 0, frozenset(), False),
    "exec": (frozenset({"-a"}), 0, frozenset(), False),
    "command": (frozenset(), 0, frozenset({"-v", "-V"}), False),
    "builtin": (frozenset(), 0, frozenset(), False),
    "nice": (frozenset({"-n", "--adjustment"}), 0, frozenset({"--help", "--version"}), False),
    "ionice": (
        frozenset({"-c", "-n", "--class", "--classdata", "-p", "--pid"}),
        0,
        frozenset(),
        False,
    ),
    "timeout": (
        frozenset({"-s", "--signal", "-k", "--kill-after"}),
        1,
        frozenset({"--help", "--version"}),
        False,
    ),
    "stdbuf": (
        frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}),
        0,
        frozenset(),
        False,
    ),
    "chroot": (frozenset({"--userspec", "--groups"}), 1, frozenset({"--help", "--version"}), False),
    "runuser": (
        frozenset({"-u", "--user", "-g", "--group", "-G", "--supp-group"}),
        0,
        frozenset({"-c", "--command", "-l", "--login"}),
        False,
    ),
    "gosu": (frozenset(), 1, frozenset({"--help", "--version"}), False),
    "su-exec": (frozenset(), 1, frozenset(), False),
    "tini": (frozenset({"-p", "-e"}), 0, frozenset({"--version", "-h"}), False),
    "dumb-init": (frozenset(), 0, frozenset({"--help", "--version"}), False),
    "busybox": (frozenset(), 0, frozenset({"--help", "--list", "--install"}), False),
}


def _strip_wrappers(words: list[str]) -> tuple[list[str], list[tuple[str, str]], int]:
    """Peel wrappers off the front of ``words``: (wrapper names, assignments, command index)."""
    wrappers: list[str] = []
    env: list[tuple[str, str]] = []
    k = 0
    n = len(words)
    for _ in range(16):
        if k >= n:
            break
        name = _basename(words[k])
        spec = _WRAPPERS.get(name)
        if spec is None:
            break
        with_value, positional, stoppers, assigns = spec
        j = k + 1
        new_env: list[tuple[str, str]] = []
        ok = True
        while j < n:
            w = words[j]
            if w == "--":
                j += 1
                break
            if w.startswith("-") and len(w) > 1:
                if w in stoppers or w.split("=", 1)[0] in stoppers:
                    ok = False
                    break
                j += 2 if w in with_value else 1
                continue
            if assigns and _ASSIGN_RE.match(w):
                nm, _, val = w.partition("=")
                new_env.append((nm.rstrip("+"), val))
                j += 1
                continue
            break
        while assigns and j < n and _ASSIGN_RE.match(words[j]):
            nm, _, val = words[j].partition("=")
            new_env.append((nm.rstrip("+"), val))
            j += 1
        j += positional
        if not ok or j >= n:
            break
        if name == "busybox" and words[j].startswith("-"):
            break
        wrappers.append(name)
        env.extend(new_env)
        k = j
    return wrappers, env, k


def _shell_script_arg(argv: list[str]) -> tuple[int, bool]:
    """For a shell's argv: (index of the -c script argument or -1, reads its script from stdin)."""
    j = 1
    n = len(argv)
    has_c = False
    while j < n:
        w = argv[j]
        if w in ("--", "-"):
            j += 1
            break
        if w.startswith("--"):
            j += 2 if w in ("--rcfile", "--init-file") else 1
            continue
        if len(w) > 1 and w[0] in "-+":
            letters = w[1:]
            if "c" in letters:
                has_c = True
            j += 1
            j += letters.count("o") + letters.count("O")
            continue
        break
    if has_c:
        return (j if j < n else -1), False
    return -1, j >= n or "-s" in argv[1:j]


# --------------------------------------------------------------------------- the parser


@dataclass(slots=True)
class _Region:
    text: str
    pmap: _PosMap
    ctx: tuple[str, ...]
    wrappers: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    parent: tuple[str, ...]
    depth: int


@dataclass(slots=True)
class _Built:
    cmd: SimpleCommand
    first: int  # token indices
    last: int
    shell_c: _Tok | None  # the -c script word, when the command runs ``sh -c``
    stdin_shell: bool  # a shell reading its script from stdin


class _Parser:
    def __init__(self, script: str) -> None:
        self.script = script
        self.commands: list[SimpleCommand] = []
        self.exact = True
        self.regions = 0

    def parse_region(self, reg: _Region) -> None:
        self.regions += 1
        if self.regions > _MAX_REGIONS or reg.depth > _MAX_REGION_DEPTH:
            self.exact = False
            return
        if not reg.text.strip():
            return
        lx = _Lexer(reg.text).run()
        if not lx.clean:
            self.exact = False
        prep = _prepare(lx)
        toks = prep.toks
        if not toks:
            return
        found, exact = self._structure(prep, reg.ctx)
        if not exact:
            self.exact = False

        built: list[_Built] = []
        case_ctx: dict[int, tuple[str, ...]] = {}
        for idx, ctx, neg in found:
            idx = [i for i in idx if 0 <= i < len(toks)]
            if not idx:
                continue
            ph = [toks[i].placeholder for i in idx if toks[i].placeholder != -1]
            if ph:
                if ph[0] >= 0:
                    case_ctx[ph[0]] = ctx
                continue
            b = self._build(reg, toks, idx, ctx, neg)
            if b is not None:
                built.append(b)
        built.sort(key=lambda b: b.first)

        # pipe_to: the next command of the same region
        for n_, b in enumerate(built):
            if b.cmd.connector in ("|", "|&") and n_ + 1 < len(built):
                nxt = built[n_ + 1].cmd
                b.cmd = _replace(b.cmd, pipe_to=nxt.argv)

        # the commands of one region do not nest: find the one holding an offset by bisection
        span_starts = [toks[b.first].start for b in built]

        def holder(pos: int) -> _Built | None:
            k = bisect_right(span_starts, pos) - 1
            if k >= 0 and pos < toks[built[k].last].end:
                return built[k]
            return None

        # sh -c strings replace the command that runs them
        keep: list[_Built] = []
        nested: list[_Region] = []
        for b in built:
            if b.shell_c is not None and reg.depth < _MAX_REGION_DEPTH:
                w = b.shell_c
                name = _basename(b.cmd.argv[0])
                if w.value.strip() and w.vmap:
                    nested.append(
                        _Region(
                            w.value,
                            reg.pmap.through(w.vmap),
                            b.cmd.context,
                            (*b.cmd.wrappers, f"{name} -c"),
                            b.cmd.env,
                            b.cmd.argv,
                            reg.depth + 1,
                        )
                    )
                    continue
            keep.append(b)
        for b in keep:
            self._emit(b.cmd)

        # substitutions (those inside an ``sh -c`` string are found again in its region)
        inner_spans = [
            (b.shell_c.start, b.shell_c.end)
            for b in built
            if b.shell_c is not None and b not in keep
        ]
        for s in prep.subs:
            if any(a <= s.start < e for a, e in inner_spans):
                continue
            h = holder(s.start)
            ctx = (h.cmd.context if h else reg.ctx) + ("substitution",)
            text = reg.text[s.start : s.end]
            pmap = reg.pmap.slice(s.start, s.end)
            if s.kind == "`":
                text, vm = _unbacktick(text)
                pmap = pmap.through(vm)
            nested.append(
                _Region(
                    text,
                    pmap,
                    ctx,
                    reg.wrappers,
                    reg.env,
                    h.cmd.argv if h else reg.parent,
                    reg.depth + 1,
                )
            )
        # case arms
        for num, case in enumerate(prep.cases):
            ctx = (*case_ctx.get(num, reg.ctx), "case")
            for a, b_ in case.bodies:
                nested.append(
                    _Region(
                        reg.text[a:b_],
                        reg.pmap.slice(a, b_),
                        ctx,
                        reg.wrappers,
                        reg.env,
                        reg.parent,
                        reg.depth + 1,
                    )
                )
        # heredocs fed to a shell
        for hd in lx.heredocs:
            op_start = lx.toks[hd.op].start
            h = holder(op_start)
            if h is None or hd.body_end <= hd.body_start:
                continue
            shell = ""
            if h.stdin_shell:
                shell = h.cmd.name
            elif h.cmd.name == "cat" and len(h.cmd.argv) == 1 and h.cmd.pipe_to:
                reader = h.cmd.pipe_to
                if _basename(reader[0]) in SHELLS and _shell_script_arg(list(reader))[1]:
                    shell = _basename(reader[0])
            body_end = hd.body_end
            if body_end > hd.body_start and reg.text[body_end - 1] == "\n":
                body_end -= 1
            if not shell:
                if not hd.delim_quoted:
                    # an unquoted heredoc's body is expanded: its substitutions run
                    blx = _Lexer(reg.text[:body_end])
                    blx.scan_expanding(hd.body_start)
                    for s in blx.subs:
                        text = reg.text[s.start : s.end]
                        pmap = reg.pmap.slice(s.start, s.end)
                        if s.kind == "`":
                            text, vm = _unbacktick(text)
                            pmap = pmap.through(vm)
                        nested.append(
                            _Region(
                                text,
                                pmap,
                                (*h.cmd.context, "heredoc", "substitution"),
                                reg.wrappers,
                                reg.env,
                                h.cmd.argv,
                                reg.depth + 1,
                            )
                        )
                continue
            body = reg.text[hd.body_start : body_end]
            nested.append(
                _Region(
                    body,
                    reg.pmap.slice(hd.body_start, body_end),
                    (*h.cmd.context, "heredoc"),
                    (*h.cmd.wrappers, f"{shell} <<"),
                    h.cmd.env,
                    h.cmd.argv,
                    reg.depth + 1,
                )
            )
        for r in nested:
            if len(self.commands) >= _MAX_COMMANDS:
                self.exact = False
                break
            self.parse_region(r)

    def _emit(self, cmd: SimpleCommand) -> None:
        if len(self.commands) >= _MAX_COMMANDS:
            self.exact = False
            return
        self.commands.append(cmd)

    def _structure(
        self, prep: _Prepared, ctx: tuple[str, ...]
    ) -> tuple[list[tuple[list[int], tuple[str, ...], bool]], bool]:
        toks = prep.toks
        masked = prep.masked
        starts = [t.start for t in toks]
        ends = [t.end for t in toks]

        def from_nodes(nodes: Any, offset: int) -> list[tuple[list[int], tuple[str, ...], bool]]:
            spans: list[tuple[int, int, tuple[str, ...], bool]] = []
            for nd in nodes:
                _walk(nd, ctx, False, spans)
            res: list[tuple[list[int], tuple[str, ...], bool]] = []
            for s, e, cx, ng in spans:
                lo = bisect_left(starts, s + offset)
                hi = bisect_right(ends, e + offset)
                if hi <= lo:
                    hi = lo
                res.append((list(range(lo, hi)), cx, ng))
            return res

        if _FAST_PATH and _is_plain_list(toks):
            # Simple commands joined by operators: bashlex (most of the time spent here)
            # would find exactly the commands the token grouping finds.
            return _tolerant(toks, 0, len(toks), ctx), True
        nodes = _bashlex(masked)
        if nodes is not None:
            return from_nodes(nodes, 0), True
        result: list[tuple[list[int], tuple[str, ...], bool]] = []
        exact = True
        for lo, hi in _split_statements(toks):
            a, b = toks[lo].start, toks[hi - 1].end
            piece = masked[a:b]
            nodes = _bashlex(piece)
            if nodes is not None:
                result.extend(from_nodes(nodes, a))
                continue
            exact = False
            result.extend(_tolerant(toks, lo, hi, ctx))
        return result, exact

    def _build(
        self,
        reg: _Region,
        toks: list[_Tok],
        idx: list[int],
        ctx: tuple[str, ...],
        neg: bool,
    ) -> _Built | None:
        words: list[_Tok] = []
        redirects: list[tuple[str, str]] = []
        i = 0
        while i < len(idx):
            tk = toks[idx[i]]
            if tk.kind == _REDIR:
                target = ""
                if i + 1 < len(idx) and toks[idx[i + 1]].kind == _WORD and toks[idx[i + 1]].target:
                    target = toks[idx[i + 1]].value
                    i += 1
                redirects.append((tk.text, target))
            elif tk.kind == _WORD:
                words.append(tk)
            i += 1
        first, last = idx[0], idx[-1]
        pm = reg.pmap
        start = pm(toks[first].start)
        end = pm.end(toks[last].end)
        env: list[tuple[str, str]] = list(reg.env)
        k = 0
        while k < len(words) and _ASSIGN_RE.match(words[k].text):
            nm, _, val = words[k].value.partition("=")
            env.append((nm.rstrip("+"), val))
            k += 1
        values = [w.value for w in words[k:]]
        wrappers, wenv, c = _strip_wrappers(values)
        if toks[first].timed:
            wrappers.insert(0, "time")
        env.extend(wenv)
        argv = values[c:]
        arg_toks = words[k + c :]
        connector = self._connector(toks, last)
        shell_c: _Tok | None = None
        stdin_shell = False
        if argv and _basename(argv[0]) in SHELLS:
            at, stdin_shell = _shell_script_arg(argv)
            if at >= 0:
                shell_c = arg_toks[at]
        elif argv and _basename(argv[0]) == "su":
            for j, w in enumerate(argv[1:-1], start=1):
                if w in ("-c", "--command"):
                    shell_c = arg_toks[j + 1]
                    break
        cmd = SimpleCommand(
            argv=tuple(argv),
            raw=self.script[start:end],
            start=start,
            end=end,
            env=tuple(env),
            wrappers=(*reg.wrappers, *wrappers),
            connector=connector,
            negated=neg,
            context=ctx,
            redirects=tuple(redirects),
            words=tuple(w.value for w in words),
            arg_spans=tuple((pm(t.start), pm.end(t.end)) for t in arg_toks),
            parent=reg.parent,
        )
        return _Built(cmd, first, last, shell_c, stdin_shell)

    @staticmethod
    def _connector(toks: list[_Tok], last: int) -> str | None:
        j = last + 1
        n = len(toks)
        while j < n:
            tk = toks[j]
            if tk.kind == _OP:
                if tk.text in _CONNECTORS:
                    return tk.text
                if tk.text == ")":
                    j += 1
                    continue
                return None
            if tk.kind == _REDIR or tk.target:
                j += 1
                continue
            if tk.bare and tk.text in _CLOSERS:
                j += 1
                continue
            return None
        return None


def _bashlex(text: str) -> list[Any] | None:
    """bashlex's trees for ``text``, or None when it refuses it (or would not finish)."""
    if not text.strip() or len(text) > _MAX_BASHLEX_CHARS:
        return None
    # bashlex loops forever on a word holding "${" but no "}"; we never need it to read
    # parameter expansions, and "$" never changes where words and commands end
    text = text.replace("${", "_{")
    # here: imported only by a parse (its tables come from the cache, see bash_grammar)
    from keelhaul.dockerfile.bash_grammar import load_bashlex

    bashlex = load_bashlex()

    try:
        return list(bashlex.parse(text))
    except Exception:  # bashlex raises many kinds of errors on what it cannot read
        return None


def _replace(cmd: SimpleCommand, **changes: Any) -> SimpleCommand:
    from dataclasses import replace

    return replace(cmd, **changes)


def _unbacktick(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    vm: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "$`\\":
            out.append(text[i + 1])
            vm.append(i + 1)
            i += 2
            continue
        out.append(c)
        vm.append(i)
        i += 1
    return "".join(out), vm


def _set_options(commands: list[SimpleCommand]) -> frozenset[str]:
    opts: set[str] = set()
    for cmd in commands:
        if cmd.name != "set" or cmd.wrappers:
            continue
        if any(c in cmd.context for c in ("subshell", "substitution", "function", "heredoc")):
            continue
        args = cmd.argv[1:]
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("--", "-") or len(a) < 2 or a[0] not in "-+":
                break
            on = a[0] == "-"
            letters = a[1:]
            for ch in letters:
                if ch == "o":
                    i += 1
                    if i < len(args):
                        long = args[i]
                        names = {long}
                        if long in _SET_SHORT:
                            names.add(_SET_SHORT[long])
                        (opts.update if on else opts.difference_update)(names)
                    continue
                names = {ch}
                if ch in _SET_LONG:
                    names.add(_SET_LONG[ch])
                (opts.update if on else opts.difference_update)(names)
            i += 1
    return frozenset(opts)


_T = TypeVar("_T")


class TextMemo(Generic[_T]):
    """``build(text)`` remembered for the texts met last: a least-recently-used cache bounded
    by its entries and by the characters of the texts it keeps (what a parse holds grows with
    its text), so a process that checks file after file keeps a bounded amount, however
    large or many the scripts (``functools.lru_cache`` bounds only the count). Safe to share
    between threads."""

    def __init__(self, build: Callable[[str], _T], max_entries: int, max_chars: int) -> None:
        self._build = build
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._kept: OrderedDict[str, _T] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> _T:
        with self._lock:
            if text in self._kept:
                self._kept.move_to_end(text)
                return self._kept[text]
        value = self._build(text)
        if len(text) > self._max_chars:
            return value
        with self._lock:
            if text not in self._kept:
                self._kept[text] = value
                self._chars += len(text)
                while len(self._kept) > self._max_entries or self._chars > self._max_chars:
                    old, _ = self._kept.popitem(last=False)
                    self._chars -= len(old)
        return value

    @property
    def size(self) -> tuple[int, int]:
        """(entries, characters) kept."""
        return len(self._kept), self._chars

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._chars = 0


def parse_shell(script: str) -> ShellScript:
    """Parse a shell script into its simple commands. Never raises.

    Results are immutable and cached by text (:data:`PARSED`): images built from one template
    repeat the same RUN scripts across files and variants.
    """
    if isinstance(script, str) and len(script) <= MAX_SCRIPT_CHARS:
        return PARSED(script)
    return _parse_shell(script)


def _parse_shell(script: str) -> ShellScript:
    given: object = script
    if not isinstance(given, str):  # be forgiving with callers that ignore the annotation
        script = given.decode("utf-8", "replace") if isinstance(given, bytes) else str(given)
    exact = True
    text = script
    if len(text) > MAX_SCRIPT_CHARS:
        text = text[:MAX_SCRIPT_CHARS]
        exact = False
    parser = _Parser(script)
    try:
        parser.parse_region(_Region(text, _PosMap(0), (), (), (), (), 0))
    except RecursionError:
        parser.exact = False
    except Exception:  # a bug of ours must not lose the RUN: keep what was found
        parser.exact = False
    commands = sorted(parser.commands, key=lambda c: (c.start, c.end))
    return ShellScript(tuple(commands), _set_options(commands), exact and parser.exact)


#: The parses :func:`parse_shell` keeps (:data:`keelhaul.limits.PARSE_CACHE_CHARS`).
PARSED: TextMemo[ShellScript] = TextMemo(
    _parse_shell, limits.PARSE_CACHE_ENTRIES, limits.PARSE_CACHE_CHARS
)

# --------------------------------------------------------------------------- one word's value


def _backticks(word: str, start: int, out: list[str]) -> int:
    """The command substitution in backticks at ``word[start]``, appended to ``out`` as
    ``$(...)`` (unclosed: to the end of the word); returns where the word goes on."""
    end = word.find("`", start + 1)
    end = len(word) if end < 0 else end
    out.append(f"$({word[start + 1 : end]})")
    return end + 1


def dollar_form(word: str) -> str:
    """The value of one shell word as written (quotes and all), in the form a ``$`` reference
    is told in everywhere (:func:`keelhaul.secrets.is_reference`; Compose, Kubernetes, make
    and env files write a literal ``$`` as ``$$``): quotes removed; a ``$`` the shell leaves
    alone (inside single quotes or ``$'...'``, or escaped ``\\$``) written ``$$``; a command
    substitution in backticks written ``$(...)``; an unquoted or double-quoted ``$`` kept.

    ``'Xk9#mQ2$vL7pR4wZ'`` -> ``Xk9#mQ2$$vL7pR4wZ``; ``"$HOME/x"`` -> ``$HOME/x``;
    ```cat f``` -> ``$(cat f)``. Quotes inside a ``$(...)`` or ``${...}`` are not followed:
    the word holds a reference either way.
    """
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        nxt = word[i + 1 : i + 2]
        if c == "\\":
            if nxt != "\n":  # a backslash-newline joins lines and is no character
                out.append("$$" if nxt == "$" else nxt)
            i += 2
        elif c == "'":
            end = word.find("'", i + 1)
            end = n if end < 0 else end
            out.append(word[i + 1 : end].replace("$", "$$"))
            i = end + 1
        elif c == "$" and nxt == "'":  # $'...': ANSI-C quoting, no expansion
            j = i + 2
            while j < n and word[j] != "'":
                j += 2 if word[j] == "\\" else 1
            out.append(word[i + 2 : min(j, n)].replace("$", "$$"))
            i = j + 1
        elif c == "$" and nxt == '"':  # $"...": a translated double-quoted string
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and word[j] != '"':
                d, after = word[j], word[j + 1 : j + 2]
                if d == "\\" and after in ("$", "`", '"', "\\", "\n"):
                    out.append({"$": "$$", "\n": ""}.get(after, after))
                    j += 2
                elif d == "`":
                    j = _backticks(word, j, out)
                else:
                    out.append(d)
                    j += 1
            i = j + 1
        elif c == "`":
            i = _backticks(word, i, out)
        else:
            out.append(c)
            i += 1
    return "".join(out)
