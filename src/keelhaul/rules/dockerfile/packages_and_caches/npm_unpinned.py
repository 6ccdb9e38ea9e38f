from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import NODE, Facts, listed, shown, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, _facts: Facts) -> bool:
    return op.manager in NODE and op.action == "install" and op.subcommand not in ("link",)


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return (f"`{shown(op)}` of {listed(loose)} without a version (`name@1.2.3`): each build "
            "takes the newest release")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH174",
        name="npm-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`npm install <pkg>` (yarn/pnpm add) without `@version`.",
        explanation=(
            "`npm install -g typescript` or `yarn global add pm2` takes whatever is tagged "
            "latest on the day of the build, including a breaking major release or a hijacked "
            "one. The registry keeps old versions, so `name@1.2.3` pins do not rot. A bare "
            "`npm install`/`npm ci` from package.json is not flagged (its lock file pins), "
            "nor local folders, tarballs or git URLs; `@latest` counts as unpinned. "
            "Information by default, as with the other pins."
        ),
        bad="FROM node:20-slim\nRUN npm install -g pm2 && npm cache clean --force\n",
        good="FROM node:20-slim\nRUN npm install -g pm2@5.4.2 && npm cache clean --force\n",
        check=check,
        related={"hadolint": ("DL3016",)},
    )
)
