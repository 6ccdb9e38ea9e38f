from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import final_chain, is_base_for_others, is_dev_image
from keelhaul.rules.dockerfile.shared.toolchain import (
    build_steps,
    stage_env,
    stage_runs,
    tool_installs,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if len(stages) < 2 or is_dev_image(ctx) or is_base_for_others(ctx):
        return
    final = stages[0]
    for builder in stages[1:]:
        runs = stage_runs(ctx, builder)
        env = stage_env(ctx, builder)
        tools = next(tool_installs(runs, env), None)
        step = next(build_steps(runs, env), None)
        if tools is None and step is None:
            continue
        parts = []
        if tools is not None:
            parts.append(f"installs {tools.names} (line {tools.run.instruction.start_line})")
        if step is not None:
            parts.append(f"runs `{step.label}` (line {step.run.instruction.start_line})")
        name = builder.name or str(builder.index)
        inst = final.from_instruction
        yield Hit(inst, f"the final stage is built FROM stage '{name}', which "
                  f"{' and '.join(parts)}: all it leaves in its layers (toolchain, caches, "
                  "sources) ships in the image; start "
                  f"the final stage from a runtime image and COPY --from={name} only the "
                  "output", final, inst.locate(final.base_raw))  # fmt: skip
        return


register(
    Rule(
        code="KH127",
        name="final-stage-from-builder",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="The final stage is built FROM a stage that installs build tools or compiles.",
        explanation=(
            "`FROM build AS final` inherits every layer of the builder: compilers, -dev "
            "headers, dependency caches and sources. Nothing later can remove them from "
            "those layers; the multi-stage build keeps none of its promise. Start the final "
            "stage from a runtime image and copy the result across: `FROM "
            "gcr.io/distroless/static-debian12` then `COPY --from=build /app /app`. Reported "
            "once, at the final FROM, naming the first stage of its chain that installs "
            "build tools (not removed in the same RUN) or runs a build (`go build`, `npm run "
            "build`, `mvn package`...). Development images (`.devcontainer`, a final stage "
            "named `dev`, `test`) are not checked."
        ),
        bad=(
            "FROM golang:1.22 AS build\nCOPY . /src\nRUN cd /src && go build -o /app .\n"
            'FROM build\nCMD ["/app"]\n'
        ),
        good=(
            "FROM golang:1.22 AS build\nCOPY . /src\nRUN cd /src && go build -o /app .\n"
            'FROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\nCMD ["/app"]\n'
        ),
        check=check,
    )
)
