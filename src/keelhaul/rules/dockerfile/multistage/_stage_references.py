"""What ``COPY --from`` and ``RUN --mount=from=`` name: a stage (before, after, itself) or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from keelhaul.dockerfile.stages import Build, Stage
from keelhaul.dockerfile.syntax import Instruction


@dataclass(frozen=True, slots=True)
class Reference:
    stage: Stage  # the stage whose instruction refers
    instruction: Instruction
    written: str  # as in the Dockerfile
    via: str  # "COPY --from" or "RUN --mount from"
    target: int | None  # index of the stage it names (case-insensitive name or number)


def stage_names(build: Build) -> dict[str, int]:
    """Lower-cased stage name -> index; a repeated name means its last stage, as in BuildKit."""
    return {s.name: s.index for s in build.stages if s.name is not None}


def mount_froms(inst: Instruction) -> list[str]:
    out: list[str] = []
    for flag in inst.flags:
        key, _, value = flag[2:].partition("=")
        if key != "mount":
            continue
        for part in value.split(","):
            k, _, v = part.partition("=")
            if k.strip().lower() == "from" and v:
                out.append(v.strip())
    return out


def references(build: Build) -> Iterator[Reference]:
    names = stage_names(build)
    for stage in build.stages:
        for inst in stage.instructions:
            # ONBUILD triggers name stages of the build that uses the image: not ours.
            written: list[tuple[str, str]] = []
            if inst.name in ("COPY", "ADD"):
                ref = inst.flag("from")
                if ref:
                    written.append((ref, f"{inst.name} --from"))
            elif inst.name == "RUN":
                written += [(ref, "RUN --mount from") for ref in mount_froms(inst)]
            for ref, via in written:
                target = int(ref) if ref.isdigit() else names.get(ref.lower())
                yield Reference(stage, inst, ref, via, target)
