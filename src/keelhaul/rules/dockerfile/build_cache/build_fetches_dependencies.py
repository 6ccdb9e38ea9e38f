from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.build_cache._dependencies import (
    FETCH_STEP,
    Late,
    cache_dirs,
    late_steps,
    mount_targets,
    mounted,
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


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    where = places(ctx)
    reported: set[tuple[int, str]] = set()
    runs = runs_by_instruction(ctx)
    for late in (x for stage in ctx.build.stages for x in late_steps(stage, runs)):
        if late.step.kind != "build" or late.prepared or late.fetched:
            continue
        run = late.run
        key = (run.stage.index, late.step.family)
        if key in reported:
            continue
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
                  operation_span(run, late.step.op))  # fmt: skip


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
            "source COPY. `go build` is left alone: a module may have no dependencies."
        ),
        bad="FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY . .\nRUN mvn -B package\n",
        good=(
            "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY pom.xml .\n"
            "RUN mvn -B dependency:go-offline\nCOPY src ./src\nRUN mvn -B package\n"
        ),
        check=check,
    )
)
