"""The catalogue of runtime rules (KH400-KH449): checks of how a container is told to run.

A runtime rule has the same metadata as a Dockerfile rule (:class:`keelhaul.rules.registry.Rule`:
code, name, severity, category, summary, explanation, bad, good, related, default_on), but its
check reads one :class:`ContainerRun` (whatever file it came from) and the rule settings, and
yields :class:`RuntimeHit` objects that say where. The check modules live in
``keelhaul.runtime.checks`` and register themselves on import.

``related`` keys: ``kube-score``, ``kubesec``, ``checkov`` (``CKV_K8S_*``), ``trivy``
(``KSV*``), ``polaris`` and ``pss`` (Pod Security Standards control names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from keelhaul.findings import Fix, RuleDoc, Safety
from keelhaul.runtime.model import ContainerRun, Where

__all__ = ["RUNTIME_CATALOGUE", "RuntimeCheck", "RuntimeHit", "RuntimeRule", "all_runtime_rules"]


@dataclass(frozen=True, slots=True)
class RuntimeHit:
    """What a runtime check reports: the place and a message naming the concrete thing."""

    where: Where
    message: str
    fix: Fix | None = None


RuntimeCheck = Callable[[ContainerRun, Mapping[str, object]], Iterable[RuntimeHit]]


@dataclass(frozen=True)
class RuntimeRule(RuleDoc):
    bad: str
    good: str
    check: RuntimeCheck = field(repr=False, compare=False)
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_on: bool = True
    fix: Safety | None = None
    example_format: str = "kubernetes"
    """What ``bad`` and ``good`` are written in: ``kubernetes``, ``compose`` or ``docker-run``."""
    example_settings: Mapping[str, object] | None = None
    """Rule options both examples are checked with (``{"pss": "baseline"}`` for KH445)."""
    example_context: Mapping[str, str] | None = None
    """Always None: kept so code written for Dockerfile rules (docs, ``keelhaul rules``) reads
    a runtime rule the same way."""
    from_pipeline: bool = False


RUNTIME_CATALOGUE: dict[str, RuntimeRule] = {}


def register(rule: RuntimeRule) -> RuntimeRule:
    if rule.code in RUNTIME_CATALOGUE:
        raise ValueError(f"rule code {rule.code} registered twice")
    if not ("KH400" <= rule.code <= "KH449"):
        raise ValueError(f"runtime rule code {rule.code} outside KH400-KH449")
    RUNTIME_CATALOGUE[rule.code] = rule
    return rule


def all_runtime_rules() -> list[RuntimeRule]:
    from keelhaul.runtime import checks, pss  # noqa: F401  (register the rule modules)

    return sorted(RUNTIME_CATALOGUE.values(), key=lambda r: r.code)
