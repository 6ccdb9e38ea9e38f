from collections.abc import Iterator

from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.shared.expose import PROTOCOLS, exposed
from keelhaul.rules.dockerfile.structure._fixes import recase_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage, inst, spec in exposed(ctx):
        proto = spec.protocol
        if proto and proto != proto.lower() and proto.lower() in PROTOCOLS:
            yield Hit(inst, f"write the protocol of EXPOSE {spec.value} in lowercase "
                      f"({spec.port}/{proto.lower()})", stage,
                      inst.locate(spec.written), _fix(inst, spec.written))  # fmt: skip


def _fix(inst: Instruction, written: str) -> Fix | None:
    """``80/TCP`` -> ``80/tcp``, for a word written without variables (its protocol is
    then written as it is read)."""
    port, slash, proto = written.rpartition("/")
    if not slash or any(c in written for c in "$\\\"'`") or proto.lower() not in PROTOCOLS:
        return None
    return recase_word(inst, inst.values.index(written), f"{port}/{proto.lower()}")


register(
    Rule(
        code="KH132",
        name="expose-protocol-case",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="EXPOSE with an upper-case protocol (`80/TCP`).",
        explanation=(
            "Docker stores exposed ports as `port/tcp`, `port/udp` or `port/sctp`; an upper-case "
            "protocol is lower-cased on the way in, so the Dockerfile says something else than "
            "the image config that tools and `docker inspect` show."
        ),
        bad="FROM nginx:1.27\nEXPOSE 8080/TCP\n",
        good="FROM nginx:1.27\nEXPOSE 8080/tcp\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`EXPOSE 80/TCP` and `80/tcp` record the same port and protocol: only the "
            "spelling changes."
        ),
        related={"buildkit": ("ExposeProtoCasing",)},
    )
)
