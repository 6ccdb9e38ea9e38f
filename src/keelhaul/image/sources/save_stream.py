"""A ``docker save`` read as it streams, never written to disk.

The engine writes the save's tar by walking a folder, so members come in the order of their
names: layers (``<v1 id>/layer.tar`` in the legacy layout, ``blobs/sha256/<digest>`` in the
Docker 25+ one), the config and the manifests interleaved at random, ``manifest.json`` last.
:class:`SaveReader` hands each layer out as an :class:`~keelhaul.image.model.Arrival` the
moment its member starts (its uncompressed tar, verified and bounded like any layer) and keeps
the small members (config, manifests, index) in memory. When the stream ends those members
are read as a docker-archive (:func:`~keelhaul.image.sources.docker_archive.open_save`) from
memory: the same code, hence the same image, as ``docker save`` to a file would give.

A layer's place in the image is its DiffID: claimed by its name in the Docker 25+ layout
(and checked while it streams), computed as it streams in the legacy one. The save's own tar
is read with the layers' bounded reader (:class:`~keelhaul.image.tarstream.TarReader`):
checksummed headers, capped names and sizes, and a layer's bytes handed on as they came.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import IO, cast

from keelhaul.image.model import Image, Layer
from keelhaul.image.sources.blobstore import ArchiveStore
from keelhaul.image.sources.docker_archive import LEGACY_LAYER
from keelhaul.image.sources.manifests import ImageSourceError, valid_digest
from keelhaul.image.sources.streams import LayerError, LayerStream, ReadStream, SourceLimits
from keelhaul.image.tarstream import DIR, FILE, HARDLINK, SYMLINK, TarEntry, TarError, TarReader

__all__ = ["ChunkReader", "MemoryStore", "SaveReader"]

_TYPES = {FILE: tarfile.REGTYPE, DIR: tarfile.DIRTYPE, SYMLINK: tarfile.SYMTYPE,
          HARDLINK: tarfile.LNKTYPE}  # fmt: skip

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_CHUNK = 1 << 20
_KEPT_TOTAL = 64 << 20
"""Bytes of small members (configs, manifests) kept in memory, all together."""


class ChunkReader(ReadStream):
    """A forward-only file over an iterator of byte chunks (an HTTP body): ``read(n)`` hands
    a whole chunk over, uncopied, when it fits."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._left = b""

    def read(self, size: int | None = -1) -> bytes:
        if not self._left:
            self._left = next(self._chunks, b"")
        if size is None or size < 0 or size >= len(self._left):
            data, self._left = self._left, b""
            return data
        data, self._left = self._left[:size], self._left[size:]
        return data


class MemoryStore(ArchiveStore):
    """The members of a streamed save: every header (for links and sizes), the bytes of the
    small ones. Layers are not here; ``elsewhere`` reads a member that was not kept (the
    source fetches the save again, whole, for a consumer that opens layers after the stream)."""

    def __init__(
        self,
        label: str,
        elsewhere: Callable[[str], AbstractContextManager[Iterator[bytes]]],
    ) -> None:  # no super().__init__(): there is no file to index
        self.label = label
        self._members: dict[str, tarfile.TarInfo] = {}
        self.data: dict[str, bytes] = {}
        self._elsewhere = elsewhere

    def add(self, name: str, member: tarfile.TarInfo) -> None:
        self._members[name] = member

    def read(self, path: str, limit: int, what: str) -> bytes:
        member = self._resolve(path, what)
        if member.size > limit:
            raise ImageSourceError(
                f"{self.label}: {what} ({path}) is {member.size} bytes, more than {limit}"
            )
        data = self.data.get(_member_name(member.name) or "")
        if data is None:
            raise ImageSourceError(f"{self.label}: {what} ({path}) was not kept from the stream")
        return data

    @contextmanager
    def chunks(self, path: str) -> Iterator[Iterator[bytes]]:
        member = self._resolve(path, f"blob {path}")
        data = self.data.get(_member_name(member.name) or "")
        if data is not None:
            yield iter((data,))
            return
        with self._elsewhere(path) as parts:
            yield parts


