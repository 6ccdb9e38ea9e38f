from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import analysis, operation_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in analysis(ctx).runs:
        for op in run.operations.packages:
            if op.manager == "zypper" and op.subcommand in ("dup", "dist-upgrade"):
                yield Hit(run.instruction, f"`zypper {op.subcommand}` moves the image to "
                          "whatever the repositories hold on the day of the build, possibly a "
                          "newer distribution release than the base image; use a newer base "
                          "image instead", run.stage, operation_span(run, op))  # fmt: skip


register(
    Rule(
        code="KH168",
        name="zypper-dist-upgrade",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="`zypper dist-upgrade` (`zypper dup`) in a build.",
        explanation=(
            "A distribution upgrade replaces, adds and removes packages to match the "
            "repositories, and can switch the image to a newer release than its base: builds "
            "stop being repeatable and the base image's tag stops describing the result. Use "
            "the base image of the release you want and rebuild with --pull for updates."
        ),
        bad="FROM opensuse/leap:15.6\nRUN zypper -n dup && zypper clean --all\n",
        good="FROM opensuse/leap:15.6\nRUN zypper -n install curl && zypper clean --all\n",
        check=check,
        related={"hadolint": ("DL3035",)},
    )
)
