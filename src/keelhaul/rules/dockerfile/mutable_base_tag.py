from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``name[:tag][@digest]`` -> (name, tag, digest); a registry port is not a tag."""
    name, _, digest = ref.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        if stage.base_stage is not None or stage.is_scratch or not stage.base:
            continue
        if "$" in stage.base:
            continue  # depends on a build arg without a default: nothing to judge
        name, tag, digest = split_reference(stage.base)
        if digest is not None:
            continue
        inst = stage.from_instruction
        if tag is None:
            yield Hit(inst, f"base image {name} has no tag, so it means :latest and moves", stage,
                      inst.locate(stage.base_raw))  # fmt: skip
        elif tag == "latest":
            yield Hit(inst, f"base image {stage.base} uses the mutable tag :latest", stage,
                      inst.locate(stage.base_raw))  # fmt: skip


register(
    Rule(
        code="KH101",
        name="mutable-base-tag",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="A base image without a tag, or tagged :latest.",
        explanation=(
            "`:latest` (or no tag, which means the same) points at whatever was pushed last: "
            "two builds of the same commit can get different bases, and a cached layer hides "
            "the change until it does not. Use a versioned tag, and best a digest "
            "(`keelhaul fix --pin`). FROM lines are resolved with ARG defaults; earlier stages "
            "and scratch are never flagged."
        ),
        bad="FROM node:latest\n",
        good="FROM node:20.15.1-bookworm-slim\n",
        check=check,
        related={
            "hadolint": ("DL3006", "DL3007"),
            "trivy": ("DS-0001",),
            "checkov": ("CKV_DOCKER_7",),
        },
    )
)
