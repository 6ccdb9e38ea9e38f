from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.build_cache._dependencies import (
    FETCH_STEP,
    Late,
    Step,
    cache_dirs,
    late_steps,
    mount_targets,
    mounted,
    step_of,
)
from keelhaul.rules.dockerfile.build_cache._fetch_fixes import (
    fetch_fix,
    go_build,
    go_needs_download,
)
from keelhaul.rules.dockerfile.shared.layers import is_root_user, places, runs_by_instruction
from keelhaul.rules.dockerfile.shared.packages import analysis, env_of, operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _message(late: Late, cache: str | None) -> str:
    op = late.step.op
    line = late.copy.start_line
    fetch = FETCH_STEP.get(op.manager, "the dependency download")
    mount = f", or mount a cache at {cache}" if cache else ""
    return (f"`{shown(op)}` downloads its dependencies again whenever anything the "
            f"{late.copy.name} on line {line} brought in (`{late.source}`) changes: copy "
            f"{late.step.manifests} first and run {fetch} before line {line}{mount}")  # fmt: skip


def _step(op: PackageOperation) -> Step | None:
    return step_of(op) or go_build(op)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    where = places(ctx)
    reported: set[tuple[int, str]] = set()
    runs = runs_by_instruction(ctx)
    for late in (x for stage in ctx.build.stages for x in late_steps(stage, runs, _step)):
        if late.step.kind != "build" or late.prepared or late.fetched:
            continue
        run = late.run
        key = (run.stage.index, late.step.family)
        if key in reported:
            continue
        if late.step.op.manager == "go" and not go_needs_download(ctx, late):
            continue  # a module without dependencies has nothing to download
        env = env_of(run, found.facts(run))
        dirs = cache_dirs(late.step.op, env, found.facts(run))
        targets = mount_targets(run, env)
        if any(mounted(d.target, targets, env) for d in dirs):
            continue
        reported.add(key)
        cache = dirs[0].target if dirs else None
        if (
            cache is not None
            and cache.startswith("~")
            and is_root_user(where.at(run.instruction).user)
        ):
            cache = "/root" + cache[1:]
        yield Hit(run.instruction, _message(late, cache), run.stage,
                  operation_span(run, late.step.op), fetch_fix(ctx, late))  # fmt: skip


register(
    Rule(
        code="KH183",
        name="build-fetches-dependencies",
        severity=Severity.INFO,
        category=Category.BUILD_CACHE,
        summary="A build that also downloads its dependencies, after the sources are copied.",
        explanation=(
            "`mvn package`, `gradle build`, `cargo build` and `dotnet publish` need the sources, "
            "so they run after `COPY . .`; but they also resolve and download every "
            "dependency, and with the sources copied first that download is part of the "
            "layer every code change rebuilds. Split it: copy the build files alone, run the "
            "dependency step (`mvn dependency:go-offline`, `gradle dependencies`, `cargo "
            "fetch` or cargo-chef, `dotnet restore`), then copy the sources and build. A "
            "BuildKit cache mount on the download folder (`/root/.m2`, `/root/.gradle`, "
            "`/usr/local/cargo/registry`, `/root/.nuget/packages`) is another way and keeps "
            "the rule quiet. Quiet too when a dependency step of the same tool ran before the "
            "source COPY. `go build` (`go test`, `go install` of local packages) is reported "
            "only when the build context's go.mod requires modules (`go mod download` after "
            "go.mod and go.sum): a module without dependencies has nothing to download.\n\n"
            "Unsafe fix (`--unsafe-fixes`), for `mvn` and Go: the build files are copied "
            "alone right before the source COPY (`COPY pom.xml ./`, `COPY go.mod go.sum ./`) "
            "and the download step runs on them (`RUN mvn -B dependency:go-offline`, `RUN go "
            "mod download`); the source COPY and the build stay. Offered when the build runs "
            "where the source COPY puts the files with no WORKDIR, ENV, ARG or USER between "
            "them, the build names no files, modules or profiles (`mvn -B -DskipTests "
            "package` is fine, `-f`, `-s`, `-pl`, `-P` and `./mvnw` are not), the pom.xml "
            "has no `<modules>` or `<relativePath>`, the go.mod no `replace` to a local "
            "folder and no go.work beside it."
        ),
        bad="FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY . .\nRUN mvn -B package\n",
        good=(
            "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY pom.xml .\n"
            "RUN mvn -B dependency:go-offline\nCOPY src ./src\nRUN mvn -B package\n"
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Downloads the dependencies from the build files alone before the sources are "
            "copied: `mvn dependency:go-offline` misses what a build pulls in later (the build "
            "still downloads it), and a dependency found only through the sources (a parent "
            "POM, a local module) fails the new step."
        ),
        example_context={
            "pom.xml": "<project><modelVersion>4.0.0</modelVersion></project>\n",
            "src/main/java/App.java": "class App {}\n",
            ".dockerignore": "target\n",
        },
    )
)
