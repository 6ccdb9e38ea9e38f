"""Shared by the rule families' tests: run one rule, and tables of (Dockerfile, lines) cases."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding
from keelhaul.rule import REGISTRY
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules

dockerfile_rules()


def run(
    code: str,
    src: str,
    settings: Mapping[str, object] | None = None,
    context: BuildContext | None = None,
    path: str = "Dockerfile",
) -> list[Finding]:
    """The findings of rule ``code`` alone on ``src``."""
    return check_dockerfile(
        parse(src, path), rules=[REGISTRY[code]], settings=settings, build_context=context
    )


def lines(code: str, src: str, settings: Mapping[str, object] | None = None) -> list[int]:
    return [f.location.line for f in run(code, src, settings)]


def messages(code: str, src: str) -> str:
    return "\n".join(f.message for f in run(code, src))


def table(code: str, cases: list[tuple[str, list[int]]]) -> pytest.MarkDecorator:
    """Parametrize ``(code, src, expected)``: an empty ``expected`` means the rule is quiet."""
    return pytest.mark.parametrize(
        ("code", "src", "expected"),
        [(code, src, expected) for src, expected in cases],
        ids=[f"{code}-{i}" for i in range(len(cases))],
    )


def check_table(code: str, src: str, expected: list[int]) -> None:
    assert lines(code, src) == expected, [f.message for f in run(code, src)]