class _StreamedLayer:
    """One layer member of the stream (an :class:`~keelhaul.image.model.Arrival`)."""

    def __init__(
        self,
        tar: TarReader,
        member: tarfile.TarInfo,
        *,
        name: str,
        index: int,
        claimed: str | None,
        blob_digest: str | None,
        media_type: str,
        limits: SourceLimits,
    ) -> None:
        self.name = name
        self._tar = tar
        self._member = member
        self._claimed = claimed
        self._blob_digest = blob_digest
        self._limits = limits
        self._computed: str | None = None
        self._opened = False
        self.layer = Layer(
            index=index,
            digest=blob_digest or claimed or "",
            diff_id=claimed or "",
            media_type=media_type,
            compressed_size=member.size,
            history=None,
            opener=self._open,
        )

    @property
    def diff_id(self) -> str:
        if self._computed is None:
            raise LayerError(f"{self.name}: its DiffID is known once it has been read")
        return self._computed

    def _chunks(self) -> Iterator[bytes]:
        size = self._member.size
        done = 0
        parts = self._tar.chunks()
        while True:
            try:
                view = next(parts, None)
            except TarError:  # the reader's "truncated tar stream"
                break
            except OSError as err:
                raise LayerError(
                    f"{self.name}: the save stream broke after {done} of its {size} bytes "
                    f"({str(err)[:160]})"
                ) from None
            if view is None:
                break
            done += len(view)
            yield bytes(view)  # the reader's views live until its next read: keep a copy
        if done < size:
            raise LayerError(
                f"{self.name}: the save stream ended inside it, {done} of its {size} bytes "
                "read (truncated)"
            )

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        if self._opened:
            raise LayerError(f"{self.name}: a streamed layer can be read only once")
        self._opened = True
        stream = LayerStream(
            self._chunks(),
            name=self.name,
            digest=self._blob_digest,
            diff_id=self._claimed,
            declared_size=self._member.size,
            limits=self._limits,
        )
        if self._claimed is not None:  # LayerStream checks the claim as it ends
            yield cast(IO[bytes], stream)
            stream.finish()
            self._computed = self._claimed
            return
        hashing = _Hashing(stream)
        yield cast(IO[bytes], hashing)
        while hashing.read(_CHUNK):
            pass
        stream.finish()
        self._computed = "sha256:" + hashing.hash.hexdigest()


class _KeptLayer:
    """A layer whose blob was small enough to be kept with the manifests (a compressed one
    from an engine that saves blobs as pulled): it arrives last, from memory."""

    def __init__(self, layer: Layer, label: str) -> None:
        self.layer = layer
        self.name = f"{label}: layer {layer.index + 1} ({layer.digest})"
        self.diff_id = layer.diff_id  # its opener checks it


class _Hashing(ReadStream):
    """What is read through it, hashed (a legacy layer's DiffID, unknown beforehand)."""

    def __init__(self, stream: LayerStream) -> None:
        super().__init__()
        self._stream = stream
        self.hash = hashlib.sha256()

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(size)
        self.hash.update(data)
        return data


