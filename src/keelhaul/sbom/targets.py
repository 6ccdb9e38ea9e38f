"""What `sbom` and `vulns` read: a folder (a root filesystem or a source tree), an SBOM file
(CycloneDX or SPDX, :mod:`keelhaul.sbom.sbom_input`) or an image reference (``docker-archive:``, ``oci:``, ``oci-archive:``, ``docker:``, ``registry:``, or a
bare name), opened through the image sources and read through the per-layer cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelhaul.sbom.catalog import FolderFiles, Inventory, catalog


@dataclass(frozen=True)
class Target:
    name: str
    inventory: Inventory
    image: bool
    layers_read: int = 0
    """Layers streamed (the rest came from the cache)."""


def read_target(
    target: str,
    platform: str | None = None,
    use_cache: bool = True,
    sources: Mapping[str, Any] | None = None,
) -> Target:
    """The packages of ``target`` (a folder or an image reference); ``sources``: the keyword
    arguments of :func:`keelhaul.image.sources.open_image` (limits, insecure registries)."""
    folder = Path(target)
    if folder.is_dir():
        return Target(folder.name or target, catalog(FolderFiles(folder)), image=False)
    if folder.is_file():
        from keelhaul.sbom.sbom_input import read_sbom, sniff

        if (
            sniff(folder) is not None
        ):  # an SBOM: its packages, as syft, Trivy or keelhaul listed them
            return Target(folder.name, read_sbom(folder), image=False)
    from keelhaul.image.sources import open_image  # the image sources load only for images
    from keelhaul.sbom.image_files import LayerCache, image_files

    cache = LayerCache() if use_cache else None
    try:
        # the image whole (a spilled save for docker:): layers are read in order
        with open_image(target, platform=platform, **(sources or {})) as image:
            files, read = image_files(image, cache)
    finally:
        if cache is not None:
            cache.close()
    return Target(target, catalog(files, lock_files=False), image=True, layers_read=read)
