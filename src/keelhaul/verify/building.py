"""Building one version and reading what came out: sizes, layers, waste and the settings the
image runs with.

Sizes and waste come from keelhaul's own image analysis (:mod:`keelhaul.image`, the
``docker:`` source: one streamed pass over ``docker save``), the same numbers
``keelhaul image`` shows. The compressed size is what :mod:`keelhaul.image.compressed_estimate`
says: the engine stores layers as plain tars, so it is *estimated* (gzip level 6, what a push
uses, over a sample of every layer's bytes); the report says how it was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keelhaul.image import compressed_estimate
from keelhaul.image.analysis import Options, analyse
from keelhaul.verify.engine import Built, Engine


@dataclass(frozen=True)
class ImageFacts:
    """What verify compares between two built images."""

    size: int
    """Uncompressed bytes: the layers' tar streams added up (what ``keelhaul image`` calls the
    uncompressed size)."""
    compressed: int
    compressed_basis: str
    """``measured`` or ``estimated`` (see :class:`~keelhaul.image.compressed_estimate.CompressedSize`)."""
    compressed_how: str
    layers: int
    waste: int
    """Bytes stored but hidden or duplicated (the analysis' waste total)."""
    efficiency: float
    user: str
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    healthcheck: tuple[str, ...] | None = None
    workdir: str = ""
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    diff_ids: tuple[str, ...] = ()
    """The layers' DiffIDs, from the base up."""


def _words(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def runtime_settings(inspected: dict[str, Any]) -> dict[str, Any]:
    """The image's Config from ``docker image inspect``."""
    config = inspected.get("Config") or {}
    return dict(config) if isinstance(config, dict) else {}


def measure(engine: Engine, tag: str, waste_min_bytes: int = 1 << 20) -> ImageFacts:
    """Read the built image ``tag`` with keelhaul's image analysis."""
    from keelhaul.image.arrival import reading_arrivals
    from keelhaul.image.sources import open_image

    config = runtime_settings(engine.inspect(tag))
    with reading_arrivals(), open_image(f"docker:{tag}") as image:
        watching = compressed_estimate.watch(image)
        report = analyse(image, Options(waste_min_bytes=waste_min_bytes, scan_secrets=False))
        compressed = watching.compressed_size([
            (layer.diff_id, layer.media_type, layer.compressed_size, layer.tar_size)
            for layer in report.layers])  # fmt: skip
    health = config.get("Healthcheck") or {}
    test = _words(health.get("Test")) if isinstance(health, dict) else None
    if test and test[0] == "NONE":
        test = None
    return ImageFacts(
        size=report.tar_size,
        compressed=compressed.bytes,
        compressed_basis=compressed.basis,
        compressed_how=compressed.describe(),
        layers=len(report.layers),
        waste=report.waste.total,
        efficiency=report.waste.efficiency,
        user=str(config.get("User") or ""),
        exposed_ports=tuple(sorted((config.get("ExposedPorts") or {}).keys())),
        env=tuple(str(e) for e in config.get("Env") or ()),
        entrypoint=_words(config.get("Entrypoint")),
        cmd=_words(config.get("Cmd")),
        healthcheck=test,
        workdir=str(config.get("WorkingDir") or ""),
        config=config,
        diff_ids=tuple(layer.diff_id for layer in report.layers),
    )


def new_layer_bytes(tag: str, known: tuple[str, ...]) -> int:
    """The bytes (uncompressed: the layers' tars, as ``docker save`` holds them) of the
    layers of the image ``tag`` whose DiffIDs are not in ``known``: what a push of it sends
    (before compression) and a pull fetches where the image ``known`` came from is present."""
    from keelhaul.image.sources import open_image

    seen = set(known)
    with open_image(f"docker:{tag}") as image:
        fresh = {layer.diff_id: layer.compressed_size for layer in image.layers
                 if layer.diff_id not in seen}  # fmt: skip
    return sum(fresh.values())


__all__ = ["Built", "ImageFacts", "measure", "new_layer_bytes", "runtime_settings"]
