"""What an opened image is, whatever it came from: the contract between the image sources
(docker-archive, OCI layouts, the Docker Engine, a registry) and the analysis.

A source yields an :class:`Image`; the analysis reads its config and streams each layer's
*uncompressed* tar through :meth:`Layer.open`, once, never writing it to disk. Checking the
blob digest and the DiffID happens inside the stream: reading to the end raises
:class:`~keelhaul.errors.KeelhaulError` (exit code 2) naming the layer when either differs.

A source that can only *stream* the image (``docker:``, whose ``docker save`` puts layers in
no useful order and the config and manifests anywhere) may instead give a *provisional*
image: :attr:`Image.arrivals` is set, and the layers come from it in the order they arrive.
Until they have all arrived, only ``source``, ``config_digest``, ``platform`` and each
layer's ``index`` and ``diff_id`` are known; the rest (the config, the history, the tags,
the layers' sizes, media types and history entries) is settled (:meth:`Image.settle`) when
the stream ends, or when a layer is first opened through :meth:`Layer.open`, which still
works (the source then fetches the image whole, as a random-access consumer needs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from typing import IO, Any, Protocol

from keelhaul.errors import KeelhaulError


class LayerError(KeelhaulError):
    """A layer cannot be read: its blob is corrupt or truncated, does not match its digests,
    is a decompression bomb, or its tar is malformed (the message names the layer)."""


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
    stamp: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    """For a blob in a local file (an OCI layout, a docker-archive): what that file looks like
    now (path, size, times, inode; None when it cannot be looked at). The per-layer cache
    uses a result for this layer only while the stamp is the one of a verified read."""

    blob: Callable[[], AbstractContextManager[Iterator[bytes]]] | None = field(
        default=None, repr=False, compare=False
    )
    """The blob's bytes as stored, unverified (for copying a layer byte for byte; the copier
    checks :attr:`digest`), when the source can give them."""

    def open(self) -> AbstractContextManager[IO[bytes]]:
        """The uncompressed tar stream, verified as it is read (see the module docstring)."""
        return self.opener()


class Arrival(Protocol):
    """One layer blob as a streaming source delivers it (see :attr:`Image.arrivals`)."""

    @property
    def name(self) -> str:
        """How errors name it (``the save of app from the Docker Engine: layer 3f2a.../layer.tar``)."""

    @property
    def layer(self) -> Layer:
        """What is known of it as it arrives: its ``open()`` streams the uncompressed tar,
        once; ``compressed_size``, ``digest`` and ``media_type`` are the blob's. ``index``
        is its place in the image when its name tells it, -1 when only its DiffID will."""

    @property
    def diff_id(self) -> str:
        """Its DiffID: the one its name claims (checked while streaming) or the one its
        bytes hash to; valid once its stream has been read to the end."""


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
    arrivals: Callable[[], AbstractContextManager[Iterator[Arrival]]] | None = field(
        default=None, repr=False, compare=False
    )
    """A provisional image's layers in the order its source delivers them (see the module
    docstring); None for every source that can open layers in any order."""

    @property
    def compressed_size(self) -> int:
        return sum(layer.compressed_size for layer in self.layers)

    def settle(self, complete: Image) -> None:
        """Take on every field of ``complete``: what a streaming source learnt once its
        stream had passed. The only change an image ever sees, made by its source before
        anyone reads the fields it changes (``arrivals`` becomes None)."""
        for known in fields(self):
            object.__setattr__(self, known.name, getattr(complete, known.name))
