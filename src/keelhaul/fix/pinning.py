"""Digest pinning: ``FROM image:tag`` becomes ``FROM image:tag@sha256:...``.

The digest comes from the registry (the index digest for a multi-platform image) or, when the
registry cannot be reached, from the local Docker Engine's RepoDigests. Only the FROM lines
change; the reference keeps its spelling, and a stage name, ``--platform`` and comments stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from keelhaul.dockerfile.edits import apply_edits, split_lines
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Edit

Resolver = Callable[[str], str]
"""Reference as written (without a digest) -> ``sha256:...``."""


@dataclass
class Pinned:
    line: int
    reference: str
    digest: str


@dataclass
class PinOutcome:
    text: str
    pinned: list[Pinned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why some FROM lines were left alone (variables, stages, scratch)."""


def pin_text(text: str, name: str, resolver: Resolver, update: bool = False) -> PinOutcome:
    """Pin every FROM image of ``text``; ``update`` re-resolves references already pinned.

    Raises :class:`~keelhaul.registry.RegistryError` when a digest cannot be had: then nothing
    of this file is changed.
    """
    from keelhaul.registry import parse_reference  # the HTTP stack only when pinning

    tree = parse(text, name)
    outcome = PinOutcome(text)
    if tree.errors:
        return outcome
    build = resolve(tree)
    _, lines = split_lines(text)
    edits: list[Edit] = []
    for stage in build.stages:
        raw = stage.base_raw
        inst = stage.from_instruction
        if stage.base_stage is not None or stage.is_scratch or not raw:
            continue
        if "$" in raw:
            outcome.skipped.append(f"{name}:{inst.start_line}: {raw} depends on a build arg")
            continue
        if "@" in raw and not update:
            continue  # pinned already
        # Refuses a malformed reference, its digest included, with a clear InvalidReference
        # (a KeelhaulError); the reference keeps its spelling, only the digest changes.
        old_digest = parse_reference(raw).digest
        written = raw.partition("@")[0]
        digest = resolver(written)
        if digest == old_digest:
            continue
        span = inst.locate(raw)
        if span is None or span.line != span.end_line:
            outcome.skipped.append(f"{name}:{inst.start_line}: cannot place the digest")
            continue
        old_line = lines[span.line - 1]
        new_line = (
            old_line[: span.column - 1] + f"{written}@{digest}" + old_line[span.end_column - 1 :]
        )
        edits.append(Edit(span.line, span.line, new_line))
        outcome.pinned.append(Pinned(span.line, written, digest))
    outcome.text = apply_edits(text, edits)
    return outcome


class CachedResolver:
    """Resolves each reference once per run: from the registry, else from the local engine."""

    def __init__(self, registry: Resolver, engine: Resolver | None = None) -> None:
        self._registry = registry
        self._engine = engine
        self._known: dict[str, str] = {}

    def __call__(self, reference: str) -> str:
        from keelhaul.registry import RegistryError

        if reference not in self._known:
            try:
                self._known[reference] = self._registry(reference)
            except RegistryError as exc:
                if self._engine is None or exc.problem.value not in ("unreachable", "dns", "tls"):
                    raise
                try:
                    self._known[reference] = self._engine(reference)
                except RegistryError:
                    raise exc from None
        return self._known[reference]
