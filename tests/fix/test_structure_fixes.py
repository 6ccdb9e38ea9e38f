"""Fixes of the structure and style rules: casing, exec form, merged RUNs, pipefail, wget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keelhaul.checking import Target
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding, Safety
from keelhaul.fix.fixing import fix_target
from tests.fix.test_fixing import checker, fix

MINE = ("KH113", "KH132", "KH140", "KH141", "KH180", "KH185", "KH188")


def findings(src: str, code: str) -> list[Finding]:
    result = checker((code,)).check([Target(Path("Dockerfile"), "Dockerfile", True, src.encode())])
    return [f for f in result.all_findings if f.code == code]


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def check_fix(src: str, code: str, expected: str) -> None:
    """``src`` fixed by ``code`` gives ``expected``, also with CRLF line breaks; once is enough."""
    assert fix(src, (code,)) == expected
    assert fix(crlf(src), (code,)) == crlf(expected)
    assert fix(expected, (code,)) == expected
    assert not parse(expected).errors


# --- KH141 instruction casing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            "FROM alpine:3.20\nrun echo hi \\\n  && echo run\nCOPY . /src\n",
            "FROM alpine:3.20\nRUN echo hi \\\n  && echo run\nCOPY . /src\n",
        ),
        (
            "from alpine:3.20\nrun echo hi\nCOPY . /src\n  Workdir /src\n",
            "from alpine:3.20\nrun echo hi\ncopy . /src\n  workdir /src\n",
        ),
        # ONBUILD: the flagged keyword is ONBUILD itself; the trigger's keyword is left alone.
        (
            "FROM alpine:3.20\nonbuild RUN echo hi\nRUN x\n",
            "FROM alpine:3.20\nONBUILD RUN echo hi\nRUN x\n",
        ),
        (  # ... and the trigger's keyword goes with it
            "FROM alpine:3.20\nonbuild  run echo hi\nRUN x\n",
            "FROM alpine:3.20\nONBUILD  RUN echo hi\nRUN x\n",
        ),
        ("\ufeffFROM alpine:3.20\nRUN a\nrun b\n", "\ufeffFROM alpine:3.20\nRUN a\nRUN b\n"),
        ("FROM alpine:3.20\nRUN echo hi\n", "FROM alpine:3.20\nRUN echo hi\n"),
    ],
)
def test_instruction_casing(src: str, expected: str) -> None:
    check_fix(src, "KH141", expected)


# --- KH140 FROM ... AS casing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM golang:1.22 as build\nRUN x\n", "FROM golang:1.22 AS build\nRUN x\n"),
        ("from golang:1.22 AS build\nrun x\n", "from golang:1.22 as build\nrun x\n"),
        (
            "FROM --platform=$BUILDPLATFORM golang:1.22   As   build\nRUN x\n",
            "FROM --platform=$BUILDPLATFORM golang:1.22   AS   build\nRUN x\n",
        ),
        (  # continuation: only the line with the word changes
            "FROM golang:1.22 \\\n  as build\nRUN x\n",
            "FROM golang:1.22 \\\n  AS build\nRUN x\n",
        ),
        ("FROM as as build\nRUN x\n", "FROM as AS build\nRUN x\n"),  # an image named `as`
    ],
)
def test_from_as_casing(src: str, expected: str) -> None:
    check_fix(src, "KH140", expected)


# --- KH132 EXPOSE protocol ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM nginx\nEXPOSE 8080/TCP\n", "FROM nginx\nEXPOSE 8080/tcp\n"),
        (  # 80/TCP is also the tail of 8080/TCP: whole words only
            "FROM nginx\nEXPOSE 8080/TCP 80/Udp \\\n  53/SCTP\n",
            "FROM nginx\nEXPOSE 8080/tcp 80/udp \\\n  53/sctp\n",
        ),
        ("FROM nginx\nEXPOSE 80/tcp 8080/TCP\n", "FROM nginx\nEXPOSE 80/tcp 8080/tcp\n"),
    ],
)
def test_expose_protocol(src: str, expected: str) -> None:
    check_fix(src, "KH132", expected)


def test_expose_with_variable_is_not_rewritten() -> None:
    src = "FROM nginx\nARG P=TCP\nEXPOSE 80/$P\n"
    assert all(f.fix is None for f in findings(src, "KH132"))
    src = "FROM nginx\nONBUILD EXPOSE 80/TCP\n"
    assert fix(src, ("KH132",)) == src


# --- KH113 exec form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            "FROM node:20-slim\nCMD node server.js\n",
            'FROM node:20-slim\nCMD ["node", "server.js"]\n',
        ),
        (
            "FROM node:20-slim\ncmd  node   'my app.js' --title=\"a b\" \\\n  --port=8080\n",
            'FROM node:20-slim\ncmd ["node", "my app.js", "--title=a b", "--port=8080"]\n',
        ),
        ('FROM debian:12\nCMD "/usr/bin/run.sh"\n', 'FROM debian:12\nCMD ["/usr/bin/run.sh"]\n'),
        (  # scratch: `exec` is flagged there (no /bin/sh at all) and dropped in the JSON form
            "FROM scratch\nCOPY app /app\nCMD exec /app --serve\n",
            'FROM scratch\nCOPY app /app\nCMD ["/app", "--serve"]\n',
        ),
        (
            "FROM debian:12\nCMD /usr/sbin/sshd -D -o ListenAddress=0.0.0.0\n",
            'FROM debian:12\nCMD ["/usr/sbin/sshd", "-D", "-o", "ListenAddress=0.0.0.0"]\n',
        ),
    ],
)
def test_exec_form(src: str, expected: str) -> None:
    check_fix(src, "KH113", expected)


@pytest.mark.parametrize(
    "command",
    [
        "node $APP",  # needs the shell to expand
        "node ${APP:-x}",
        "node server.js > /log",
        "node server.js 2>&1",
        "a | b",
        "a && b",
        "a; b",
        "cd /app && node x",
        "node *.js",
        "node ~/x",
        "node x &",
        "PORT=1 node x",
        'node "$HOME"',
        'node "a\\"b"',
        "node `x`",
        "node $(x)",
        "node a#b c # comment",
        "node {a,b}",
        "if true; then x; fi",
        "set -e",
        "source /env",
        "echo 'it''s'",  # adjacent quotes: one word, fine for the shell, but see next
    ][:-1],
)
def test_exec_form_refuses_what_needs_a_shell(command: str) -> None:
    found = findings(f"FROM debian:12\nCMD {command}\n", "KH113")
    assert found, command
    assert all(f.fix is None for f in found), command


def test_exec_form_argv_equals_the_shell_split() -> None:
    """The JSON list is what /bin/sh -c would have run: parse_shell's words of the original."""
    commands = [
        "node server.js",
        "node 'a b' \"c d\" e",
        "python -m http.server 8000 --bind=0.0.0.0",
        "java -Xmx512m -jar /app/app.jar",
        "gunicorn -b :8000 app:app",
        "x 'a''b' \"c\"'d'e",
        "/bin/sh /deploy.sh",
        "nginx -g 'daemon off;'",
    ]
    for command in commands:
        out = fix(f"FROM debian:12\nCMD {command}\n", ("KH113",))
        cmd = parse(out).instructions[1]
        assert cmd.json, command
        shell = parse_shell(command).commands
        assert len(shell) == 1
        assert list(cmd.values) == list(shell[0].words), command
        assert json.loads(out.splitlines()[1][4:]) == list(shell[0].words)


