from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import image_ref, image_uses
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for use in image_uses(ctx):
        ref = image_ref(use.reference)
        if ref is None or ref.digest is not None:
            continue
        if use.via == "FROM":
            if ref.tag is None or ref.tag == "latest":
                continue  # KH101 says it already, and asks for a digest
            what = f"base image {use.reference}"
        else:
            what = f"image {use.reference} ({use.via})"
        yield Hit(use.instruction, f"{what} is not pinned by digest: the tag can be pushed "
                  f"again; write {use.reference}@sha256:<digest>", use.stage,
                  use.instruction.locate(use.written))  # fmt: skip


register(
    Rule(
        code="KH123",
        name="base-without-digest",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="A base image (or a COPY --from image) is not pinned by @sha256 digest.",
        explanation=(
            "Even a versioned tag moves: `python:3.12-slim` is rebuilt and pushed again for "
            "every Debian security update, and any tag can be re-pushed by whoever controls "
            "the repository. Two builds of one commit then start from different bytes, and "
            "a compromised registry account reaches your image. `FROM "
            "python:3.12-slim@sha256:...` fixes the bytes while keeping the tag readable "
            "(BuildKit ignores the tag when a digest is given); let a bot such as Renovate "
            "or Dependabot update the digest, so security fixes still arrive, as reviewed "
            "changes. Off by default, since few Dockerfiles pin digests yet: select it "
            '(`extend-select = ["KH123"]`); it reports at info, which the configuration can '
            'raise (`severity = {KH123 = "warning"}`). Images named by `COPY --from` and '
            "`RUN --mount=from=` count too; earlier stages, `scratch` and a FROM that depends "
            "on a build arg without default never do. `:latest` and missing "
            "tags are KH101's."
        ),
        bad="FROM python:3.12-slim\n",
        good=(
            "FROM python:3.12-slim@sha256:"
            "2be8daddbb82756f7d1f2c7ece706aadcb284bf6ab6d769ea695cc3ed6016743\n"
        ),
        check=check,
        default_on=False,
    )
)
