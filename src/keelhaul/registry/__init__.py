"""The OCI distribution client: image references, registry credentials, digests.

Knows nothing else in keelhaul. ``keelhaul fix --pin`` calls :func:`resolve_digest` (or
:func:`resolve_digest_from_engine` for an image only the local engine holds); the image
sources build on :class:`RegistryClient`.

:mod:`keelhaul.registry.reference` is keelhaul's one image-reference parser: the Dockerfile
rules, the runtime checks, ``fix --pin`` and the image sources all read references with it.
The client (and its HTTP stack) is imported only when one of its names is first used, so
linting never pays for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keelhaul.registry.errors import Problem, RegistryError
from keelhaul.registry.reference import InvalidReference, Reference, parse_reference

if TYPE_CHECKING:
    from keelhaul.registry.auth import Credentials, DockerConfig
    from keelhaul.registry.client import (
        Manifest,
        Platform,
        RegistryClient,
        Resolved,
        resolve_digest,
        resolve_digest_from_engine,
    )

__all__ = [
    "Credentials",
    "DockerConfig",
    "InvalidReference",
    "Manifest",
    "Platform",
    "Problem",
    "Reference",
    "RegistryClient",
    "RegistryError",
    "Resolved",
    "parse_reference",
    "resolve_digest",
    "resolve_digest_from_engine",
]

_LAZY = {
    "Credentials": "keelhaul.registry.auth",
    "DockerConfig": "keelhaul.registry.auth",
    "Manifest": "keelhaul.registry.client",
    "Platform": "keelhaul.registry.client",
    "RegistryClient": "keelhaul.registry.client",
    "Resolved": "keelhaul.registry.client",
    "resolve_digest": "keelhaul.registry.client",
    "resolve_digest_from_engine": "keelhaul.registry.client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
