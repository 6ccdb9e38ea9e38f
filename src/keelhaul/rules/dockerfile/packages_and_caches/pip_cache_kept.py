from collections.abc import Iterator

from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, words_fix
from keelhaul.rules.dockerfile.shared.packages import PIP_CACHE, Fill, fill_span, kept_caches
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, PIP_CACHE):
        yield Hit(run.instruction, f"`{fill.program}` keeps its downloaded wheels in "
                  f"{fill.shown} in this layer; add --no-cache-dir (or set "
                  "PIP_NO_CACHE_DIR=1, or mount a cache there)", run.stage,
                  fill_span(run, fill), _fix(ctx, run, fill))  # fmt: skip


def _fix(ctx: DockerfileContext, run: Run, fill: Fill) -> Fix | None:
    op = fill.op
    if op is None or op.has("--cache-dir"):
        return None  # with --cache-dir too, which of the two wins depends on their order
    return words_fix(ctx, run, op.command, subcommand_index(op, last=True),
                     ("--no-cache-dir",), f"`{fill.program} --no-cache-dir`")  # fmt: skip


register(
    Rule(
        code="KH107",
        name="pip-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`pip install` without `--no-cache-dir`, a cleanup or a cache mount.",
        explanation=(
            "pip keeps every wheel it downloads or builds under ~/.cache/pip (or "
            "PIP_CACHE_DIR); in an image that is dead weight, often as large as the installed "
            "packages. Use --no-cache-dir, PIP_NO_CACHE_DIR=1 (ENV or ARG), `pip cache purge` "
            "or `rm -rf ~/.cache/pip` at the end of the same RUN, or "
            "`RUN --mount=type=cache,target=/root/.cache/pip`. Only stages that end up in "
            "the image are checked."
        ),
        bad="FROM python:3.12-slim\nRUN pip install flask==3.0.3\n",
        good="FROM python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`--no-cache-dir` makes pip download and build the same packages without "
            "keeping them in its cache folder; not offered when a cache option or "
            "PIP_NO_CACHE_DIR is already set (pip's abbreviations such as `--no-cache` "
            "count), so no flag is ever doubled."
        ),
        related={"hadolint": ("DL3042",)},
    )
)
