"""How the image sources are bounded and which registries they speak plain HTTP to, from the
configuration's ``[settings]`` (the ``image-max-*-bytes``, ``image-max-ratio``,
``image-max-layer-count``, ``image-max-archive-members`` and ``image-insecure-registries`` keys
of :mod:`keelhaul.settings`, listed in docs/settings.md) and the command line.

These refuse to read an image (exit code 2); they are not the CI thresholds of ``keelhaul
image`` (``image-max-size``, ``image-max-layers``...), which read it and exit 1.
``--insecure-registry`` on the command line adds to ``image-insecure-registries``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from keelhaul.image.sources.streams import SourceLimits
from keelhaul.settings import Settings, check_host

__all__ = ["LIMIT_KEYS", "SourceSettings", "source_settings"]

#: ``[settings]`` key -> the SourceLimits field it sets.
LIMIT_KEYS: dict[str, str] = {
    "image-max-layer-bytes": "max_layer_bytes",
    "image-max-blob-bytes": "max_blob_bytes",
    "image-max-ratio": "max_ratio",
    "image-max-layer-count": "max_layers",
    "image-max-config-bytes": "max_config_bytes",
    "image-max-manifest-bytes": "max_manifest_bytes",
    "image-max-archive-members": "max_archive_members",
    "image-registry-timeout": "registry_timeout",
}


@dataclass(frozen=True)
class SourceSettings:
    """What :func:`keelhaul.image.sources.open_image` takes besides the reference."""

    limits: SourceLimits = dataclasses.field(default_factory=SourceLimits)
    insecure_registries: tuple[str, ...] = ()

    def open_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``open_image``."""
        return {"limits": self.limits, "insecure_registries": self.insecure_registries}


def source_settings(
    settings: Settings | Mapping[str, object], insecure: Iterable[str] = ()
) -> SourceSettings:
    """The settings' source keys (checked by the schema), plus the command line's
    ``--insecure-registry`` hosts."""
    chosen = Settings.of(settings)
    changes = {name: getattr(chosen, key.replace("-", "_")) for key, name in LIMIT_KEYS.items()}
    registries = list(chosen.image_insecure_registries)
    for host in insecure:
        check_host(host, "--insecure-registry")
        registries.append(host)
    return SourceSettings(
        limits=dataclasses.replace(SourceLimits(), **changes),
        insecure_registries=tuple(dict.fromkeys(registries)),
    )
