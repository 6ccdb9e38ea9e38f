"""Suppressions in the Dockerfile: keelhaul's, hadolint's and BuildKit's."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.suppression import Suppressions
from tests.selection_sample import VOCAB, finding


def kept(
    src: str,
    found: list[tuple[str, int]],
    *,
    inline: bool = True,
    build_args: dict[str, str] | None = None,
) -> list[tuple[str, int]]:
    """Which of ``found`` (code, line) survive the suppressions of ``src``."""
    sup = Suppressions.of(parse(src), VOCAB, inline=inline, build_args=build_args)
    out = sup.keep([finding(code, line) for code, line in found])
    return [(f.code, f.location.line) for f in out]


RUN3 = "RUN apt-get update \\\n    && apt-get install -y curl \\\n    && true\n"


@pytest.mark.parametrize(
    ("src", "found", "expected"),
    [
        # directly above: the whole instruction, continuation lines included
        (
            f"FROM a:1\n# keelhaul: ignore=KH172 -- pinned by the base image\n{RUN3}USER 1\n",
            [("KH172", 3), ("KH172", 4), ("KH172", 5), ("KH172", 6), ("KH101", 3)],
            [("KH172", 6), ("KH101", 3)],
        ),
        # several codes, names, any case, spaces after commas
        (
            "# keelhaul: ignore=kh101, root-user\nFROM a\n",
            [("KH101", 2), ("KH109", 2), ("KH110", 2)],
            [("KH110", 2)],
        ),
        # a run of comment lines counts; a blank line breaks it
        (
            "# keelhaul: ignore=KH101\n# why: vendor image\nFROM a\n",
            [("KH101", 3)],
            [],
        ),
        ("# keelhaul: ignore=KH101\n\nFROM a\n", [("KH101", 3)], [("KH101", 3)]),
        # on a comment line inside the instruction
        (
            "FROM a\nRUN apt-get update \\\n  # keelhaul: ignore=KH172\n  && apt-get install -y x\n",
            [("KH172", 4)],
            [],
        ),
        # only the next instruction
        (
            "# keelhaul: ignore=KH109\nFROM a\nUSER root\n",
            [("KH109", 2), ("KH109", 3)],
            [("KH109", 3)],
        ),
        # a name with dashes is not taken for the reason marker
        (
            "# keelhaul: ignore=root-user --reason-less\nFROM a\n",
            [("KH109", 2)],
            [],
        ),
        ("#keelhaul:ignore=ALL -- generated\nFROM a\n", [("KH101", 2), ("SC2086", 2)], []),
        # file wide, anywhere
        (
            "FROM a\nUSER root\n# keelhaul: ignore-file=KH109\n",
            [("KH109", 1), ("KH109", 2), ("KH101", 1)],
            [("KH101", 1)],
        ),
        # unknown words are skipped, the rest still works
        ("# keelhaul: ignore=KH999,KH101\nFROM a\n", [("KH101", 2)], []),
        # not a pragma
        ("# keelhaul ignore KH101\nFROM a\n", [("KH101", 2)], [("KH101", 2)]),
        ("FROM a # keelhaul: ignore=KH101\n", [("KH101", 1)], [("KH101", 1)]),
    ],
)
def test_keelhaul_pragmas(
    src: str, found: list[tuple[str, int]], expected: list[tuple[str, int]]
) -> None:
    assert kept(src, found) == expected


@pytest.mark.parametrize(
    ("src", "found", "expected"),
    [
        ("# hadolint ignore=DL3007\nFROM a:latest\n", [("KH101", 2)], []),
        ("# hadolint ignore=DL3008,SC2086\n" + RUN3, [("KH172", 3), ("SC2086", 4)], []),
        ("# hadolint ignore=DL3008, DL3002\nFROM a\n", [("KH172", 2), ("KH109", 2)], []),
        # hadolint's list ends at the first word that is not a code
        ("# hadolint ignore=DL3002 because root\nFROM a\n", [("KH109", 2)], []),
        ("# hadolint ignore=DL4444\nFROM a\n", [("KH109", 2)], [("KH109", 2)]),
        ("# hadolint ignore=DL3002\nFROM a\nUSER root\n", [("KH109", 3)], [("KH109", 3)]),
        ("FROM a\nUSER root\n# hadolint global ignore=DL3002\n", [("KH109", 2)], []),
        ("# hadolint shell=bash\nFROM a\n", [("KH109", 2)], [("KH109", 2)]),
    ],
)
def test_hadolint_pragmas(
    src: str, found: list[tuple[str, int]], expected: list[tuple[str, int]]
) -> None:
    assert kept(src, found) == expected


@pytest.mark.parametrize(
    ("src", "found", "expected"),
    [
        (
            "# check=skip=StageNameCasing,FromAsCasing\nFROM a as Build\n",
            [("KH139", 2), ("KH140", 2), ("KH101", 2)],
            [("KH101", 2)],
        ),
        (
            "# syntax=docker/dockerfile:1\n# check=skip=all;error=true\nFROM a as Build\n",
            [("KH139", 3), ("KH110", 3), ("KH101", 3)],
            [("KH101", 3)],  # all: every rule that aliases a BuildKit check, no more
        ),
        (
            "# check=error=true\nFROM a as Build\n",
            [("KH139", 2)],
            [("KH139", 2)],
        ),
        # a directive only counts at the top of the file
        ("FROM a as Build\n# check=skip=StageNameCasing\n", [("KH139", 1)], [("KH139", 1)]),
    ],
)
def test_buildkit_check_directive(
    src: str, found: list[tuple[str, int]], expected: list[tuple[str, int]]
) -> None:
    assert kept(src, found) == expected


def test_buildkit_build_arg_wins_over_the_directive() -> None:
    src = "# check=skip=StageNameCasing\nFROM a as Build\n"
    found = [("KH139", 2), ("KH140", 2)]
    args = {"BUILDKIT_DOCKERFILE_CHECK": "skip=FromAsCasing"}
    assert kept(src, found, build_args=args) == [("KH139", 2)]


def test_inline_off_honours_nothing() -> None:
    src = "# check=skip=all\n# keelhaul: ignore-file=KH101\n# hadolint ignore=DL3002\nFROM a\n"
    found = [("KH101", 4), ("KH109", 4), ("KH139", 4)]
    assert kept(src, found, inline=False) == found
    assert kept(src, found) == []


def test_notes_for_words_nothing_answers_to() -> None:
    sup = Suppressions.of(
        parse("# check=skip=NoSuchCheck\n# keelhaul: ignore=KH999\n# hadolint ignore=DL4444\nFROM a\n"),
        VOCAB,
    )  # fmt: skip
    assert len(sup.notes) == 3
    assert "NoSuchCheck" in sup.notes[0]
    assert "Dockerfile:2: keelhaul pragma: unknown rule or category 'KH999'" in sup.notes[1]
    assert "DL4444" in sup.notes[2]


def test_unused_suppressions() -> None:
    src = (
        "# keelhaul: ignore=KH101,KH109 -- used and not\n"
        "FROM a\n"
        "# keelhaul: ignore=KH109\n"
        "\n"
        "USER root\n"
        "# keelhaul: ignore-file=KH110\n"
        "# hadolint ignore=DL3002\n"
        "USER 1\n"
        "# keelhaul: ignore=KH156\n"
        "HEALTHCHECK NONE\n"
    )
    sup = Suppressions.of(parse(src), VOCAB)
    assert sup.keep([finding("KH101", 2), finding("KH109", 5)]) == [finding("KH109", 5)]
    stale = sup.unused(lambda code: code != "KH156")  # KH156 is off here: moot, not stale
    assert [(f.code, f.location.line, f.location.column) for f in stale] == [
        ("KH001", 1, 1),
        ("KH001", 3, 1),
        ("KH001", 6, 1),
    ]
    assert "suppression of KH109 silences nothing on the instruction" in stale[0].message
    assert "no blank line between" in stale[1].message
    assert "KH110 silences nothing in this file" in stale[2].message
