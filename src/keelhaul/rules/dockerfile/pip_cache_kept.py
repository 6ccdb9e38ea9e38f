from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        env = {**run.stage.env}
        if env.get("PIP_NO_CACHE_DIR", "").lower() in ("1", "true", "yes", "on", "off", "0"):
            continue
        if run.has_cache_mount("/root/.cache/pip", "/root/.cache"):
            continue
        for op in run.operations.packages:
            if op.manager == "pip" and op.action == "install" and not op.no_cache:
                yield Hit(run.instruction, "pip install keeps its download cache in the layer; "
                          "add --no-cache-dir or a cache mount", run.stage,
                          run.instruction.locate("install"))  # fmt: skip


register(
    Rule(
        code="KH107",
        name="pip-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`pip install` without `--no-cache-dir` or a cache mount.",
        explanation=(
            "pip keeps every wheel it downloads under ~/.cache/pip; in an image that is dead "
            "weight, often as large as the installed packages. Use --no-cache-dir, "
            "PIP_NO_CACHE_DIR, or `RUN --mount=type=cache,target=/root/.cache/pip`."
        ),
        bad="FROM python:3.12-slim\nRUN pip install flask==3.0.3\n",
        good="FROM python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\n",
        check=check,
        related={"hadolint": ("DL3042",)},
    )
)
