from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for inst in ctx.tree.instructions:
        if inst.name == "MAINTAINER":
            yield Hit(inst, "MAINTAINER is deprecated; use LABEL "
                      "org.opencontainers.image.authors=...")  # fmt: skip


register(
    Rule(
        code="KH111",
        name="maintainer-deprecated",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="MAINTAINER instead of an OCI label.",
        explanation="MAINTAINER is deprecated; the OCI label is what registries and tools read.",
        bad="FROM debian:12\nMAINTAINER Jane <jane@example.com>\n",
        good='FROM debian:12\nLABEL org.opencontainers.image.authors="Jane <jane@example.com>"\n',
        check=check,
        related={"hadolint": ("DL4000",), "buildkit": ("MaintainerDeprecated",)},
    )
)
