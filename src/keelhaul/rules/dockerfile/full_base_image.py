from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile._images import (
    final_chain,
    full_base,
    is_base_for_others,
    is_dev_image,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if not stages or is_dev_image(ctx) or is_base_for_others(ctx):
        return
    root = stages[-1]  # the stage built FROM an image: its base is what ships
    if root.base_stage is not None or root.is_scratch or not root.base or "$" in root.base:
        return
    advice = full_base(root.base)
    if advice is None:
        return
    inst = root.from_instruction
    yield Hit(inst, f"the final image is built on {advice.text(root.base)}", root,
              inst.locate(root.base_raw))  # fmt: skip


register(
    Rule(
        code="KH120",
        name="full-base-image",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="The final image is built on a full language image or a toolchain.",
        explanation=(
            "The default tags of the official language images (`node:20`, `python:3.12`, "
            "`ruby:3.3`, `perl`) are built on buildpack-deps: gcc, make, git and hundreds of "
            "-dev headers, some 300-400 MB compressed, there to compile native modules. "
            "`golang`, `rust`, `gcc`, a JDK (`openjdk`, `eclipse-temurin:21`), `maven`, "
            "`gradle` and the .NET SDK are toolchains whatever the tag. Shipped in the final "
            "image they cost pull time, disk and scanner noise, and hand an attacker a "
            "compiler. Build in a builder stage and start the final stage from the runtime "
            "variant: `node:20-slim` (~70 MB) or `-alpine`, `python:3.12-slim` (~45 MB), a "
            "JRE (`eclipse-temurin:21-jre`, ~90 MB), `mcr.microsoft.com/dotnet/aspnet`, or "
            "`scratch`/`gcr.io/distroless/static-debian12` (~1 MB) for a static Go binary. "
            "Sizes in messages are approximate compressed linux/amd64 sizes. Only the "
            "final stage counts (through the stages it is built FROM, with ARG defaults "
            "expanded); builder stages may use any image. A Dockerfile under `.devcontainer` "
            "or whose final stage is named like a development target (`dev`, `test`, `ci`) "
            "is not checked."
        ),
        bad='FROM node:20\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        good='FROM node:20-slim\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        check=check,
    )
)
