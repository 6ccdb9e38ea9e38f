"""Tests for keelhaul.dockerfile.lex, our port of BuildKit's Dockerfile word lexer."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from keelhaul.dockerfile.lex import ExpansionError, Lexer

ENV = {
    "V": "value",
    "EMPTY": "",
    "SP": "a  b",
    "LEAD": "  x y ",
    "FILE": "archive.tar.gz",
    "PATHV": "/usr/local/bin",
    "STAR": "a*b",
    "lower": "low",
    "한": "korean",
}

# (text, expected) with Lexer() and ENV.
WORD_CASES: list[tuple[str, str]] = [
    # plain text and quotes
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ('"a b"', "a b"),
    ("'a b'", "a b"),
    ("'$V'", "$V"),
    ('"$V"', "value"),
    ("'a\\b'", "a\\b"),
    ("'a\"b'", 'a"b'),
    ('"it\'s"', "it's"),
    ("x'$V'\"$V\"", "x$Vvalue"),
    ("''", ""),
    ("a  b", "a  b"),
    # escapes outside quotes
    ("a\\ b", "a b"),
    ("\\$V", "$V"),
    ("\\\\$V", "\\value"),
    ("a\\", "a"),
    ("a\\\\", "a\\"),
    ("\\'", "'"),
    ("\\n", "n"),
    ("\\${}", "${}"),
    # escapes inside double quotes
    ('"a\\tb"', "a\\tb"),
    ('"\\""', '"'),
    ('"\\$V"', "$V"),
    ('"\\\\"', "\\"),
    ('"\\\\$V"', "\\value"),
    # $NAME and ${NAME}
    ("$V", "value"),
    ("${V}", "value"),
    ("${V}x", "valuex"),
    ("$Vx", ""),
    ("$V.x", "value.x"),
    ("$", "$"),
    ("$.", "$."),
    ("a$ b", "a$ b"),
    ("$lower", "low"),
    ("$LOWER", ""),
    ("${UNSET}", ""),
    ("안녕$한", "안녕korean"),
    ("\ufeff$V", "value"),
    # positional and special parameters are just unset names
    ("$1", ""),
    ("${10}", ""),
    ("$10x", "x"),
    ("$0", ""),
    ("$$", ""),
    ("$@x", "x"),
    ("${#}", ""),
    ("${#:-n}", "n"),
    ("${?:-q}", "q"),
    ("${@:+b}", ""),
    # default / alternative / required
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),
    ("${UNSET-def}", "def"),
    ("${V:-def}", "value"),
    ("${V-def}", "value"),
    ("${V:+alt}", "alt"),
    ("${V+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${UNSET:-}", ""),
    ("${EMPTY?}", ""),
    ("${V?msg}", "value"),
    ("${V:?msg}", "value"),
    ("${UNSET:-${V}}", "value"),
    ("${UNSET:-${UNSET2:-deep}}", "deep"),
    ("${UNSET:-a b}", "a b"),
    ("${UNSET:-'q}'}", "q}"),
    ('${UNSET:-"x y"}', "x y"),
    ("${UNSET:-\\}}", "}"),
    ("${UNSET:-$V}", "value"),
    ("${UNSET:-\\$V}", "$V"),
    ("${V:+${V}-suffix}", "value-suffix"),
    ("${UNSET:-bbb}}", "bbb}"),
    ("${UNSET:-b {c}", "b {c"),
    # prefix / suffix removal
    ("${FILE#*.}", "tar.gz"),
    ("${FILE##*.}", "gz"),
    ("${FILE%.*}", "archive.tar"),
    ("${FILE%%.*}", "archive"),
    ("${FILE#archive}", ".tar.gz"),
    ("${FILE#nomatch}", "archive.tar.gz"),
    ("${FILE%.g?}", "archive.tar"),
    ("${FILE#*}", "archive.tar.gz"),
    ("${FILE##*}", ""),
    ("${FILE#}", "archive.tar.gz"),
    ("${STAR#a\\*}", "b"),
    ("${STAR%\\*b}", "a"),
    ("${UNSET#x}", ""),
    ("${FILE#$V}", "archive.tar.gz"),
    # replacement
    ("${PATHV/\\//:}", ":usr/local/bin"),
    ("${PATHV//\\//:}", ":usr:local:bin"),
    ("${PATHV/local/opt}", "/usr/opt/bin"),
    ("${PATHV//o/0}", "/usr/l0cal/bin"),
    ("${PATHV/#/x}", "/usr/local/bin"),
    ("${PATHV/*l/X}", "X/bin"),
    ("${PATHV/nomatch/X}", "/usr/local/bin"),
    ("${V//?/-}", "-----"),
    ("${V/a/}", "vlue"),
    ("${V///}", "value"),
    ("${V///-}", "-v-a-l-u-e-"),
    ("${V//*/-}", "-"),
    ("${V//a/'<$0>'}", "v<a>lue"),
    ("${V/a/'<$0>'}", "v<$0>lue"),
    ("${V//l/'$$'}", "va$ue"),
    ("${UNSET/a/b}", ""),
    ("${PATHV//\\//\\/}", "\\/usr\\/local\\/bin"),
]

# (text, reason) with Lexer() and ENV: each must raise ExpansionError.
ERROR_CASES: list[tuple[str, str]] = [
    ("'abc", "unexpected end of statement while looking for matching single-quote"),
    ('"abc', "unexpected end of statement while looking for matching double-quote"),
    ('"abc\\', "unexpected end of statement while looking for matching double-quote"),
    ('"abc\\"', "unexpected end of statement while looking for matching double-quote"),
    ("a\\\\'b", "unexpected end of statement while looking for matching single-quote"),
    ("${", "syntax error: missing '}'"),
    ("${V", "unsupported modifier (\ufffd) in substitution"),
    ("${}", "syntax error: bad substitution"),
    ("${:-x}", "syntax error: bad substitution"),
    ("${{V}}", "syntax error: bad substitution"),
    ("${V:-abc", "syntax error: missing '}'"),
    ("${V:-'abc}", "syntax error: missing '}'"),
    ("${V:", "syntax error: missing '}'"),
    ("${V:=x}", "unsupported modifier (:=) in substitution"),
    ("${V=x}", "unsupported modifier (=) in substitution"),
    ("${V:x}", "unsupported modifier (:x) in substitution"),
    ("${V:#x}", "unsupported modifier (:#) in substitution"),
    ("${V:%%x}", "unsupported modifier (:%) in substitution"),
    ("${.}", "unsupported modifier (.) in substitution"),
    ("${-x}", "unsupported modifier (x) in substitution"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
    ("${UNSET:?}", "UNSET: is not allowed to be unset"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("${UNSET:?need $V}", "UNSET: need value"),
    ("${EMPTY:?set it}", "EMPTY: set it"),
    ("${V/x}", "syntax error: missing '/' in ${}"),
    ("${V//}", "syntax error: missing '/' in ${}"),
    ("${V/x/y", "syntax error: missing '}'"),
    ("${V#\\x}", "invalid pattern (\\x) in substitution: invalid escape '\\x'"),
    ("${V:-${U?}}", "U: is not allowed to be unset"),
    ("${V:-${U?}", "syntax error: missing '}'"),
]

# (text, expected words) with Lexer().process_words and ENV.
WORDS_CASES: list[tuple[str, list[str]]] = [
    ("a b  c", ["a", "b", "c"]),
    ("  lead trail  ", ["lead", "trail"]),
    ('"a b" c', ["a b", "c"]),
    ("'a  b'c d", ["a  bc", "d"]),
    ("a\\ b c", ["a b", "c"]),
    ("$SP", ["a", "b"]),
    ('"$SP"', ["a  b"]),
    ("x${SP}y", ["xa", "by"]),
    ("$LEAD", ["x", "y"]),
    ('x"$LEAD"', ["x  x y "]),
    ("x${V}y z", ["xvaluey", "z"]),
    ('a "" b', ["a", "b"]),
    ("''", []),
    ("", []),
    ("   ", []),
    ("$UNSET", []),
    ("a $UNSET b", ["a", "b"]),
    ("a\tb\nc", ["a", "b", "c"]),
    ("a\u3000b\xa0c", ["a", "b", "c"]),
    ("a\x1cb", ["a\x1cb"]),
    ("<<EOF", ["<<EOF"]),
    ("<< EOF x", ["<< EOF", "x"]),
    ("a<b <", ["a<b", "<"]),
    ("'a'\"b\"c", ["abc"]),
    # BuildKit quirk: the word text before a ${V<modifier>...} is lost from the words.
    ("pre${UNSET:-x}post", ["xpost"]),
    ("ab${UNSET:-} c", ["c"]),
    ("a ${UNSET:-x y}z", ["a", "x", "yz"]),
    ('pre"${UNSET:-x}"', ["x"]),
]


def _err(
    text: str, env: dict[str, str] | None = None, lexer: Lexer | None = None
) -> ExpansionError:
    with pytest.raises(ExpansionError) as info:
        (lexer or Lexer()).process_word(text, ENV if env is None else env)
    return info.value


@pytest.mark.parametrize(("text", "expected"), WORD_CASES)
def test_process_word(text: str, expected: str) -> None:
    assert Lexer().process_word(text, ENV) == expected


@pytest.mark.parametrize(("text", "reason"), ERROR_CASES)
def test_process_word_errors(text: str, reason: str) -> None:
    err = _err(text)
    assert err.reason == reason
    assert err.source == text
    assert str(err).endswith(": " + reason)
    with pytest.raises(ExpansionError):
        Lexer().process_words(text, ENV)


@pytest.mark.parametrize(("text", "expected"), WORDS_CASES)
def test_process_words(text: str, expected: list[str]) -> None:
    assert Lexer().process_words(text, ENV) == expected


def test_words_keep_process_word_result_intact() -> None:
    # The word-buffer quirk only affects the word list, never the joined result.
    assert Lexer().process_word("pre${UNSET:-x}post", ENV) == "prexpost"


def test_error_message_is_buildkits() -> None:
    err = _err("${UNSET?}")
    assert str(err) == 'failed to process "${UNSET?}": UNSET: is not allowed to be unset'
    err = _err('a"\t\\')
    assert str(err) == (
        'failed to process "a\\"\\t\\\\": '
        "unexpected end of statement while looking for matching double-quote"
    )


def test_error_carries_variables_seen() -> None:
    err = _err("$V ${U?}")
    assert err.matched == frozenset({"V"})
    assert err.unmatched == frozenset({"U"})


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("x", {"DUMMY": "d"}, ("x", set(), set())),
        ("x ${FOO}", {"FOO": "y"}, ("x y", {"FOO"}, set())),
        ("${A:-${B}} $C", {"B": "b"}, ("b ", {"B"}, {"A", "C"})),
        ("${A+x}", {"A": ""}, ("x", {"A"}, set())),
        ("'$A'", {}, ("$A", set(), set())),
        ("${A#$B}", {"A": "xxyy", "B": "x"}, ("xyy", {"A", "B"}, set())),
        ("$a $A", {"A": "1"}, (" 1", {"A"}, {"a"})),
    ],
)
def test_process_word_with_matches(
    text: str, env: dict[str, str], expected: tuple[str, set[str], set[str]]
) -> None:
    assert Lexer().process_word_with_matches(text, env) == expected


@pytest.mark.parametrize(
    ("lexer", "text", "expected"),
    [
        # raw quotes / raw escapes
        (Lexer(raw_quotes=True), "'a' \"b$V\"", "'a' \"bvalue\""),
        (Lexer(raw_quotes=True), '"it\'s"', '"it\'s"'),
        (Lexer(raw_escapes=True), "a\\ b\\$V", "a\\ b\\$V"),
        (Lexer(raw_escapes=True), "a\\", "a\\"),
        (Lexer(raw_escapes=True), '"\\"x"', '\\"x'),
        (Lexer(raw_escapes=True), '"a\\tb"', "a\\\\tb"),
        (Lexer(raw_escapes=True), "${UNSET:-a\\b}", "ab"),
        # skip_unset leaves unset references as (re-serialised) text
        (Lexer(skip_unset=True), "$UNSET", "$UNSET"),
        (Lexer(skip_unset=True), "$V $UNSET", "value $UNSET"),
        (Lexer(skip_unset=True), "${UNSET}", "${UNSET}"),
        (Lexer(skip_unset=True), "${UNSET:-x}", "${UNSET:-x}"),
        (Lexer(skip_unset=True), "${UNSET:-$V}", "${UNSET:-value}"),
        (Lexer(skip_unset=True), "${UNSET:-$U2}", "${UNSET:-$U2}"),
        (Lexer(skip_unset=True), "${UNSET?}", "${UNSET?}"),
        (Lexer(skip_unset=True), "${UNSET:=x}", "${UNSET:=x}"),
        (Lexer(skip_unset=True), "${UNSET#x}", "${UNSET#x}"),
        (Lexer(skip_unset=True), "${UNSET//a/b}", "${UNSET/a/b}"),
        (Lexer(skip_unset=True), "${EMPTY:-d}", "d"),
        (Lexer(skip_unset=True), "$1", "$1"),
        # quotes as plain characters
        (Lexer(skip_process_quotes=True), "'$V' \"$V\"", "'value' \"value\""),
        (Lexer(skip_process_quotes=True), "'a", "'a"),
        # backtick escape token
        (Lexer(escape="`"), "a` b", "a b"),
        (Lexer(escape="`"), "C:\\path\\$V", "C:\\path\\value"),
        (Lexer(escape="`"), "`$V", "$V"),
        (Lexer(escape="`"), '"`""', '"'),
        (Lexer(escape="`"), '"a\\b``"', "a\\b`"),
        (Lexer(escape="`"), "${UNSET:-`}}", "}"),
    ],
)
def test_lexer_options(lexer: Lexer, text: str, expected: str) -> None:
    assert lexer.process_word(text, ENV) == expected


def test_backtick_escape_words() -> None:
    assert Lexer(escape="`").process_words("a` b c\\ d", ENV) == ["a b", "c\\", "d"]


HEREDOC_SCAN = Lexer(raw_quotes=True, raw_escapes=True, skip_unset=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("RUN <<EOF cat", ["RUN", "<<EOF", "cat"]),
        ("RUN <<-'EOF' cat", ["RUN", "<<-'EOF'", "cat"]),
        ('RUN cat <<EOF1 <<"EOF2"', ["RUN", "cat", "<<EOF1", '<<"EOF2"']),
        ("RUN <<  EOF", ["RUN", "<<  EOF"]),
        ("RUN echo $HOME ${X:-y} <<EOF", ["RUN", "echo", "$HOME", "${X:-y}", "<<EOF"]),
        ("RUN a\\ b <<E\\OF", ["RUN", "a\\ b", "<<E\\OF"]),
        ("COPY <<a.txt <<b.txt /dst/", ["COPY", "<<a.txt", "<<b.txt", "/dst/"]),
        ("RUN echo 'a  <<b'", ["RUN", "echo", "'a  <<b'"]),
    ],
)
def test_heredoc_line_scan(line: str, expected: list[str]) -> None:
    assert HEREDOC_SCAN.process_words(line, {}) == expected


@pytest.mark.parametrize(
    ("word", "cooked", "raw"),
    [
        ('"EOF"', ["EOF"], ['"EOF"']),
        ("'EOF'", ["EOF"], ["'EOF'"]),
        ("E'O'F", ["EOF"], ["E'O'F"]),
        ("EOF", ["EOF"], ["EOF"]),
        ("$EOF", ["$EOF"], ["$EOF"]),
        ("EOF x", ["EOF", "x"], ["EOF", "x"]),
    ],
)
def test_heredoc_word_quoting(word: str, cooked: list[str], raw: list[str]) -> None:
    assert Lexer(skip_unset=True).process_words(word, {}) == cooked
    assert Lexer(skip_unset=True, raw_quotes=True).process_words(word, {}) == raw


def test_lexer_is_frozen_and_validated() -> None:
    lexer = Lexer()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lexer.escape = "`"  # type: ignore[misc]
    with pytest.raises(ValueError, match="escape token"):
        Lexer(escape="x")


def test_lexer_is_reusable() -> None:
    lexer = Lexer()
    with pytest.raises(ExpansionError):
        lexer.process_word("${V:-'", ENV)
    assert lexer.process_word("${V:-x} ${UNSET:-y}", ENV) == "value y"
    assert lexer.process_words("${V:-x} ${UNSET:-y}", ENV) == ["value", "y"]


def test_env_is_any_mapping() -> None:
    class Env(dict[str, str]):
        pass

    assert Lexer().process_word("$A", Env(A="1")) == "1"


# -- BuildKit's own tables, read from the local mirror at test time ------------------

_MIRROR = Path(os.environ.get("KEELHAUL_BUILDKIT_MIRROR", "/work/.mirror/moby+buildkit/repo"))
_GO_SPACE = " \t\n\v\f\r\x85\xa0"


def _buildkit_file(name: str) -> str | None:
    if not _MIRROR.is_dir() or shutil.which("git") is None:
        return None
    proc = subprocess.run(
        [
            "git",
            "-c",
            f"safe.directory={_MIRROR}",
            "-C",
            str(_MIRROR),
            "show",
            f"HEAD:frontend/dockerfile/shell/{name}",
        ],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8")


def _lines(text: str) -> list[str]:
    # bufio.Scanner's line splitting: "\n" separated, a trailing "\r" dropped.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _missing(name: str) -> list[Any]:
    return [pytest.param(None, marks=pytest.mark.skip(reason=f"BuildKit mirror has no {name}"))]


def _env_var_cases() -> list[Any]:
    text = _buildkit_file("envVarTest")
    if text is None:
        return _missing("envVarTest")
    cases: list[Any] = []
    for lineno, raw in enumerate(_lines(text), 1):
        if raw.startswith("#"):
            continue
        line = raw.strip(_GO_SPACE)
        if not line:
            continue
        fields = line.split("|")
        assert len(fields) == 3, f"envVarTest line {lineno}: {line!r}"
        platform, source, expected = (f.strip(_GO_SPACE) for f in fields)
        marks = []
        if platform == "W":
            marks.append(pytest.mark.skip(reason="Windows-only (case-insensitive env names)"))
        case = (source, expected)
        cases.append(pytest.param(case, id=f"envVarTest:{lineno}", marks=marks))
    return cases


def _words_cases() -> list[Any]:
    text = _buildkit_file("wordsTest")
    if text is None:
        return _missing("wordsTest")
    cases: list[Any] = []
    env: dict[str, str] = {}
    for lineno, line in enumerate(_lines(text), 1):
        if line.startswith("#"):
            continue
        if line.startswith("ENV "):
            key, _, value = line[3:].lstrip(" ").partition("=")
            env[key] = value
            continue
        fields = line.split("|")
        assert len(fields) == 2, f"wordsTest line {lineno}: {line!r}"
        source = fields[0].strip(_GO_SPACE)
        expected = fields[1].lstrip(" ").split(",")
        cases.append(pytest.param((source, dict(env), expected), id=f"wordsTest:{lineno}"))
    return cases


BUILDKIT_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


@pytest.mark.parametrize("case", _env_var_cases())
def test_buildkit_env_var_table(case: tuple[str, str]) -> None:
    source, expected = case
    lexer = Lexer()
    if expected == "error":
        with pytest.raises(ExpansionError):
            lexer.process_word(source, BUILDKIT_ENV)
    else:
        assert lexer.process_word(source, BUILDKIT_ENV) == expected


@pytest.mark.parametrize("case", _words_cases())
def test_buildkit_words_table(case: tuple[str, dict[str, str], list[str]]) -> None:
    source, env, expected = case
    try:
        words = Lexer().process_words(source, env)
    except ExpansionError:
        words = ["error"]
    assert words == expected
