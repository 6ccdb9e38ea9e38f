"""The OCI distribution client: image references, registry credentials, digests.

Knows nothing else in keelhaul. ``keelhaul fix --pin`` calls :func:`resolve_digest` (or
:func:`resolve_digest_from_engine` for an image only the local engine holds); the image
sources will build on :class:`RegistryClient`.
"""

from keelhaul.registry.auth import Credentials, DockerConfig
from keelhaul.registry.client import (
    Manifest,
    Platform,
    RegistryClient,
    Resolved,
    resolve_digest,
    resolve_digest_from_engine,
)
from keelhaul.registry.errors import Problem, RegistryError
from keelhaul.registry.reference import InvalidReference, Reference, parse_reference

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
