from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    AUTOMATIC_ARGS,
    expand,
    locate_variable,
    meta_declared,
    meta_env,
    suggest,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    declared = set(meta_declared(ctx.tree)) | AUTOMATIC_ARGS
    env = meta_env(ctx.tree)
    in_stages = {
        key: stage.label
        for stage in ctx.build.stages
        for inst in stage.instructions
        if inst.name == "ARG"
        for key in (w.partition("=")[0] for w in inst.values)
    }
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        words = [stage.base_raw]
        platform = inst.flag("platform")
        if platform:
            words.append(platform)
        unknown: set[str] = set()
        for word in words:
            done = expand(word, env, ctx.tree.escape)
            if done is not None:
                unknown |= done[1] - declared
        for name in sorted(unknown):
            message = f"FROM uses ${name}, which no ARG before the first FROM declares, so it "
            message += "is empty and --build-arg cannot set it"
            if name in in_stages:
                message += f" (the ARG {name} in stage {in_stages[name]} is not seen by FROM)"
            near = suggest(name, sorted(declared))
            if near is not None:
                message += f"; did you mean ${near}?"
            yield Hit(inst, message, stage, locate_variable(inst, name))


register(
    Rule(
        code="KH142",
        name="undefined-arg-in-from",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="FROM uses a variable that no ARG before the first FROM declares.",
        explanation=(
            "FROM lines only see the automatic platform args (`BUILDPLATFORM`, `TARGETARCH`...) "
            "and ARGs declared before the first FROM. Any other variable is empty, even with "
            "`--build-arg`, so `FROM node:${NODE_VERSION}` quietly becomes `FROM node:` or a "
            "typo like `$BUILDPLATFROM` drops the platform. Declare the ARG at the top of the "
            "file, with a default."
        ),
        bad="FROM node:${NODE_VERSION}-slim\n",
        good="ARG NODE_VERSION=20\nFROM node:${NODE_VERSION}-slim\n",
        check=check,
        related={"buildkit": ("UndefinedArgInFrom",)},
    )
)
