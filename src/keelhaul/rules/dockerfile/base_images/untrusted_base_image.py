from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import (
    image_matches,
    image_ref,
    image_uses,
    registry_matches,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _setting(value: tuple[str, ...] | None) -> list[str] | None:
    """A list setting; absent or empty is None."""
    items = [v for v in value or () if v.strip()]
    return items or None


def _shown(items: list[str], limit: int = 4) -> str:
    head = ", ".join(items[:limit])
    return head + (", ..." if len(items) > limit else "")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    registries = _setting(ctx.settings.trusted_registries)
    images = _setting(ctx.settings.allowed_base_images)
    if registries is None and images is None:
        return
    for use in image_uses(ctx):
        ref = image_ref(use.reference)
        if ref is None:
            continue
        what = "base image" if use.via == "FROM" else f"image ({use.via})"
        problems = []
        if registries is not None and not registry_matches(ref.registry, registries):
            problems.append(f"its registry {ref.registry} is not in trusted-registries "
                            f"({_shown(registries)})")  # fmt: skip
        if images is not None and not image_matches(ref, images):
            problems.append(f"it matches none of allowed-base-images ({_shown(images)})")
        if problems:
            inst = use.instruction
            shown = use.reference.split("@", 1)[0]
            yield Hit(inst, f"{what} {shown}: {' and '.join(problems)}", use.stage,
                      inst.locate(use.written))  # fmt: skip


register(
    Rule(
        code="KH128",
        name="untrusted-base-image",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="An image from a registry or repository the configuration does not allow.",
        explanation=(
            "Every image a build pulls runs code in the build or ships in the result, so "
            "many organisations allow only their own registry, or a reviewed list of base "
            "images. Two settings, both off by default (the rule is quiet without them): "
            "`trusted-registries`, a list of registry hosts (globs allowed, `*.gcr.io`; "
            "`docker.io` stands for Docker Hub, whose images have no host), also read from "
            "hadolint's `trustedRegistries`; and `allowed-base-images`, glob patterns of "
            "image names (`node`, `gcr.io/distroless/*`, `python:3.12-*` with a tag). When "
            "both are set an image must satisfy both. Checked: every FROM image, builder "
            "stages included, and images named by `COPY --from` and `RUN --mount=from=`; "
            "never scratch, stages, or references left with a variable."
        ),
        bad="FROM quay.io/someone/base:1.0\n",
        good="FROM registry.example.com/base/python:3.12\n",
        check=check,
        example_settings={"trusted-registries": ["registry.example.com"]},
        related={"hadolint": ("DL3026",)},
    )
)