def test_exec_form_safety() -> None:
    # An ENTRYPOINT: `docker run` arguments would reach it: unsafe.
    entry = findings("FROM debian:12\nENTRYPOINT /app --serve\n", "KH113")
    assert entry[0].fix is not None
    assert entry[0].fix.safety is Safety.UNSAFE
    assert fix("FROM debian:12\nENTRYPOINT /app --serve\n", ("KH113",)).endswith("serve\n")
    assert fix("FROM debian:12\nENTRYPOINT /app\n", ("KH113",), unsafe=True) == (
        'FROM debian:12\nENTRYPOINT ["/app"]\n'
    )
    # With a CMD in the stage, the CMD would become its arguments: no fix at all.
    both = findings('FROM debian:12\nCMD ["x"]\nENTRYPOINT /app\n', "KH113")
    assert both
    assert both[0].fix is None
    # A CMD that an exec-form ENTRYPOINT of the stage chain receives: unsafe.
    src = 'FROM debian:12 AS base\nENTRYPOINT ["tini", "--"]\nFROM base\nCMD /app\n'
    cmd = findings(src, "KH113")
    assert cmd[0].fix is not None
    assert cmd[0].fix.safety is Safety.UNSAFE


def test_exec_form_leaves_onbuild_and_comment_lines() -> None:
    src = "FROM debian:12\nONBUILD CMD node x\n"
    assert fix(src, ("KH113",)) == src  # not flagged: runs in another image
    src = "FROM debian:12\nCMD node \\\n# the port\n  --port 80\n"
    assert [f.fix for f in findings(src, "KH113")] == [None]


