from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import merge_update_fix
from keelhaul.rules.dockerfile.shared.packages import APT, RPM, analysis, operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Managers whose index refresh (update, makecache, refresh) prepares installs, by family.
FAMILY = {**dict.fromkeys(APT, "apt"), "apk": "apk", **dict.fromkeys(RPM, "rpm"),
          "zypper": "zypper"}  # fmt: skip
INSTALLS = ("install", "upgrade", "group", "module")


def _followed_by_install(op: PackageOperation, ops: tuple[PackageOperation, ...]) -> bool:
    family = FAMILY[op.manager]
    return any(
        FAMILY.get(other.manager) == family
        and other.action in INSTALLS
        and other.command.start > op.command.start
        for other in ops
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    runs = analysis(ctx).runs
    for run in runs:
        ops = run.operations.packages
        for op in ops:
            if op.manager in FAMILY and op.action == "update" and not _followed_by_install(op, ops):
                yield Hit(run.instruction, f"`{shown(op)}` with no install after it in this RUN: "
                          "its cached layer goes stale and later installs read old package "
                          "lists", run.stage, operation_span(run, op),
                          _fix(ctx, runs, run, op))  # fmt: skip
                break


def _fix(ctx: DockerfileContext, runs: list[Run], run: Run, op: PackageOperation) -> Fix | None:
    """The RUN that is only this update, merged into the next RUN when that one installs."""
    family = FAMILY[op.manager]
    return merge_update_fix(ctx, runs, run, op, lambda other: (
        FAMILY.get(other.manager) == family and other.action in INSTALLS))  # fmt: skip


register(
    Rule(
        code="KH102",
        name="package-update-alone",
        severity=Severity.WARNING,
        category=Category.BUILD_CACHE,
        summary=(
            "A package index update (`apt-get update`, `apk update`, `dnf makecache`, "
            "`zypper refresh`) in a different RUN from the install it prepares."
        ),
        explanation=(
            "Docker caches the update's layer. When the install line changes later, it runs "
            "against package lists from the day the update layer was built: versions that are "
            "gone from the mirror fail to download, or old ones install. Update and install "
            "in one RUN (and remove the lists in it too)."
        ),
        bad="FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "The update moves into the RUN that installs, just before the install, in a "
            "plain `&&` chain: that RUN fails when the update fails, as the lone RUN did, "
            "and the install reads the same kind of fresh index. A lone `apk update` is "
            "dropped only when every later `apk` fetches its own index (`--no-cache`)."
        ),
        related={"checkov": ("CKV_DOCKER_5",), "trivy": ("DS-0017",)},
    )
)
