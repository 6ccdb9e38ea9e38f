"""What ``docker build`` rejects after parsing: unknown instructions, flags and triggers.

BuildKit's parser accepts any word as an instruction and any ``--flag``; its instruction
stage then refuses them. These checks give the same verdicts, located.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from keelhaul.dockerfile.syntax import KNOWN_INSTRUCTIONS, Dockerfile, Instruction

#: The flags each instruction takes in current BuildKit (all others take none).
FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security", "device"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset(
        {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack", "parents"}
    ),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
NOT_TRIGGERS = frozenset({"ONBUILD", "FROM", "MAINTAINER"})


@dataclass(frozen=True, slots=True)
class InstructionProblem:
    message: str
    line: int


def _flag_problems(inst: Instruction) -> Iterator[str]:
    allowed = FLAGS.get(inst.name, frozenset())
    for flag in inst.flags:
        name = flag[2:].partition("=")[0]
        if name not in allowed:
            yield f"unknown flag: {name}"


def instruction_problems(tree: Dockerfile) -> list[InstructionProblem]:
    problems: list[InstructionProblem] = []
    for inst in tree.instructions:
        line = inst.start_line
        if inst.name not in KNOWN_INSTRUCTIONS:
            problems.append(InstructionProblem(f"unknown instruction: {inst.keyword}", line))
            continue
        problems.extend(InstructionProblem(msg, line) for msg in _flag_problems(inst))
        sub = inst.sub
        if inst.name == "ONBUILD":
            if sub is None:
                problems.append(InstructionProblem("ONBUILD requires at least one argument", line))
            elif sub.name in NOT_TRIGGERS:
                problems.append(
                    InstructionProblem(f"{sub.name} isn't allowed as an ONBUILD trigger", line)
                )
            elif sub.name not in KNOWN_INSTRUCTIONS:
                problems.append(InstructionProblem(f"unknown instruction: {sub.keyword}", line))
            else:
                problems.extend(InstructionProblem(msg, line) for msg in _flag_problems(sub))
    return problems
