from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import YARN_CACHE, fill_span, kept_caches
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, YARN_CACHE):
        yield Hit(run.instruction, f"`{fill.program}` keeps every package it downloaded in "
                  "the yarn cache in this layer; end the RUN with `&& yarn cache clean` or "
                  "mount a cache at the yarn cache folder", run.stage,
                  fill_span(run, fill))  # fmt: skip


register(
    Rule(
        code="KH162",
        name="yarn-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`yarn install` without `yarn cache clean` in the same RUN.",
        explanation=(
            "yarn keeps a compressed copy of every package it installs in its cache "
            "(/usr/local/share/.cache/yarn for root in the node images, ~/.cache/yarn, "
            "~/.yarn/berry/cache or YARN_CACHE_FOLDER): about as large as node_modules again. "
            "`yarn cache clean` at the end of the same RUN, removing that folder, or "
            "`RUN --mount=type=cache,target=/usr/local/share/.cache/yarn` keeps it out. Only "
            "stages that end up in the image are checked."
        ),
        bad=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json yarn.lock ./\n"
            "RUN yarn install --frozen-lockfile --production\n"
        ),
        good=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json yarn.lock ./\n"
            "RUN yarn install --frozen-lockfile --production && yarn cache clean\n"
        ),
        check=check,
        related={"hadolint": ("DL3060",)},
    )
)
