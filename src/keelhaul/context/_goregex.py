"""Go regular expressions, as moby's patternmatcher builds them, turned into Python ones.

moby turns a .dockerignore pattern into a Go (RE2) regular expression by text substitution,
passing ``[``, ``]``, ``^`` and every ``\\x`` escape of the pattern through untouched. So what a
pattern means is what Go's ``regexp`` makes of that text: ``\\d`` is a digit, ``[[:alpha:]]`` a
POSIX class, ``\\Q...\\E`` a literal run, ``[z-a]`` an error. Python's ``re`` reads several of
these differently, so this module parses the Go syntax (the part of it such text can contain)
and writes a Python expression with the same meaning: character classes become explicit code
point ranges, literals are escaped, ``$`` becomes ``\\Z``.
"""

from __future__ import annotations

import re

MAX_RUNE = 0x10FFFF

Ranges = list[tuple[int, int]]


class GoRegexError(ValueError):
    """Go's regexp would refuse the expression (or keelhaul cannot evaluate it)."""


def _r(*pairs: str) -> Ranges:
    return [(ord(p[0]), ord(p[-1])) for p in pairs]


#: Go's POSIX classes (ASCII only, as in RE2).
_POSIX: dict[str, Ranges] = {
    "alnum": _r("09", "AZ", "az"),
    "alpha": _r("AZ", "az"),
    "ascii": [(0, 0x7F)],
    "blank": _r("\t", " "),
    "cntrl": [(0, 0x1F), (0x7F, 0x7F)],
    "digit": _r("09"),
    "graph": _r("!~"),
    "lower": _r("az"),
    "print": _r(" ~"),
    "punct": _r("!/", ":@", "[`", "{~"),
    "space": _r("\t\r", " "),
    "upper": _r("AZ"),
    "word": _r("09", "AZ", "az", "_"),
    "xdigit": _r("09", "AF", "af"),
}
#: Go's Perl classes: \d, \s (no \v in RE2), \w; upper case negates.
_PERL: dict[str, Ranges] = {
    "d": _r("09"),
    "s": _r("\t\n", "\f\r", " "),
    "w": _r("09", "AZ", "az", "_"),
}
_C_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_HEX = "0123456789abcdefABCDEF"
_REPEAT = re.compile(r"\{\d+(?:,\d*)?\}")


def _merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_RUNE:
        out.append((nxt, MAX_RUNE))
    return out


def _char(code: int) -> str:
    if code < 0x80 and chr(code).isalnum():
        return chr(code)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _class(ranges: Ranges) -> str:
    merged = _merge(ranges)
    if not merged:
        return "(?!)"  # an empty class matches nothing
    body = "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in merged)
    return f"[{body}]"


def _perl_class(letter: str) -> Ranges:
    ranges = _PERL[letter.lower()]
    return _negate(ranges) if letter.isupper() else list(ranges)


def _escape(text: str, i: int) -> tuple[int, int]:
    """Go's parseEscape: the code point of the escape at ``text[i] == "\\"`` and the next index."""
    n = len(text)
    if i + 1 >= n:
        raise GoRegexError("trailing backslash at end of expression")
    c = text[i + 1]
    j = i + 2
    if c.isascii() and not c.isalnum():
        return ord(c), j  # escaped punctuation is itself
    if c in "01234567":
        # A lone \1-\7 would be a backreference, which Go does not support.
        if c != "0" and (j >= n or text[j] not in "01234567"):
            raise GoRegexError(f"invalid escape sequence: `\\{c}`")
        value = int(c)
        for _ in range(2):
            if j < n and text[j] in "01234567":
                value = value * 8 + int(text[j])
                j += 1
        return value, j
    if c == "x":
        return _hex_escape(text, i, j)
    if c in _C_ESCAPES:
        return _C_ESCAPES[c], j
    raise GoRegexError(f"invalid escape sequence: `\\{c}`")


def _hex_escape(text: str, i: int, j: int) -> tuple[int, int]:
    n = len(text)
    bad = GoRegexError(f"invalid escape sequence: `{text[i : min(n, j + 2)]}`")
    if j < n and text[j] == "{":
        end = text.find("}", j + 1)
        digits = text[j + 1 : end] if end >= 0 else ""
        if not digits or any(d not in _HEX for d in digits) or int(digits, 16) > MAX_RUNE:
            raise bad
        return int(digits, 16), end + 1
    pair = text[j : j + 2]
    if len(pair) < 2 or any(d not in _HEX for d in pair):
        raise bad
    return int(pair, 16), j + 2


