"""The stage model: ARG scoping, FROM expansion, the stage graph, the target's needs."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.stages import DependencyKind, DependencyVia, resolve
from keelhaul.dockerfile.syntax import parse


def build(src: str, **kwargs: object) -> object:
    return resolve(parse(src), **kwargs)  # type: ignore[arg-type]


def test_from_expands_global_args_from_defaults_and_build_args() -> None:
    src = "ARG BASE=python\nARG TAG=3.12-slim\nFROM ${BASE}:${TAG} AS app\n"
    b = resolve(parse(src))
    assert b.stages[0].base == "python:3.12-slim"
    assert b.stages[0].base_raw == "${BASE}:${TAG}"
    assert b.stages[0].name == "app"
    b2 = resolve(parse(src), {"TAG": "3.13-alpine"})
    assert b2.stages[0].base == "python:3.13-alpine"


def test_build_arg_for_undeclared_arg_is_ignored() -> None:
    b = resolve(parse("FROM alpine:${V:-3.20}\n"), {"V": "edge"})
    assert b.stages[0].base == "alpine:3.20"


def test_global_default_refers_to_earlier_global() -> None:
    b = resolve(parse("ARG V=1.2\nARG IMG=app:$V\nFROM $IMG\n"))
    assert b.stages[0].base == "app:1.2"


def test_global_arg_not_visible_in_stage_unless_redeclared() -> None:
    src = "ARG V=1\nFROM a\nRUN echo $V\nFROM b\nARG V\nRUN echo $V\n"
    b = resolve(parse(src))
    assert "V" not in b.stages[0].args
    assert b.stages[1].args["V"] == "1"


def test_stage_arg_default_and_env() -> None:
    src = 'FROM a\nARG X=1\nENV Y=${X}2 Z="q r"\n'
    st = resolve(parse(src)).stages[0]
    assert st.args == {"X": "1"}
    assert dict(st.env) == {"Y": "12", "Z": "q r"}


def test_platform_args_are_predefined() -> None:
    b = resolve(parse("FROM --platform=$BUILDPLATFORM golang:1.22 AS b\nFROM scratch\n"))
    assert b.stages[0].platform == "linux/amd64"
    assert b.stages[1].is_scratch


def test_stage_graph_and_needed_stages() -> None:
    src = (
        "FROM golang:1.22 AS deps\n"
        "FROM deps AS build\n"
        "RUN --mount=type=cache,from=deps,target=/x go build\n"
        "FROM node:20 AS unused\n"
        "FROM gcr.io/distroless/static\n"
        "COPY --from=build /out /app\n"
        "COPY --from=nginx:1.27 /etc/nginx/nginx.conf /x\n"
        "COPY --from=0 /go /go\n"
    )
    b = resolve(parse(src))
    build_stage = b.stages[1]
    assert build_stage.base_stage == 0
    vias = {(d.via, d.stage) for d in build_stage.dependencies}
    assert (DependencyVia.FROM, 0) in vias
    assert (DependencyVia.MOUNT, 0) in vias
    final = b.stages[3]
    kinds = [(d.kind, d.reference) for d in final.dependencies]
    assert (DependencyKind.STAGE, "build") in kinds
    assert (DependencyKind.IMAGE, "nginx:1.27") in kinds
    assert (DependencyKind.STAGE, "0") in kinds
    assert b.target == 3
    assert b.needed_stages() == [0, 1, 3]
    assert b.unused_stages() == [2]
    assert b.needed_stages(b.stage_by_name("UNUSED").index) == [2]  # type: ignore[union-attr]


def test_target_by_name() -> None:
    b = resolve(parse("FROM a AS one\nFROM b AS two\n"), target="One")
    assert b.target == 0
    missing = resolve(parse("FROM a AS one\n"), target="nope")
    assert any("could not be found" in p.message for p in missing.problems)


def test_copy_from_refuses_variables_as_buildkit_does() -> None:
    # dockerfile frontend 1.18+: "variable expansion is not supported for --from".
    src = "FROM a AS builder\nFROM b\nARG SRC=builder\nCOPY --from=${SRC} /x /y\n"
    build = resolve(parse(src))
    assert not [d for d in build.stages[1].dependencies if d.via is DependencyVia.COPY]
    assert any("not supported for --from" in p.message and p.fatal for p in build.problems)


@pytest.mark.parametrize(
    ("src", "bases"),
    [
        # FROM sees only earlier stages: its own name or a later one is an image.
        ("FROM golang AS golang\nRUN x\n", [None]),
        ("FROM later\nFROM alpine AS later\n", [None, None]),
        ("FROM alpine AS a\nFROM a AS b\nFROM b\n", [None, 0, 1]),
        # A repeated name: FROM takes the latest stage defined before it.
        ("FROM x AS a\nFROM y AS a\nFROM a\n", [None, None, 1]),
    ],
)
def test_from_resolves_like_buildkit(src: str, bases: list[int | None]) -> None:
    build = resolve(parse(src))
    assert [s.base_stage for s in build.stages] == bases
    assert not [p for p in build.problems if p.fatal]


def test_copy_from_sees_every_stage_and_the_last_of_a_name() -> None:
    src = "FROM x AS a\nFROM y AS a\nFROM z\nCOPY --from=a /p /p\nCOPY --from=1 /q /q\n"
    deps = resolve(parse(src)).stages[2].dependencies
    assert [d.stage for d in deps if d.via is DependencyVia.COPY] == [1, 1]
    bad = resolve(parse("FROM z\nCOPY --from=3 /q /q\n"))
    assert any("invalid stage index 3" in p.message for p in bad.problems)


def test_problems() -> None:
    probs = resolve(
        parse("RUN x\nFROM a AS x y\nFROM b AS Bad!\nFROM c AS s\nFROM d AS s\n")
    ).problems
    messages = " | ".join(p.message for p in probs)
    assert "RUN is not allowed before the first FROM" in messages
    assert "FROM requires either one or three arguments" in messages
    assert "invalid name for build stage" in messages
    assert "duplicate stage name" in messages


def test_undefined_variable_in_from_is_a_warning() -> None:
    b = resolve(parse("FROM alpine:$NOPE\n"))
    assert [p.fatal for p in b.problems if "NOPE" in p.message] == [False]


def test_cycle_is_reported() -> None:
    b = resolve(parse("FROM x AS a\nCOPY --from=b /p /p\nFROM a AS b\n"))
    assert any("circular" in p.message for p in b.problems)
    # FROM sees only earlier stages, so this pair is two images, not a cycle.
    images = resolve(parse("FROM b AS a\nFROM a AS b\n"))
    assert not any("circular" in p.message for p in images.problems)


def test_many_stages_do_not_exhaust_recursion() -> None:
    src = "FROM scratch AS s0\n" + "".join(f"FROM s{i} AS s{i + 1}\n" for i in range(3000))
    b = resolve(parse(src))
    assert len(b.needed_stages()) == 3001


def test_what_docker_build_rejects_after_parsing() -> None:
    src = (
        "FROM a\nFOO bar\nCOPY --form=x a b\nRUN --mount=type=cache,target=/x true\n"
        "ONBUILD FROM b\nONBUILD\nONBUILD COPY --nope a b\nHEALTHCHECK --interval=5s CMD true\n"
    )
    messages = [(p.line, p.message) for p in resolve(parse(src)).problems]
    assert messages == [
        (2, "unknown instruction: FOO"),
        (3, "unknown flag: form"),
        (5, "FROM isn't allowed as an ONBUILD trigger"),
        (6, "ONBUILD requires at least one argument"),
        (7, "unknown flag: nope"),
    ]
