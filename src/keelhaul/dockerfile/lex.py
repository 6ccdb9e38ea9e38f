"""Dockerfile word lexing and variable expansion, with BuildKit's semantics.

This is keelhaul's own implementation of what BuildKit's ``frontend/dockerfile/shell``
package does: it processes quotes, the escape token and ``$VAR`` / ``${VAR...}``
references in one Dockerfile word (``process_word``) or splits a line into words
after expansion (``process_words``).  It follows BuildKit's behaviour closely,
including its quirks, because a linter must see what ``docker build`` will see:

* ``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``, ``${V:?m}``, ``${V?m}``,
  ``${V#p}``, ``${V##p}``, ``${V%p}``, ``${V%%p}``, ``${V/p/r}`` and ``${V//p/r}``
  are supported; ``${V:=w}``, ``${V=w}``, ``${V:#p}``, ``${V:%p}`` and the like are
  errors ("unsupported modifier").  Patterns know ``*``, ``?`` and ``\\`` escapes,
  but not bracket expressions.
* Positional (``$1``, ``${10}``) and special parameters (``$@ $* $# $? $- $$ $! $0``)
  are looked up in the environment like any name (and so normally expand to nothing).
* Inside double quotes the escape token only escapes ``"``, ``$`` and itself;
  elsewhere it escapes any character; a trailing escape token is dropped.
* ``process_words`` drops words that are empty (``""`` gives no word), and keeps
  BuildKit's shared-word-buffer behaviour: text of the current word that comes
  before a ``${V<modifier>...}`` expansion is lost from the *word list* (not from
  ``process_word``'s result), e.g. ``a${X:-b}c`` splits to ``["bc"]``.
* ``<<`` plus any blanks after it stay glued to the next word (heredoc detection).
* ``skip_unset`` leaves references to unset variables as text, re-serialised the
  way BuildKit does (``${V//a/b}`` comes back as ``${V/a/b}``; the word of a
  modifier is expanded first; an unset ``${V?}`` or even ``${V:=w}`` is no error).
* Errors raise :class:`ExpansionError` with BuildKit's message text.
"""

from __future__ import annotations

import contextlib
import functools
import re
import string
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from keelhaul import limits

__all__ = [
    "MAX_EXPANDED_CHARS",
    "ExpansionBudget",
    "ExpansionError",
    "Lexer",
    "expansion_budget",
    "expansion_limit",
]

#: Characters variable expansion may produce for one Dockerfile (every ARG, ENV and word
#: expanded while it is resolved), or for one word outside that: the default of the
#: ``max-expanded-size`` setting. ``ARG A1=${A0}${A0}``, ``ARG A2=${A1}${A1}``... doubles at
#: each line; past this the expansion is a located error, not gigabytes.
MAX_EXPANDED_CHARS = limits.EXPANDED_CHARS

# What Go prints for the rune it gets when reading past the end of the input.
_EOF_RUNE = "\ufffd"

# unicode.IsSpace in Go (differs from str.isspace(), which also accepts \x1c-\x1f).
_GO_SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_SET = frozenset(_GO_SPACES)


def _char_class(chars: str) -> str:
    return "".join(f"\\U{ord(c):08x}" for c in sorted(set(chars)))


_SPACE_CLASS = _char_class(_GO_SPACES)
_TOKEN_RE = re.compile(f"[{_SPACE_CLASS}]+|[^{_SPACE_CLASS}]+")

_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_NAME_ASCII = frozenset(string.ascii_letters + string.digits + "_")
_HEREDOC_BLANKS = frozenset("\t\r ")
_EXPANDING_MODIFIERS = frozenset("+-?#%")
_REGEX_META = frozenset("[]{}.+()|^$")
_GO_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _go_quote(text: str) -> str:
    """``fmt.Sprintf("%q", text)`` for a valid string."""
    out = ['"']
    for c in text:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        elif c in _GO_QUOTE_ESCAPES:
            out.append(_GO_QUOTE_ESCAPES[c])
        else:
            o = ord(c)
            if o < 0x20 or o == 0x7F:
                out.append(f"\\x{o:02x}")
            elif 0xD800 <= o <= 0xDFFF:
                out.append("\\ufffd")
            elif o < 0x10000:
                out.append(f"\\u{o:04x}")
            else:
                out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


