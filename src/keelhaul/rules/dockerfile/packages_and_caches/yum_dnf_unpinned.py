from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import (
    RPM,
    Facts,
    has_version,
    listed,
    shown,
    unpinned_hits,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return op.manager in RPM and op.action == "install"


def accept(op: PackageOperation, spec: PackageSpec) -> bool:
    if op.subcommand.startswith("module"):
        return ":" in spec.raw  # a module stream (nodejs:20) is the version choice
    return has_version(spec) or "(" in spec.raw  # dnf-command(...): a capability


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return f"`{shown(op)}` of {listed(loose)} without a version (`name-1.2.3`)"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message, accept)


register(
    Rule(
        code="KH177",
        name="yum-dnf-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`yum`/`dnf`/`microdnf`/`tdnf` install of packages without a version.",
        explanation=(
            "Without versions the package set depends on the build day. Pins such as "
            "`httpd-2.4.62` rot when the repository drops that build (RHEL and Fedora "
            "repositories keep some older builds, CentOS Stream and EPEL few), which is why "
            "this is information by default; a base image pinned by digest gives most of the "
            "repeatability. Groups (`@name`), module streams (`nodejs:20`), local .rpm files, "
            "URLs and variables are not flagged. `java-11-openjdk` is read as a name, since an "
            "rpm version-release starts with a digit in each part."
        ),
        bad="FROM rockylinux:9\nRUN dnf install -y httpd && dnf clean all\n",
        good="FROM rockylinux:9\nRUN dnf install -y httpd-2.4.62 && dnf clean all\n",
        check=check,
        related={"hadolint": ("DL3033", "DL3041")},
    )
)
