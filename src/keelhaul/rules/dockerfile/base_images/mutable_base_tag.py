from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.distroless import shell_less
from keelhaul.rules.dockerfile.shared.images import image_ref, image_uses
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for use in image_uses(ctx):
        if use.via != "FROM":
            continue
        ref = image_ref(use.reference)
        if ref is None or ref.digest is not None:
            continue
        inst = use.instruction
        where = inst.locate(use.written)
        # distroless publishes no version tags (latest, nonroot, debug): only a digest pins it
        hint = ("; distroless publishes no version tags: pin it by digest "
                "(keelhaul fix --pin)" if shell_less(use.reference) or
                "/distroless/" in f"/{ref.path}" else "")  # fmt: skip
        if ref.tag is None:
            name = use.reference.split("@", 1)[0]
            yield Hit(inst, f"base image {name} has no tag, so it means :latest and moves{hint}",
                      use.stage, where)  # fmt: skip
        elif ref.tag == "latest":
            yield Hit(inst, f"base image {use.reference} uses the mutable tag :latest{hint}",
                      use.stage, where)  # fmt: skip


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
            "(`keelhaul fix --pin`; KH123 reports tags without one). FROM lines are resolved "
            "with ARG defaults; earlier stages, scratch and a FROM that depends on a build arg "
            "without default are never flagged."
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
