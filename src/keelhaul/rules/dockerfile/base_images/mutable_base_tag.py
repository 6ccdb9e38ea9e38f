import re
from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Severity
from keelhaul.registry.reference import moving_tag
from keelhaul.rules.dockerfile.shared.distroless import shell_less
from keelhaul.rules.dockerfile.shared.images import final_chain, image_ref, image_uses
from keelhaul.rules.dockerfile.shared.security import script_text
from keelhaul.rules.dockerfile.shared.toolchain import stage_runs
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for use in image_uses(ctx):
        if use.via != "FROM":
            continue
        ref = image_ref(use.reference)
        if ref is None or ref.digest is not None or _only_shuffles_files(ctx, use.stage):
            continue
        if ref.registry == "gcr.io" and _DISTROLESS_RELEASE.fullmatch(ref.path):
            continue  # static-debian12: the name is the version; latest/nonroot are variants
        inst = use.instruction
        where = inst.locate(use.written)
        # distroless publishes no version tags (latest, nonroot, debug): only a digest pins it
        hint = ("; distroless publishes no version tags: name its Debian release "
                "(-debian13) and pin it by digest (keelhaul fix --pin)" if shell_less(use.reference) or
                "/distroless/" in f"/{ref.path}" else "")  # fmt: skip
        if ref.tag is None:
            name = use.reference.split("@", 1)[0]
            yield Hit(inst, f"base image {name} has no tag, so it means :latest and moves{hint}",
                      use.stage, where)  # fmt: skip
        elif ref.tag == "latest":
            yield Hit(inst, f"base image {use.reference} uses the mutable tag :latest{hint}",
                      use.stage, where)  # fmt: skip
        elif moving_tag(ref.tag):
            yield Hit(inst, f"base image {use.reference} uses :{ref.tag}, a branch or channel "
                      f"tag that moves with every push or release{hint}", use.stage, where)  # fmt: skip


#: A distroless image named with its Debian release (``distroless/static-debian12``).
_DISTROLESS_RELEASE = re.compile(r"distroless/.+-debian\d+")

#: Commands that bring something from outside into a stage.
_FETCH = re.compile(r"\b(?:curl|wget|git|svn|hg|rsync|scp|aria2c|go|cargo|npm|yarn|pnpm|pip3?)\b")


def _only_shuffles_files(ctx: DockerfileContext, stage: Stage) -> bool:
    """A build stage whose RUNs install and fetch nothing (``mkdir``, ``cp``, ``ln``, ``sed``
    on files copied in): nothing of its base reaches the output but what those commands do,
    so a moving tag there changes nothing worth pinning. A stage with no RUN is not one: its
    files are what later stages copy."""
    if stage.index in {s.index for s in final_chain(ctx)}:
        return False
    runs = stage_runs(ctx, stage)
    if not runs or any(i.name == "ADD" for i in stage.instructions):
        return False
    return not any(r.operations.packages or _FETCH.search(script_text(r)) for r in runs)


register(
    Rule(
        code="KH101",
        name="mutable-base-tag",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="A base image without a tag, tagged :latest, or tagged with a branch or channel.",
        explanation=(
            "`:latest` (or no tag, which means the same) points at whatever was pushed last, "
            "and so does a tag named for a branch or a release channel (`:master`, `:nightly`, "
            "`:edge`, `:stable`, `:lts`: `node:lts` moves to the next Node.js major when it "
            "becomes LTS): "
            "two builds of the same commit can get different bases, and a cached layer hides "
            "the change until it does not. Use a versioned tag, and best a digest "
            "(`keelhaul fix --pin`; KH123 reports tags without one). FROM lines are resolved "
            "with ARG defaults; earlier stages, scratch and a FROM that depends on a build arg "
            "without default are never flagged; nor is a build stage whose RUNs install and "
            "fetch nothing (`mkdir`, `cp`, `ln` on files copied in: the base's content does "
            "not reach the output). A distroless image has no version tags "
            "(`latest`, `nonroot`, `debug` are variants): its name carries the version, the "
            "Debian release (`gcr.io/distroless/static-debian12`), which is not reported; "
            "without it (`gcr.io/distroless/static`) the image moves to the next Debian "
            "release when distroless does, and is told to name one and pin a digest "
            "(KH119 reports a Debian release past its end of life)."
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
