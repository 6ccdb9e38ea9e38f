from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import Facts, listed, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return op.manager == "gem" and op.action == "install"


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return (f"`gem {op.subcommand}` of {listed(loose)} without a version (`-v 1.2.3` or "
            "`name:1.2.3`)")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH176",
        name="gem-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`gem install` without `-v`/`name:version`.",
        explanation=(
            "`gem install bundler` takes the newest release on each build; a new major "
            "version of bundler or rails changes the image without a change to the "
            "Dockerfile. RubyGems keeps old versions, so `gem install bundler -v 2.5.18` (or "
            "`bundler:2.5.18`) does not rot; application gems belong in a Gemfile.lock. "
            "Local .gem files are not flagged. Information by default."
        ),
        bad="FROM ruby:3.3-slim\nRUN gem install bundler\n",
        good="FROM ruby:3.3-slim\nRUN gem install bundler -v 2.5.18\n",
        check=check,
        related={"hadolint": ("DL3028",)},
    )
)
