from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.multistage._python import python_wheels_fix
from keelhaul.rules.dockerfile.multistage._run_time_tools import run_time_toolchain
from keelhaul.rules.dockerfile.shared.images import final_chain, is_dev_image
from keelhaul.rules.dockerfile.shared.packages import operation_span, packages_span
from keelhaul.rules.dockerfile.shared.roles import ships_as_application
from keelhaul.rules.dockerfile.shared.toolchain import (
    SYSTEM_MANAGERS,
    build_steps,
    stage_env,
    stage_runs,
    tool_installs,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    final = ctx.final_stage
    if (
        final is None
        or is_dev_image(ctx)
        or not ships_as_application(ctx)
        or _toolbox(ctx)
        or run_time_toolchain(ctx)
    ):
        return
    for found in tool_installs(stage_runs(ctx, final), stage_env(ctx, final)):
        run = found.run
        where = packages_span(run, found.op, found.packages[0].raw) or operation_span(run, found.op)
        if found.removed_by is not None:
            why = (f"removed only by the RUN at line {found.removed_by.instruction.start_line}, "
                   "so their bytes stay in this layer; remove them in the same RUN")  # fmt: skip
        else:
            why = ("so compilers and headers ship in the image; build in a builder stage and "
                   "COPY --from it only the output, or remove them in the same RUN "
                   "(apk add --virtual .build-deps ... && apk del .build-deps)")  # fmt: skip
        yield Hit(run.instruction, f"the final stage installs build tools ({found.names}), "
                  f"{why}", final, where, python_wheels_fix(ctx))  # fmt: skip


def _toolbox(ctx: DockerfileContext) -> bool:
    """A command-less image that builds nothing: no CMD or ENTRYPOINT, no build step, no
    language package install (pip, npm, gem...) and nothing copied from the build context.
    The tools it installs are what ``docker run IMAGE make ...`` runs: its purpose."""
    stages = final_chain(ctx)
    instructions = [i for s in stages for i in s.instructions]
    if any(i.name in ("CMD", "ENTRYPOINT") for i in instructions):
        return False
    if any(i.name in ("COPY", "ADD") and i.flag("from") is None for i in instructions):
        return False
    runs = [r for s in stages for r in stage_runs(ctx, s)]
    if any(op.manager not in SYSTEM_MANAGERS for r in runs for op in r.operations.packages):
        return False
    return not any(True for s in stages for _ in build_steps(stage_runs(ctx, s), stage_env(ctx, s)))


register(
    Rule(
        code="KH124",
        name="build-tools-in-final-stage",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="The final stage installs compilers, -dev headers or an SDK and keeps them.",
        explanation=(
            "build-essential, gcc, make, cmake, `*-dev`/`*-devel` headers, a JDK, the .NET or "
            "Go SDK are needed to build, not to run: in the final image they add "
            "100-500 MB, lengthen every pull and scan, and give an attacker who gets in a "
            "compiler. Build in a builder stage (`FROM python:3.12 AS build` ... `RUN pip "
            "wheel -w /wheels -r requirements.txt`) and copy only the result into the final "
            "stage (`COPY --from=build /wheels /wheels`); at runtime the library package is "
            "enough (libpq5, not libpq-dev). Or install and remove the tools in the same RUN: "
            "`apk add --virtual .build-deps gcc musl-dev && pip install ... && apk del "
            ".build-deps`, `apt-get purge -y --auto-remove`; those are not reported. Removed "
            "in a later RUN, the tools still ship in the earlier layer. git, svn and hg are "
            "named along with other build tools but not reported alone: tools that clone at "
            "runtime need them. Only the final stage "
            "is checked (builders may hold any tool; KH127 reports a final stage built FROM "
            "one); development images (`.devcontainer`, a final stage named `dev`, `test`) "
            "are not.\n\n"
            "Fix (unsafe), for a Python application on an official `python` image whose "
            "dependencies one RUN installs with pip: the stage becomes `AS build` and builds "
            "them with `pip wheel --wheel-dir /wheels`; a new final stage FROM the `-slim` "
            "variant installs the runtime libraries of the -dev packages it knows (`libpq-dev` "
            "to `libpq5`) and the wheels from a bind mount (`RUN --mount=type=bind,from=build` "
            "... `pip install --no-index /wheels/*.whl`, BuildKit), then runs the rest of the "
            "Dockerfile as before. A local project installed from its sources (`COPY . .` "
            "then `pip install .`, say a C extension its build backend compiles) is built the "
            "same way with `pip wheel .`: the sources stay in the builder and the runtime gets "
            "what pip installs from the wheels; offered only when no later RUN (other than "
            "creating users and folders) and no CMD, ENTRYPOINT or HEALTHCHECK that runs a file by a "
            "relative path (`python app.py`) may read the sources, and unsafe because the "
            "shared libraries the extension links against must exist in the slim runtime, "
            "which keelhaul cannot see all of. When pyproject.toml's static `[project] "
            "dependencies` list is the project's only dependency declaration (`COPY . .`, "
            "`pip install .`, Python 3.11+), the builder first copies pyproject.toml alone and "
            "builds those dependencies' wheels from it, then the project's wheel with "
            "`--no-deps` after `COPY . .`, and the runtime installs the two in RUNs of their "
            "own: a source change re-runs the project's, not the dependencies'. No fix when "
            "sources are copied before an "
            "install of requirements or named packages, for an unknown -dev package, "
            "uv/poetry/pipenv, alpine, or a later RUN that compiles."
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
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y "
            "--no-install-recommends gcc libpq-dev && pip install --no-cache-dir psycopg2==2.9.9 "
            "&& rm -rf /var/lib/apt/lists/*\n"
            'CMD ["python", "-m", "app"]\n'
        ),
        good=(
            "FROM python:3.12-slim AS build\nRUN apt-get update && apt-get install -y "
            "--no-install-recommends gcc libpq-dev\n"
            "RUN pip wheel --wheel-dir=/wheels psycopg2==2.9.9\nFROM python:3.12-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 "
            "&& rm -rf /var/lib/apt/lists/*\n"
            "RUN --mount=type=bind,from=build,source=/wheels,target=/wheels "
            "pip install --no-cache-dir --no-index /wheels/*.whl\n"
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Splits the build into a build stage and a runtime stage without the compilers "
            "and -dev packages: a program that compiles or loads headers at run time "
            "breaks."
        ),
    )
)