# --- KH188 wget progress -----------------------------------------------------------------------

_URL = "https://go.dev/dl/go1.22.5.linux-amd64.tar.gz"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            f"FROM debian:12\nRUN wget -O /tmp/go.tgz {_URL}\n",
            f"FROM debian:12\nRUN wget --progress=dot:giga -O /tmp/go.tgz {_URL}\n",
        ),
        (
            f"FROM debian:12\nRUN set -eux; \\\n\tcd /tmp; \\\n\t/usr/bin/wget {_URL} \\\n"
            "\t&& tar xzf go1.22.5.linux-amd64.tar.gz\n",
            f"FROM debian:12\nRUN set -eux; \\\n\tcd /tmp; \\\n\t/usr/bin/wget --progress=dot:giga "
            f"{_URL} \\\n\t&& tar xzf go1.22.5.linux-amd64.tar.gz\n",
        ),
        (  # two downloads in one RUN: each gets the option (in two passes)
            f"FROM debian:12\nRUN wget {_URL} && wget {_URL}.2\n",
            f"FROM debian:12\nRUN wget --progress=dot:giga {_URL} && wget --progress=dot:giga "
            f"{_URL}.2\n",
        ),
    ],
)
def test_wget_progress(src: str, expected: str) -> None:
    check_fix(src, "KH188", expected)


def test_wget_progress_not_for_other_escapes_or_quoted_names() -> None:
    for src in (
        f"# escape=`\nFROM debian:12\nRUN wget `\n  {_URL}\n",
        f"FROM debian:12\nRUN 'wget' {_URL}\n",
        f"FROM debian:12\nONBUILD RUN wget {_URL}\n",  # runs in another image: not flagged
    ):
        assert fix(src, ("KH188",)) == src


# --- KH185 pipefail ----------------------------------------------------------------------------

_PIPE = "curl -fsSL https://example.com/key.asc | tee /etc/apt/keyrings/x.asc"
_SHELL = 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (f"FROM debian:12\nRUN {_PIPE}\n", f"FROM debian:12\n{_SHELL}\nRUN {_PIPE}\n"),
        (
            f"FROM python:3.12-slim\n  RUN {_PIPE}\n",
            f"FROM python:3.12-slim\n  {_SHELL}\n  RUN {_PIPE}\n",
        ),
        (
            f"FROM alpine:3.20\nRUN apk add curl && \\\n    {_PIPE}\n",
            f"FROM alpine:3.20\nRUN set -o pipefail && apk add curl && \\\n    {_PIPE}\n",
        ),
        (  # the script starts on the next line
            f"FROM alpine:3.20\nRUN --network=host \\\n    {_PIPE}\n",
            f"FROM alpine:3.20\nRUN --network=host \\\n    set -o pipefail && {_PIPE}\n",
        ),
        (  # a SHELL with bash but no pipefail: bash has it
            f'FROM debian:12\nSHELL ["/bin/bash", "-c"]\nRUN {_PIPE}\n',
            f'FROM debian:12\nSHELL ["/bin/bash", "-c"]\nRUN set -o pipefail && {_PIPE}\n',
        ),
    ],
)
def test_pipefail(src: str, expected: str) -> None:
    """Every pipefail fix is unsafe: a build that passed may fail (its point)."""
    assert all(f.fix is not None and f.fix.safety is Safety.UNSAFE for f in findings(src, "KH185"))
    assert fix(src, ("KH185",)) == src
    assert fix(src, ("KH185",), unsafe=True) == expected
    assert fix(crlf(src), ("KH185",), unsafe=True) == crlf(expected)
    assert fix(expected, ("KH185",), unsafe=True) == expected
    assert not parse(expected).errors


