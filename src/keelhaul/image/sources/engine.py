"""``docker:NAME``: an image in the local Docker Engine, over its API socket (``DOCKER_HOST``,
``unix://`` or plain ``tcp://``; default ``/var/run/docker.sock``).

``GET /images/{name}/json`` first: it says whether the engine has the image, and gives its
config digest (``Id``), its DiffIDs and its platform. Then ``GET /images/{name}/get`` sends a
``docker save`` tar, whose members come in the order of their names, not of the layers, with
``manifest.json`` last. Two ways to read it:

- streamed (for a caller within :func:`keelhaul.image.arrival.reading_arrivals`, such as
  ``keelhaul image``): the image is
  provisional (see :mod:`keelhaul.image.model`); its layers arrive in the save's order through
  :attr:`~keelhaul.image.model.Image.arrivals` and are analysed as they pass
  (:mod:`keelhaul.image.sources.save_stream`). Nothing is written to disk; memory holds the
  configs and manifests only.
- whole (the default, for consumers that open layers in order, such as the SBOM reader): the
  save is copied in 1 MiB chunks to ONE temporary file (``$TMPDIR``, removed when the image is
  closed) and read in place as a docker-archive. Memory stays flat; disk holds the image
  once, as ``docker save`` would. A provisional image falls back to this the first time one of
  its layers is opened with :meth:`~keelhaul.image.model.Layer.open`.

Either way the save is bounded by :attr:`SourceLimits.max_blob_bytes` times the layer count,
and checked against what the engine said beforehand (config digest, DiffIDs).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from keelhaul.image.arrival import wants_arrivals
from keelhaul.image.model import Arrival, Image, Layer
from keelhaul.image.sources.blobstore import ArchiveStore
from keelhaul.image.sources.docker_archive import LEGACY_LAYER, open_save
from keelhaul.image.sources.manifests import ImageSourceError, valid_digest
from keelhaul.image.sources.save_stream import MemoryStore, SaveReader
from keelhaul.image.sources.streams import SourceLimits
from keelhaul.registry import Problem, RegistryError

__all__ = [
    "EngineImageMissing",
    "engine_images",
    "load_archive",
    "open_engine_image",
    "save_images",
]

DEFAULT_HOST = "unix:///var/run/docker.sock"
_INSPECT_MAX = 16 << 20
_CHUNK = 1 << 20


class EngineImageMissing(RegistryError):
    """The engine answers but does not hold the image (a bare reference then asks the
    registry)."""


def _client(timeout: float) -> tuple[httpx.Client, str]:
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if host.startswith("unix://"):
        transport = httpx.HTTPTransport(uds=host.removeprefix("unix://"))
        return httpx.Client(transport=transport, timeout=timeout, base_url="http://docker"), host
    if host.startswith("tcp://") and not os.environ.get("DOCKER_TLS_VERIFY"):
        base = "http://" + host.removeprefix("tcp://").rstrip("/")
        return httpx.Client(timeout=timeout, base_url=base), host
    raise RegistryError(
        Problem.ENGINE, f"cannot reach a Docker Engine at {host} (only unix:// and plain tcp://)"
    )


def _unreachable(host: str, err: httpx.HTTPError) -> RegistryError:
    """The error for an engine that does not answer (connection refused, timed out...)."""
    return RegistryError(Problem.ENGINE, f"no Docker Engine answers at {host}: {str(err)[:160]}")


def _inspect(http: httpx.Client, host: str, name: str) -> dict[str, Any]:
    try:
        with http.stream("GET", f"/images/{quote(name, safe='/:@')}/json") as response:
            if response.status_code == 404:
                raise EngineImageMissing(
                    Problem.NOT_FOUND, f"{name} is not in the local Docker Engine ({host})"
                )
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _INSPECT_MAX:
                    raise ImageSourceError(f"the Docker Engine at {host}: inspect answer too big")
    except httpx.HTTPError as err:
        raise _unreachable(host, err) from None
    if not response.is_success:
        raise RegistryError(
            Problem.ENGINE,
            f"the Docker Engine at {host} answered HTTP {response.status_code} for {name}",
        )
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ImageSourceError(f"the Docker Engine at {host} sent malformed JSON for {name}")
    return document


def load_archive(path: Path, timeout: float = 600.0) -> list[str]:
    """``docker load`` over the API socket: the ``docker save`` archive at ``path`` goes into
    the engine; the names it loaded (``Loaded image: ...``). An error of the engine's raises
    :class:`~keelhaul.registry.RegistryError`."""
    http, host = _client(timeout)
    loaded: list[str] = []
    try:
        with http, path.open("rb") as handle:
            response = http.post("/images/load?quiet=1", content=iter(lambda: handle.read(_CHUNK), b""),
                                 headers={"Content-Type": "application/x-tar"})  # fmt: skip
    except httpx.HTTPError as err:
        raise _unreachable(host, err) from None
    for line in response.text.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("error"):
            raise RegistryError(
                Problem.ENGINE,
                f"the Docker Engine at {host} did not load {path.name}: "
                f"{str(message['error'])[:300]}",
            )
        text = message.get("stream") if isinstance(message, dict) else None
        if isinstance(text, str) and text.startswith("Loaded image"):
            loaded.append(text.partition(": ")[2].strip())
    if not response.is_success:
        raise RegistryError(
            Problem.ENGINE,
            f"the Docker Engine at {host} answered HTTP {response.status_code} "
            f"to loading {path.name}: {response.text[:300]}",
        )
    return loaded


def engine_images(timeout: float = 60.0) -> list[str]:
    """Every tagged image the engine holds (``GET /images/json``): its ``REPO:TAG`` names,
    sorted; untagged images (``<none>:<none>``) are left out."""
    http, host = _client(timeout)
    try:
        with http:
            response = http.get("/images/json")
    except httpx.HTTPError as err:
        raise _unreachable(host, err) from None
    if not response.is_success:
        raise RegistryError(
            Problem.ENGINE, f"the Docker Engine at {host} answered HTTP {response.status_code} "
            "listing its images",
        )  # fmt: skip
    try:
        listed = response.json()
    except ValueError:
        listed = None
    if not isinstance(listed, list):
        raise ImageSourceError(f"the Docker Engine at {host} sent malformed JSON for its images")
    names = {
        tag
        for entry in listed
        if isinstance(entry, dict)
        for tag in (entry.get("RepoTags") or [])
        if isinstance(tag, str) and tag and not tag.startswith("<none>")
    }
    return sorted(names)


def save_images(names: list[str], path: Path, limits: SourceLimits, timeout: float = 600.0) -> int:
    """``docker save NAME...`` over the API socket (``GET /images/get?names=...``) into the
    file ``path``: ONE archive in which a layer that several of the images share is written
    once. Each name is inspected first (a missing one is :class:`EngineImageMissing`); the
    save is bounded by :attr:`SourceLimits.max_blob_bytes` times the layers the engine
    lists. Returns the bytes written."""
    http, host = _client(timeout)
    with http:
        layers: set[str] = set()
        for name in names:
            rootfs = _inspect(http, host, name).get("RootFS")
            listed = rootfs.get("Layers") if isinstance(rootfs, dict) else None
            layers.update(d for d in listed or () if isinstance(d, str))
        budget = limits.max_blob_bytes * max(len(layers), 1)
        written = 0
        what = f"the save of {len(names)} image(s) from the Docker Engine at {host}"
        try:
            with http.stream("GET", "/images/get", params=[("names", n) for n in names]) as got:
                if not got.is_success:
                    raise RegistryError(
                        Problem.ENGINE, f"{what}: HTTP {got.status_code}"
                    )  # fmt: skip
                with path.open("wb") as out:
                    for chunk in got.iter_raw(_CHUNK):
                        written += len(chunk)
                        if written > budget:
                            raise ImageSourceError(f"{what} exceeds {budget} bytes")
                        out.write(chunk)
        except httpx.HTTPError as err:
            raise RegistryError(Problem.ENGINE, f"{what} failed: {str(err)[:160]}") from None
        except OSError as err:
            raise ImageSourceError(
                f"cannot write {what} to {path}: {err.strerror or err}"
            ) from None
    return written


@contextmanager
def open_engine_image(
    name: str,
    *,
    source: str,
    platform: str,
    limits: SourceLimits,
    timeout: float = 300.0,
    stream: bool | None = None,
) -> Iterator[Image]:
    """``stream``: a provisional image whose layers stream (default: when the caller
    reads arrivals, see :func:`keelhaul.image.arrival.reading_arrivals`), or a complete
    one read from a spilled save."""
    http, host = _client(timeout)
    with http:
        save = _Save(http, host, name, _inspect(http, host, name), source, platform, limits)
        try:
            streamed = wants_arrivals() if stream is None else stream
            yield save.provisional() if streamed else save.complete()
        finally:
            save.close()


class _Save:
    """One image's save: streamed, or spilled to a temporary file (once, when first
    needed), and checked against what the engine said of the image beforehand."""

    def __init__(
        self,
        http: httpx.Client,
        host: str,
        name: str,
        info: dict[str, Any],
        source: str,
        platform: str,
        limits: SourceLimits,
    ) -> None:
        self.http, self.host, self.name, self.source = http, host, name, source
        self.platform, self.limits = platform, limits
        self.label = f"the save of {name} from the Docker Engine"
        image_id = info.get("Id")
        self.image_id = image_id if valid_digest(image_id) else None
        rootfs = info.get("RootFS")
        layers = rootfs.get("Layers") if isinstance(rootfs, dict) else None
        self.diff_ids: list[str] | None = None
        if isinstance(layers, list) and all(valid_digest(d) for d in layers):
            self.diff_ids = layers
        self.budget = limits.max_blob_bytes * max(len(self.diff_ids or ()), 1)
        size = info.get("Size")
        self.size = size if isinstance(size, int) and size > 0 else 1
        self.info = info
        self._lock = threading.RLock()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._store: ArchiveStore | None = None
        self._complete: Image | None = None
        self._provisional: Image | None = None

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    # -- what the engine said beforehand ------------------------------------------------

    def _check(self, image: Image) -> Image:
        if self.image_id is not None and self.image_id != image.config_digest:
            raise ImageSourceError(
                f"the Docker Engine at {self.host} saved config {image.config_digest} for "
                f"{self.name}, whose Id is {self.image_id}"
            )
        saved = [x.diff_id for x in image.layers]
        if self.diff_ids is not None and self.diff_ids != saved:
            lacking = [(i, d) for i, d in enumerate(self.diff_ids) if d not in saved]
            if lacking:
                i, diff_id = lacking[0]
                raise ImageSourceError(
                    f"{self.label}: no layer {i + 1} ({diff_id}), which the engine lists"
                )
            raise ImageSourceError(
                f"the Docker Engine at {self.host}: the saved layers of {self.name} differ "
                "from the ones it inspects"
            )
        return image

    def _read(self, store: ArchiveStore) -> Image:
        opened = open_save(
            store, source=self.source, name=None, platform=self.platform, limits=self.limits
        )
        return self._check(opened)

    def _platform(self) -> str:
        info = self.info
        text = f"{info.get('Os') or 'linux'}/{info.get('Architecture') or 'unknown'}"
        variant = info.get("Variant")
        return f"{text}/{variant}" if isinstance(variant, str) and variant else text

    # -- streamed -----------------------------------------------------------------------

    def provisional(self) -> Image:
        if self.image_id is None or self.diff_ids is None:
            return self.complete()  # an engine that does not say: read the save whole
        layers = tuple(
            Layer(index=i, digest=d, diff_id=d, media_type=LEGACY_LAYER,
                  compressed_size=self.size,  # a bound until the layer arrives
                  history=None, opener=lambda i=i: self._open_spilled(i))  # type: ignore[misc]
            for i, d in enumerate(self.diff_ids)
        )  # fmt: skip
        self._provisional = Image(
            source=self.source, manifest_digest=None, config_digest=self.image_id, config={},
            layers=layers, history=(), platform=self._platform(), arrivals=self._arrivals,
        )  # fmt: skip
        return self._provisional

    @contextmanager
    def _arrivals(self) -> Iterator[Iterator[Arrival]]:
        with self._get() as response:
            reader = SaveReader(
                self._raw(response), label=self.label, diff_ids=self.diff_ids or (),
                config_digest=self.image_id, limits=self.limits, elsewhere=self._spilled_chunks,
            )  # fmt: skip
            yield reader.arrivals(self._settle)

    def _settle(self, store: MemoryStore) -> Image:
        complete = self._read(store)
        if self._provisional is not None and self._provisional.arrivals is not None:
            self._provisional.settle(complete)
        return complete

    # -- spilled ------------------------------------------------------------------------

    def complete(self) -> Image:
        with self._lock:
            if self._complete is None:
                store = self._spill()
                self._complete = self._read(store)
            if self._provisional is not None and self._provisional.arrivals is not None:
                self._provisional.settle(self._complete)
            return self._complete

    @contextmanager
    def _open_spilled(self, index: int) -> Iterator[IO[bytes]]:
        with self.complete().layers[index].open() as stream:
            yield stream

    def _spilled_chunks(self, path: str) -> AbstractContextManager[Iterator[bytes]]:
        return self._spill().chunks(path)

    def _spill(self) -> ArchiveStore:
        with self._lock:
            if self._store is None:
                self._folder = tempfile.TemporaryDirectory(prefix="keelhaul-save-")
                spill = Path(self._folder.name) / "save.tar"
                try:
                    with self._get() as response, spill.open("wb") as out:
                        for chunk in self._raw(response):
                            out.write(chunk)
                except _Broken as err:
                    raise RegistryError(
                        Problem.ENGINE,
                        f"the Docker Engine at {self.host} failed saving {self.name}: {err}",
                    ) from None
                except OSError as err:
                    raise ImageSourceError(
                        f"cannot spill the save of {self.name} to {spill.parent}: "
                        f"{err.strerror or err}"
                    ) from None
                self._store = ArchiveStore(spill, self.label, self.limits)
            return self._store

    # -- the save request ---------------------------------------------------------------

    @contextmanager
    def _get(self) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", f"/images/{quote(self.name, safe='/:@')}/get") as got:
                if not got.is_success:
                    raise RegistryError(
                        Problem.ENGINE,
                        f"the Docker Engine at {self.host} answered HTTP {got.status_code} "
                        f"saving {self.name}",
                    )
                yield got
        except httpx.HTTPError as err:
            raise RegistryError(
                Problem.ENGINE,
                f"the Docker Engine at {self.host} failed saving {self.name}: {str(err)[:160]}",
            ) from None

    def _raw(self, response: httpx.Response) -> Iterator[bytes]:
        """The body in chunks, bounded; a broken connection is an OSError, which the
        readers turn into an error naming what they were reading."""
        written = 0
        try:
            for chunk in response.iter_raw(_CHUNK):
                written += len(chunk)
                if written > self.budget:
                    raise ImageSourceError(
                        f"the Docker Engine at {self.host}: the save of {self.name} exceeds "
                        f"{self.budget} bytes"
                    )
                yield chunk
        except httpx.HTTPError as err:
            raise _Broken(f"the connection broke: {str(err)[:160]}") from None


class _Broken(OSError):
    """The engine's answer stopped half-way."""
