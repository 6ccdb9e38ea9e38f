"""What a runtime rule's check reports (KH400-KH499): checks of how a container is told to run.

A runtime rule is a :class:`keelhaul.rule.Rule` of kind ``runtime``: its check reads one
:class:`ContainerRun` (whatever file it came from) and the rule settings, and yields
:class:`RuntimeHit` objects that say where. The check modules live in
``keelhaul.runtime.checks`` and register themselves on import.

``related`` keys: ``kube-score``, ``kubesec``, ``checkov`` (``CKV_K8S_*``), ``trivy``
(``KSV*``), ``polaris`` and ``pss`` (Pod Security Standards control names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from keelhaul.findings import Fix, Severity
from keelhaul.runtime.model import ContainerRun, StoredValue, Where

__all__ = ["VALUE_CHECKS", "RuntimeCheck", "RuntimeHit", "StoredValueCheck"]


@dataclass(frozen=True, slots=True)
class RuntimeHit:
    """What a runtime check reports: the place and a message naming the concrete thing."""

    where: Where
    message: str
    fix: Fix | None = None
    severity: Severity | None = None
    """Another severity than the rule's for this hit (KH440 on a Compose service: info by
    default, ``compose-stack``); None: the rule's."""


RuntimeCheck = Callable[[ContainerRun, Mapping[str, object]], Iterable[RuntimeHit]]
"""The signature of a runtime rule's ``check``."""

StoredValueCheck = Callable[[StoredValue, Mapping[str, object]], Iterable[RuntimeHit]]
"""A check of the values a file keeps outside the container specs (ConfigMaps, Secrets,
Compose env files): the rule's ``check`` reads no container, this one each value."""

#: Rule code -> its check of stored values (filled by the check modules that have one).
VALUE_CHECKS: dict[str, StoredValueCheck] = {}