@pytest.mark.parametrize(
    "src",
    [
        f"FROM gcr.io/distroless/base\nRUN {_PIPE}\n",  # no bash, no pipefail in its sh
        f"FROM myorg/base:1\nRUN {_PIPE}\n",  # unknown image: bash may be missing
        f'FROM debian:12\nSHELL ["/bin/sh", "-c"]\nRUN {_PIPE}\n',  # a SHELL was chosen
        f"FROM debian:12\nRUN <<EOF\n{_PIPE}\nEOF\n",
        f"# escape=`\nFROM alpine:3.20\nRUN `\n  {_PIPE}\n",  # not the usual escape
        f"FROM debian:12\nONBUILD RUN {_PIPE}\n",  # another image's shell
    ],
)
def test_pipefail_without_safe_fix(src: str) -> None:
    assert fix(src, ("KH185",)) == src


def test_pipefail_shell_is_unsafe_when_later_instructions_use_the_shell() -> None:
    src = f"FROM debian:12\nRUN {_PIPE}\nRUN echo 'a\\nb' > /x\n"
    found = findings(src, "KH185")
    assert found[0].fix is not None
    assert found[0].fix.safety is Safety.UNSAFE
    assert fix(src, ("KH185",)) == src
    assert fix(src, ("KH185",), unsafe=True) == src.replace("RUN curl", f"{_SHELL}\nRUN curl")
    child = f'FROM debian:12 AS base\nRUN {_PIPE}\nFROM base\nCMD ["x"]\n'
    assert fix(child, ("KH185",)) == child  # a stage built on it would inherit the SHELL


def test_pipefail_prefix_keeps_the_script() -> None:
    src = f"FROM alpine:3.20\nRUN a | b; {_PIPE} && c || d\n"
    out = fix(src, ("KH185",), unsafe=True)
    before = parse_shell(parse(src).instructions[1].values[0]).commands
    after = parse_shell(parse(out).instructions[1].values[0]).commands
    assert after[0].words == ("set", "-o", "pipefail")
    assert [c.words for c in after[1:]] == [c.words for c in before]
    assert [c.connector for c in after[1:]] == [c.connector for c in before]


# --- KH180 merged RUNs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (  # the rule's own example: the comment stays, inside the continuation
            "FROM debian:12\nRUN mkdir -p /srv/app\n# then the owner\nRUN chown 10001 /srv/app\n",
            "FROM debian:12\nRUN mkdir -p /srv/app && \\\n# then the owner\n"
            "    chown 10001 /srv/app\n",
        ),
        (  # leading `&&` layout kept; blank lines go; metadata and its comment move after
            "FROM debian:12\nRUN a \\\n  && b\n\n# port\nEXPOSE 80\nLABEL x=y\n# owner\n"
            "RUN \\\n  c\nRUN d\n",
            "FROM debian:12\nRUN a \\\n  && b \\\n# owner\n  && c \\\n  && d\n# port\nEXPOSE 80\n"
            "LABEL x=y\n",
        ),
        (  # tab-indented package lists: their indentation is reused
            "FROM alpine:3.20\nRUN\tapk add --no-cache \\\n\tca-certificates\n\nRUN go get x\n",
            "FROM alpine:3.20\nRUN\tapk add --no-cache \\\n\tca-certificates && \\\n\tgo get x\n",
        ),
        (  # the same flags on both
            "FROM debian:12\nRUN --network=none a\nRUN --network=none b\n",
            "FROM debian:12\nRUN --network=none a && \\\n    b\n",
        ),
        (  # set -eux before a chain without variables or pipes changes nothing there
            "FROM debian:12\nRUN set -eux; a; b\nRUN install -d /x\n",
            "FROM debian:12\nRUN set -eux; a; b && \\\n    install -d /x\n",
        ),
        (  # a cd in a subshell stays there
            "FROM debian:12\nRUN (cd /x && make) && z\nRUN y\n",
            "FROM debian:12\nRUN (cd /x && make) && z && \\\n    y\n",
        ),
    ],
)
def test_merge(src: str, expected: str) -> None:
    check_fix(src, "KH180", expected)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("cd /srv", "make"),  # the cd would reach the second RUN
        ("export X=1", "make"),
        ("X=1", "make"),
        ("set -u", "echo $X"),
        ("set -o pipefail", "a | b"),
        ("umask 077", "touch x"),
        ("exit 0", "make"),  # would skip the second RUN
        ("f() { :; }", "f"),
        ("server &", "make"),  # background job would run on during the second RUN
        ("a;", "b"),
        ("a # note", "b"),  # the && would be commented out
        ("a", "b; c"),  # c would run after a failed a
        ("a", "b || c"),
        ("a", "if b; then c; fi"),
    ],
)
def test_merge_refused(first: str, second: str) -> None:
    src = f"FROM debian:12\nRUN {first}\nRUN {second}\n"
    assert all(f.fix is None for f in findings(src, "KH180")), (first, second)
    assert fix(src, ("KH180",)) == src


