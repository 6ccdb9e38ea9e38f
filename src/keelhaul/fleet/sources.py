"""What a fleet scan looks at: image references from the sources on its command line.

A source is ``registry:HOST[:PORT]`` (every repository of the registry's catalog and every
tag of each), ``registry:HOST[:PORT]/REPO`` (every tag of one repository),
``registry:HOST[:PORT]/REPO:TAG`` (one image), or a file listing references, one a line
(``#`` starts a comment; each line is any of the above, ``registry:`` optional).

``docker:`` is the local Docker Engine (the ``docker:`` source of ``keelhaul image``): every
tagged image it holds; ``docker:REPO`` every tag of one repository there, ``docker:REPO:TAG``
one image. Their references stay ``docker:REPO:TAG``; the scan reads them from one save of
the engine (:func:`keelhaul.image.sources.engine.save_images`).

Include and exclude patterns are shell globs matched against ``REPO:TAG`` (a pattern without
``:`` matches every tag of the repositories it names).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from keelhaul.errors import KeelhaulError
from keelhaul.registry import InvalidReference, RegistryClient, parse_reference

__all__ = ["ENGINE", "Selection", "SourceError", "engine_name", "expand", "matches"]

#: The prefix of the local engine's sources and references (as in ``keelhaul image``).
ENGINE = "docker:"


class SourceError(KeelhaulError):
    """A source that names nothing scannable (a missing file, a bad reference)."""


@dataclass(frozen=True)
class Selection:
    include: tuple[str, ...] = ()
    """Globs over ``REPO:TAG``; empty: everything."""
    exclude: tuple[str, ...] = ()
    latest: int | None = None
    """Per repository, only the N most recently created images (by their config's
    ``created``; the tags API tells no dates)."""


def matches(selection: Selection, repository: str, tag: str) -> bool:
    """Whether ``REPO:TAG`` passes the include and exclude patterns."""

    def hit(pattern: str) -> bool:
        if ":" in pattern:
            return fnmatchcase(f"{repository}:{tag}", pattern)
        return fnmatchcase(repository, pattern)

    if selection.include and not any(hit(p) for p in selection.include):
        return False
    return not any(hit(p) for p in selection.exclude)


def expand(client: RegistryClient, source: str, selection: Selection) -> list[str]:
    """The references (``HOST/REPO:TAG``) ``source`` names, in a stable order."""
    text = source.strip()
    if text.startswith(ENGINE):
        return _engine(text.removeprefix(ENGINE), selection, source)
    if text.startswith("registry:"):
        return _registry(client, text.removeprefix("registry:"), selection, source)
    path = Path(text)
    if path.is_file():
        return _file(client, path, selection)
    raise SourceError(
        f"{source}: not a file and not registry:HOST[/REPO[:TAG]] (a registry needs the "
        "registry: prefix)"
    )


def _registry(client: RegistryClient, target: str, selection: Selection, where: str) -> list[str]:
    if not target:
        raise SourceError(f"{where}: nothing after 'registry:'")
    if "/" not in target.rstrip("/"):
        host = target.rstrip("/")
        out: list[str] = []
        for repository in sorted(client.repositories(host)):
            out += _tags(client, f"{host}/{repository}", selection, where)
        return out
    try:
        ref = parse_reference(target)
    except InvalidReference as err:
        raise SourceError(f"{where}: {err}") from None
    if ref.tag or ref.digest:
        if not matches(selection, ref.repository, ref.tag or ref.digest or ""):
            return []
        return [target]
    return _tags(client, target, selection, where)


def _tags(client: RegistryClient, repository: str, selection: Selection, where: str) -> list[str]:
    try:
        ref = parse_reference(repository)
    except InvalidReference as err:
        raise SourceError(f"{where}: {err}") from None
    tags = sorted(client.tags(ref))
    return [f"{repository}:{tag}" for tag in tags if matches(selection, ref.repository, tag)]


def _file(client: RegistryClient, path: Path, selection: Selection) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{path}: cannot read: {err}") from None
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.partition("#")[0].strip()
        if not text:
            continue
        where = f"{path}:{number}"
        if text.startswith(ENGINE):
            out += _engine(text.removeprefix(ENGINE), selection, where)
            continue
        target = text.removeprefix("registry:").removeprefix("docker://")
        out += _registry(client, target, selection, where)
    return list(dict.fromkeys(out))


def engine_name(name: str) -> tuple[str, str]:
    """``REPO:TAG`` of an engine image name split (the tag after the last ``:`` that follows
    the last ``/``; ``latest`` when there is none)."""
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, "latest"
    return repository, tag


def _engine(target: str, selection: Selection, where: str) -> list[str]:
    """The engine's images that ``docker:TARGET`` names, as ``docker:REPO:TAG``."""
    from keelhaul.image.sources.engine import engine_images
    from keelhaul.registry import RegistryError

    target = target.strip()
    if target.startswith("//"):
        raise SourceError(f"{where}: docker:NAME names the local engine's image (no //)")
    try:
        held = engine_images()
    except (RegistryError, KeelhaulError) as err:
        raise SourceError(f"{where}: {err}") from None
    if not target:
        chosen = held
    elif ":" in target.rpartition("/")[2]:
        if target not in held:
            raise SourceError(f"{where}: the local Docker Engine holds no image {target}")
        chosen = [target]
    else:
        chosen = [name for name in held if engine_name(name)[0] == target]
        if not chosen:
            raise SourceError(f"{where}: the local Docker Engine holds no tag of {target}")
    return [f"{ENGINE}{name}" for name in chosen if matches(selection, *engine_name(name))]
