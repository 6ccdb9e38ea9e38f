"""Layer streams: the blob's bytes in, the uncompressed tar out, both hashed on the way.

A layer is gzip, zstd or plain tar; which one is decided by its first bytes (its magic), not
only by the media type, because docker-archive layers are often plain tar whatever their
name says. The compressed digest and the DiffID are computed as the bytes pass and checked
when the stream ends; a mismatch, a truncated stream, trailing garbage or a decompression
bomb (too many bytes out for the bytes in) raises :class:`LayerError` naming the layer.

gzip is inflated with python-isal (ISA-L), several times faster than zlib; members are
followed (``pigz``-style multi-member gzip is valid).

A stream opened with ``prefetch=True`` (what :func:`verified_layer` does) reads, hashes and
inflates in a thread of its own, a few chunks ahead of the reader: ISA-L, zstd and hashlib
release the GIL, so on a machine with two cores that work runs beside the reader's Python
(the tar walk) instead of before it. Errors travel to the reader with the data, in order.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, Any, cast

import zstandard
from isal import isal_zlib

from keelhaul.errors import KeelhaulError
from keelhaul.image.bomb_guard import MAX_RATIO, RATIO_FLOOR, BombGuard
from keelhaul.image.model import LayerError

__all__ = [
    "GZIP",
    "PLAIN",
    "ZSTD",
    "LayerError",
    "LayerStream",
    "SourceLimits",
    "detect_compression",
    "verified_layer",
]

GZIP = "gzip"
ZSTD = "zstd"
PLAIN = "tar"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OUT_CHUNK = 1 << 20
#: Chunks a prefetching stream may have ready before the reader takes them (memory bound:
#: this many times _OUT_CHUNK per open layer).
_PREFETCH_DEPTH = 4
_END = object()
_MiB = 1 << 20
_GiB = 1 << 30


_CORRUPT: tuple[type[BaseException], ...] = (
    cast(type[BaseException], isal_zlib.IsalError),
    zstandard.ZstdError,
    ValueError,
)


@dataclass(frozen=True)
class SourceLimits:
    """Bounds on what an image source reads before refusing it (all configurable)."""

    max_ratio: float = MAX_RATIO
    """Uncompressed bytes per compressed byte, once ``ratio_floor`` bytes have come out
    (:mod:`keelhaul.image.bomb_guard`)."""
    ratio_floor: int = RATIO_FLOOR
    max_layer_bytes: int = 64 * _GiB
    """Uncompressed bytes of one layer."""
    max_blob_bytes: int = 64 * _GiB
    """A blob's declared or actual size (compressed)."""
    max_manifest_bytes: int = 4 * _MiB
    """A manifest or an index (the distribution spec's own bound)."""
    max_config_bytes: int = 16 * _MiB
    max_layers: int = 1000
    max_archive_members: int = 200_000
    """Members of a docker-archive or oci-archive tar (not of a layer)."""
    registry_timeout: float = 30.0
    """Seconds a registry may stay silent (:mod:`keelhaul.registry.pacing` bounds the rest)."""


def detect_compression(head: bytes, media_type: str = "") -> str:
    """``gzip``, ``zstd`` or ``tar`` from the first bytes; the media type only breaks ties."""
    if head.startswith(_GZIP_MAGIC):
        return GZIP
    if head.startswith(_ZSTD_MAGIC):
        return ZSTD
    if len(head) < 4 and media_type.endswith(("+gzip", ".gzip")) and head:
        return GZIP
    return PLAIN


class _Decoder:
    """Input is pushed; output is pulled in bounded pieces, so that a bomb never gets to
    produce more than a few MiB before the ratio check sees it."""

    def __init__(self) -> None:
        self.tail = b""

    def push(self, data: bytes) -> None:
        self.tail = data

    def pull(self) -> bytes:
        data, self.tail = self.tail, b""
        return data

    complete = True


