from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile._structure import stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        if inst.name == "MAINTAINER":
            who = inst.values[0] if inst.values else "..."
            yield Hit(inst, "MAINTAINER is deprecated; use LABEL "
                      f'org.opencontainers.image.authors="{who}"',
                      stages.get(id(inst)))  # fmt: skip


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
        related={
            "hadolint": ("DL4000",),
            "buildkit": ("MaintainerDeprecated",),
            "trivy": ("DS-0022",),
            "checkov": ("CKV_DOCKER_6",),
        },
    )
)
