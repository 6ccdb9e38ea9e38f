"""``docker:NAME``: an image in the local Docker Engine, over its API socket (``DOCKER_HOST``,
``unix://`` or plain ``tcp://``; default ``/var/run/docker.sock``).

``GET /images/{name}/json`` first: it says whether the engine has the image, and gives its
config digest (``Id``) and DiffIDs. Then ``GET /images/{name}/get`` streams a ``docker save``
tar. Decision (documented): that stream is copied, in 1 MiB chunks, to ONE temporary file
(``$TMPDIR``, removed when the image is closed) and read in place as a docker-archive.
Reason: the engine writes the save tar by walking a folder, so members come in the order of
their random v1 ids, not the layers' order, and ``manifest.json`` comes last; layers opened
in order (or in parallel) cannot be served from one forward-only stream without spilling
most of them anyway. Memory stays flat; disk holds the image once (as ``docker save``
would). The copy is bounded by :attr:`SourceLimits.max_blob_bytes` times the layer count.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from keelhaul.image.model import Image
from keelhaul.image.sources.docker_archive import open_docker_archive
from keelhaul.image.sources.manifests import ImageSourceError
from keelhaul.image.sources.streams import SourceLimits
from keelhaul.registry import Problem, RegistryError

__all__ = ["EngineImageMissing", "open_engine_image"]

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
        raise RegistryError(
            Problem.ENGINE, f"no Docker Engine answers at {host}: {str(err)[:160]}"
        ) from None
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


@contextmanager
def open_engine_image(
    name: str, *, source: str, platform: str, limits: SourceLimits, timeout: float = 300.0
) -> Iterator[Image]:
    http, host = _client(timeout)
    with http:
        info = _inspect(http, host, name)
        image_id = info.get("Id")
        rootfs = info.get("RootFS") or {}
        diff_ids = rootfs.get("Layers") if isinstance(rootfs, dict) else None
        layer_count = len(diff_ids) if isinstance(diff_ids, list) else 1
        budget = limits.max_blob_bytes * max(layer_count, 1)
        with tempfile.TemporaryDirectory(prefix="keelhaul-save-") as folder:
            spill = Path(folder) / "save.tar"
            _save(http, host, name, spill, budget)
            image = open_docker_archive(
                spill,
                source=source,
                name=None,
                platform=platform,
                limits=limits,
                label=f"the save of {name} from the Docker Engine",
            )
            if isinstance(image_id, str) and image_id != image.config_digest:
                raise ImageSourceError(
                    f"the Docker Engine at {host} saved config {image.config_digest} for "
                    f"{name}, whose Id is {image_id}"
                )
            if isinstance(diff_ids, list) and diff_ids != [layer.diff_id for layer in image.layers]:
                raise ImageSourceError(
                    f"the Docker Engine at {host}: the saved layers of {name} differ from "
                    "the ones it inspects"
                )
            yield image


def _save(http: httpx.Client, host: str, name: str, spill: Path, budget: int) -> None:
    written = 0
    try:
        with (
            http.stream("GET", f"/images/{quote(name, safe='/:@')}/get") as response,
            spill.open("wb") as out,
        ):
            if not response.is_success:
                raise RegistryError(
                    Problem.ENGINE,
                    f"the Docker Engine at {host} answered HTTP {response.status_code} "
                    f"saving {name}",
                )
            for chunk in response.iter_raw(_CHUNK):
                written += len(chunk)
                if written > budget:
                    raise ImageSourceError(
                        f"the Docker Engine at {host}: the save of {name} exceeds {budget} bytes"
                    )
                out.write(chunk)
    except httpx.HTTPError as err:
        raise RegistryError(
            Problem.ENGINE, f"the Docker Engine at {host} failed saving {name}: {str(err)[:160]}"
        ) from None
    except OSError as err:
        raise ImageSourceError(
            f"cannot spill the save of {name} to {spill.parent}: {err.strerror or err}"
        ) from None
