"""What a rule is, for every kind of thing keelhaul checks, and the one registry of them.

A :class:`Rule` documents one finding code (its name, severity, category, summary, the why,
examples, the ids other tools give the same check, whether it is on by default, whether it
has a fix) and, where the rule is a check of its own, carries that check. Every kind
registers its rules the same way, with :func:`register`:

- ``dockerfile`` (KH001-KH299): ``check(DockerfileContext)`` yields hits (the rule modules
  under :mod:`keelhaul.rules.dockerfile`; the build-context rules are among them);
- ``image`` (KH300-KH399): found by the one pass over an image's layers
  (:mod:`keelhaul.image.checks`), so ``check`` is None;
- ``runtime`` (KH400-KH499): ``check(ContainerRun, settings)`` yields hits for Kubernetes,
  Compose and ``docker run`` alike (:mod:`keelhaul.runtime.checks`);
- ``vulnerability``: an advisory (its id is the code) that ``keelhaul vulns`` matched; made
  per advisory, never registered.

:func:`keelhaul.catalogue.all_rules` loads every kind's modules and lists them; the selection,
the configuration, inline suppressions, ``keelhaul rules``, the docs and the report formats
read this one type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keelhaul.findings import Category, Safety, Severity


class Kind(StrEnum):
    """What a rule reads."""

    DOCKERFILE = "dockerfile"
    IMAGE = "image"
    RUNTIME = "runtime"
    VULNERABILITY = "vulnerability"


#: The codes each registered kind owns (inclusive).
CODE_RANGES: Mapping[Kind, tuple[str, str]] = {
    Kind.DOCKERFILE: ("KH001", "KH299"),
    Kind.IMAGE: ("KH300", "KH399"),
    Kind.RUNTIME: ("KH400", "KH499"),
}


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue (see the module documentation)."""

    code: str
    name: str
    severity: Severity
    category: Category
    summary: str
    explanation: str
    bad: str = ""
    """An example that the rule reports (in ``example_format``); empty for image rules."""
    good: str = ""
    """The same example put right."""
    check: Callable[..., Iterable[Any]] | None = field(default=None, repr=False, compare=False)
    """The check, with the signature of its kind (see the module documentation); None when
    the findings come from elsewhere (the image pass, the check pipeline, an advisory)."""
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Other tools' ids for the same check: ``hadolint``, ``buildkit``, ``trivy``,
    ``checkov``, ``kube-score``, ``pss``, ``dockle``..."""
    default_on: bool = True
    """Off-by-default rules run only when selected by code, name or category."""
    fix: Safety | None = None
    """The kind of fix its findings carry (safe, unsafe), or None when it has none."""
    fix_reason: str = ""
    """One line: for a safe fix, why it cannot change what the image does or whether it
    builds (and which facts it checks first); for an unsafe one, what it may change. Shown by
    ``keelhaul rules``, ``keelhaul fix -v`` and docs/fixes.md; required when ``fix`` is set."""
    kind: Kind = Kind.DOCKERFILE
    example_format: str = "dockerfile"
    """What ``bad`` and ``good`` are written in: ``dockerfile``, ``kubernetes``,
    ``compose``, ``docker-run``, or ``image`` (no example)."""
    from_pipeline: bool = False
    """The findings come from the check pipeline (e.g. suppression bookkeeping), not from
    ``check``; its tests live with that pipeline."""
    example_settings: Mapping[str, object] | None = None
    """Rule options both examples are checked with (for rules quiet unless configured)."""
    example_context: Mapping[str, str] | None = None
    """For rules about the build context: the files (path -> content, ``.dockerignore``
    included) of the context both examples are checked against, beside their Dockerfile."""
    help_uri: str | None = None
    """Where the rule is documented (an advisory's page; the rules page for the catalogue)."""


#: Every registered rule, by code.
REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the catalogue (once; its code must lie in its kind's range)."""
    if rule.code in REGISTRY:
        raise ValueError(f"rule code {rule.code} registered twice")
    span = CODE_RANGES.get(rule.kind)
    if span is None:
        raise ValueError(f"{rule.code}: {rule.kind} rules are not registered")
    low, high = span
    if not (low <= rule.code <= high):
        raise ValueError(f"{rule.kind} rule code {rule.code} outside {low}-{high}")
    REGISTRY[rule.code] = rule
    return rule


def registered(kind: Kind | None = None) -> list[Rule]:
    """The rules registered so far (of ``kind``), by code."""
    return sorted(
        (r for r in REGISTRY.values() if kind is None or r.kind is kind), key=lambda r: r.code
    )
