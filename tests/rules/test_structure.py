"""The Dockerfile structure rules (KH111-KH113, KH130-KH158).

Cases marked "bk" follow the intent of BuildKit's own lint tests
(frontend/dockerfile/dockerfile_check_test.go): same situation, our own files; the expected
lines are BuildKit's unless a comment says why keelhaul differs.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.rule import REGISTRY
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules
from tests.conftest import corpus_stats
from tests.corpus import parsed_dockerfiles

dockerfile_rules()


def lines(code: str, src: str, settings: Mapping[str, object] | None = None) -> list[int]:
    """Lines where rule ``code`` reports on ``src`` (one entry per finding)."""
    found = check_dockerfile(parse(src), rules=[REGISTRY[code]], settings=settings)
    return [f.location.line for f in found]


def messages(code: str, src: str, settings: Mapping[str, object] | None = None) -> list[str]:
    found = check_dockerfile(parse(src), rules=[REGISTRY[code]], settings=settings)
    return [f.message for f in found]


Case = tuple[str, list[int]]


def run_cases(code: str, src: str, expected: list[int]) -> None:
    assert lines(code, src) == expected


# --- KH130 workdir-relative -------------------------------------------------------------

WORKDIR_CASES: list[Case] = [
    ("FROM scratch\nWORKDIR app/\n", [2]),  # bk
    ("FROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n", []),  # bk
    ("FROM alpine:3.20\nWORKDIR /app\nWORKDIR sub\n", []),
    ("FROM alpine:3.20\nWORKDIR app\nWORKDIR sub\n", [2]),  # only the first counts
    ("FROM alpine:3.20\nWORKDIR $HOME/app\n", []),  # unknown variable: not judged
    ("FROM alpine:3.20\nARG DIR=/srv\nWORKDIR $DIR\n", []),
    ("FROM alpine:3.20\nARG DIR=srv\nWORKDIR ${DIR}/x\n", [3]),
    ('FROM alpine:3.20\nWORKDIR "/quoted"\n', []),
    ("FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nWORKDIR C:\\\\app\n", []),
    ("FROM alpine:3.20\nONBUILD WORKDIR app\n", []),
    ("FROM alpine:3.20\nENV APP=${APP_ROOT}app\nWORKDIR $APP\n", []),  # depends on the unknown
    ("FROM alpine:3.20 AS a\nFROM alpine:3.20\nWORKDIR app\n", [3]),
]


@pytest.mark.parametrize(("src", "expected"), WORKDIR_CASES)
def test_workdir_relative(src: str, expected: list[int]) -> None:
    run_cases("KH130", src, expected)


# --- KH131/KH132 EXPOSE -----------------------------------------------------------------

EXPOSE_INVALID: list[Case] = [
    ("FROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n", [2, 2, 2]),  # bk
    ("FROM scratch\nEXPOSE 80 443/tcp 53/udp 9000-9010 132/sctp 0 65535\n", []),
    ("FROM scratch\nEXPOSE 65536\n", [2]),
    ("FROM scratch\nEXPOSE 80/http\n", [2]),
    ("FROM scratch\nEXPOSE 9010-9000\n", [2]),
    ("FROM scratch\nEXPOSE eighty\n", [2]),
    ("FROM scratch\nEXPOSE $PORT\n", []),  # unknown variable
    ("FROM scratch\nARG PORT=70000\nEXPOSE $PORT\n", [3]),
    ("FROM scratch\nENV PORTS='80 8080'\nEXPOSE $PORTS\n", []),
    ("FROM alpine:3.20\nENV P=${BASE}99999\nEXPOSE $P\n", []),  # depends on the unknown
    ("FROM scratch\nENV P=${BASE}99999\nEXPOSE $P\n", [3]),  # from scratch BASE is empty
]


@pytest.mark.parametrize(("src", "expected"), EXPOSE_INVALID)
def test_expose_invalid_port(src: str, expected: list[int]) -> None:
    run_cases("KH131", src, expected)


EXPOSE_CASE: list[Case] = [
    ("FROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n", [2, 2]),  # bk
    ("FROM scratch\nEXPOSE 80/tcp 53/udp\n", []),
    ("FROM scratch\nEXPOSE 80/HTTP\n", []),  # not a protocol at all: KH131
]


@pytest.mark.parametrize(("src", "expected"), EXPOSE_CASE)
def test_expose_protocol_case(src: str, expected: list[int]) -> None:
    run_cases("KH132", src, expected)


def test_expose_messages_name_the_port() -> None:
    assert "5000:5000" in messages("KH131", "FROM scratch\nEXPOSE 5000:5000\n")[0]
    assert "8080/tcp" in messages("KH132", "FROM scratch\nEXPOSE 8080/TCP\n")[0]


# --- KH133 overridden-instruction -------------------------------------------------------

OVERRIDDEN: list[Case] = [
    (  # bk: the ignored (earlier) instruction is reported
        'FROM scratch\nENTRYPOINT ["/a"]\nENTRYPOINT ["/b"]\nCMD ["/a"]\nCMD ["/b"]\n'
        'HEALTHCHECK CMD ["/a"]\nHEALTHCHECK CMD ["/b"]\n',
        [2, 4, 6],
    ),
    (  # bk: other instructions in between change nothing
        'FROM scratch\nENTRYPOINT ["/a"]\nCMD ["/a"]\nHEALTHCHECK CMD ["/a"]\n'
        "COPY <<EOF /a.txt\nHello\nEOF\n"
        'ENTRYPOINT ["/b"]\nCMD ["/b"]\nHEALTHCHECK CMD ["/b"]\n',
        [2, 3, 4],
    ),
    (  # bk: a stage may override the stage it is built on
        'FROM scratch AS a\nENTRYPOINT ["/a"]\nCMD ["/a"]\nHEALTHCHECK CMD ["/a"]\n\n'
        'FROM a AS b\nENTRYPOINT ["/b"]\nCMD ["/b"]\nHEALTHCHECK CMD ["/b"]\n',
        [],
    ),
    ('FROM alpine:3.20\nCMD ["a"]\nONBUILD CMD ["b"]\n', []),
    ('FROM alpine:3.20\nCMD ["a"]\nCMD ["b"]\nCMD ["c"]\n', [2, 3]),
]


@pytest.mark.parametrize(("src", "expected"), OVERRIDDEN)
def test_overridden_instruction(src: str, expected: list[int]) -> None:
    run_cases("KH133", src, expected)


# --- KH134 copy-several-sources-to-file -------------------------------------------------

SEVERAL_SOURCES: list[Case] = [
    ("FROM alpine:3.20\nCOPY a b /dst\n", [2]),
    ("FROM alpine:3.20\nCOPY a b /dst/\n", []),
    ("FROM alpine:3.20\nWORKDIR /app\nCOPY a b .\n", []),  # BuildKit reads . as a directory
    ("FROM alpine:3.20\nCOPY a /dst\n", []),
    ("FROM alpine:3.20\nCOPY *.json /dst\n", []),  # a wildcard may match one file
    ('FROM alpine:3.20\nCOPY ["a", "b", "/dst"]\n', [2]),
    ("FROM alpine:3.20\nADD a b /dst\n", [2]),
    ("FROM alpine:3.20\nARG D=/dst/\nCOPY a b $D\n", []),
    ("FROM alpine:3.20\nARG D=/dst\nCOPY a b $D\n", [3]),
    ("FROM alpine:3.20\nCOPY a b $UNKNOWN\n", []),
    ("FROM alpine:3.20\nCOPY <<A <<B /dst\na\nA\nb\nB\n", [2]),
    ("FROM alpine:3.20\nONBUILD COPY a b /dst\n", [2]),
]


@pytest.mark.parametrize(("src", "expected"), SEVERAL_SOURCES)
def test_copy_several_sources_to_file(src: str, expected: list[int]) -> None:
    run_cases("KH134", src, expected)


# --- KH135/KH136 COPY --from ------------------------------------------------------------

UNKNOWN_STAGE: list[Case] = [
    ("FROM scratch\nCOPY --from=foo bar .\n", [2]),  # hadolint: missing alias
    ("FROM scratch\nCOPY --from=build foo .\nFROM node:20 AS build\nRUN x\n", [2]),  # later
    ("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /a /a\n", []),
    ("FROM golang:1.22 AS Build\nFROM scratch\nCOPY --from=BUILD /a /a\n", []),  # any case
    ("FROM golang:1.22\nFROM scratch\nCOPY --from=0 /a /a\n", []),
    ("FROM golang:1.22\nFROM scratch\nCOPY --from=5 /a /a\n", [3]),
    ("FROM scratch\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n", []),  # an image
    ("FROM scratch\nCOPY --from=nginx /etc/nginx /etc/nginx\n", []),  # official image
    ("FROM scratch\nCOPY --from=ghcr.io/org/tool /bin/tool /tool\n", []),
    ("FROM scratch\nCOPY --from=org/tool@sha256:" + "a" * 64 + " /t /t\n", []),
    ("ARG B=build\nFROM alpine:3.20 AS build\nFROM scratch\nCOPY --from=$B /a /a\n", [4]),
    ("FROM alpine:3.20 AS build\nFROM alpine:3.20\nRUN --mount=from=buidl,target=/x ls\n", [3]),
    ("FROM alpine:3.20 AS build\nFROM alpine:3.20\nRUN --mount=from=build,target=/x ls\n", []),
    ("FROM alpine:3.20\nONBUILD COPY --from=whatever /a /a\n", []),  # another build's stages
]


@pytest.mark.parametrize(("src", "expected"), UNKNOWN_STAGE)
def test_copy_from_unknown_stage(src: str, expected: list[int]) -> None:
    run_cases("KH135", src, expected)


def test_copy_from_unknown_stage_suggests_the_stage() -> None:
    src = "FROM alpine:3.20 AS license-set\nFROM scratch\nCOPY --from=set /out /\n"
    assert "did you mean license-set?" in messages("KH135", src)[0]
    src = "FROM golang:1.22 AS builder\nFROM scratch\nCOPY --from=buidler /out /\n"
    assert "did you mean builder?" in messages("KH135", src)[0]


OWN_STAGE: list[Case] = [
    ("FROM golang:1.22 AS build\nCOPY --from=build /a /b\n", [2]),
    ("FROM golang:1.22 AS build\nCOPY --from=BUILD /a /b\n", [2]),
    ("FROM golang:1.22\nCOPY --from=0 /a /b\n", [2]),
    ("FROM golang:1.22 AS b\nRUN --mount=type=bind,from=b,target=/x ls\n", [2]),
    ("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /a /b\n", []),
]


@pytest.mark.parametrize(("src", "expected"), OWN_STAGE)
def test_copy_from_own_stage(src: str, expected: list[int]) -> None:
    run_cases("KH136", src, expected)


# --- KH137-KH141 stage names and casing -------------------------------------------------

STAGE_NAMES: list[tuple[str, str, list[int]]] = [
    ("KH137", "FROM scratch AS b\nFROM scratch AS b\n", [2]),  # bk
    ("KH137", "FROM scratch AS b1\nFROM scratch AS b2\n", []),  # bk
    ("KH137", "FROM scratch AS b\nFROM scratch AS B\n", [2]),  # names ignore case
    ("KH138", "FROM scratch AS scratch\nFROM scratch AS context\n", [1, 2]),  # bk
    ("KH138", "FROM scratch\nFROM scratch AS a\n", []),  # bk
    ("KH139", "\n#\nFROM scratch AS BadStageName\n\nFROM scratch as base2\n", [3]),  # bk
    ("KH139", "FROM scratch AS base3\n", []),  # bk
    ("KH140", "FROM scratch AS BadStageName\n#\nFROM scratch as base2\nFROM scratch AS b3\n", [3]),
    ("KH140", "from scratch AS base\n\nfrom scratch as base2\n", [1]),  # bk
    ("KH140", "From scratch as base\n", []),  # mixed FROM: instruction casing's business
    ("KH141", "From scratch as base\nFROM scratch AS base2\n", [1]),  # bk
    ("KH141", "FROM scratch\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n", [2]),  # bk
    ("KH141", "frOM scratch as base\nfrom scratch as base2\n", [1]),  # bk
    ("KH141", "from scratch\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n", [2]),  # bk
    ("KH141", "from scratch\nCOPY a /foo\nCOPY a /bar\nCOPY a /baz\n", [1]),  # bk
    ("KH141", "FROM scratch\ncopy a /foo\ncopy a /bar\ncopy a /baz\n", [1]),  # bk
    ("KH141", "from scratch\ncopy a /foo\ncopy a /bar\n", []),  # bk
    ("KH141", "FROM scratch\nCOPY a /foo\nCOPY a /bar\n", []),  # bk
    ("KH141", "FROM alpine:3.20\nRUN <<'EOT'\nenv\nEOT\n", []),  # bk: heredoc text is no keyword
]


@pytest.mark.parametrize(("code", "src", "expected"), STAGE_NAMES)
def test_stage_names_and_casing(code: str, src: str, expected: list[int]) -> None:
    run_cases(code, src, expected)


def test_stage_name_findings_point_at_the_name() -> None:
    found = check_dockerfile(
        parse("FROM build AS build\nFROM x AS Build\n"), rules=[REGISTRY["KH137"]]
    )
    assert (found[0].location.line, found[0].location.column) == (2, 11)
    assert "line 1" in found[0].message


# --- KH142 undefined-arg-in-from --------------------------------------------------------

UNDEFINED_ARG_IN_FROM: list[Case] = [
    ("ARG base=scratch\nFROM $base\nCOPY Dockerfile .\n", []),  # bk
    ("ARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\n", []),  # bk
    ("FROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n", []),  # bk
    ("ARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n", []),  # bk
    ("ARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n", []),  # bk
    ('ARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n', []),  # bk
    ("FROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n", [1]),  # bk
    ("ARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n", [3]),  # bk
    ("ARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n", [2]),  # bk
    ("FROM alpine:3.20\nARG V=1\nFROM node:${V}\n", [3]),  # a stage ARG is not seen by FROM
    ("FROM --platform=$TARGETPLATFORM alpine:3.20\n", []),
]


@pytest.mark.parametrize(("src", "expected"), UNDEFINED_ARG_IN_FROM)
def test_undefined_arg_in_from(src: str, expected: list[int]) -> None:
    run_cases("KH142", src, expected)


def test_undefined_arg_in_from_suggests() -> None:
    msg = messages("KH142", "FROM --platform=$BULIDPLATFORM scratch\n")[0]
    assert "$BULIDPLATFORM" in msg
    assert "did you mean $BUILDPLATFORM?" in msg
    msg = messages("KH142", "ARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n")[0]
    assert "did you mean $MY_ARCH?" in msg
    msg = messages("KH142", "FROM alpine:3.20 AS a\nARG V=1\nFROM node:${V}\n")[0]
    assert "stage a" in msg


# --- KH143 invalid-default-base ---------------------------------------------------------

INVALID_DEFAULT_BASE: list[Case] = [
    ("ARG VERSION\nFROM busybox:$VERSION\n", [2]),  # bk
    ("ARG IMAGE\nFROM $IMAGE\n", [2]),  # bk
    ('ARG SFX="box:"\nFROM busy${SFX}\n', [2]),  # bk
    ('ARG VERSION="latest"\nFROM busybox:${VERSION}\n', []),  # bk
    ('ARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n', []),  # bk
    ("ARG BUSYBOX_VARIANT\nFROM busybox:stable${BUSYBOX_VARIANT}\n", []),  # bk
    ("ARG REG=Registry.Example.com\nFROM ${REG}/team/app:1\n", []),  # a registry may have capitals
    ("ARG NAME=Team/App\nFROM ${NAME}:1\n", [2]),  # a repository may not
    ("ARG BASE=build\nFROM alpine:3.20 AS build\nFROM ${BASE}\n", []),
    ("FROM $UNDECLARED\n", []),  # KH142's business
]


@pytest.mark.parametrize(("src", "expected"), INVALID_DEFAULT_BASE)
def test_invalid_default_base(src: str, expected: list[int]) -> None:
    run_cases("KH143", src, expected)


# --- KH144 undefined-variable -----------------------------------------------------------

UNDEFINED_VARIABLE: list[Case] = [
    ("FROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n", []),  # bk: declared ARG
    ("FROM alpine:3.20 AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n", []),  # bk
    ("FROM alpine:3.20\nRUN echo $PATH\n", []),  # bk
    ("FROM alpine:3.20\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n", [2]),  # bk
    (  # bk
        "FROM alpine:3.20\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\n"
        "ARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n",
        [5],
    ),
    ("FROM alpine:3.20\nENV PATH=$PAHT:/tmp/bin\n", [2]),  # bk
    ("FROM scratch\nCOPY app-$VERSION.jar /app/\n", [2]),  # scratch: everything is known
    ("ARG VERSION=1\nFROM eclipse-temurin:21\nCOPY app-$VERSION.jar /app/\n", [3]),  # global
    ("ARG VERSION=1\nFROM eclipse-temurin:21\nARG VERSION\nCOPY app-$VERSION.jar /a/\n", []),
    ("FROM alpine:3.20 AS a\nARG X=1\nFROM alpine:3.20\nCOPY $X /x\n", [4]),  # other stage
    ("FROM golang:1.22\nWORKDIR $GOPATH/src\n", []),  # base image ENV
    ("FROM golang:1.22\nARG GO_FLAGS=x\nWORKDIR $GOPATH/src\n", []),  # near miss of image ENV
    ("FROM node:20\nWORKDIR $HOME/app\n", [2]),  # the shell's HOME is not the builder's
    ("FROM scratch\nRUN --mount=type=cache,target=$CACHE true\n", [2]),  # mount options
    ("FROM scratch\nCMD echo $NOPE\n", []),  # CMD is left to the shell
    ("FROM scratch\nHEALTHCHECK CMD echo $NOPE\n", []),
    ("FROM scratch\nENV A=1 B=$A\n", []),  # KH149's business
    ("FROM alpine:3.20\nARG X=${X}\n", [2]),  # refers to itself
    ("FROM scratch\nARG A=1 B=$A\n", []),  # ARG defines its names in order
    ("FROM scratch\nLABEL version=$V\n", [2]),
    ("FROM scratch\nCOPY <<EOF /x\n$NOPE\nEOF\n", [3]),  # expanded heredoc, on its line
    ("FROM scratch\nCOPY <<'EOF' /x\n$NOPE\nEOF\n", []),  # quoted: not expanded
    ("FROM scratch\nARG BUILDKIT_SBOM_SCAN_STAGE=true\nCOPY ${BUILDKIT_SBOM_SCAN_CONTEXT} .\n", []),
    ("FROM scratch\nARG TARGETARCH\nCOPY bin-$TARGETARCH /bin\n", []),
    ("FROM scratch\nCOPY bin-$TARGETARCH /bin\n", [2]),  # platform args need an ARG line
    ("FROM alpine:3.20\nONBUILD COPY $X /x\n", []),
]


@pytest.mark.parametrize(("src", "expected"), UNDEFINED_VARIABLE)
def test_undefined_variable(src: str, expected: list[int]) -> None:
    run_cases("KH144", src, expected)


@pytest.mark.parametrize(
    ("src", "needle"),
    [
        ("FROM alpine:3.20\nCOPY $DIR_ASSETS .\nARG DIR_ASSETS=a\n", "line 3"),
        ("FROM alpine:3.20\nCOPY $DIR_ASSET .\nARG DIR_ASSETS=a\n", "did you mean $DIR_ASSETS?"),
        ("FROM alpine:3.20\nARG DIR_ASSETS=a/\nCOPY $DIR_ASSET .\n", "did you mean $DIR_ASSETS?"),
        ("FROM alpine:3.20\nENV PATH=$PAHT:/tmp/bin\n", "did you mean $PATH?"),
        ("ARG V=1\nFROM scratch\nCOPY a$V /\n", "add `ARG V` in this stage"),
        ("FROM scratch AS a\nENV X=1\nFROM scratch\nCOPY $X /\n", "stage a"),
    ],
)
def test_undefined_variable_messages(src: str, needle: str) -> None:
    assert needle in messages("KH144", src)[0]


# --- KH145/KH146 FROM --platform --------------------------------------------------------

PLATFORM: list[tuple[str, str, list[int]]] = [
    ("KH145", "FROM --platform=linux/amd64 scratch\n", [1]),  # bk
    ("KH145", "FROM --platform=linux/amd64 scratch AS my_amd64_stage\n", []),  # bk
    ("KH145", "FROM --platform=linux/amd64 scratch AS linux\n", []),  # bk
    ("KH145", "FROM --platform=$BUILDPLATFORM golang:1.22\n", []),
    ("KH145", "ARG P=linux/arm64\nFROM --platform=$P alpine:3.20\n", []),  # a variable
    ("KH145", "FROM --platform=arm64 alpine:3.20 AS build-linux\n", []),
    ("KH145", "FROM --platform=arm64 alpine:3.20 AS build-arm\n", [1]),  # arm is not arm64
    ("KH145", "FROM --platform=linux/aarch64 alpine:3.20 AS build-arm64\n", []),  # normalised
    ("KH145", "FROM --platform=not/a/real/platform alpine:3.20\n", []),  # fails elsewhere
    ("KH146", "FROM --platform=$TARGETPLATFORM scratch\n", [1]),  # bk
    ("KH146", "FROM --platform=${TARGETPLATFORM} scratch\n", [1]),  # bk
    ("KH146", "FROM --platform=$BUILDPLATFORM scratch\n", []),
    ("KH146", "FROM --platform=${TARGETPLATFORM}-x scratch\n", []),
    ("KH146", "FROM --platform=$TARGETOS/$TARGETARCH scratch\n", []),
]


@pytest.mark.parametrize(("code", "src", "expected"), PLATFORM)
def test_platform_rules(code: str, src: str, expected: list[int]) -> None:
    run_cases(code, src, expected)


# --- KH147 definition-description (opt-in) ----------------------------------------------

DESCRIPTIONS: list[Case] = [
    (  # bk: every comment is a proper description or is cut off
        "# foo this is the foo\nARG foo=bar\n\n# base this is the base image\nFROM scratch AS base\n"
        "\n# version this is the version number\nARG version=latest\n\n# baz this is the baz\n"
        "ARG foo=baz bar=qux baz=quux\n#\nARG bit=bat\n\n# comment for something else\n"
        "COPY Dockerfile .\n",
        [],
    ),
    (  # bk
        "# bar this is the bar\nARG foo=bar\n# BasE this is the BasE image\nFROM scratch AS base\n"
        "# definitely a bad comment\nARG version=latest\n# definitely a bad comment\n"
        "ARG foo=baz bar=qux baz=quux\n",
        [2, 4, 6, 8],
    ),
    ("# hadolint ignore=DL3006\nARG foo=bar\n", []),  # a pragma is no description
    ("ARG foo=bar\n", []),
]


@pytest.mark.parametrize(("src", "expected"), DESCRIPTIONS)
def test_definition_description(src: str, expected: list[int]) -> None:
    run_cases("KH147", src, expected)


def test_definition_description_is_opt_in() -> None:
    assert not REGISTRY["KH147"].default_on


# --- KH148 onbuild-forbidden-trigger ----------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM alpine:3.20\nONBUILD FROM alpine:3.20\n", [2]),
        ("FROM alpine:3.20\nONBUILD MAINTAINER me\n", [2]),
        ("FROM alpine:3.20\nONBUILD ONBUILD RUN x\n", [2]),
        ("FROM alpine:3.20\nONBUILD RUN make\n", []),
    ],
)
def test_onbuild_forbidden_trigger(src: str, expected: list[int]) -> None:
    run_cases("KH148", src, expected)


# --- KH149 env-same-statement-reference -------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM alpine:3.20\nENV A=1 B=$A\n", [2]),
        ("FROM alpine:3.20\nENV A=1 \\\n    B=${A}/x\n", [3]),  # on the line of the use
        ("FROM alpine:3.20\nENV A=1\nENV B=$A\n", []),
        ("FROM alpine:3.20\nENV PATH=/x:$PATH\n", []),  # its own previous value
        ("FROM alpine:3.20\nENV B=$A A=1\n", []),  # refers to the value before, clearly
        ("FROM alpine:3.20\nONBUILD ENV A=1 B=$A\n", [2]),
        ("FROM alpine:3.20\nENV A=0\nENV A=1 B=$A\n", [3]),
    ],
)
def test_env_same_statement_reference(src: str, expected: list[int]) -> None:
    run_cases("KH149", src, expected)


def test_env_same_statement_message_says_which_value() -> None:
    assert "an empty string" in messages("KH149", "FROM alpine:3.20\nENV A=1 B=$A\n")[0]
    assert "previous value" in messages("KH149", "FROM alpine:3.20\nENV A=0\nENV A=1 B=$A\n")[0]


# --- KH150 copy-relative-without-workdir ------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM python:3.12\nCOPY requirements.txt .\n", [2]),
        ("FROM python:3.12\nCOPY bla.sh /usr/local/bin/blubb.sh\n", []),
        ('FROM python:3.12\nCOPY bla.sh "/usr/local/bin/"\n', []),
        ("FROM python:3.12\nWORKDIR /app\nCOPY . .\n", []),
        ("FROM python:3.12 AS base\nWORKDIR /app\nFROM base\nCOPY . .\n", []),  # inherited
        ("FROM python:3.12 AS base\nWORKDIR /app\nFROM python:3.12\nCOPY . .\n", [4]),
        ("FROM scratch\nCOPY app .\n", []),  # scratch: always /
        ("FROM python:3.12\nCOPY x $DEST\n", []),  # unknown
        ("FROM python:3.12\nARG D=rel\nCOPY x $D\n", [3]),
        ("FROM python:3.12\nENV D=$HOME/x\nCOPY x $D\n", []),  # $HOME: unknown, so is D
        ("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY x C:\\\\app\\\\\n", []),
        ("FROM python:3.12\nADD x.tar.gz opt/\n", [2]),
    ],
)
def test_copy_relative_without_workdir(src: str, expected: list[int]) -> None:
    run_cases("KH150", src, expected)


# --- KH151 invalid-label-key ------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('FROM alpine:3.20\nLABEL com.docker.label="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL io.docker.label="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL org.dockerproject.label="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL invalid$character="foo"\n', []),  # a variable: not judged
        ('FROM alpine:3.20\nLABEL invalid%character="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL build_id="1" app.kubernetes.io/name="x"\n', []),  # tolerated
        ('FROM alpine:3.20\nLABEL ends_="1"\n', [2]),
        ('FROM alpine:3.20\nLABEL Upper="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL double..dot="foo" double--dash="x"\n', [2, 2]),
        ('FROM alpine:3.20\nLABEL trailing.="foo"\n', [2]),
        ('FROM alpine:3.20\nLABEL org.opencontainers.image.source="x" maintainer="y"\n', []),
        ('FROM alpine:3.20\nLABEL com.docker.desktop.extension.api.version=">= 0.3.0"\n', []),
        ('FROM alpine:3.20\nLABEL "org.example.quoted"="x"\n', []),
    ],
)
def test_invalid_label_key(src: str, expected: list[int]) -> None:
    run_cases("KH151", src, expected)


# --- KH152 label-schema (opt-in) --------------------------------------------------------

SCHEMA = {
    "label-schema": {
        "author": "text",
        "url": "url",
        "created": "rfc3339",
        "license": "spdx",
        "revision": "hash",
        "version": "semver",
        "contact": "email",
    }
}
FULL = (
    'FROM alpine:3.20\nLABEL author="Jane" url="https://example.com/x" '
    'created="2024-06-01T12:00:00Z" license="Apache-2.0 OR MIT" revision="0a1b2c3d" '
    'version="1.4.2-rc.1" contact="Jane <jane@example.com>"\n'
)


@pytest.mark.parametrize(
    ("src", "settings", "needles"),
    [
        (FULL, SCHEMA, []),
        ("FROM alpine:3.20\n", SCHEMA, [f"no label {k}" for k in SCHEMA["label-schema"]]),
        (FULL.replace('"Jane"', '""'), SCHEMA, ["author is empty"]),
        (FULL.replace("https://example.com/x", "example"), SCHEMA, ["url should be a URL"]),
        (FULL.replace("2024-06-01T12:00:00Z", "June"), SCHEMA, ["created should be an RFC"]),
        (FULL.replace("2024-06-01T12:00:00Z", "2024-13-01T12:00:00Z"), SCHEMA, ["created"]),
        (FULL.replace("Apache-2.0 OR MIT", "Apache 2"), SCHEMA, ["license should be an SPDX"]),
        (FULL.replace("0a1b2c3d", "main"), SCHEMA, ["revision should be a git"]),
        (FULL.replace("1.4.2-rc.1", "1.4"), SCHEMA, ["version should be a semantic"]),
        (FULL.replace("Jane <jane@example.com>", "jane"), SCHEMA, ["contact should be an email"]),
        (FULL + "LABEL extra=1\n", {**SCHEMA, "strict-labels": True}, ["extra is not in the"]),
        (FULL + "LABEL extra=1\n", SCHEMA, []),
        ("FROM alpine:3.20\nARG V\nLABEL org.opencontainers.image.created=$V\n", {}, []),
        ('FROM alpine:3.20\nLABEL org.opencontainers.image.licenses="GPLv2"\n', {}, ["SPDX"]),
        (  # labels of a stage the final one is built FROM count
            FULL.replace("FROM alpine:3.20", "FROM alpine:3.20 AS base") + "FROM base\n",
            SCHEMA,
            [],
        ),
    ],
)
def test_label_schema(src: str, settings: dict[str, object], needles: list[str]) -> None:
    found = messages("KH152", src, settings)
    assert len(found) == len(needles), found
    for needle in needles:
        assert any(needle in message for message in found), (needle, found)


# --- KH153 instruction-before-from ------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("LABEL foo=bar\nFROM foo\n", [1]),
        ("FROM foo\nLABEL foo=bar\n", []),
        ("ARG A=B\nFROM foo\nLABEL foo=bar\n", []),
        ("# syntax=docker/dockerfile:1\n# c\nARG A\nFROM foo\n", []),
        ("ARG A\nRUN x\nCOPY y /\nFROM foo\n", [2]),  # the build stops at the first
        ('CMD ["x"]\n', [1]),
    ],
)
def test_instruction_before_from(src: str, expected: list[int]) -> None:
    run_cases("KH153", src, expected)


# --- KH154 shell-replaced-by-symlink ----------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM debian:12\nRUN ln -sf /bin/bash /bin/sh\n", [2]),
        ("FROM debian:12\nRUN rm /bin/sh && ln -s /bin/bash /bin/sh\n", [2]),
        ("FROM debian:12\nRUN ln -s -f bash /usr/bin/sh\n", [2]),
        ("FROM debian:12\nRUN <<EOF\nset -e\nln -sf /bin/bash /bin/sh\nEOF\n", [4]),  # its line
        ("FROM debian:12\nRUN ln -sf /bin/sh /usr/local/bin/mysh\n", []),
        ("FROM debian:12\nRUN ln -sf /usr/bin/python3 /usr/bin/python\n", []),
    ],
)
def test_shell_replaced_by_symlink(src: str, expected: list[int]) -> None:
    run_cases("KH154", src, expected)


# --- KH155 add-instead-of-copy ----------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM alpine:3.20\nADD app.py /app/\n", [2]),
        ("FROM alpine:3.20\nADD . /app\n", [2]),
        ("FROM alpine:3.20\nADD rootfs.tar.xz /\n", []),
        ("FROM alpine:3.20\nADD vendor.tgz /opt/\n", []),
        ("FROM alpine:3.20\nADD app.zip /opt/\n", [2]),  # ADD does not unpack zip
        ("FROM alpine:3.20\nADD https://example.com/x.txt /x\n", []),  # supply-chain rules
        ("FROM alpine:3.20\nADD git@github.com:org/repo.git /src\n", []),
        ("FROM alpine:3.20\nADD --checksum=sha256:abc https://e.com/x /x\n", []),
        ("FROM alpine:3.20\nADD $SRC /x\n", []),
        ("FROM alpine:3.20\nARG SRC=local.conf\nADD $SRC /x\n", [3]),
        ("FROM alpine:3.20\nADD <<EOF /x\nhi\nEOF\n", [2]),
        ("FROM alpine:3.20\nCOPY app.py /app/\n", []),
    ],
)
def test_add_instead_of_copy(src: str, expected: list[int]) -> None:
    run_cases("KH155", src, expected)


# --- KH156 missing-healthcheck (opt-in) -------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM nginx:1.27\n", [1]),
        ("FROM nginx:1.27\nHEALTHCHECK CMD curl -f localhost\n", []),
        ("FROM nginx:1.27\nHEALTHCHECK NONE\n", []),
        ("FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM base\n", []),
        ("FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM nginx:1.27\n", [3]),
    ],
)
def test_missing_healthcheck(src: str, expected: list[int]) -> None:
    run_cases("KH156", src, expected)
    assert not REGISTRY["KH156"].default_on


# --- KH157 copied-archive-extracted -----------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM debian:12\nCOPY app.tar /usr/src/app\nRUN tar -xf /usr/src/app/app.tar\n", [2]),
        (
            "FROM debian:12\nCOPY app.tar.gz /src/\nWORKDIR /src\n"
            "RUN foo && tar xzf app.tar.gz && rm app.tar.gz\n",
            [2],
        ),
        ("FROM debian:12\nCOPY app.zip /tmp/\nRUN unzip /tmp/app.zip -d /opt\n", [2]),
        ("FROM debian:12\nCOPY app.tar /src/\nRUN tar -cf other.tar /src\n", []),  # creates
        ("FROM debian:12\nCOPY app.tar /src/\n", []),
        ("FROM debian:12\nCOPY app.tar /src/\nRUN tar -xf other.tar\n", []),
        (  # a build stage's layers do not ship
            "FROM debian:12 AS build\nCOPY app.tar /src/\nRUN tar -xf /src/app.tar\n"
            "FROM debian:12\nCOPY --from=build /src /src\n",
            [],
        ),
    ],
)
def test_copied_archive_extracted(src: str, expected: list[int]) -> None:
    run_cases("KH157", src, expected)


# --- KH158 workdir-system-directory -----------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM debian:12\nWORKDIR /proc/x\n", [2]),
        ("FROM debian:12\nWORKDIR /dev\n", [2]),
        ("FROM debian:12\nWORKDIR /devices\n", []),
        ("FROM debian:12\nWORKDIR /app/../sys/x\n", [2]),
        ("FROM debian:12\nWORKDIR /app\n", []),
    ],
)
def test_workdir_system_directory(src: str, expected: list[int]) -> None:
    run_cases("KH158", src, expected)


# --- KH159 copy-whole-filesystem ------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build / /\n", [4]),
        ("FROM alpine:3.20\nCOPY --from=busybox:1.36 / /\n", []),  # an image: unknown
        ("FROM tonistiigi/xx:1.5 AS xx\nFROM alpine:3.20\nCOPY --from=xx / /\n", []),  # alias
        ("FROM golang:1.22 AS b\nRUN make\nFROM alpine:3.20\nCOPY --from=b /. /\n", [4]),
        ("FROM golang:1.22 AS build\nFROM alpine:3.20\nCOPY --from=build /out /\n", []),
        (  # exporting a scratch stage's results is the usual pattern
            "FROM golang:1.22 AS build\nFROM scratch AS out\nCOPY --from=build /app /app\n"
            "FROM alpine:3.20\nCOPY --from=out / /\n",
            [],
        ),
        (  # a toolchain copied into a builder stage does not ship
            "FROM tonistiigi/xx:1.5 AS xx\nFROM golang:1.22 AS build\nCOPY --from=xx / /\n"
            "FROM scratch\nCOPY --from=build /app /app\n",
            [],
        ),
    ],
)
def test_copy_whole_filesystem(src: str, expected: list[int]) -> None:
    run_cases("KH159", src, expected)


# --- KH111/KH112/KH113 ------------------------------------------------------------------

OWNED: list[tuple[str, str, list[int]]] = [
    ("KH111", "FROM scratch\nMAINTAINER me@example.org\n", [2]),  # bk
    ("KH111", 'FROM scratch\nLABEL org.opencontainers.image.authors="me"\n', []),  # bk
    ("KH112", "FROM scratch\nENV testkey value\nLABEL key value\n", [2, 3]),  # bk
    ("KH112", "FROM scratch\nENV testkey=value\nLABEL key=value\n", []),  # bk
    ("KH112", "FROM scratch AS a\nFROM a AS b\nENV k v\nLABEL k v\nFROM a AS c\n", [3, 4]),  # bk
    ("KH113", "FROM scratch\nCMD mycommand\n", [2]),  # bk
    ("KH113", "FROM scratch\nENTRYPOINT mycommand\n", [2]),  # bk
    ("KH113", 'FROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n', []),  # bk
    ("KH113", 'FROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n', []),  # bk
    ("KH113", 'FROM scratch AS base\nSHELL ["/usr/bin/customshell"]\nFROM base\nCMD my\n', []),
    ("KH113", 'FROM scratch AS base\nSHELL ["/usr/bin/sh2"]\nFROM base\nENTRYPOINT my\n', []),
    ("KH113", "FROM node:20 AS dev\nCMD npm run dev\nFROM node:20\nCMD node x.js\n", [2, 4]),
    ("KH113", "FROM node:20\nCMD exec node server.js\n", []),  # exec: node is PID 1
    ("KH113", "FROM scratch\nCMD exec /app\n", [2]),  # but scratch has no /bin/sh at all
    ("KH113", 'FROM node:20\nCMD ["node", "x.js"]\n', []),
    ("KH113", 'FROM node:20\nCMD node x.js\nSHELL ["/bin/bash", "-c"]\n', [2]),  # after
]


@pytest.mark.parametrize(("code", "src", "expected"), OWNED)
def test_owned_rules(code: str, src: str, expected: list[int]) -> None:
    run_cases(code, src, expected)


def test_scratch_shell_form_message() -> None:
    assert "no /bin/sh" in messages("KH113", "FROM scratch\nCMD /app\n")[0]


# --- the corpus -------------------------------------------------------------------------

MINE = [
    r
    for r in dockerfile_rules()
    if r.code in ("KH111", "KH112", "KH113") or 130 <= int(r.code[2:]) <= 159
]


@pytest.mark.corpus
def test_structure_rules_on_the_corpus_are_sound() -> None:
    trees = [f.tree for f in parsed_dockerfiles()]
    stats = corpus_stats("structure rules")
    for tree in trees:
        for finding in check_dockerfile(tree, rules=MINE):
            stats[finding.code] += 1
            assert finding.message
    # Known real problems in the corpus stay found.
    assert stats["KH135"] >= 1  # docker/compose: COPY --from=set
    assert stats["KH144"] >= 1
