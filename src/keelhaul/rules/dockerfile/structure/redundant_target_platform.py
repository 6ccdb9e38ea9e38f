from collections.abc import Iterator

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import lexer, meta_env
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    lex = lexer(ctx.tree.escape)
    env = meta_env(ctx.tree)
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        platform = inst.flag("platform")
        if not platform:
            continue
        try:
            value, matched, unmatched = lex.process_word_with_matches(platform, env)
        except ExpansionError:
            continue
        # Only $TARGETPLATFORM, nothing around it (as BuildKit decides it).
        if matched == {"TARGETPLATFORM"} and not unmatched and value == env["TARGETPLATFORM"]:
            yield Hit(inst, f"--platform={platform} is what FROM does anyway; remove the "
                      "flag", stage, inst.locate(platform))  # fmt: skip


register(
    Rule(
        code="KH146",
        name="redundant-target-platform",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="FROM --platform=$TARGETPLATFORM, which is the default.",
        explanation=(
            "Every stage is built for the target platform unless told otherwise, so "
            "`--platform=$TARGETPLATFORM` adds nothing but a hint that something special "
            "happens. `--platform=$BUILDPLATFORM` is the useful flag, for stages that run "
            "build tools natively and cross-compile."
        ),
        bad="FROM --platform=$TARGETPLATFORM alpine:3.20\n",
        good="FROM alpine:3.20\n",
        check=check,
        related={"hadolint": ("DL3065",), "buildkit": ("RedundantTargetPlatform",)},
    )
)
