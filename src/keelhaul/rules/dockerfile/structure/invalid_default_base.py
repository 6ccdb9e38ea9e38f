from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    AUTOMATIC_ARGS,
    expand,
    meta_declared,
    meta_env,
    valid_image_reference,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    declared = meta_declared(ctx.tree)
    env = meta_env(ctx.tree)
    for stage in ctx.build.stages:
        raw = stage.base_raw
        if "$" not in raw:
            continue  # no ARG involved: a plain bad name is a build error, not this rule
        done = expand(raw, env, ctx.tree.escape)
        if done is None:
            continue
        value, unmatched = done
        if unmatched - AUTOMATIC_ARGS - set(declared):
            continue  # an undeclared ARG: KH142 says so
        if valid_image_reference(value):
            continue
        empty = sorted(n for n in unmatched if n in declared)
        why = f"; give {', '.join(empty)} a default" if empty else ""
        inst = stage.from_instruction
        shown = f"'{value}'" if value else "an empty name"
        yield Hit(inst, f"with the ARG defaults, FROM {raw} gives {shown}, not an image "
                  f"name, so the file only builds with --build-arg{why}", stage,
                  inst.locate(raw))  # fmt: skip


register(
    Rule(
        code="KH143",
        name="invalid-default-base",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="With the ARG defaults, a FROM line gives an empty or invalid image name.",
        explanation=(
            "`ARG VERSION` without a default and `FROM busybox:$VERSION` give `busybox:` when "
            "nobody passes `--build-arg VERSION=...`: `docker build .` fails, and so do tools "
            "that read the Dockerfile without your build args (IDEs, scanners, Dependabot). "
            "Give the ARG a working default.\n\n"
            "An information, not a warning: on the judged corpus all 13 findings were "
            "projects that require the build arg on purpose and always pass it from their "
            "Makefile or CI (ingress-nginx's `BASE_IMAGE`, `GOLANG_VERSION`; docker/cli's e2e "
            "`ENGINE_VERSION`), so the finding is true but not worth failing a build on. "
            "BuildKit reports the same (InvalidDefaultArgInFrom)."
        ),
        bad="ARG VERSION\nFROM busybox:$VERSION\n",
        good="ARG VERSION=1.36\nFROM busybox:$VERSION\n",
        check=check,
        related={"buildkit": ("InvalidDefaultArgInFrom",)},
    )
)
