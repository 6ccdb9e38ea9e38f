"""Opening an image from wherever it is: one reference syntax, one :class:`Image` out.

``open_image("docker-archive:app.tar")`` (``docker save``, legacy and Docker 25+ layouts),
``oci:DIR[:TAG]``, ``oci-archive:PATH[:TAG]``, ``docker:NAME`` (the local engine),
``registry:HOST/REPO:TAG`` or ``...@DIGEST``; a bare reference tries the engine, then the
registry. Every layer's :meth:`~keelhaul.image.model.Layer.open` streams its uncompressed tar,
verified (blob digest and DiffID) and bounded (see :class:`SourceLimits`) as it is read.
Every failure is a one-line :class:`~keelhaul.errors.KeelhaulError` (exit code 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from keelhaul.image.model import Image
from keelhaul.image.sources.blobstore import ArchiveStore, DirectoryStore
from keelhaul.image.sources.docker_archive import open_docker_archive
from keelhaul.image.sources.engine import EngineImageMissing, open_engine_image
from keelhaul.image.sources.manifests import (
    ImageSourceError,
    host_platform_name,
    platform_matches,
)
from keelhaul.image.sources.oci_layout import open_layout
from keelhaul.image.sources.reference import (
    BARE,
    DOCKER,
    DOCKER_ARCHIVE,
    OCI,
    OCI_ARCHIVE,
    REGISTRY,
    SourceReference,
    parse_source,
)
from keelhaul.image.sources.registry_source import open_registry_image
from keelhaul.image.sources.streams import LayerError, SourceLimits
from keelhaul.registry import DockerConfig, Problem, RegistryClient, RegistryError

__all__ = [
    "ImageSourceError",
    "LayerError",
    "SourceLimits",
    "SourceReference",
    "host_platform_name",
    "open_image",
    "parse_source",
]


def open_image(
    reference: str,
    *,
    platform: str | None = None,
    limits: SourceLimits | None = None,
    insecure_registries: Iterable[str] = (),
    docker_config: DockerConfig | None = None,
) -> AbstractContextManager[Image]:
    """Open ``reference``; use it as ``with open_image(ref) as image: ...``.

    ``platform`` (``os/arch[/variant]``) picks from a multi-platform index; default the
    host's. ``insecure_registries`` (host[:port]) are spoken to over plain HTTP, like
    loopback ones. Files, sockets and temporary files are released when the block ends, so
    layers must be read inside it.
    """
    return _checked(
        _open(
            parse_source(reference),
            platform or host_platform_name(),
            limits or SourceLimits(),
            tuple(insecure_registries),
            docker_config,
        ),
        platform,
    )


@contextmanager
def _checked(opened: AbstractContextManager[Image], platform: str | None) -> Iterator[Image]:
    """A single-platform image (no index to choose from) must still be the platform the
    user asked for, when they asked for one."""
    with opened as image:
        if platform and not platform_matches(platform, image.platform):
            raise ImageSourceError(
                f"{image.source}: the image is {image.platform}, not {platform} "
                "(it has no other platforms)"
            )
        yield image


@contextmanager
def _open(
    ref: SourceReference,
    platform: str,
    limits: SourceLimits,
    insecure: tuple[str, ...],
    docker_config: DockerConfig | None,
) -> Iterator[Image]:
    _check_platform(platform)
    if ref.scheme == DOCKER_ARCHIVE:
        yield open_docker_archive(
            ref.path, source=ref.text, name=ref.name, platform=platform, limits=limits
        )
    elif ref.scheme == OCI:
        store = DirectoryStore(ref.path, f"oci:{ref.target}")
        yield open_layout(store, source=ref.text, tag=ref.name, platform=platform, limits=limits)
    elif ref.scheme == OCI_ARCHIVE:
        archive = ArchiveStore(ref.path, f"oci-archive:{ref.target}", limits)
        yield open_layout(archive, source=ref.text, tag=ref.name, platform=platform, limits=limits)
    elif ref.scheme == DOCKER:
        with open_engine_image(
            ref.target, source=ref.text, platform=platform, limits=limits
        ) as image:
            yield image
    elif ref.scheme == REGISTRY:
        with RegistryClient(
            config=docker_config, insecure_registries=insecure, timeout=limits.registry_timeout
        ) as client:
            yield open_registry_image(
                client, ref.target, source=ref.text, platform=platform, limits=limits
            )
    else:
        assert ref.scheme == BARE
        with _open_bare(ref, platform, limits, insecure, docker_config) as image:
            yield image


@contextmanager
def _open_bare(
    ref: SourceReference,
    platform: str,
    limits: SourceLimits,
    insecure: tuple[str, ...],
    docker_config: DockerConfig | None,
) -> Iterator[Image]:
    """The local engine first (no download, and what the user just built), then the
    registry. A file path without a scheme gets a hint."""
    if Path(ref.target).exists():
        raise ImageSourceError(
            f"{ref.target}: a file; name its kind (docker-archive:{ref.target}, "
            f"oci:{ref.target} or oci-archive:{ref.target})"
        )
    engine_said = ""
    try:
        engine = open_engine_image(ref.target, source=ref.text, platform=platform, limits=limits)
        image = engine.__enter__()
    except EngineImageMissing:
        engine_said = "not in the local Docker Engine either"
    except RegistryError as err:
        if err.problem is not Problem.ENGINE:
            raise
        engine_said = "and no local Docker Engine answers"
    else:
        try:
            yield image
        except BaseException as err:
            if not engine.__exit__(type(err), err, err.__traceback__):
                raise
        else:
            engine.__exit__(None, None, None)
        return
    with RegistryClient(
        config=docker_config, insecure_registries=insecure, timeout=limits.registry_timeout
    ) as client:
        try:
            found = open_registry_image(
                client, ref.target, source=ref.text, platform=platform, limits=limits
            )
        except RegistryError as err:
            raise RegistryError(err.problem, f"{err} ({engine_said})") from None
        yield found


def _check_platform(platform: str) -> None:
    parts = platform.split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise ImageSourceError(f"--platform {platform!r}: expected os/arch[/variant]")
