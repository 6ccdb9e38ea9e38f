"""EXPOSE words as BuildKit reads them: ``[ip:][host-port:]port[-end][/protocol]``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.structure import lexer, scopes
from keelhaul.rules.registry import DockerfileContext

PROTOCOLS = frozenset({"tcp", "udp", "sctp"})


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One EXPOSE word, expanded, split into its parts."""

    written: str  # the word as in the Dockerfile
    value: str  # after variable expansion
    ip: str
    host_port: str
    port: str  # port or range
    protocol: str  # as written; "" when absent


def split_spec(written: str, value: str) -> PortSpec:
    parts = value.split(":")
    if len(parts) == 1:
        ip, host, rest = "", "", parts[0]
    elif len(parts) == 2:
        ip, host, rest = "", parts[0], parts[1]
    else:
        ip, host, rest = ":".join(parts[:-2]), parts[-2], parts[-1]
    port, _, protocol = rest.partition("/")
    return PortSpec(written, value, ip, host, port, protocol)


def exposed(ctx: DockerfileContext) -> Iterator[tuple[Stage, Instruction, PortSpec]]:
    """Every EXPOSE word whose value is known (words with unknown variables are skipped)."""
    known = scopes(ctx)
    lex = lexer(ctx.tree.escape)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.name != "EXPOSE":
                continue
            scope = known.at(inst)
            if scope is None:
                continue
            for word in inst.values:
                try:
                    _, matched, unmatched = lex.process_word_with_matches(word, scope.env)
                    values = lex.process_words(word, scope.env)
                except ExpansionError:
                    continue
                if scope.uncertain(matched, unmatched):
                    continue
                for value in values:
                    yield stage, inst, split_spec(word, value)


def range_problem(text: str) -> str | None:
    """Why ``text`` is not a port or ``start-end`` range BuildKit accepts, or None."""
    if not text:
        return "no port"
    start, dash, end = text.partition("-")
    for number in (start, end) if dash and start != end else (start,):
        if not number.isdigit():
            return f"{number or 'an empty part'} is not a number"
        if int(number) > 65535:
            return f"{number} is above 65535"
    if dash and start != end and int(end) < int(start):
        return f"the range {text} ends before it starts"
    return None