class _Gunzip(_Decoder):
    """Multi-member gzip with ISA-L."""

    def __init__(self) -> None:
        super().__init__()
        self._d = isal_zlib.decompressobj(wbits=31)
        self._between = False  # a member ended; more bytes must start a new one

    def pull(self) -> bytes:
        if not self.tail:
            return b""
        if self._between:
            if not self.tail.startswith(_GZIP_MAGIC[: len(self.tail)]):
                raise ValueError("trailing bytes after the gzip data")
            self._d = isal_zlib.decompressobj(wbits=31)
            self._between = False
        out: bytes = self._d.decompress(self.tail, _OUT_CHUNK)
        if self._d.eof:
            self.tail = self._d.unused_data
            self._between = True
        else:
            self.tail = self._d.unconsumed_tail
        return out

    @property
    def complete(self) -> bool:  # type: ignore[override]
        return self._between


class _Unzstd(_Decoder):
    """Multi-frame zstd: one decompressor per frame, like gzip members. python-zstandard's
    decompressobj has no output bound, so input goes in small slices (zstd's worst ratio is
    about 32768:1, so a 4 KiB slice makes at most 128 MiB)."""

    _SLICE = 4096

    def __init__(self) -> None:
        super().__init__()
        self._dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)
        self._d = self._dctx.decompressobj()
        self._between = False

    def pull(self) -> bytes:
        out: list[bytes] = []
        size = 0
        view = memoryview(self.tail)
        at = 0
        while at < len(view) and size < _OUT_CHUNK:
            if self._between:
                if not bytes(view[at : at + 4]).startswith(_ZSTD_MAGIC[: len(view) - at]):
                    raise ValueError("trailing bytes after the zstd data")
                self._d = self._dctx.decompressobj()
                self._between = False
            piece = view[at : at + self._SLICE]
            at += len(piece)
            chunk: bytes = self._d.decompress(piece)
            if self._d.eof:
                # The frame ended inside this piece: what follows it starts the next one.
                rest = self._d.unused_data
                at -= len(rest)
                self._between = True
            out.append(chunk)
            size += len(chunk)
        self.tail = bytes(view[at:]) if at < len(view) else b""
        return b"".join(out)

    @property
    def complete(self) -> bool:  # type: ignore[override]
        return self._between


