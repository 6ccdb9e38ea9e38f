"""The unsafe fix of KH120: the `-slim` twin of a full official language image."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.checking import Target
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.rules.dockerfile.multistage.full_base_image import slim_tag
from tests.fix.test_fixing import checker, fix

CMD = 'CMD ["python", "app.py"]\n'


def base_fix(src: str) -> str:
    return fix(src, ("KH120",), unsafe=True)


def kh120(src: str) -> list[int]:
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    return [f.location.line for f in checker(("KH120",)).check([target]).all_findings]


FIXED = [
    (f"FROM python:3.12\n{CMD}", f"FROM python:3.12-slim\n{CMD}"),
    (f"FROM python:3.12.4\n{CMD}", f"FROM python:3.12.4-slim\n{CMD}"),
    (f"FROM python:3\n{CMD}", f"FROM python:3-slim\n{CMD}"),
    (f"FROM python\n{CMD}", f"FROM python:slim\n{CMD}"),
    (f"FROM python:latest\n{CMD}", f"FROM python:slim\n{CMD}"),
    # python, ruby and perl put the suite after slim; node before
    (f"FROM python:3.12-bookworm\n{CMD}", f"FROM python:3.12-slim-bookworm\n{CMD}"),
    (f"FROM python:bullseye\n{CMD}", f"FROM python:slim-bullseye\n{CMD}"),
    (
        'FROM node:20-bookworm\nCMD ["node", "s.js"]\n',
        'FROM node:20-bookworm-slim\nCMD ["node", "s.js"]\n',
    ),
    ('FROM node:20\nCMD ["node", "s.js"]\n', 'FROM node:20-slim\nCMD ["node", "s.js"]\n'),
    ('FROM node:lts\nCMD ["node", "s.js"]\n', 'FROM node:lts-slim\nCMD ["node", "s.js"]\n'),
    ('FROM ruby:3.3\nCMD ["ruby", "a.rb"]\n', 'FROM ruby:3.3-slim\nCMD ["ruby", "a.rb"]\n'),
    ('FROM perl:5.40\nCMD ["perl", "a.pl"]\n', 'FROM perl:5.40-slim\nCMD ["perl", "a.pl"]\n'),
    # registry spellings, flags, `AS name` and keyword casing stay
    (
        f"FROM docker.io/library/python:3.12\n{CMD}",
        f"FROM docker.io/library/python:3.12-slim\n{CMD}",
    ),
    (
        f"from --platform=$BUILDPLATFORM python:3.12 as App\n{CMD}",
        f"from --platform=$BUILDPLATFORM python:3.12-slim as App\n{CMD}",
    ),
    # the stage chain: the stage built FROM the image changes
    (
        f"FROM python:3.12 AS base\nENV A=1\nFROM base\n{CMD}",
        f"FROM python:3.12-slim AS base\nENV A=1\nFROM base\n{CMD}",
    ),
    # a builder stage keeps its full image
    (
        f"FROM python:3.12 AS build\nRUN pip wheel -w /w x\nFROM python:3.12\n{CMD}",
        f"FROM python:3.12 AS build\nRUN pip wheel -w /w x\nFROM python:3.12-slim\n{CMD}",
    ),
    # CRLF
    (
        'FROM python:3.12\r\nCMD ["python", "app.py"]\r\n',
        'FROM python:3.12-slim\r\nCMD ["python", "app.py"]\r\n',
    ),
]


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_slim_base_fix(src: str, expected: str) -> None:
    after = base_fix(src)
    assert after == expected
    assert not parse(after).errors
    assert kh120(after) == []
    assert base_fix(after) == after


NOT_FIXED = [
    # a digest pins the full image on purpose
    f"FROM python:3.12@sha256:{'a' * 64}\n{CMD}",
    # a variable may be set to anything at build time
    f"ARG V=3.12\nFROM python:${{V}}\n{CMD}",
    # no exact slim twin: php (cli/fpm/apache), golang, JDKs; odd tags
    'FROM php:8.3-apache\nCMD ["apache2-foreground"]\n',
    'FROM golang:1.22\nCMD ["/app"]\n',
    'FROM openjdk:21\nCMD ["java", "-jar", "a.jar"]\n',
    f"FROM python:3.13.0rc1\n{CMD}",
    'FROM perl:5.40-threaded\nCMD ["perl", "a.pl"]\n',
    'FROM python:lts\nCMD ["python", "a.py"]\n',
    # other stages build on the same base: a compiling builder would lose its compiler
    f"FROM python:3.12 AS base\nFROM base AS build\nRUN pip wheel -w /w x\nFROM base\n{CMD}",
]


@pytest.mark.parametrize("src", NOT_FIXED)
def test_no_fix_when_not_exact(src: str) -> None:
    assert base_fix(src) == src


@pytest.mark.parametrize(
    ("image", "tag", "expected"),
    [
        ("python", "3.12", "3.12-slim"),
        ("python", "3.12-trixie", "3.12-slim-trixie"),
        ("node", "trixie", "trixie-slim"),
        ("node", "current", "current-slim"),
        ("ruby", "latest", "slim"),
        ("python", "3.12bookworm", None),
        ("python", "3.12-windowsservercore", None),
        ("python", "latest-bookworm", None),
    ],
)
def test_slim_tag(image: str, tag: str, expected: str | None) -> None:
    assert slim_tag(image, tag) == expected


def test_fix_is_unsafe_and_keeps_the_stage() -> None:
    src = f"FROM python:3.12 AS app\nENV A=1\n{CMD}"
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    (finding,) = checker(("KH120",)).check([target]).all_findings
    assert finding.fix is not None
    assert finding.fix.safety is Safety.UNSAFE
    assert "compilers" in finding.fix.why_unsafe
    assert fix(src, ("KH120",)) == src  # not without --unsafe-fixes
    before, after = resolve(parse(src)), resolve(parse(base_fix(src)))
    assert [(s.name, s.env) for s in before.stages] == [(s.name, s.env) for s in after.stages]
    assert after.stages[0].base == "python:3.12-slim"


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_buildkit_reads_the_fix(src: str, expected: str) -> None:
    """BuildKit's own parser sees the same instructions, one FROM value changed."""
    oracle = pytest.importorskip("dockerfile")
    before, after = oracle.parse_string(src), oracle.parse_string(expected)
    assert [(c.cmd, c.flags) for c in before] == [(c.cmd, c.flags) for c in after]
    changed = [(b.value, a.value) for b, a in zip(before, after, strict=True) if b.value != a.value]
    assert len(changed) == 1
    assert "slim" in changed[0][1][0]