class ExpansionError(Exception):
    """A word could not be processed.

    ``str(err)`` is BuildKit's full message, ``failed to process "<word>": <reason>``;
    ``reason`` is the bare cause (e.g. ``VAR: is not allowed to be unset`` or
    ``syntax error: bad substitution``), ``source`` the word that was processed, and
    ``matched`` / ``unmatched`` the variable names looked up before the failure.
    """

    def __init__(
        self,
        reason: str,
        source: str | None = None,
        matched: frozenset[str] = frozenset(),
        unmatched: frozenset[str] = frozenset(),
    ) -> None:
        message = reason if source is None else f"failed to process {_go_quote(source)}: {reason}"
        super().__init__(message)
        self.reason = reason
        self.source = source
        self.matched = matched
        self.unmatched = unmatched


class _PatternError(Exception):
    pass


class ExpansionBudget:
    """How many characters expansion may still produce: charged for every value substituted."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise ExpansionError(
                f"variable expansion makes more than {self.limit} characters "
                "(the max-expanded-size setting): variables that expand to each other over "
                "and over?"
            )

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


#: The configured ``max-expanded-size`` (:func:`expansion_limit`) and the budget of the
#: Dockerfile being resolved (:func:`expansion_budget`), if any.
_LIMIT: ContextVar[int] = ContextVar("keelhaul_max_expanded", default=MAX_EXPANDED_CHARS)
_BUDGET: ContextVar[ExpansionBudget | None] = ContextVar("keelhaul_expansion", default=None)


@contextlib.contextmanager
def expansion_limit(limit: int) -> Iterator[None]:
    """Within: expansion is bounded by ``limit`` characters (a file's ``max-expanded-size``)."""
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


@contextlib.contextmanager
def expansion_budget() -> Iterator[ExpansionBudget]:
    """Within: every expansion shares one budget of the configured limit (one Dockerfile)."""
    budget = ExpansionBudget(_LIMIT.get())
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


@functools.lru_cache(maxsize=64)
def _plain_run_re(escape: str, quotes: bool, stop: str | None) -> re.Pattern[str]:
    specials = "$<" + escape + (stop or "") + ("'\"" if quotes else "")
    return re.compile(f"[^{_char_class(specials)}]+")


@functools.lru_cache(maxsize=8)
def _dquote_run_re(escape: str) -> re.Pattern[str]:
    specials = '"$' + escape
    return re.compile(f"[^{_char_class(specials)}]+")


@functools.lru_cache(maxsize=1024)
def _pattern_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell pattern (``*``, ``?``, ``\\`` escapes; no brackets) as a regex.

    Mirrors BuildKit's conversion, including its errors for escapes of anything but
    ``*``, ``?`` and ``\\`` (an escape before ``}`` or ``/`` is silently dropped).
    """
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    n = len(pattern)
    # Go's text/scanner skips a byte order mark at the very start of its input.
    i = 1 if pattern.startswith("\ufeff") else 0
    while i < n:
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            nxt = pattern[i] if i < n else ""
            if nxt in ("}", "/"):
                continue
            out.append("\\")
            if i >= n:
                raise _PatternError(f"invalid escape '\\{_EOF_RUNE}'")
            tok = pattern[i]
            i += 1
            if tok not in ("*", "?", "\\"):
                raise _PatternError(f"invalid escape '\\{tok}'")
        elif tok in _REGEX_META:
            out.append("\\")
        out.append(tok)
    return re.compile("".join(out))


def _compile_pattern(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str]:
    try:
        return _pattern_regex(pattern, greedy, anchored)
    except _PatternError as exc:
        raise ExpansionError(f"invalid pattern ({pattern}) in substitution: {exc}") from None


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _compile_pattern(pattern, greedy, True).match(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern, keeping each ``\\x`` escape pair in order."""
    last = len(pattern) - 1
    out = [""] * len(pattern)
    i = 0
    while i <= last:
        tok = pattern[i]
        j = last - i
        if tok == "\\" and i != last:
            out[j - 1] = tok
            out[j] = pattern[i + 1]
            i += 2
        else:
            out[j] = tok
            i += 1
    return "".join(out)


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # The shortest/longest *rightmost* match is found as a leftmost match of the
    # reversed pattern in the reversed value.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _expand_template(template: str, value: str, start: int, end: int) -> str:
    """Go's ``Regexp.Expand`` for a regex without groups: only ``$0``/``${0}`` and ``$$``."""
    out: list[str] = []
    rest = template
    while True:
        k = rest.find("$")
        if k < 0:
            break
        out.append(rest[:k])
        rest = rest[k + 1 :]
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        brace = rest.startswith("{")
        body = rest[1:] if brace else rest
        j = 0
        while j < len(body) and (body[j].isalpha() or body[j].isdecimal() or body[j] == "_"):
            j += 1
        if j == 0 or (brace and (j >= len(body) or body[j] != "}")):
            out.append("$")  # malformed: the "$" is kept as text
            continue
        if body[:j] == "0":
            out.append(value[start:end])
        rest = body[j + 1 :] if brace else body[j:]
    out.append(rest)
    return "".join(out)