class ReadStream(io.RawIOBase):
    """A readable stream defined by its ``read``; ``readinto`` (what ``io`` wrappers call)
    comes from it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class LayerStream(ReadStream):
    """The uncompressed tar of one layer, read from ``chunks`` (the blob's bytes).

    ``read(n)`` returns ``n`` bytes unless the stream ends. At the end the digests are
    compared; :meth:`finish` drains what is left and compares them too.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        name: str,
        digest: str | None,
        diff_id: str | None,
        media_type: str = "",
        declared_size: int | None = None,
        limits: SourceLimits = SourceLimits(),
        prefetch: bool = False,
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._name = name
        self._digest = digest
        self._diff_id = diff_id
        self._declared = declared_size
        self._limits = limits
        self._guard = BombGuard(limits.max_ratio, limits.ratio_floor)
        self._blob_hash = _hasher(digest)
        self._tar_hash = _hasher(diff_id)
        self.bytes_in = 0
        self.bytes_out = 0
        self._buffer = bytearray()
        self._pos = 0
        self._ended = False
        self._verified = False
        self._hash_inline = True  # both hashes run in _produce (not in a stage of their own)
        self._unhashed: list[bytes] = []  # blob bytes read, for the hash stage
        head = self._first_bytes()
        self.compression = detect_compression(head, media_type)
        self._decoder: _Decoder = (
            _Gunzip() if self.compression == GZIP else _Unzstd() if self.compression == ZSTD
            else _Decoder()
        )  # fmt: skip
        self._decoder.push(head)
        if self.compression == PLAIN and digest is not None and digest == diff_id:
            # an uncompressed blob (a Docker 25+ save) whose digest is its DiffID: the bytes
            # are the same, one hash checks both
            self._tar_hash = None
        self._queue: queue.Queue[object] | None = None  # what the reader takes
        self._drained = False  # the reader has taken the end (prefetching)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if prefetch:
            # two stages, so that two cores share the C work: read + inflate, then the
            # blob and DiffID hashes; the reader's tar walk is the third
            inflated: queue.Queue[object] = queue.Queue(maxsize=_PREFETCH_DEPTH)
            self._queue = queue.Queue(maxsize=_PREFETCH_DEPTH)
            self._hash_inline = False
            self._threads = [
                threading.Thread(target=self._pump, args=(inflated,), daemon=True,
                                 name=f"layer-inflate {name}"),
                threading.Thread(target=self._hash_pump, args=(inflated, self._queue),
                                 daemon=True, name=f"layer-hash {name}"),
            ]  # fmt: skip
            for thread in self._threads:
                thread.start()

    # -- prefetching -----------------------------------------------------------------------

    def _pump(self, out: queue.Queue[object]) -> None:
        """Stage 1: read and inflate until the end, an error or close."""
        try:
            while not self._ended and not self._stop.is_set():
                data = self._produce()
                raw, self._unhashed = self._unhashed, []
                if data or raw:
                    self._offer(out, (raw, data))
            self._offer(out, _END)
        except BaseException as exc:  # handed to the reader, raised there
            self._offer(out, exc)

    def _hash_pump(self, source: queue.Queue[object], out: queue.Queue[object]) -> None:
        """Stage 2: the blob's hash and the DiffID hash of what stage 1 read and inflated,
        both checked at the end."""
        try:
            while not self._stop.is_set():
                try:
                    item = source.get(timeout=0.1)
                except queue.Empty:
                    continue
                if isinstance(item, tuple):
                    raw, data = item
                    if self._blob_hash is not None:
                        for chunk in raw:
                            self._blob_hash.update(chunk)
                    if data:
                        if self._tar_hash is not None:
                            self._tar_hash.update(data)
                        self._offer(out, data)
                    continue
                if item is _END:
                    self._check_blob_digest()
                    self._check_diff_id()
                    self._verified = True
                self._offer(out, item)
                return
        except BaseException as exc:
            self._offer(out, exc)

    def _offer(self, out: queue.Queue[object], item: object) -> None:
        while not self._stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _output(self) -> bytes:
        """The next piece of output, from the producer thread when there is one."""
        if self._queue is None:
            return self._produce()
        if self._drained:
            return b""
        item = self._queue.get()
        if item is _END:
            self._drained = True
            return b""
        if isinstance(item, BaseException):
            self._drained = True
            raise item
        return cast(bytes, item)

    @property
    def _exhausted(self) -> bool:
        return self._drained if self._queue is not None else self._ended

    def close(self) -> None:
        """Stop the prefetching threads (if any) before the blob's source is closed."""
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()  # each waits at most 0.1 s on a queue once stopped
        super().close()

    # -- io -----------------------------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = [bytes(self._buffer[self._pos :])]
            self._buffer.clear()
            self._pos = 0
            while not self._exhausted:
                chunks.append(self._output())
            return b"".join(chunks)
        while len(self._buffer) - self._pos < size and not self._exhausted:
            produced = self._output()
            if produced:
                if self._pos:
                    del self._buffer[: self._pos]
                    self._pos = 0
                if not self._buffer and len(produced) >= size:
                    # Fast path: hand the decompressed chunk out without copying it twice.
                    self._buffer += produced[size:]
                    return produced[:size]
                self._buffer += produced
        end = min(len(self._buffer), self._pos + size)
        data = bytes(self._buffer[self._pos : end])
        self._pos = end
        if self._pos > _OUT_CHUNK and self._pos * 2 > len(self._buffer):
            del self._buffer[: self._pos]
            self._pos = 0
        return data

    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, whatever is ready first (at least one byte unless the stream
        ended): the inflated chunks as they come, without copying them into a buffer."""
        if self._pos < len(self._buffer):
            return self.read(len(self._buffer) - self._pos if size < 0 else
                             min(size, len(self._buffer) - self._pos))  # fmt: skip
        while not self._exhausted:
            produced = self._output()
            if not produced:
                continue
            if 0 <= size < len(produced):
                self._buffer.clear()
                self._buffer += produced[size:]
                self._pos = 0
                return produced[:size]
            return produced
        return b""

    def finish(self) -> None:
        """Read to the end (discarding) so that the digests are checked."""
        while not self._exhausted:
            self._output()
        self._buffer.clear()
        self._pos = 0

    # -- the pipeline ------------------------------------------------------------------------

    def _first_bytes(self) -> bytes:
        head = b""
        while len(head) < 4:
            chunk = self._next_chunk()
            if not chunk:
                break
            head += chunk
        return head

    def _next_chunk(self) -> bytes:
        try:
            chunk = next(self._chunks, b"")
        except KeelhaulError:
            raise
        except OSError as err:
            raise self._error(f"cannot read the blob: {err.strerror or err}") from None
        if chunk:
            self.bytes_in += len(chunk)
            if self._blob_hash is not None:
                if self._hash_inline:
                    self._blob_hash.update(chunk)
                else:
                    self._unhashed.append(chunk)
            limit = self._limits.max_blob_bytes
            if self._declared is not None:
                limit = min(limit, self._declared)
            if self.bytes_in > limit:
                raise self._error(f"the blob is longer than its declared {limit} bytes")
        return chunk

    def _produce(self) -> bytes:
        """The next piece of output (possibly empty); sets ``_ended`` at the end."""
        try:
            out = self._decoder.pull()
            if not out and not self._decoder.tail:
                data = self._next_chunk()
                if not data:
                    self._end()
                    return b""
                self._decoder.push(data)
                out = self._decoder.pull()
        except _CORRUPT as err:
            raise self._error(f"corrupt {self.compression} data: {err}") from None
        if out:
            self.bytes_out += len(out)
            if self._tar_hash is not None and self._hash_inline:
                self._tar_hash.update(out)
            self._check_bounds()
        return out

    def _check_bounds(self) -> None:
        limits = self._limits
        if self.bytes_out > limits.max_layer_bytes:
            raise self._error(
                f"more than {limits.max_layer_bytes} bytes uncompressed (the layer limit)"
            )
        if self._guard.exceeded(self.bytes_out, self.bytes_in):
            raise self._error(self._guard.message(self.bytes_out, self.bytes_in))

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if not self._decoder.complete:
            raise self._error(f"truncated {self.compression} stream after {self.bytes_in} bytes")
        if self._declared is not None and self.bytes_in != self._declared:
            raise self._error(
                f"truncated blob: {self.bytes_in} bytes of the declared {self._declared}"
            )
        if self._hash_inline:
            self._check_blob_digest()
            self._check_diff_id()
            self._verified = True

    def _check_blob_digest(self) -> None:
        if self._blob_hash is not None and self._digest is not None:
            got = f"{self._digest.partition(':')[0]}:{self._blob_hash.hexdigest()}"
            if got != self._digest:
                raise self._error(f"the blob hashes to {got}, not its digest")

    def _check_diff_id(self) -> None:
        if self._tar_hash is not None and self._diff_id is not None:
            got = f"{self._diff_id.partition(':')[0]}:{self._tar_hash.hexdigest()}"
            if got != self._diff_id:
                raise self._error(f"the uncompressed layer hashes to {got}, not its DiffID")

    @property
    def verified(self) -> bool:
        return self._verified

    def _error(self, reason: str) -> LayerError:
        self._ended = True
        return LayerError(f"{self._name}: {reason}")


def _hasher(digest: str | None) -> Any:
    if digest is None:
        return None
    algorithm = digest.partition(":")[0]
    return hashlib.new(algorithm) if algorithm in ("sha256", "sha512") else None


def verified_layer(
    open_chunks: Callable[[], AbstractContextManager[Iterator[bytes]]],
    *,
    name: str,
    digest: str | None,
    diff_id: str | None,
    media_type: str,
    declared_size: int | None,
    limits: SourceLimits,
) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    """A :attr:`Layer.opener`: each call opens the blob anew and yields a verified stream.

    Leaving the ``with`` block normally drains the rest of the stream, so the digests are
    always checked even when the reader stopped at the tar's end-of-archive blocks.
    """

    @contextmanager
    def opener() -> Iterator[IO[bytes]]:
        with open_chunks() as chunks:
            stream = LayerStream(
                chunks,
                name=name,
                digest=digest,
                diff_id=diff_id,
                media_type=media_type,
                declared_size=declared_size,
                limits=limits,
                prefetch=True,
            )
            try:
                yield cast(IO[bytes], stream)
                stream.finish()
            finally:
                stream.close()  # the producer stops before the blob's source closes

    return opener


def file_chunks(handle: IO[bytes], size: int | None, chunk: int = _OUT_CHUNK) -> Iterator[bytes]:
    """At most ``size`` bytes (all, when None) of an open file, in chunks."""
    left = size
    while left is None or left > 0:
        data = handle.read(chunk if left is None else min(chunk, left))
        if not data:
            return
        if left is not None:
            left -= len(data)
        yield data
