import posixpath
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
from keelhaul.rules.dockerfile.shared.security import final_chain
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


def _fetch_only(fill: Fill) -> bool:
    """`go mod download` and `cargo fetch` exist to fill the cache: it is what they make (the
    build reads it later, in a later RUN or when the container runs); cleaning it undoes them."""
    argv = fill.command.argv
    if fill.cache is GO_MODULES:
        return argv[1:3] == ("mod", "download")
    return fill.cache is CARGO_REGISTRY and argv[1:2] == ("fetch",)


#: Programs that build at run time (a dev image: hot reload, a debugger, `go run`): they
#: read the module cache when the container runs.
_RUNTIME_BUILDERS = frozenset(
    {"go", "air", "dlv", "reflex", "gow", "CompileDaemon", "cargo", "cargo-watch", "watchexec"}
)


def _builds_at_run_time(ctx: DockerfileContext) -> bool:
    for stage in final_chain(ctx):
        for inst in stage.instructions:
            if inst.name in ("CMD", "ENTRYPOINT"):
                words = list(inst.values) if inst.json else " ".join(inst.values).split()
                if any(posixpath.basename(w) in _RUNTIME_BUILDERS for w in words[:3]):
                    return True
    return False


def _fetch_message(fill: Fill) -> str:
    return (f"`{fill.program}` fills the {fill.cache.what} ({fill.shown}) in this layer and it "
            "ships with the image: build in an earlier stage and copy the result, or mount a "
            f"cache there (cleaning it in the same RUN would undo `{fill.program}`)")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    # One finding per command: `go build` names the build and the module cache together.
    grouped: dict[int, tuple[Run, list[Fill]]] = {}
    runtime = _builds_at_run_time(ctx)
    for run, fill in kept_caches(ctx, *CACHES):
        if _fetch_only(fill):
            if not runtime:
                yield Hit(run.instruction, _fetch_message(fill), run.stage, fill_span(run, fill))
            continue
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
            "in a builder stage the cache never ships. `go mod download` and `cargo fetch` "
            "are run to fill the cache, so cleaning it in their RUN would undo them: for them "
            "the advice is a builder stage or a cache mount, and nothing is said when the image "
            "builds at run time (a CMD or ENTRYPOINT running go, air, dlv, cargo...: a dev "
            "image needs the modules). pnpm and uv are not flagged: they "
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
