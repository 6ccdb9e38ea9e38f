"""What an opened image is, whatever it came from: the contract between the image sources
(docker-archive, OCI layouts, the Docker Engine, a registry) and the analysis.

A source yields an :class:`Image`; the analysis reads its config and streams each layer's
*uncompressed* tar through :meth:`Layer.open`, once, never writing it to disk. Checking the
blob digest and the DiffID happens inside the stream: reading to the end raises
:class:`~keelhaul.errors.KeelhaulError` (exit code 2) naming the layer when either differs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of the config's ``history``: the instruction that made a layer (or an empty
    one, ``empty_layer``: ENV, CMD, LABEL...)."""

    created_by: str
    empty_layer: bool = False
    created: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Layer:
    """One layer of an image, in order from the base (index 0)."""

    index: int
    digest: str
    """The blob's digest as the manifest names it (``sha256:...``; the compressed bytes)."""
    diff_id: str
    """The digest of the uncompressed tar, from the config's ``rootfs.diff_ids``."""
    media_type: str
    compressed_size: int
    """Bytes of the blob as stored or sent (the manifest's size)."""
    history: HistoryEntry | None
    """The history entry that made this layer, when the config's history lines up."""
    opener: Callable[[], AbstractContextManager[IO[bytes]]] = field(repr=False, compare=False)

    def open(self) -> AbstractContextManager[IO[bytes]]:
        """The uncompressed tar stream, verified as it is read (see the module docstring)."""
        return self.opener()


@dataclass(frozen=True)
class Image:
    """An opened image: one platform's manifest, its config and its layers."""

    source: str
    """How the user named it (``docker-archive:app.tar``, ``registry:host/repo:tag``)."""
    manifest_digest: str | None
    config_digest: str
    config: dict[str, Any]
    """The parsed image config (OCI image config / Docker image JSON)."""
    layers: tuple[Layer, ...]
    history: tuple[HistoryEntry, ...]
    """The whole history, empty-layer entries included, in order."""
    platform: str
    """``os/arch[/variant]``."""
    index_digest: str | None = None
    """The multi-platform index the manifest was chosen from, if any."""
    tags: tuple[str, ...] = ()

    @property
    def compressed_size(self) -> int:
        return sum(layer.compressed_size for layer in self.layers)