def test_merge_keeps_commands_in_order_and_text_as_is() -> None:
    src = (
        "FROM debian:12\n"
        "RUN mkdir -p /opt/x\n"
        "RUN curl -fsSL https://x.example/a.tgz -o /a.tgz \\\n"
        "    && tar xzf /a.tgz\n"
        "# no layer of its own\n"
        "RUN rm /a.tgz\n"
    )
    out = fix(src, ("KH180",))
    runs = [i for i in parse(out).instructions if i.name == "RUN"]
    assert len(runs) == 1
    parts = [i for i in parse(src).instructions if i.name == "RUN"]
    expected = [c.words for p in parts for c in parse_shell(p.values[0]).commands]
    assert [c.words for c in parse_shell(runs[0].values[0]).commands] == expected
    for line in ("RUN mkdir -p /opt/x", "    && tar xzf /a.tgz",
                 "# no layer of its own", "rm /a.tgz"):  # fmt: skip
        assert line in out


def test_merge_refuses_heredocs_flags_and_onbuild() -> None:
    for src in (
        "FROM debian:12\nRUN <<EOF\na\nEOF\nRUN b\n",
        "FROM debian:12\nRUN --mount=type=cache,target=/c a\nRUN b\n",
        "FROM debian:12\nONBUILD RUN a\nONBUILD RUN b\n",
    ):
        assert fix(src, ("KH180",)) == src


# --- several fixes together --------------------------------------------------------------------


def test_fixes_compose_into_one_coherent_file() -> None:
    src = (
        "from debian:12 AS base\n"
        "RUN wget -O /tmp/go.tgz " + _URL + "\n"
        "# unpack\n"
        "run tar xzf /tmp/go.tgz -C /usr/local\n"
        "EXPOSE 8080/TCP\n"
        "RUN curl -fsSL https://example.com/key.asc | tee /k.asc\n"
        "CMD /usr/local/go/bin/go version\n"
    )
    once = fix(src, MINE)
    assert fix(once, MINE) == once
    assert once == (
        "FROM debian:12 AS base\n"
        f"RUN wget --progress=dot:giga -O /tmp/go.tgz {_URL} && \\\n"
        "# unpack\n"
        "    tar xzf /tmp/go.tgz -C /usr/local && \\\n"
        "    curl -fsSL https://example.com/key.asc | tee /k.asc\n"
        "EXPOSE 8080/tcp\n"
        'CMD ["/usr/local/go/bin/go", "version"]\n'
    )
    assert not parse(once).errors


def test_crlf_file_keeps_its_line_breaks() -> None:
    src = crlf("FROM alpine:3.20\nrun a\n# c\nRUN b \\\n  && c\nCMD app --x\nEXPOSE 1/UDP\n")
    out = fix(src, MINE)
    assert "\n" not in out.replace("\r\n", "")
    assert out == crlf(
        'FROM alpine:3.20\nRUN a \\\n# c\n  && b \\\n  && c\nCMD ["app", "--x"]\nEXPOSE 1/udp\n'
    )


def test_outcome_reports_no_bug_and_parses() -> None:
    src = "FROM debian:12\nRUN a\nRUN b\nCMD x y\n"
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    out = fix_target(checker(MINE), target, src, unsafe=True)
    assert out.bug is None
    assert out.broken is None
    assert {f.code for f in out.applied} == {"KH180", "KH113"}
