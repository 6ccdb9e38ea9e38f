"""The compressed size of an image whose layers are stored uncompressed, for the cost model.

``docker save`` (the ``docker:`` and ``docker-archive:`` sources) writes each layer as a plain
tar, so the bytes stored there are the uncompressed size, about 1.7 times what the same image
weighs in a registry, where each layer is gzip-compressed. The cost model prices what a
registry stores and sends, so for such layers it needs the size a push would make.

:func:`watch` wraps the layers of an image before the analysis reads them: each layer stream
the analysis reads passes through a :class:`Sampler`, which compresses the first
:data:`SAMPLE_BYTES` of every :data:`WINDOW_BYTES` with gzip at level 6 (what ``docker push``
uses), so about one byte in eight is compressed and nothing is read twice. After the analysis,
:meth:`Watch.compressed_size` says what the image weighs compressed: a layer whose stored blob
is smaller than its tar is compressed already (its size is *measured*); a layer stored as a
plain tar gets its tar size times the sampled ratio (*estimated*).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import IO, Any

from keelhaul.image.model import Image, Layer

#: Bytes of each window compressed, and the window: one byte in eight is sampled.
SAMPLE_BYTES = 1 << 20
WINDOW_BYTES = 8 << 20
#: gzip's level for ``docker push`` (and the gzip default).
GZIP_LEVEL = 6
#: Header and trailer of one gzip member, added once per estimated layer.
GZIP_OVERHEAD = 18


@dataclass(frozen=True)
class CompressedSize:
    """What the image weighs compressed, and how that is known."""

    bytes: int
    basis: str
    """``measured``: every layer is stored compressed, the sum of its blobs; ``estimated``:
    some layers are stored as plain tars and their compressed size is estimated (gzip level 6
    over a sample of their bytes); ``uncompressed``: plain tars that could not be sampled,
    so the uncompressed size stands in (an overestimate)."""
    estimated_layers: int = 0
    """Layers stored as plain tars (their size is estimated)."""
    ratio: float | None = None
    """Estimated compressed bytes per byte of the plain-tar layers (estimated only)."""
    sampled_bytes: int = 0

    def describe(self) -> str:
        """For people: ``estimated: gzip -6 over 12% of ... (stored uncompressed)``."""
        if self.basis == "measured":
            return "measured: the compressed layer blobs"
        if self.basis == "uncompressed":
            return ("the uncompressed size: the layers are stored as plain tars and none could "
                    "be sampled")  # fmt: skip
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else "?"
        return (f"estimated: {self.estimated_layers} layer(s) stored as plain tars, gzip level "
                f"{GZIP_LEVEL} over a sample gives {ratio} compressed byte per byte")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "basis": self.basis,
                "estimated_layers": self.estimated_layers,
                "ratio": None if self.ratio is None else round(self.ratio, 4),
                "sampled_bytes": self.sampled_bytes}  # fmt: skip


class Sampler:
    """gzip level 6 over the first :data:`SAMPLE_BYTES` of each :data:`WINDOW_BYTES`."""

    def __init__(self) -> None:
        self.position = 0
        self.sampled_in = 0
        self.sampled_out = 0
        self._deflate: Any = None

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            offset = self.position % WINDOW_BYTES
            if offset < SAMPLE_BYTES:
                take = min(len(view), SAMPLE_BYTES - offset)
                if self._deflate is None:
                    self._deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
                self.sampled_out += len(self._deflate.compress(view[:take]))
                self.sampled_in += take
                if offset + take == SAMPLE_BYTES:
                    self._finish()
            else:
                take = min(len(view), WINDOW_BYTES - offset)
            self.position += take
            view = view[take:]

    def _finish(self) -> None:
        if self._deflate is not None:
            self.sampled_out += len(self._deflate.flush())
            self._deflate = None

    def close(self) -> None:
        self._finish()


class _Tee:
    """A layer's tar stream that shows each byte read to a sampler."""

    def __init__(self, stream: IO[bytes], sampler: Sampler) -> None:
        self._stream = stream
        self._sampler = sampler

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._sampler.feed(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._stream, "read1", self._stream.read)
        data: bytes = read1(size)
        if data:
            self._sampler.feed(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def stored_compressed(media_type: str) -> bool:
    """The media type says the blob is compressed (gzip or zstd)."""
    return "gzip" in media_type or "zstd" in media_type


@dataclass
class Watch:
    """The samples of the layer streams read since :func:`watch`, by DiffID."""

    samples: dict[str, tuple[int, int]] = field(default_factory=dict)
    """DiffID -> (bytes sampled, their compressed size)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _record(self, key: Callable[[], str], sampler: Sampler) -> None:
        sampler.close()
        if not sampler.sampled_in:
            return
        try:
            diff_id = key()
        except Exception:
            return
        with self._lock:
            self.samples[diff_id] = (sampler.sampled_in, sampler.sampled_out)

    def wrap(self, layer: Layer, key: Callable[[], str] | None = None) -> Layer:
        """``layer`` read through a sampler; ``key`` gives its DiffID once read (default:
        the layer's own)."""
        if stored_compressed(layer.media_type):
            return layer
        opener = layer.opener
        diff_id = key or (lambda: layer.diff_id)

        @contextmanager
        def sampled() -> Iterator[IO[bytes]]:
            sampler = Sampler()
            try:
                with opener() as stream:
                    yield _Tee(stream, sampler)  # type: ignore[misc]
            finally:
                self._record(diff_id, sampler)

        return replace(layer, opener=sampled)

    def compressed_size(self, layers: list[tuple[str, str, int, int]]) -> CompressedSize:
        """What the image weighs compressed; ``layers``: each layer's (DiffID, media type,
        stored size, tar size). A layer stored as a plain tar gets its own sampled ratio (the
        ratio over every sample when it has none)."""
        # a blob of no compressed media type within 2% of its tar is the tar itself
        plain = [(d, stored, tar) for d, media_type, stored, tar in layers
                 if not stored_compressed(media_type) and tar > 0 and stored * 50 >= tar * 49]  # fmt: skip
        stored_total = sum(stored for _, _, stored, _ in layers)
        if not plain:
            return CompressedSize(stored_total, "measured")
        sampled_in = sum(i for i, _ in self.samples.values())
        if not sampled_in:
            return CompressedSize(stored_total, "uncompressed", len(plain))
        overall = sum(o for _, o in self.samples.values()) / sampled_in
        estimated = 0
        for diff_id, _, tar in plain:
            got = self.samples.get(diff_id)
            ratio = got[1] / got[0] if got else overall
            estimated += round(tar * ratio) + GZIP_OVERHEAD
        measured = stored_total - sum(stored for _, stored, _ in plain)
        total = measured + estimated
        plain_tar = sum(tar for _, _, tar in plain)
        return CompressedSize(total, "estimated", len(plain), (estimated / plain_tar),
                              sampled_in)  # fmt: skip


class _Arrival:
    """An arrival whose layer streams through the watch."""

    def __init__(self, arrival: Any, watch: Watch) -> None:
        self._arrival = arrival
        self._watch = watch

    @property
    def name(self) -> str:
        return str(self._arrival.name)

    @property
    def layer(self) -> Layer:
        return self._watch.wrap(self._arrival.layer, lambda: str(self._arrival.diff_id))

    @property
    def diff_id(self) -> str:
        return str(self._arrival.diff_id)


def _arrivals(
    arrivals: Callable[[], AbstractContextManager[Iterator[Any]]], watch: Watch
) -> Callable[[], AbstractContextManager[Iterator[Any]]]:
    @contextmanager
    def wrapped() -> Iterator[Iterator[Any]]:
        with arrivals() as stream:
            yield (_Arrival(arrival, watch) for arrival in stream)

    return wrapped


def watch(image: Image) -> Watch:
    """Sample every plain-tar layer of ``image`` as the analysis reads it (the image's
    layers, or its arrivals for a streamed source, are wrapped in place)."""
    found = Watch()
    if image.arrivals is not None:
        object.__setattr__(image, "arrivals", _arrivals(image.arrivals, found))
    else:
        object.__setattr__(image, "layers", tuple(found.wrap(layer) for layer in image.layers))
    return found


__all__ = ["CompressedSize", "Sampler", "Watch", "stored_compressed", "watch"]
