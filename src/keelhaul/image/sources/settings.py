"""How the image sources are bounded and which registries they speak plain HTTP to, from the
configuration's ``[settings]`` and the command line.

=============================  ==========================================  =================
key                            what                                        default
=============================  ==========================================  =================
``image-insecure-registries``  registries (``host[:port]``) spoken to      none (loopback
                               over plain HTTP without TLS verification    ones always are)
``image-max-layer-bytes``      uncompressed bytes of one layer             ``64GiB``
``image-max-blob-bytes``       bytes of one blob as stored or sent         ``64GiB``
``image-max-ratio``            uncompressed bytes per compressed byte      ``100``
                               (a decompression bomb beyond)
``image-max-layer-count``      layers (and index entries) of one image     ``1000``
``image-max-config-bytes``     the image config                            ``16MiB``
``image-max-manifest-bytes``   one manifest or index                       ``4MiB``
``image-max-archive-members``  members of a docker-archive/oci-archive     ``200000``
=============================  ==========================================  =================

These refuse to read an image (exit code 2); they are not the CI thresholds of ``keelhaul
image`` (``image-max-size``, ``image-max-layers``...), which read it and exit 1. Sizes are
written like ``500MB`` or ``1.5GiB`` (or a number of bytes). ``--insecure-registry``
on the command line adds to ``image-insecure-registries``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from keelhaul.errors import ConfigError
from keelhaul.image.checks import parse_size
from keelhaul.image.sources.streams import SourceLimits

__all__ = ["INSECURE_KEY", "LIMIT_KEYS", "SourceSettings", "source_settings"]

INSECURE_KEY = "image-insecure-registries"
#: ``[settings]`` key -> (SourceLimits field, kind: "size", "count" or "ratio").
LIMIT_KEYS: dict[str, tuple[str, str]] = {
    "image-max-layer-bytes": ("max_layer_bytes", "size"),
    "image-max-blob-bytes": ("max_blob_bytes", "size"),
    "image-max-ratio": ("max_ratio", "ratio"),
    "image-max-layer-count": ("max_layers", "count"),
    "image-max-config-bytes": ("max_config_bytes", "size"),
    "image-max-manifest-bytes": ("max_manifest_bytes", "size"),
    "image-max-archive-members": ("max_archive_members", "count"),
}


@dataclass(frozen=True)
class SourceSettings:
    """What :func:`keelhaul.image.sources.open_image` takes besides the reference."""

    limits: SourceLimits = dataclasses.field(default_factory=SourceLimits)
    insecure_registries: tuple[str, ...] = ()

    def open_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``open_image``."""
        return {"limits": self.limits, "insecure_registries": self.insecure_registries}


def source_settings(settings: Mapping[str, object], insecure: Iterable[str] = ()) -> SourceSettings:
    """The settings' source keys (a bad value is a ConfigError naming its key), plus the
    command line's ``--insecure-registry`` hosts."""
    changes: dict[str, object] = {}
    for key, (name, kind) in LIMIT_KEYS.items():
        value = settings.get(key)
        if value is not None:
            changes[name] = _value(value, kind, f"settings.{key}")
    registries = _hosts(settings.get(INSECURE_KEY))
    for host in registries:
        _check_host(host, f"settings.{INSECURE_KEY}")
    for host in insecure:
        _check_host(host, "--insecure-registry")
        registries.append(host)
    return SourceSettings(
        limits=dataclasses.replace(SourceLimits(), **changes),  # type: ignore[arg-type]
        insecure_registries=tuple(dict.fromkeys(registries)),
    )


def _value(value: object, kind: str, where: str) -> int | float:
    if kind == "size":
        size = parse_size(value, where)
        if size <= 0:
            raise ConfigError(f"{where}: must be more than 0: {value!r}")
        return size
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: expected a whole number more than 0, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        raise ConfigError(f"{where}: expected a number of at least 1, got {value!r}")
    return float(value)


def _hosts(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"settings.{INSECURE_KEY}: expected a list of host[:port] strings, got {value!r}"
        )
    return list(value)


def _check_host(host: str, where: str) -> None:
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    if not name or "/" in host or any(c.isspace() for c in host) or (port and not port.isdigit()):
        raise ConfigError(f"{where}: {host!r} is not a registry host[:port]")
