"""Layers mapped back to the Dockerfile instructions that made them (``keelhaul image -f``).

Best effort, and documented as such: the history of a built image says what each layer's
command was, not which line wrote it. The layer-making instructions of the final stage's chain
(the target stage and the stages it is built ``FROM``, in build order) are lined up with the
non-empty history entries from the top down, kind by kind (RUN with RUN, COPY with COPY, ADD
with ADD, WORKDIR with WORKDIR): an instruction whose kind does not match the entry is skipped
(a WORKDIR that made no layer, a COPY that an older builder recorded differently). Entries left
over at the bottom are the base image's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keelhaul.dockerfile.stages import Build
from keelhaul.dockerfile.syntax import Instruction

LAYER_MAKERS = frozenset({"RUN", "COPY", "ADD", "WORKDIR"})
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s+(\w+)")
_KEYWORD = re.compile(r"^([A-Z]+)\b")


@dataclass(frozen=True)
class Mapped:
    line: int
    text: str
    """The instruction's first line, shortened."""


def history_kind(created_by: str) -> str:
    """The instruction keyword a history entry was made by (``RUN`` for a bare shell)."""
    text = created_by.strip()
    nop = _NOP.match(text)
    if nop is not None:
        return nop.group(1).upper()
    keyword = _KEYWORD.match(text)
    if keyword is not None and keyword.group(1) in LAYER_MAKERS | {
        "ENV",
        "ARG",
        "CMD",
        "LABEL",
        "EXPOSE",
        "USER",
        "VOLUME",
        "ENTRYPOINT",
        "HEALTHCHECK",
        "SHELL",
        "STOPSIGNAL",
        "ONBUILD",
        "MAINTAINER",
    }:
        return keyword.group(1)
    return "RUN"  # legacy builder: "/bin/sh -c apt-get ..." or "|2 A=b /bin/sh -c ..."


def chain_instructions(build: Build) -> list[Instruction]:
    """The layer-making instructions of the target stage and the stages it builds FROM."""
    if build.target is None:
        return []
    chain = []
    index: int | None = build.target
    seen: set[int] = set()
    while index is not None and index not in seen:
        seen.add(index)
        stage = build.stages[index]
        chain.append(stage)
        index = stage.base_stage
    out: list[Instruction] = []
    for stage in reversed(chain):
        out += [i for i in stage.instructions if i.name in LAYER_MAKERS]  # not ONBUILD
    return out


def map_layers(history_kinds: list[str], instructions: list[Instruction]) -> list[Mapped | None]:
    """For each non-empty history entry (by its kind), the instruction it came from, or None."""
    out: list[Mapped | None] = [None] * len(history_kinds)
    at = len(instructions) - 1
    for position in range(len(history_kinds) - 1, -1, -1):
        kind = history_kinds[position]
        probe = at
        while probe >= 0 and instructions[probe].name != kind:
            probe -= 1
        if probe < 0:
            if kind == "WORKDIR":
                continue  # a WORKDIR the Dockerfile does not have: from the base
            break
        inst = instructions[probe]
        first = inst.text.splitlines()[0] if inst.text else inst.name
        out[position] = Mapped(inst.start_line, first if len(first) <= 120 else first[:119] + "…")
        at = probe - 1
    return out
