from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import APT, RPM, analysis, operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

MANAGERS = (*APT, "apk", *RPM, "zypper")
DIST_UPGRADE = ("dup", "dist-upgrade")  # zypper's: KH168


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in analysis(ctx).shipped_runs():
        for op in run.operations.packages:
            if op.manager not in MANAGERS or op.action != "upgrade" or op.packages:
                continue
            if op.manager == "zypper" and op.subcommand in DIST_UPGRADE:
                continue
            yield Hit(run.instruction, f"`{shown(op)}` upgrades every package of the base image: "
                      "the result depends on the day of the build and the upgraded files are "
                      "stored again on top of the base layers; prefer a newer base image "
                      "(rebuild with --pull)", run.stage, operation_span(run, op))  # fmt: skip


register(
    Rule(
        code="KH167",
        name="system-upgrade",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`apt-get upgrade`/`dist-upgrade`, `apk upgrade`, `dnf upgrade`... in the image.",
        explanation=(
            "Upgrading everything the base image ships makes the image depend on the build "
            "date (two builds of one commit differ), stores a second copy of every upgraded "
            "file in the new layer, and runs package scripts the base image's maintainers "
            "never tested together. The fixes usually belong to the base image: pull a newer "
            "one (`docker build --pull`, or a digest pin that a bot such as Renovate bumps). "
            "Upgrading a named package to get one security fix is not flagged. Some teams "
            "upgrade on purpose because their base lags behind; keep this as information or "
            "turn it off then (hadolint retired its DL3005 for that reason). Only stages that "
            "end up in the image are checked; zypper's dist-upgrade is KH168."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get -y dist-upgrade && rm -rf /var/lib/apt/lists/*\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "--only-upgrade openssl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        related={"trivy": ("DS-0024",)},
    )
)
