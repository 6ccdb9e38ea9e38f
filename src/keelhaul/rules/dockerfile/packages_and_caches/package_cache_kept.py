from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import (
    CARGO_REGISTRY,
    COMPOSER_CACHE,
    GEM_CACHE,
    GO_BUILD,
    GO_MODULES,
    NPM_CACHE,
    Fill,
    fill_span,
    kept_caches,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

CACHES = (NPM_CACHE, GO_BUILD, GO_MODULES, CARGO_REGISTRY, COMPOSER_CACHE, GEM_CACHE)


def _message(fills: list[Fill]) -> str:
    parts = [f"the {f.cache.what} ({f.shown})" for f in fills]
    if {f.cache for f in fills} == {GO_BUILD, GO_MODULES}:
        fixes = "`go clean -cache -modcache`"
    else:
        fixes = " and ".join(f.cache.fix for f in fills if f.cache.fix)
    return (f"`{fills[0].program}` leaves {' and '.join(parts)} in this layer; end the RUN "
            f"with {fixes} or mount a cache there")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    # One finding per command: `go build` names the build and the module cache together.
    grouped: dict[int, tuple[Run, list[Fill]]] = {}
    for run, fill in kept_caches(ctx, *CACHES):
        key = id(fill.command)
        grouped.setdefault(key, (run, []))[1].append(fill)
    for run, fills in grouped.values():
        yield Hit(run.instruction, _message(fills), run.stage, fill_span(run, fills[0]))


register(
    Rule(
        code="KH163",
        name="package-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary=("npm, Go, Cargo, Composer and RubyGems caches left in a shipped layer."),
        explanation=(
            "Language package managers keep what they download, and it ships in the layer: "
            "npm's ~/.npm (about the size of node_modules; `npm cache clean --force`), Go's "
            "build cache ~/.cache/go-build and module cache /go/pkg/mod (often hundreds of "
            "MB; `go clean -cache -modcache`), Cargo's registry $CARGO_HOME/registry (crate "
            "index and sources), Composer's cache (`composer clear-cache`) and the .gem files "
            "RubyGems and Bundler keep in $GEM_HOME/cache. Clean up at the end of the same "
            "RUN, or mount a BuildKit cache at that folder (which also speeds up rebuilds); a "
            "later RUN saves nothing. Only stages that end up in the image are checked: "
            "in a builder stage the cache never ships. pnpm and uv are not flagged: they "
            "hard-link files from their store into the project, so the store adds little."
        ),
        bad=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci --omit=dev\n"
        ),
        good=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci --omit=dev && npm cache clean --force\n"
        ),
        check=check,
    )
)
