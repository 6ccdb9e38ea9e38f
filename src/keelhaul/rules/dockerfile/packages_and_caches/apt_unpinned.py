from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import Facts, listed, shown, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return (
        op.manager in ("apt-get", "apt", "aptitude")
        and op.action == "install"
        and op.subcommand in ("install", "reinstall")
        and not op.has("--only-upgrade")  # upgrading a named package means "the newest"
    )


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return (f"`{shown(op)}` of {listed(loose)} without a version "
            "(`name=version`): the build takes whatever the mirror has that day")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH172",
        name="apt-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`apt-get install` of packages without `=version`.",
        explanation=(
            "Without versions, two builds of one commit can install different packages. Exact "
            "pins have a cost, though: Debian and Ubuntu mirrors keep only the current version "
            "of a package per release, so `curl=7.88.1-10` fails to install as soon as a "
            "security update replaces it, and pins must be bumped by hand or by a bot. That "
            "is why this is information by default. A base image pinned by digest and "
            "rebuilt regularly, or snapshot.debian.org as the mirror, gives repeatable builds "
            "with less upkeep. Local .deb files and variables are not flagged; "
            "`--only-upgrade` of a named package is left alone."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
        good="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 && rm -rf /var/lib/apt/lists/*\n",
        check=check,
        related={"hadolint": ("DL3008",)},
    )
)
