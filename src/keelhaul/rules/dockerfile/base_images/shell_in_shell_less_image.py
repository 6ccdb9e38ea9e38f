from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.distroless import MISSING_TOOLS, shell_less
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        root = ctx.build.root(stage)
        base = root.base
        if root.is_scratch or not base or "$" in base or not shell_less(base):
            continue
        for inst in stage.instructions:
            if inst.name == "RUN" and not inst.json:
                yield Hit(inst, f"RUN in shell form needs /bin/sh, and {base} has no shell: the "
                          "build fails here; run it in a builder stage and COPY --from the "
                          "result", stage)  # fmt: skip
            elif inst.name == "HEALTHCHECK" and inst.values[:1] == ("CMD",):
                argv = inst.values[1:]
                if not inst.json:
                    yield Hit(inst, f"HEALTHCHECK CMD in shell form runs /bin/sh -c, and {base} "
                              "has no shell: the check always fails and the container is "
                              "reported unhealthy; use the exec form with a program the image "
                              "has (your binary's own health subcommand)", stage)  # fmt: skip
                elif argv and argv[0].rsplit("/", 1)[-1] in MISSING_TOOLS:
                    tool = argv[0].rsplit("/", 1)[-1]
                    yield Hit(inst, f"HEALTHCHECK runs {tool}, which {base} does not have: "
                              "the check always fails; use a program the image has (your "
                              "binary's own health subcommand)", stage)  # fmt: skip


register(
    Rule(
        code="KH117",
        name="shell-in-shell-less-image",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="A RUN or a HEALTHCHECK needs a shell or a tool a distroless image lacks.",
        explanation=(
            "Distroless images (`gcr.io/distroless/*` except the `:debug` tags) and the .NET "
            "`-chiseled` images have no /bin/sh, no package manager and no curl or wget. A "
            "shell-form RUN in a stage built on one fails the build (`/bin/sh: no such file`); "
            "a shell-form `HEALTHCHECK CMD ...` (run by `/bin/sh -c`), or an exec-form one "
            "that calls curl, wget, nc or sh, fails every time, so the container is reported "
            "unhealthy and an orchestrator may restart it in a loop. Do the work in a builder "
            "stage and COPY --from the result; check health with the program itself (a "
            "`healthcheck` subcommand or a small static probe binary copied in), or from the "
            "orchestrator (a Kubernetes httpGet probe needs nothing in the image). A shell-form "
            "CMD or ENTRYPOINT is KH113's (its fix respects the ENTRYPOINT the distroless "
            'nodejs, python3 and java images set). Exec-form RUN (`RUN ["/app", "init"]`) '
            "is not reported."
        ),
        bad=(
            "FROM gcr.io/distroless/static-debian12\nCOPY app /app\n"
            "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\n"
            'ENTRYPOINT ["/app"]\n'
        ),
        good=(
            "FROM gcr.io/distroless/static-debian12\nCOPY app /app\n"
            'HEALTHCHECK CMD ["/app", "healthcheck"]\nENTRYPOINT ["/app"]\n'
        ),
        check=check,
    )
)
