from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.build_cache._data_flow import reads_copies
from keelhaul.rules.dockerfile.build_cache._dependencies import Late, late_steps
from keelhaul.rules.dockerfile.build_cache._local_install import local_install_hits
from keelhaul.rules.dockerfile.build_cache._order_fixes import reorder_fix
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction
from keelhaul.rules.dockerfile.shared.packages import operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _message(late: Late) -> str:
    step = late.step
    what = f"`{shown(step.op)}`"
    line = late.copy.start_line
    head = (f"{what} runs after the {late.copy.name} on line {line} brought in "
            f"`{late.source}`, so any change there re-runs it")  # fmt: skip
    if step.kind == "tool":
        return f"{head}, though it needs none of those files: move it to a RUN above line {line}"
    return (f"{head}: copy {step.manifests} first, run {what} before line {line}, then copy "
            "the rest")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    reported: set[tuple[int, object]] = set()
    runs = runs_by_instruction(ctx)
    for late in (x for stage in ctx.build.stages for x in late_steps(stage, runs)):
        if late.step.kind == "build" or late.prepared:
            continue
        if late.step.kind == "tool" and reads_copies(ctx, late.run, late.copy):
            continue  # the RUN uses what the COPY brought: the install belongs with that use
        # one finding per ecosystem for installs from manifests, one per RUN for the others
        tool = late.step.kind == "tool"
        key = (late.run.stage.index, id(late.run.instruction) if tool else late.step.family)
        if key in reported:
            continue
        reported.add(key)
        yield Hit(late.run.instruction, _message(late), late.run.stage,
                  operation_span(late.run, late.step.op), reorder_fix(ctx, late))  # fmt: skip
    yield from local_install_hits(ctx)


register(
    Rule(
        code="KH182",
        name="sources-before-install",
        severity=Severity.WARNING,
        category=Category.BUILD_CACHE,
        summary="A dependency install after a COPY that brings sources it does not need.",
        explanation=(
            "BuildKit reuses a layer only while everything before it is unchanged. After "
            "`COPY . .` (or `COPY src ...`, `ADD . ...`, or a COPY of code files), editing "
            "any copied file re-runs every later RUN: a dependency install there downloads "
            "and builds all packages again on each code change, minutes per build. Copy the "
            "manifests alone first, install, then copy the sources:\n\n"
            "- npm/yarn/pnpm: package.json with package-lock.json, yarn.lock or "
            "pnpm-lock.yaml;\n"
            "- pip: the requirements*.txt files; poetry: pyproject.toml and poetry.lock; uv: "
            "pyproject.toml and uv.lock; pipenv: Pipfile and Pipfile.lock;\n"
            "- go mod download: go.mod and go.sum; cargo fetch: Cargo.toml and Cargo.lock;\n"
            "- bundle: Gemfile and Gemfile.lock; composer: composer.json and composer.lock;\n"
            "- maven: pom.xml; gradle: build.gradle(.kts) and settings.gradle(.kts); "
            "dotnet restore: the *.csproj and *.sln files.\n\n"
            "Installs that need nothing from the context (`apt-get install`, `pip install "
            "gunicorn`, `npm install -g`, `go install x@v1`) simply move above the COPY.\n\n"
            "Quiet when a step of the same ecosystem already ran before the source COPY "
            "(`COPY package*.json ./`, `RUN npm ci`, `COPY . .`, `RUN npm ci` is fine), and when "
            "the ecosystem's manifests are copied on their own after it: the earlier COPY then "
            "most likely feeds the install (a local module a go.mod `replace` points to, a "
            "workspace package), and, for an install that needs nothing from the context, when "
            "its RUN executes or reads a path the COPY (or a later one) wrote: the docker-"
            "library php images copy `docker-php-source` to /usr/local/bin, then one RUN "
            "installs the -dev packages, runs `docker-php-source extract`, compiles and purges "
            "the -dev packages; moving the install out of that RUN would ship them. Checked "
            "within each stage, every stage (the build cache "
            "matters most in builder stages); one finding per ecosystem for installs from "
            "manifests, one per RUN for the others.\n\n"
            "Unsafe fix (`--unsafe-fixes`): the manifests are copied right before the source "
            "COPY and the install RUN moves up after them; the source COPY stays. Which "
            "manifests: those of the ecosystem the build context holds; without the context, "
            "only the files the install names (`pip install -r requirements.txt`). Offered for "
            "npm/yarn/pnpm installs, `pip install -r`, `poetry install --no-root`, `uv sync "
            "--no-install-project`, `go mod download`, `bundle install` (no gemspec) and "
            "`composer install --no-scripts --no-autoloader`, when the RUN holds nothing else "
            "that reads the sources and only ENV, ARG, LABEL-like instructions or unrelated "
            "COPYs stand between; never for cargo (`cargo fetch` needs `src/main.rs`).\n\n"
            "A local Python package installed after the sources (`pip install .`, `pip wheel "
            "'.[extra]'`, `pip install -e .`, `uv pip install .`, `pip install -r "
            "requirements.txt .`) is reported too when the build context declares "
            "dependencies (pyproject.toml's `[project]` or `[tool.poetry]` dependencies, "
            "setup.cfg or setup.py `install_requires`, a requirements*.txt): copy only the "
            "dependency declaration first (with a stub package when the build backend needs "
            "one), install the dependencies (`pip wheel .` or `pip install -r`), then copy the "
            "sources and install the project with `--no-deps`. Quiet for `--no-deps`, wheels "
            "and archives, and when a Python install already ran before the source COPY. No "
            "fix of its own (the stub differs per project); where the image is a full python "
            "image, the wheel conversion of KH120/KH124 splits it: pyproject.toml's static "
            "`[project] dependencies` are built from pyproject.toml alone before the sources, "
            "and the project's wheel with `--no-deps` after them."
        ),
        bad="FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nUSER node\n",
        good=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci\nCOPY . .\nUSER node\n"
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Copies the dependency manifests alone before the install and the rest of the "
            "sources after it: an install that reads other files of the sources (a local "
            "package, a build script) no longer finds them."
        ),
        example_context={
            "package.json": '{"name": "app", "version": "1.0.0"}\n',
            "package-lock.json": '{"lockfileVersion": 3}\n',
            "server.js": "console.log('hello')\n",
            ".dockerignore": "node_modules\n",
        },
    )
)
