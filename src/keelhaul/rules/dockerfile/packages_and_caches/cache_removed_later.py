from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import (
    analysis,
    command_span,
    env_of,
    fills,
    removal_of,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    for run in found.shipped_runs():
        prior = found.prior(run)
        if not prior or run.instruction.name == "ONBUILD":
            continue
        facts = found.facts(run)
        own = {f.cache.key for f in fills(run, facts)}  # a RUN cleaning its own cache is right
        env = env_of(run, facts)
        for key, (earlier, fill) in prior.items():
            if key in own:
                continue
            cmd = removal_of(run, fill, env)
            if cmd is None:
                continue
            line = earlier.instruction.start_line
            yield Hit(run.instruction, f"`{' '.join(cmd.argv)}` removes the {fill.cache.what} "
                      f"that `{fill.program}` left in the layer of line {line}; deleting it "
                      f"in a later RUN saves nothing, so clean up in the RUN on line {line}",
                      run.stage, command_span(run, cmd, len(cmd.argv) - 1))  # fmt: skip


register(
    Rule(
        code="KH164",
        name="cache-removed-later",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="A package cache removed in a later RUN than the one that filled it.",
        explanation=(
            "Each RUN is a layer, and an image carries every layer: deleting apt lists, a pip "
            "or npm cache or yum metadata in a later RUN only hides the files, which still "
            "ship (and download) with the earlier layer. The cleanup belongs at the end of "
            "the RUN that filled the cache. The finding names both lines. Only stages that "
            "end up in the image are checked."
        ),
        bad=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl\nRUN rm -rf /var/lib/apt/lists/*\n"
        ),
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
    )
)
