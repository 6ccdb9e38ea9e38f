"""Go regexp syntax, as moby's pattern text can carry it, read with Go's meaning."""

from __future__ import annotations

import pytest

from keelhaul.context._goregex import GoRegexError, compile_go

MEANINGS = [
    (r"^a\d$", "a7", True),
    (r"^a\D$", "a7", False),
    (r"^\s$", "\v", False),  # RE2's \s has no vertical tab
    (r"^\w+x$", "_9x", True),
    (r"^a{2}$", "aa", True),
    (r"^a{,2}$", "a{,2}", True),  # not a repeat in Go: literal
    (r"^(a|b)$", "b", True),
    (r"^[[:^alpha:]]$", "1", True),
    (r"^[[:^alpha:]]$", "a", False),
    (r"^[\d-]$", "-", True),
    (r"^[a-]$", "-", True),
    (r"^[]a]$", "]", True),
    (r"^[^a]$", "\n", True),  # negated classes match a newline in Go
    (r"^.$", "\n", False),
    (r"^\x41\x{42}\101$", "ABA", True),
    (r"^\0$", "\x00", True),
    (r"^\Qa.b\E.$", "a.bc", True),
    (r"^\Qa.b\E.$", "aXbc", False),
    (r"^a\b", "a b", True),
    (r"\Aab\z", "ab", True),
    (r"^a$", "a\n", False),  # Go's $ is the end of the text
    (r"^[[]x$", "[x", True),
    (r"^[(.*/)?]$", "?", True),
]


@pytest.mark.parametrize(("go", "text", "expected"), MEANINGS)
def test_go_meaning(go: str, text: str, expected: bool) -> None:
    assert (compile_go(go).search(text) is not None) is expected


@pytest.mark.parametrize(
    "go",
    [r"\1", r"\8", r"\xZZ", r"\x{}", r"\C", r"[b-a]", r"[[:nope:]]", r"[a", r"\pL", "\\"],
)
def test_go_refuses(go: str) -> None:
    with pytest.raises(GoRegexError):
        compile_go(go)