def _replace_all(rx: re.Pattern[str], value: str, template: str, limit: int) -> str:
    """Go's ``Regexp.ReplaceAllString`` (its empty-match rules differ from ``re.sub``); more
    than ``limit`` characters of result is an :class:`ExpansionError`."""
    out: list[str] = []
    size = 0
    expand = "$" in template
    last_end = 0
    pos = 0
    n = len(value)
    while pos <= n:
        m = rx.search(value, pos)
        if m is None:
            break
        start, end = m.span()
        out.append(value[last_end:start])
        size += start - last_end
        if end > last_end or start == 0:
            out.append(_expand_template(template, value, start, end) if expand else template)
            size += len(out[-1])
        if size > limit:
            raise ExpansionError(
                f"variable expansion makes more than {limit} characters (the max-expanded-size "
                "setting)"
            )
        last_end = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(value[last_end:])
    return "".join(out)


class _Expansion:
    """The state of one ``process_*`` call: an index-based scanner over ``src``."""

    __slots__ = (
        "budget",
        "env",
        "escape",
        "i",
        "matched",
        "n",
        "quotes",
        "raw_escapes",
        "raw_quotes",
        "skip_unset",
        "src",
        "track_words",
        "unmatched",
        "wbuf",
    )

    def __init__(self, lexer: Lexer, src: str, env: Mapping[str, str], track_words: bool) -> None:
        self.src = src
        self.n = len(src)
        # Go's text/scanner skips one byte order mark at the start of its input.
        self.i = 1 if src.startswith("\ufeff") else 0
        self.env = env
        self.budget = _BUDGET.get() or ExpansionBudget(_LIMIT.get())
        self.escape = lexer.escape
        self.raw_quotes = lexer.raw_quotes
        self.raw_escapes = lexer.raw_escapes
        self.skip_unset = lexer.skip_unset
        self.quotes = not lexer.skip_process_quotes
        self.track_words = track_words
        # BuildKit shares one buffer for the word being built between the top-level
        # scan and the nested scans of ${...} bodies; each scan starts by clearing it.
        self.wbuf: list[str] = []
        self.matched: dict[str, None] = {}
        self.unmatched: dict[str, None] = {}

    # -- words ------------------------------------------------------------------

    def _add_string(self, text: str, words: list[str], in_word: bool) -> bool:
        """Add unquoted text to the words: blanks end the current (non-empty) word."""
        wbuf = self.wbuf
        for tok in _TOKEN_RE.findall(text):
            if tok[0] in _SPACE_SET:
                if in_word and wbuf:
                    words.append("".join(wbuf))
                    wbuf.clear()
                    in_word = False
            else:
                wbuf.append(tok)
                in_word = True
        return in_word

    # -- scanning ---------------------------------------------------------------

    def stop_on(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process up to (and consuming) ``stop``, or to the end when ``stop`` is None."""
        saved_raw = self.raw_escapes
        self.raw_escapes = raw_escapes
        src, n, esc = self.src, self.n, self.escape
        quotes = self.quotes
        # Only the top-level scan's words are kept; a nested scan's only lasting
        # effect on them is that it clears the shared buffer.
        track = self.track_words and stop is None
        wbuf = self.wbuf
        wbuf.clear()
        words: list[str] = []
        in_word = False
        out: list[str] = []
        plain = _plain_run_re(esc, quotes, stop).match

        while self.i < n:
            i = self.i
            ch = src[i]
            if ch == stop:
                self.i = i + 1
                self.raw_escapes = saved_raw
                return "".join(out), words
            if ch == "$":
                tmp = self.dollar()
                out.append(tmp)
                if track:
                    in_word = self._add_string(tmp, words, in_word)
            elif ch == "<" or (quotes and ch in ("'", '"')):
                if ch == "<":
                    tmp = self.possible_heredoc()
                elif ch == "'":
                    tmp = self.single_quote()
                else:
                    tmp = self.double_quote()
                out.append(tmp)
                if track:
                    if tmp:
                        wbuf.append(tmp)
                    in_word = True
            elif ch == esc:
                i += 1
                if raw_escapes:
                    out.append(ch)
                    if track:
                        wbuf.append(ch)
                        in_word = True
                if i >= n:
                    self.i = i
                    break
                ch = src[i]
                self.i = i + 1
                out.append(ch)
                if track:
                    wbuf.append(ch)
                    in_word = True
            else:
                m = plain(src, i)
                assert m is not None
                run = m.group()
                self.i = m.end()
                out.append(run)
                if track:
                    in_word = self._add_string(run, words, in_word)

        if stop is not None:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        self.raw_escapes = saved_raw
        if track and wbuf:
            words.append("".join(wbuf))
            wbuf.clear()
        return "".join(out), words

    def single_quote(self) -> str:
        start = self.i + 1
        end = self.src.find("'", start)
        if end < 0:
            self.i = self.n
            raise ExpansionError(
                "unexpected end of statement while looking for matching single-quote"
            )
        self.i = end + 1
        if self.raw_quotes:
            return self.src[start - 1 : end + 1]
        return self.src[start:end]

    def double_quote(self) -> str:
        src, n, esc = self.src, self.n, self.escape
        run = _dquote_run_re(esc).match
        out = ['"'] if self.raw_quotes else []
        i = self.i + 1
        while True:
            if i >= n:
                self.i = n
                raise ExpansionError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            ch = src[i]
            if ch == '"':
                self.i = i + 1
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                self.i = i
                out.append(self.dollar())
                i = self.i
            elif ch == esc:
                i += 1
                if self.raw_escapes:
                    out.append(ch)
                if i >= n:
                    continue  # a trailing escape: the quote is unterminated
                nxt = src[i]
                if nxt in ('"', "$", esc):
                    out.append(nxt)
                    i += 1
                else:
                    out.append(ch)  # other escapes stay literal
            else:
                m = run(src, i)
                assert m is not None
                out.append(m.group())
                i = m.end()

    def possible_heredoc(self) -> str:
        src, n = self.src, self.n
        i = self.i + 1
        if i >= n or src[i] != "<":
            self.i = i
            return "<"
        i += 1
        j = i
        while j < n and src[j] in _HEREDOC_BLANKS:
            j += 1
        self.i = j
        return "<<" + src[i:j]

    def name(self) -> str:
        """Read a parameter name: digits, one special character, or a letter/_ run."""
        src, n = self.src, self.n
        i = self.i
        if i >= n:
            return ""
        c = src[i]
        if c.isdecimal():
            j = i + 1
            while j < n and src[j].isdecimal():
                j += 1
            self.i = j
            return src[i:j]
        if c in _SPECIAL_PARAMS:
            self.i = i + 1
            return c
        j = i
        while j < n:
            c = src[j]
            if c in _NAME_ASCII or (c > "\x7f" and (c.isalpha() or c.isdecimal())):
                j += 1
            else:
                break
        self.i = j
        return src[i:j]

    def get_env(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            self.unmatched[name] = None
        else:
            self.matched[name] = None
        return value

    def _next(self) -> str:
        """Consume and return the next character, or "" at the end."""
        i = self.i
        if i >= self.n:
            return ""
        self.i = i + 1
        return self.src[i]

    def _at_end(self) -> bool:
        return self.i >= self.n

    def dollar(self) -> str:
        """One ``$name`` or ``${...}``, charged to the budget (before it is joined to
        anything, so a bomb stops while its parts are still shared references)."""
        value = self._dollar()
        self.budget.charge(len(value))
        return value

    def _dollar(self) -> str:
        src, n = self.src, self.n
        self.i += 1  # the "$"
        if self.i >= n or src[self.i] != "{":
            name = self.name()
            if not name:
                return "$"
            value = self.get_env(name)
            if value is None:
                return "$" + name if self.skip_unset else ""
            return value

        self.i += 1  # the "{"
        if self.i >= n:
            raise ExpansionError("syntax error: missing '}'")
        if src[self.i] in ("{", "}", ":"):
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        ch = self._next()
        chs = ch or _EOF_RUNE

        if ch == "}":
            value = self.get_env(name)
            if value is None:
                return "${" + name + "}" if self.skip_unset else ""
            return value

        if ch == ":" or ch in _EXPANDING_MODIFIERS:
            null_is_unset = False
            if ch == ":":
                null_is_unset = True
                ch = self._next()
                chs += ch or _EOF_RUNE
            trims = ch in ("#", "%")
            if null_is_unset and trims:
                raise ExpansionError(f"unsupported modifier ({chs}) in substitution")
            try:
                word, _ = self.stop_on("}", trims)
            except ExpansionError:
                if self._at_end():
                    raise ExpansionError("syntax error: missing '}'") from None
                raise

            value = self.get_env(name)
            if value is None and self.skip_unset:
                return "${" + name + chs + word + "}"
            if ch == "-":
                if value is None or (null_is_unset and value == ""):
                    return word
                return value
            if ch == "+":
                if value is None or (null_is_unset and value == ""):
                    return ""
                return word
            if ch == "?":
                if value is None:
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            if ch in ("#", "%"):
                greedy = word.startswith(ch)
                if greedy:
                    word = word[1:]
                if ch == "%":
                    return _trim_suffix(word, value or "", greedy)
                return _trim_prefix(word, value or "", greedy)
            raise ExpansionError(f"unsupported modifier ({chs}) in substitution")

        if ch == "/":
            replace_all = self.i < n and src[self.i] == "/"
            if replace_all:
                self.i += 1
            try:
                pattern, _ = self.stop_on("/", True)
            except ExpansionError:
                if self._at_end():
                    raise ExpansionError("syntax error: missing '/' in ${}") from None
                raise
            try:
                replacement, _ = self.stop_on("}", True)
            except ExpansionError:
                if self._at_end():
                    raise ExpansionError("syntax error: missing '}'") from None
                raise

            value = self.get_env(name)
            if value is None:
                if self.skip_unset:
                    return "${" + name + "/" + pattern + "/" + replacement + "}"
                value = ""
            rx = _compile_pattern(pattern, True, False)
            if replace_all:
                return _replace_all(rx, value, replacement, self.budget.remaining)
            m = rx.search(value)
            if m is None:
                return value
            return value[: m.start()] + replacement + value[m.end() :]

        raise ExpansionError(f"unsupported modifier ({chs}) in substitution")


@dataclass(frozen=True, slots=True)
class Lexer:
    """BuildKit's Dockerfile word processor (``shell.Lex``), configured by its flags.

    ``escape`` is the Dockerfile's escape token (``\\`` or a backtick).  ``raw_quotes``
    keeps quote characters in the output, ``raw_escapes`` keeps escape tokens,
    ``skip_unset`` leaves references to unset variables as text (BuildKit's
    ``SkipUnsetEnv``), and ``skip_process_quotes`` treats quotes as ordinary
    characters (BuildKit's ``SkipProcessQuotes``, used for raw single-word
    expansion).  Variable names are matched case-sensitively (as on Unix).
    """

    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset: bool = False
    skip_process_quotes: bool = False

    def __post_init__(self) -> None:
        if self.escape not in ("\\", "`"):
            raise ValueError(f"escape token must be '\\' or '`', not {self.escape!r}")

    def _run(
        self, text: str, env: Mapping[str, str], track_words: bool
    ) -> tuple[str, list[str], _Expansion]:
        exp = _Expansion(self, text, env, track_words)
        try:
            result, words = exp.stop_on(None, self.raw_escapes)
        except ExpansionError as exc:
            raise ExpansionError(
                exc.reason, text, frozenset(exp.matched), frozenset(exp.unmatched)
            ) from None
        return result, words, exp

    def process_word(self, text: str, env: Mapping[str, str]) -> str:
        """Expand ``text`` as one word (blanks between words are kept)."""
        return self._run(text, env, False)[0]

    def process_words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """Expand ``text`` and split it into words, as BuildKit's ``ProcessWords``."""
        return self._run(text, env, True)[1]

    def process_word_with_matches(
        self, text: str, env: Mapping[str, str]
    ) -> tuple[str, set[str], set[str]]:
        """Returns (result, names of variables used that were set, names used that were unset)."""
        result, _, exp = self._run(text, env, False)
        return result, set(exp.matched), set(exp.unmatched)
