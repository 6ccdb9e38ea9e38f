"""The catalogue: every rule of every kind, loaded from the packages that register them.

The rule type and its registry are :mod:`keelhaul.rule`; this package sits above the kinds
(:mod:`keelhaul.rules.dockerfile`, :mod:`keelhaul.image.checks`, :mod:`keelhaul.runtime.checks`)
and lists them all, for the selection, the configuration, ``keelhaul rules`` and the docs
(:mod:`keelhaul.catalogue.docs`).
"""

from __future__ import annotations

from keelhaul.rule import Kind, Rule, registered

__all__ = ["all_rules"]


def all_rules(kind: Kind | None = None) -> list[Rule]:
    """Every rule (of ``kind``), by code, every kind's modules loaded."""
    if kind in (None, Kind.DOCKERFILE):
        from keelhaul.rules.engine import dockerfile_rules

        dockerfile_rules()
    if kind in (None, Kind.IMAGE):
        from keelhaul.image import checks  # noqa: F401  (registers the image rules)
    if kind in (None, Kind.RUNTIME):
        from keelhaul.runtime.checking import runtime_rules

        runtime_rules()
    return registered(kind)
