from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import Facts, listed, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return op.manager == "apk" and op.action == "install" and op.subcommand == "add"


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return (f"`apk add` of {listed(loose)} without a version (`name=1.2.3-r0`, or "
            "`name~1.2` for a release series)")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH175",
        name="apk-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`apk add` of packages without a version.",
        explanation=(
            "Without versions the package set depends on the build day. Exact pins rot fast "
            "on Alpine, though: each branch's repository keeps only the newest build of a "
            "package, so `curl=8.9.1-r0` stops installing at the next security fix. The "
            "fuzzy `name~8.9` follows fixes within a release series; a base image pinned by "
            "digest and a fixed Alpine branch (3.20, not edge) are the usual compromise. "
            "Local .apk files and variables are not flagged. Information by default."
        ),
        bad="FROM alpine:3.20\nRUN apk add --no-cache curl\n",
        good="FROM alpine:3.20\nRUN apk add --no-cache 'curl~8.9'\n",
        check=check,
        related={"hadolint": ("DL3018",)},
    )
)
