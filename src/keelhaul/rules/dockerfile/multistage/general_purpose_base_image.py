from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import (
    distribution_base,
    final_chain,
    is_dev_image,
)
from keelhaul.rules.dockerfile.shared.roles import ships_as_application
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if not stages or is_dev_image(ctx) or not ships_as_application(ctx):
        return
    root = stages[-1]
    if root.base_stage is not None or root.is_scratch or not root.base or "$" in root.base:
        return
    advice = distribution_base(root.base)
    if advice is None:
        return
    inst = root.from_instruction
    yield Hit(inst, f"the final image is built on {advice.text(root.base)}", root,
              inst.locate(root.base_raw))  # fmt: skip


register(
    Rule(
        code="KH121",
        name="general-purpose-base-image",
        severity=Severity.INFO,
        category=Category.SIZE,
        summary="The final image is built on a general-purpose distribution.",
        explanation=(
            "`ubuntu`, `debian`, `centos`, `fedora`, `rockylinux`, `almalinux`, `amazonlinux`, "
            "`oraclelinux` and Red Hat UBI bring a shell, a package manager, coreutils and "
            "their libraries: 30-90 MB compressed, and every one of those packages is "
            "something to patch and something a scanner reports. Most have a smaller "
            "variant (`debian:12-slim` ~28 MB against ~49 MB, `rockylinux:9-minimal`, "
            "`ubi9/ubi-minimal` or `ubi-micro`), and an application that needs only its "
            "runtime fits in distroless (`gcr.io/distroless/base-debian12`, ~8 MB) or Alpine "
            "(~3.5 MB, musl). CentOS Linux is end-of-life. An information: a full "
            "distribution is sometimes what the image needs. Sizes are approximate "
            "compressed linux/amd64 sizes. Only the final stage counts, through the stages "
            "it is built FROM; development images (`.devcontainer`, a final stage named "
            "`dev` or `test`) are not checked."
            "\n\nJudged by the stage's role (rules/dockerfile/shared/roles.py): not "
            "checked in an image made to be built on (ONBUILD, a CMD that only opens a "
            "prompt such as `node` or `bash`, a base/SDK/builder name), an export stage, or "
            "a command-less image over a toolchain (golang, gcc, buildpack-deps, the .NET SDK) "
            "that takes no sources in: there the compiler is the image's purpose (the "
            "golang image keeps gcc for cgo)."
        ),
        bad='FROM debian:12\nCOPY app /usr/local/bin/app\nCMD ["app"]\n',
        good='FROM debian:12-slim\nCOPY app /usr/local/bin/app\nCMD ["app"]\n',
        check=check,
    )
)
