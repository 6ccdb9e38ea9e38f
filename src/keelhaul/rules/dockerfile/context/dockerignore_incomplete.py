from collections.abc import Iterator

from keelhaul.context.build_context import BuildContext, ContextEntry
from keelhaul.context.notable import NotableKind
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.context._context import (
    ContextCopy,
    build_output_dirs,
    copied,
    describe,
    ignore_file_fix,
    ignore_line_list,
    installs_js,
    whole_context_copies,
)
from keelhaul.rules.dockerfile.shared.structure import locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Kinds that never belong in an image built from the context (secrets have their own rule).
ALWAYS = frozenset({NotableKind.VCS, NotableKind.LOG, NotableKind.COVERAGE, NotableKind.VIRTUALENV})


def _clutter(
    ctx: DockerfileContext, context: BuildContext, copy: ContextCopy
) -> list[ContextEntry]:
    outputs = build_output_dirs(ctx)
    js = installs_js(ctx)
    found: list[ContextEntry] = []
    for entry in context.notable:
        relevant = (
            entry.kind in ALWAYS
            or (entry.kind is NotableKind.NODE_MODULES and js)
            or (entry.kind is NotableKind.BUILD_OUTPUT and entry.name in outputs)
        )
        inside_flagged = any(entry.path.startswith(f.path + "/") for f in found)
        if relevant and not inside_flagged and copied(copy, entry):
            found.append(entry)
    return found


def _future_node_modules(ctx: DockerfileContext, context: BuildContext, copy: ContextCopy) -> bool:
    # No node_modules yet, but the project installs inside the image: the first local
    # `npm install` creates one, and COPY . would then overwrite the image's own.
    if not installs_js(ctx) or context.entry("package.json") is None:
        return False
    if context.entry("node_modules") is not None or context.excludes("node_modules", True):
        return False
    return copy.exclude is None or not copy.exclude.excludes("node_modules", True)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    context = ctx.build_context
    if context is None or not context.has_patterns:
        return  # no-dockerignore covers a missing or empty one
    copies = whole_context_copies(ctx)
    if not copies:
        return
    copy = copies[0]
    inst = copy.instruction
    clutter = _clutter(ctx, context, copy)
    future = _future_node_modules(ctx, context, copy)
    if not clutter and not future:
        return
    source = next(w for w, s in zip(copy.written, copy.sources, strict=True) if s in (".", "*"))
    later = "node_modules after a local `npm install`, over the one the image installs"
    wanted = ignore_line_list(clutter) + (["node_modules"] if future else [])
    lines = ", ".join(wanted)
    fix = f"add {lines} to {context.ignore_name}"
    edit = ignore_file_fix(ctx, context, wanted)
    if not clutter:
        yield Hit(inst, f"{inst.name} {source} would send {later}; {fix}",
                  copy.stage, locate_source(inst, source), edit)  # fmt: skip
        return
    also = f" (and would send {later})" if future else ""
    yield Hit(inst, f"{inst.name} {source} sends {describe(clutter)}, which "
              f"{context.ignore_name} lets through{also}: a bigger context and image, and any "
              f"change there rebuilds this layer and all after it; {fix}",
              copy.stage, locate_source(inst, source), edit)  # fmt: skip


register(
    Rule(
        code="KH231",
        name="dockerignore-incomplete",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="The .dockerignore lets .git, node_modules, logs, coverage or build output "
        "into a COPY of the whole context.",
        explanation=(
            "A `.dockerignore` exists, but what `COPY . .` takes from this context still "
            "includes things no image needs: `.git` (changes on every commit, so the COPY and "
            "everything after it rebuild each time), `node_modules` or a virtualenv installed "
            "on the host (when the Dockerfile installs dependencies itself they are dead "
            "weight, and can overwrite the packages built for the image's platform), log files, "
            "coverage reports, and the output folder of a build the Dockerfile runs anyway "
            "(`dist`, `build`, `target`, `.next`...). Each costs upload time and image bytes "
            "and busts the cache. The message lists what the context really holds and the "
            "lines to add; files are checked against the patterns exactly as BuildKit applies "
            "them. `node_modules` is also flagged before it exists when the context has a "
            "package.json and the Dockerfile runs `npm`/`yarn`/`pnpm install`. Checked only "
            "when keelhaul knows the Dockerfile's build context; secrets are KH232's.\n\n"
            "Fix: adds to the ignore file the lines for what it found, leaving out any line "
            "that would exclude a path a COPY names, and `.git` when a RUN calls git; unsafe when `.git` is among "
            "them (a build step or the program may read it), or a .env file, key or "
            "credentials file (the program may load them at run time)."
        ),
        bad="FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
        good="FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json server.js ./\n"
        "RUN npm ci\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Adds lines to the .dockerignore: safe when they leave out only what no COPY "
            "names and no RUN reads (logs, coverage, host virtualenvs or node_modules the "
            "Dockerfile installs again, build output it rebuilds). Unsafe when it leaves "
            "out `.git` (a build step keelhaul cannot see into, such as setuptools-scm or `git "
            "describe` in a Makefile, may read it) or .env files, keys and credentials (the "
            "program may load them at run time)."
        ),
        example_context={
            ".dockerignore": "*.md\n",
            ".git/HEAD": "ref: refs/heads/main\n",
            "npm-debug.log": "0 info it worked if it ends with ok\n",
            "package.json": '{"name": "app", "version": "1.0.0"}\n',
            "package-lock.json": '{"lockfileVersion": 3}\n',
            "server.js": "console.log('hello')\n",
        },
    )
)
