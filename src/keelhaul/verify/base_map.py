"""``--base-map IMAGE=LOCAL``: build FROM local or mirrored images, offline.

The temporary copies verify builds get their FROM lines rewritten (a line edit through
:mod:`keelhaul.dockerfile.edits`, every other byte kept); the report keeps the names the
Dockerfile wrote. A key with a tag (``python:3.11``) maps that tag (whatever digest is
pinned); a key without one (``python``) maps every tag of the repository. Names are compared
as Docker reads them (:mod:`keelhaul.registry.reference`): ``python`` is
``docker.io/library/python``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keelhaul.dockerfile.edits import apply_edits, replace_instruction
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Edit
from keelhaul.registry.reference import InvalidReference, Reference, parse_reference


class BaseMapError(KeelhaulError):
    """A ``--base-map`` entry that is not ``IMAGE=LOCAL``."""


@dataclass(frozen=True)
class Mapped:
    """One FROM line rewritten."""

    line: int
    image: str
    """As the Dockerfile names it (expanded)."""
    local: str


def parse_entries(entries: Iterable[str]) -> dict[str, str]:
    """``IMAGE=LOCAL`` words -> a mapping; a clear error for anything else."""
    found: dict[str, str] = {}
    for entry in entries:
        image, sep, local = entry.partition("=")
        if not sep or not image.strip() or not local.strip():
            raise BaseMapError(f"--base-map {entry!r}: expected IMAGE=LOCAL_IMAGE")
        found[image.strip()] = local.strip()
    return found


def _key(text: str) -> Reference | None:
    try:
        return parse_reference(text)
    except InvalidReference:
        return None


def local_for(image: str, mapping: Mapping[str, str]) -> str | None:
    """The local image ``image`` maps to, or None."""
    wanted = _key(image)
    if wanted is None:
        return mapping.get(image)
    best: str | None = None
    for key, local in mapping.items():
        ref = _key(key)
        if ref is None or ref.name != wanted.name:
            continue
        if ref.tag is not None:
            if ref.tag == (wanted.tag or "latest"):
                return local  # an exact tag wins over a repository-wide entry
        elif ref.digest is None:
            best = local
    return best


def map_bases(text: str, name: str, mapping: Mapping[str, str]) -> tuple[str, list[Mapped]]:
    """``text`` with every FROM of an image in ``mapping`` naming its local image instead."""
    if not mapping:
        return text, []
    tree = parse(text, name)
    if tree.errors:
        return text, []
    build = resolve(tree)
    edits: list[Edit] = []
    done: list[Mapped] = []
    for stage in build.stages:
        if stage.base_stage is not None or stage.is_scratch:
            continue
        local = local_for(stage.base, mapping)
        if local is None:
            continue
        inst = stage.from_instruction
        flags = " ".join(inst.flags)
        alias = f" AS {stage.name}" if stage.name is not None else ""
        body = f"{inst.keyword} {flags + ' ' if flags else ''}{local}{alias}"
        edits.append(replace_instruction(inst, body))
        done.append(Mapped(inst.start_line, stage.base, local))
    return apply_edits(text, edits), done