class SaveReader:
    """Reads one streamed ``docker save``: see the module docstring.

    ``diff_ids`` and ``config_digest`` are what the engine said of the image beforehand
    (they say which blobs are layers in the Docker 25+ layout); ``settle`` turns the kept
    members into the complete image once the stream has ended.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        label: str,
        diff_ids: Sequence[str],
        config_digest: str | None,
        limits: SourceLimits,
        elsewhere: Callable[[str], AbstractContextManager[Iterator[bytes]]],
    ) -> None:
        self._chunks = chunks
        self.label = label
        self._diff_ids = list(diff_ids)
        self._config_digest = config_digest
        self._limits = limits
        self.store = MemoryStore(label, elsewhere)
        self.arrived: set[str] = set()
        self._kept = 0

    def arrivals(
        self, settle: Callable[[MemoryStore], Image]
    ) -> Iterator[_StreamedLayer | _KeptLayer]:
        """The layers as they come; then, once the stream has ended and ``settle`` has made
        the complete image, any layer whose blob was small enough to be kept in memory."""
        limits = self._limits
        tar = TarReader(cast(IO[bytes], ChunkReader(self._chunks)))
        entries = tar.entries()
        count = 0
        while True:
            try:
                entry = next(entries, None)
            except (TarError, OSError) as err:
                raise ImageSourceError(
                    f"{self.label}: the save stream broke ({str(err)[:160]})"
                ) from None
            if entry is None:
                break
            count += 1
            if count > limits.max_archive_members:
                raise ImageSourceError(
                    f"{self.label}: more than {limits.max_archive_members} members"
                )
            name = _member_name(entry.name)
            if name is None:
                continue  # never addressable: a hostile member cannot shadow a real one
            member = _info(entry)
            self.store.add(name, member)
            if not member.isfile():
                continue
            arrival = self._layer(tar, member, name)
            if arrival is not None:
                yield arrival
                if arrival._computed is not None:
                    self.arrived.add(arrival._computed)
            elif self._worth_keeping(name, member.size):
                self.store.data[name] = self._read_small(tar, member, name)
        complete = settle(self.store)
        for layer in complete.layers:
            path = "blobs/" + layer.digest.replace(":", "/", 1)
            if layer.diff_id not in self.arrived and path in self.store.data:
                self.arrived.add(layer.diff_id)
                yield _KeptLayer(layer, self.label)

    def _layer(self, tar: TarReader, member: tarfile.TarInfo, name: str) -> _StreamedLayer | None:
        parts = name.split("/")
        claimed = blob_digest = None
        media_type = LEGACY_LAYER
        if len(parts) == 2 and parts[1] == "layer.tar":
            pass  # legacy: only its bytes tell which layer it is
        elif len(parts) == 3 and parts[0] == "blobs" and valid_digest(f"{parts[1]}:{parts[2]}"):
            digest = f"{parts[1]}:{parts[2]}"
            if digest in self._diff_ids:
                claimed = blob_digest = digest
                media_type = OCI_LAYER
            elif digest == self._config_digest or member.size <= self._keep_limit:
                return None  # the config, a manifest, an index (or a tiny compressed layer)
            else:  # big and unknown: a compressed layer (containerd keeps those)
                blob_digest = digest
                media_type = ""
        else:
            return None
        if member.size > self._limits.max_blob_bytes:
            raise ImageSourceError(
                f"{self.label}: layer {name} is {member.size} bytes, beyond the "
                f"{self._limits.max_blob_bytes}-byte blob limit"
            )
        index = self._diff_ids.index(claimed) if claimed is not None else -1
        return _StreamedLayer(
            tar, member, name=f"{self.label}: layer {name}", index=index, claimed=claimed,
            blob_digest=blob_digest, media_type=media_type, limits=self._limits,
        )  # fmt: skip

    @property
    def _keep_limit(self) -> int:
        return max(self._limits.max_config_bytes, self._limits.max_manifest_bytes)

    def _worth_keeping(self, name: str, size: int) -> bool:
        """Top-level files (manifest.json, index.json, the legacy config) and small blobs;
        not the legacy per-layer ``json`` and ``VERSION`` nobody reads."""
        return size <= self._keep_limit and ("/" not in name or name.startswith("blobs/"))

    def _read_small(self, tar: TarReader, member: tarfile.TarInfo, name: str) -> bytes:
        self._kept += member.size
        if self._kept > _KEPT_TOTAL:
            raise ImageSourceError(
                f"{self.label}: more than {_KEPT_TOTAL} bytes of configs and manifests"
            )
        try:
            data = b"".join(bytes(view) for view in tar.chunks())
        except (TarError, OSError) as err:
            raise ImageSourceError(
                f"{self.label}: the save stream broke inside {name} ({str(err)[:160]})"
            ) from None
        if len(data) != member.size:
            raise ImageSourceError(f"{self.label}: the save stream ended inside {name}")
        return data


def _info(entry: TarEntry) -> tarfile.TarInfo:
    """What the archive store's link resolution reads of a member."""
    info = tarfile.TarInfo(entry.name)
    info.type = _TYPES.get(entry.kind, tarfile.CHRTYPE)  # other kinds: neither file nor link
    info.size = entry.size
    info.linkname = entry.link
    return info


def _member_name(name: str) -> str | None:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith("/"):
        return None
    return "/".join(parts)
