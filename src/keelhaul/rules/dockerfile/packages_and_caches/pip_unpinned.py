from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import Facts, listed, shown, unpinned_hits
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def wanted(op: PackageOperation, facts: Facts) -> bool:
    if op.manager not in ("pip", "uv") or op.action != "install":
        return False
    if op.manager == "uv" and not op.subcommand.startswith("pip"):
        return False  # uv add/sync work from pyproject.toml and uv.lock
    env = {**facts.env, **dict(op.command.env)}
    constrained = op.has("-c", "--constraint", "--constraints") or bool(env.get("PIP_CONSTRAINT"))
    local_only = op.has("--no-index")  # only wheels from a local folder: built earlier
    return not constrained and not local_only


def message(op: PackageOperation, loose: list[PackageSpec]) -> str:
    return (f"`{shown(op)}` of {listed(loose)} without a version "
            "(`name==version`, or a requirements or constraints file)")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    return unpinned_hits(ctx, wanted, message)


register(
    Rule(
        code="KH173",
        name="pip-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`pip install` of packages without versions.",
        explanation=(
            "An unpinned `pip install` takes the newest release on each build: a new major "
            "version (setuptools and pip themselves have broken builds this way) or a "
            "compromised release reaches the image unreviewed. PyPI keeps old releases, so "
            "`name==version` pins do not rot; a requirements file with hashes (`pip-compile "
            "--generate-hashes`, `uv pip compile`) or a constraints file (`-c`, "
            "PIP_CONSTRAINT) is better still. `-r` files, local paths (`.`, `-e .`, wheels) "
            "and URLs are not flagged, nor installs with --no-index from a local folder. "
            "Information by default, as with the other pins."
        ),
        bad="FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n",
        good="FROM python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\n",
        check=check,
        related={"hadolint": ("DL3013",)},
    )
)