def _unicode_class(text: str, i: int) -> None:
    if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "pP":
        raise GoRegexError(
            f"Unicode class `{text[i : i + 4]}...` is not supported by keelhaul's matcher"
        )


def _char_class(text: str, i: int) -> tuple[str, int]:
    """Go's parseClass from ``text[i] == "["``: a Python class and the index after ``]``."""
    n = len(text)
    j = i + 1
    negated = j < n and text[j] == "^"
    if negated:
        j += 1
    ranges: Ranges = []
    first = True  # "]" is a literal as the first member
    while j >= n or text[j] != "]" or first:
        if j >= n:
            raise GoRegexError(f"missing closing ]: `{text[i:]}`")
        first = False
        if text.startswith("[:", j) and n - j > 2:
            end = text.find(":]", j + 2)
            if end >= 0:
                name = text[j + 2 : end]
                positive = name.removeprefix("^")
                if positive not in _POSIX:
                    raise GoRegexError(f"invalid character class range: `{text[j : end + 2]}`")
                group = _POSIX[positive]
                ranges += _negate(group) if name.startswith("^") else group
                j = end + 2
                continue
        _unicode_class(text, j)
        if text[j] == "\\" and j + 1 < n and text[j + 1].lower() in _PERL:
            ranges += _perl_class(text[j + 1])
            j += 2
            continue
        start = j
        lo, j = _class_char(text, j, i)
        hi = lo
        if n - j >= 2 and text[j] == "-" and text[j + 1] != "]":
            hi, j = _class_char(text, j + 1, i)
            if hi < lo:
                raise GoRegexError(f"invalid character class range: `{text[start:j]}`")
        ranges.append((lo, hi))
    return _class(_negate(ranges) if negated else ranges), j + 1


def _class_char(text: str, j: int, start: int) -> tuple[int, int]:
    if j >= len(text):
        raise GoRegexError(f"missing closing ]: `{text[start:]}`")
    if text[j] == "\\":
        return _escape(text, j)
    return ord(text[j]), j + 1


def _outer_escape(text: str, i: int) -> tuple[str, int]:
    n = len(text)
    if i + 1 < n:
        c = text[i + 1]
        simple = {"A": r"\A", "b": r"\b", "B": r"\B", "z": r"\Z"}
        if c in simple:
            return simple[c], i + 2
        if c == "C":
            raise GoRegexError("invalid escape sequence: `\\C`")
        if c == "Q":
            end = text.find(r"\E", i + 2)
            literal = text[i + 2 :] if end < 0 else text[i + 2 : end]
            return re.escape(literal), (n if end < 0 else end + 2)
        _unicode_class(text, i)
        if c.lower() in _PERL:
            return _class(_perl_class(c)), i + 2
    code, j = _escape(text, i)
    return re.escape(chr(code)), j


def translate(go: str) -> str:
    """The Python expression meaning what Go's ``regexp`` makes of ``go``.

    Covers what moby's pattern compiler can produce (its own ``(.*/)?``, ``.*``, ``[^/]*`` and
    anchors, plus whatever classes and escapes the user's pattern carried) and Go's other
    operators; not flags, named groups or Unicode classes.
    """
    out: list[str] = []
    i, n = 0, len(go)
    while i < n:
        c = go[i]
        if c == "\\":
            piece, i = _outer_escape(go, i)
        elif c == "[":
            piece, i = _char_class(go, i)
        elif c == "(":
            piece, i = "(?:", i + 1
        elif c in ")?*+|.^":
            piece, i = c, i + 1
        elif c == "{" and (repeat := _REPEAT.match(go, i)) is not None:
            piece, i = repeat.group(), repeat.end()  # Go reads "{" as a repeat only like this
        elif c == "$":
            piece, i = r"\Z", i + 1  # Go's $ without the m flag is the end of the text
        else:
            piece, i = re.escape(c), i + 1
        out.append(piece)
    return "".join(out)


def compile_go(go: str) -> re.Pattern[str]:
    """Compile a Go expression for Python; ``search`` then behaves like Go's ``MatchString``."""
    try:
        return re.compile(translate(go), re.ASCII)  # ASCII: Go's \b is ASCII-only
    except re.error as exc:  # a construct we translated but Python rejects: say so plainly
        raise GoRegexError(f"cannot evaluate `{go}`: {exc}") from None
