"""A small, fixed catalogue for configuration and suppression tests.

The real catalogue grows while these tests are written; a fixed one keeps them exact.
"""

from __future__ import annotations

from collections.abc import Mapping

from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.rule import Rule
from keelhaul.selection import Vocabulary


def FakeRule(
    code: str,
    name: str,
    category: Category,
    default_on: bool = True,
    related: Mapping[str, tuple[str, ...]] | None = None,
) -> Rule:
    """A real :class:`Rule` (never registered) with only what selection reads."""
    return Rule(
        code, name, Severity.WARNING, category, name, "", related=related or {},
        default_on=default_on,
    )  # fmt: skip


RULES = (
    FakeRule("KH101", "mutable-base-tag", Category.REPRODUCIBILITY, True,
             {"hadolint": ("DL3006", "DL3007")}),
    FakeRule("KH109", "root-user", Category.SECURITY, True, {"hadolint": ("DL3002",)}),
    FakeRule("KH110", "secret-in-env", Category.SECURITY, True,
             {"buildkit": ("SecretsUsedInArgOrEnv",)}),
    FakeRule("KH139", "stage-name-casing", Category.MAINTAINABILITY, True,
             {"buildkit": ("StageNameCasing",)}),
    FakeRule("KH140", "from-as-casing", Category.MAINTAINABILITY, True,
             {"buildkit": ("FromAsCasing",)}),
    FakeRule("KH152", "label-schema", Category.MAINTAINABILITY, False,
             {"hadolint": ("DL3049", "DL3050")}),
    FakeRule("KH156", "missing-healthcheck", Category.CORRECTNESS, False,
             {"hadolint": ("DL3057",)}),
    FakeRule("KH172", "apt-unpinned", Category.REPRODUCIBILITY, True, {"hadolint": ("DL3008",)}),
    FakeRule("KH190", "trusted-registry", Category.SECURITY, False, {"hadolint": ("DL3026",)}),
)  # fmt: skip
VOCAB = Vocabulary(RULES)


def finding(code: str, line: int, path: str = "Dockerfile", message: str = "m") -> Finding:
    rule = VOCAB.rule(code)
    return Finding(
        code=code,
        name=rule.name,
        severity=Severity.WARNING,
        category=rule.category,
        location=Location(path, line, 1),
        message=message,
    )
