"""The lossless syntax tree: exact round trips, BuildKit's reading, located errors."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.syntax import LineRole, Span, parse

dockerfile_oracle = pytest.importorskip("dockerfile")

# Each case is parsed by keelhaul and by BuildKit's own parser; the instruction lists must
# agree (values, flags, lines, JSON form, heredocs).
CASES = {
    "plain": "FROM alpine:3.20\nRUN echo hi\n",
    "no-final-newline": 'FROM alpine\nCMD ["sh"]',
    "crlf": "FROM alpine\r\nRUN apk add \\\r\n  curl\r\n",
    "bom": "\ufeffFROM alpine\nRUN true\n",
    "lowercase": "from alpine as Build\nrun echo\n",
    "continuation-with-comments": (
        "FROM debian\nRUN apt-get update && \\\n  # a comment\n  apt-get install -y curl \\\n"
        "\n  && rm -rf /var/lib/apt/lists/*\n"
    ),
    "continuation-trailing-space": "FROM debian\nRUN echo a \\  \n  b\n",
    "escaped-escape-at-end": "FROM debian\nRUN echo a \\\\\nRUN echo b\n",
    "backtick-escape": "# escape=`\nFROM windows\nRUN dir `\n  c:\\\nCOPY a\\b c:\\d\n",
    "directive-after-comment-is-comment": "# hello\n# escape=`\nFROM a\nRUN x `\n y\n",
    "syntax-directive": "# syntax=docker/dockerfile:1.7\n# check=skip=all\nFROM a\n",
    "json-form": 'FROM a\nCMD ["a", "b c"]\nENTRYPOINT ["/bin/sh", "-c"]\n',
    "bad-json-falls-back": 'FROM a\nCMD ["a", b]\nRUN [ oops\n',
    "json-unicode-escapes": 'FROM a\nCMD ["\\u00e9", "\\n"]\n',
    "env-forms": 'FROM a\nENV A b c\nENV X=1 Y="2 3" Z=\\"q\\"\nENV E=\n',
    "label": 'FROM a\nLABEL a=b "c d"=e\nLABEL maintainer="x y"\n',
    "arg": 'ARG A\nARG B=1 C="2 3"\nFROM a\nARG D\n',
    "flags": (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        "RUN --mount=type=cache,target=/root/.cache/go-build --network=none go build\n"
        "COPY --from=build --chown=1000:1000 --chmod=755 --link /out /bin/x\n"
        "ADD --checksum=sha256:abc --keep-git-dir=true https://x/y.tgz /y\n"
        "COPY --exclude=*.md --parents a/b/ /c/\n"
        "RUN --security=insecure -- echo hi\n"
        'COPY "--chown=a b" x y\n'
    ),
    "healthcheck": (
        "FROM a\nHEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD curl -f http://x/ || exit 1\n"
        'HEALTHCHECK CMD ["curl", "x"]\nHEALTHCHECK NONE\n'
    ),
    "onbuild": 'FROM a\nONBUILD RUN echo hi\nonbuild copy --from=x a b\nONBUILD ADD ["a", "b"]\n',
    "heredoc-run": "FROM a\nRUN <<EOF\necho hi\nEOF\n",
    "heredoc-chomp": "FROM a\nRUN <<-EOT bash\n\techo hi\n\tEOT\n",
    "heredoc-quoted": "FROM a\nRUN <<'EOF' sh\necho $HOME\nEOF\nRUN <<\"X\"\ny\nX\n",
    "heredoc-several": "FROM a\nRUN <<A <<B cat\na\nA\nb\nB\n",
    "heredoc-copy": "FROM a\nCOPY <<EOF /etc/x.conf\nkey=value\nEOF\n",
    "heredoc-fd": "FROM a\nRUN 3<<EOF cat /dev/fd/3\nx\nEOF\n",
    "heredoc-shebang": "FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n",
    "heredoc-with-flags": "FROM a\nRUN --mount=type=cache,target=/x <<EOF\nls\nEOF\n",
    "heredoc-not-in-json": 'FROM a\nRUN ["echo", "<<EOF"]\n',
    "heredoc-in-cmd-ignored": "FROM a\nCMD cat <<EOF\n",
    "maintainer-user-workdir": "FROM a\nMAINTAINER Jane <j@x>\nUSER 1000:1000\nWORKDIR /app\nSTOPSIGNAL SIGTERM\n",
    "expose-volume": 'FROM a\nEXPOSE 80/tcp 443\nVOLUME /data /logs\nVOLUME ["/x"]\n',
    "unknown-instruction": "FROM a\nFOO bar baz\n",
    "empty-args": "FROM a\nRUN\nCMD\n",
    "only-escape-line": "FROM a\nRUN echo \\\n\\\n  done\n",
    "tabs-and-weird-space": "FROM\ta\nRUN\t\techo\t1\n",
    "comment-indented": "  # indented comment\nFROM a\n   RUN x\n",
    "continuation-to-eof": "FROM a\nRUN echo \\",
    "shell": 'FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n',
}

ERROR_CASES = {
    "env-one-word": ("FROM a\nENV onlykey\n", 2),
    "env-mixed": ("FROM a\nENV a=1 b\n", 2),
    "json-not-strings": ("FROM a\nCMD [1, 2]\n", 2),
    "unterminated-heredoc": ("FROM a\nRUN <<EOF\necho\n", 2),
    "empty": ("\n# only a comment\n", 2),
    "duplicate-directive": ("# syntax=a\n# syntax=b\nFROM a\n", 2),
    "bad-escape": ("# escape=x\nFROM a\n", 1),
}


def _official(src: str) -> list[tuple[object, ...]]:
    return [
        (
            c.cmd,
            c.sub_cmd,
            c.json,
            c.start_line,
            c.end_line,
            tuple(c.flags),
            tuple(c.value),
            tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs),
        )
        for c in dockerfile_oracle.parse_string(src)
    ]


def _ours(src: str) -> list[tuple[object, ...]]:
    out = []
    for inst in parse(src).instructions:
        eff = inst.effective
        values = eff.values
        if eff.name in ("ENV", "LABEL"):
            values = tuple(v for i, v in enumerate(values) if i % 3 != 2)
        heredocs = () if inst.sub is not None else inst.heredocs
        out.append(
            (
                inst.keyword,
                inst.sub.keyword if inst.sub else None,
                eff.json,
                inst.start_line,
                inst.end_line,
                inst.flags,
                values,
                tuple((h.name, h.file_descriptor, h.content) for h in heredocs),
            )
        )
    return out


@pytest.mark.parametrize("src", CASES.values(), ids=CASES.keys())
def test_reads_like_buildkit(src: str) -> None:
    assert _ours(src) == _official(src)


@pytest.mark.parametrize("src", CASES.values(), ids=CASES.keys())
def test_round_trip(src: str) -> None:
    tree = parse(src)
    assert tree.render() == src
    assert not tree.errors


@pytest.mark.parametrize(("src", "line"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_errors_are_located_where_buildkit_refuses(src: str, line: int) -> None:
    with pytest.raises(dockerfile_oracle.GoParseError):
        dockerfile_oracle.parse_string(src)
    tree = parse(src, "Dockerfile.test")
    assert tree.render() == src
    assert tree.errors
    err = tree.errors[0]
    assert err.position.line == line
    assert str(err).startswith(f"Dockerfile.test:{line}: ")


def test_error_messages_match_buildkit() -> None:
    src = "FROM a\nENV a=1 b\n"
    with pytest.raises(dockerfile_oracle.GoParseError) as official:
        dockerfile_oracle.parse_string(src)
    ours = parse(src).errors[0].message
    assert ours in str(official.value)


def test_line_roles() -> None:
    src = "# syntax=docker/dockerfile:1\n\nFROM a\nRUN a \\\n  # c\n\n  b\nRUN <<EOF\nx\nEOF\n"
    roles = [line.role for line in parse(src).lines()]
    assert roles == [
        LineRole.DIRECTIVE,
        LineRole.BLANK,
        LineRole.CODE,
        LineRole.CODE,
        LineRole.COMMENT,
        LineRole.BLANK,
        LineRole.CODE,
        LineRole.CODE,
        LineRole.HEREDOC,
        LineRole.TERMINATOR,
    ]


def test_directives_and_escape() -> None:
    tree = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n")
    assert tree.directive("syntax") == "docker/dockerfile:1"
    assert tree.escape == "`"
    late = parse("FROM a\n# escape=`\nRUN a \\\n b\n")
    assert late.escape == "\\"
    assert late.directives == ()


def test_empty_continuation_warns() -> None:
    tree = parse("FROM a\nRUN a \\\n\n  b\n")
    assert [w.line for w in tree.warnings] == [4]


def test_bytes_that_are_not_utf8_round_trip() -> None:
    data = b"FROM a\nRUN echo \xff\xfe caf\xc3\xa9\n\x00\n"
    assert parse(data).to_bytes() == data


def test_flag_lookup() -> None:
    inst = parse("FROM a\nCOPY --from=build --chown=1:1 a b\n").instructions[1]
    assert inst.flag("from") == "build"
    assert inst.flag("chmod") is None
    assert inst.values == ("a", "b")


def test_onbuild_wraps_instruction() -> None:
    inst = parse("FROM a\nONBUILD RUN --mount=type=cache,target=/x make\n").instructions[1]
    assert inst.name == "ONBUILD"
    assert inst.sub is not None
    assert inst.effective.name == "RUN"
    assert inst.effective.flags == ("--mount=type=cache,target=/x",)
    assert inst.effective.start_line == 2


def test_pairs() -> None:
    inst = parse('FROM a\nENV A=1 B="x y"\n').instructions[1]
    assert inst.pairs() == (("A", "1"), ("B", '"x y"'))
    legacy = parse("FROM a\nENV A b c\n").instructions[1]
    assert legacy.pairs() == (("A", "b c"),)


def test_line_too_long_for_buildkit() -> None:
    src = "FROM a\nRUN echo " + "x" * 70000 + "\n"
    tree = parse(src)
    assert tree.render() == src
    assert "max allowed size" in str(tree.errors[0])


def test_spans_for_findings() -> None:
    tree = parse("FROM a\n  RUN apt-get update \\\n  # c\n    && apt-get install -y curl\n")
    run = tree.instructions[1]
    assert run.span == Span(2, 3, 4, 31)
    assert run.locate("curl") == Span(4, 27, 4, 31)
    assert run.locate("# c") is None  # comments are not instruction text
    assert run.locate("nope") is None


@pytest.mark.parametrize(
    "src",
    [
        "# escape=`\nRUN --mount=type=cache,target=/x\\ y --network=none\\ echo hi\n",
        "# escape=`\nRUN --a=b\\\n",
        '# escape=`\nRUN --a="b c\\" --x\\\n',
    ],
)
def test_builder_flags_escape_with_a_backslash_whatever_the_directive(src: str) -> None:
    """BuildKit's flag reader has its own backslash escape, even in a backtick file (found by
    the mutation property test)."""
    assert _ours(src) == _official(src)
