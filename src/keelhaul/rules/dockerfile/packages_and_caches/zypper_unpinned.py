from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import Facts, listed, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return op.manager == "zypper" and op.action == "install"


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return f"`zypper {op.subcommand}` of {listed(loose)} without a version (`'name=1.2.3'`)"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH178",
        name="zypper-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`zypper install` of packages without a version.",
        explanation=(
            "Without versions the package set depends on the build day; with exact versions "
            "(`'curl=8.6.0'`, or a range such as `'curl>=8'`) the build fails once the "
            "repository drops that build, so this is information by default. A base image "
            "pinned by digest gives most of the repeatability. Local .rpm files are not "
            "flagged."
        ),
        bad="FROM opensuse/leap:15.6\nRUN zypper -n install curl && zypper clean --all\n",
        good="FROM opensuse/leap:15.6\nRUN zypper -n install 'curl=8.6.0' && zypper clean --all\n",
        check=check,
        related={"hadolint": ("DL3037",)},
    )
)
