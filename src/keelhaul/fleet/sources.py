"""What a fleet scan looks at: image references from the sources on its command line.

A source is ``registry:HOST[:PORT]`` (every repository of the registry's catalog and every
tag of each), ``registry:HOST[:PORT]/REPO`` (every tag of one repository),
``registry:HOST[:PORT]/REPO:TAG`` (one image), or a file listing references, one a line
(``#`` starts a comment; each line is any of the above, ``registry:`` optional). Include and
exclude patterns are shell globs matched against ``REPO:TAG`` (a pattern without ``:``
matches every tag of the repositories it names).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from keelhaul.errors import KeelhaulError
from keelhaul.registry import InvalidReference, RegistryClient, parse_reference

__all__ = ["Selection", "SourceError", "expand", "matches"]


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
        target = text.removeprefix("registry:").removeprefix("docker://")
        out += _registry(client, target, selection, f"{path}:{number}")
    return list(dict.fromkeys(out))
