from collections.abc import Iterator

from keelhaul.dockerfile.edits import double_quoted, replace_instruction
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.shared.structure import stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        if inst.name == "MAINTAINER":
            who = inst.values[0] if inst.values else "..."
            yield Hit(inst, "MAINTAINER is deprecated; use LABEL "
                      f'org.opencontainers.image.authors="{who}"',
                      stages.get(id(inst)), fix=_fix(inst, who))  # fmt: skip


def _fix(inst: Instruction, who: str) -> Fix | None:
    if inst.sub is not None or not inst.values:
        return None  # ONBUILD MAINTAINER is an error of its own (KH148)
    # MAINTAINER takes its text literally; LABEL expands variables, so escape `$`.
    label = "LABEL" if inst.keyword.isupper() else "label"
    value = double_quoted(who).replace("$", "\\$")
    body = f"{label} org.opencontainers.image.authors={value}"
    return Fix((replace_instruction(inst, body),), "MAINTAINER to an OCI authors label")


register(
    Rule(
        code="KH111",
        name="maintainer-deprecated",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="MAINTAINER instead of an OCI label.",
        explanation=(
            "MAINTAINER is deprecated: it fills the image's `author` field, which registries "
            "and tools no longer show. The OCI label `org.opencontainers.image.authors` is "
            "what they read, and a LABEL can say more (source, documentation, vendor)."
        ),
        bad="FROM debian:12\nMAINTAINER Jane <jane@example.com>\n",
        good='FROM debian:12\nLABEL org.opencontainers.image.authors="Jane <jane@example.com>"\n',
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Moves the author from the deprecated MAINTAINER into the OCI label "
            "`org.opencontainers.image.authors`: image metadata only, nothing in the "
            "container runs differently."
        ),
        related={
            "hadolint": ("DL4000",),
            "buildkit": ("MaintainerDeprecated",),
            "trivy": ("DS-0022",),
            "checkov": ("CKV_DOCKER_6",),
        },
    )
)
