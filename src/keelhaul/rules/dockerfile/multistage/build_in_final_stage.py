from collections.abc import Callable, Iterator

from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.multistage._fixes import go_multistage_fix
from keelhaul.rules.dockerfile.multistage._java import java_multistage_fix
from keelhaul.rules.dockerfile.multistage._node import node_multistage_fix
from keelhaul.rules.dockerfile.multistage._run_time_tools import run_time_toolchain
from keelhaul.rules.dockerfile.shared.images import is_dev_image
from keelhaul.rules.dockerfile.shared.packages import command_span
from keelhaul.rules.dockerfile.shared.roles import ships_as_application
from keelhaul.rules.dockerfile.shared.toolchain import (
    RUNTIME_HINT,
    BuildStep,
    build_steps,
    stage_env,
    stage_runs,
    whole_context_copy,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: The multi-stage conversion of each ecosystem keelhaul knows how to split.
_CONVERSIONS: dict[str, Callable[[DockerfileContext, BuildStep], Fix | None]] = {
    "go": go_multistage_fix,
    "node": node_multistage_fix,
    "java": java_multistage_fix,
}


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    final = ctx.final_stage
    if (
        final is None
        or is_dev_image(ctx)
        or not ships_as_application(ctx)
        or run_time_toolchain(ctx)
    ):
        return
    # one finding per image: the first build is where a builder stage would end
    step = next(build_steps(stage_runs(ctx, final), stage_env(ctx, final)), None)
    if step is None:
        return
    copy = whole_context_copy(final)
    context = ""
    if copy is not None and copy.start_line < step.run.instruction.start_line:
        context = (f", and `{copy.name} {' '.join(copy.values)}` (line {copy.start_line}) "
                   "puts the whole build context, sources and all, in the image")  # fmt: skip
    yield Hit(step.run.instruction, f"`{step.label}` runs in the final stage, so the toolchain "
              f"and its caches ship with the result{context}; build in a builder stage and "
              f"COPY --from it only the output into {RUNTIME_HINT[step.ecosystem]}", final,
              command_span(step.run, step.command),
              _convert(ctx, step))  # fmt: skip


def _convert(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    convert = _CONVERSIONS.get(step.ecosystem)
    return None if convert is None else convert(ctx, step)


register(
    Rule(
        code="KH125",
        name="build-in-final-stage",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="The final stage compiles or bundles (go build, npm run build, mvn package...).",
        explanation=(
            "A build in the final stage ships everything the build needed: the compiler or "
            "SDK, the dependency and build caches, and the sources, usually brought in by "
            "`COPY . .` with the whole build context. A multi-stage build keeps them out: "
            "`FROM golang:1.22 AS build` ... `RUN go build -o /app` then `FROM "
            "gcr.io/distroless/static-debian12` and `COPY --from=build /app /app` makes a "
            "~300 MB image a ~10 MB one. Recognised: `go build`, `cargo build`/`install`, "
            "`mvn package`, `gradle build`, `dotnet build`/`publish`, `npm run build` (and "
            "yarn, pnpm, scripts named build/compile/bundle/dist), tsc, webpack, rollup, "
            "esbuild, `vite`/`ng`/`next build`..., make, cmake, gcc, javac. One finding per "
            "image, at the first build. Development images (`.devcontainer`, a final stage "
            "named `dev`, `test`) are not checked. Unsafe fix for a Go program "
            "(`go build -o FILE` in a `golang` stage run by its CMD/ENTRYPOINT): the stage "
            "becomes `AS build` with `CGO_ENABLED=0`, and a new final stage FROM "
            'gcr.io/distroless/static-debian12:nonroot (setting `static-base = "scratch"`: '
            "scratch) copies the binary and runs it. For a Java application (one "
            "`mvn`/`./mvnw` package, verify or install, or `gradle`/`./gradlew` build, bootJar, "
            "assemble..., in a `maven` or `gradle` image whose tag names the JDK or an "
            "`eclipse-temurin` JDK image, run by `java [options] -jar JAR`): the stage becomes "
            "`AS build` and a new final stage FROM `eclipse-temurin:<major>-jre` "
            "(`-jre-alpine` after an Alpine build image) copies the jar to /app and runs it. "
            "For a front-end bundled in a `node` stage (dependencies installed, one build such "
            "as `npm run build`) whose CMD only serves a folder with `serve` or `http-server`, "
            "the stage becomes `AS build` and a new final stage FROM "
            "nginxinc/nginx-unprivileged:1.27-alpine (setting `static-server-base`: another "
            "image) copies that folder to /usr/share/nginx/html and exposes 8080: the port "
            "changes to 8080, and a single-page app served with `serve -s` needs a "
            "`try_files $uri /index.html` rule before deep links work."
            "\n\nJudged by the stage's role (rules/dockerfile/shared/roles.py): not "
            "checked in an image made to be built on (ONBUILD, a CMD that only opens a "
            "prompt such as `node` or `bash`, a base/SDK/builder name), an export stage, or "
            "a command-less image over a toolchain (golang, gcc, buildpack-deps, the .NET SDK) "
            "that takes no sources in: there the compiler is the image's purpose (the "
            "golang image keeps gcc for cgo). Nor in an image that compiles when it runs "
            "(multistage/_run_time_tools.py): one that installs kmod or dkms with its "
            "compiler (it builds kernel modules for its host), a compile server or kit "
            "(distcc, icecc, R's r-base-dev), or a program started from the /usr/src tree "
            "its build fetched whose compilers no build step uses (a benchmark that compiles "
            "its tests when it starts)."
        ),
        bad=(
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /usr/local/bin/app .\n"
            'CMD ["app"]\n'
        ),
        good=(
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /app .\nFROM gcr.io/distroless/static-debian12\n"
            'COPY --from=build /app /app\nCMD ["/app"]\n'
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Moves the compile or bundle step into a build stage and copies its output into "
            "the final stage: files the program reads from the build tree at run time, and "
            "anything not copied, are gone."
        ),
    )
)
