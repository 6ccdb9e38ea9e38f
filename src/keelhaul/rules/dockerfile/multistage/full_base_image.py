from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Edit, Fix, Safety, Severity
from keelhaul.rules.dockerfile.multistage._python import python_app_install, python_wheels_fix
from keelhaul.rules.dockerfile.shared.images import (
    final_chain,
    full_base,
    image_ref,
    is_dev_image,
    slim_tag,
)
from keelhaul.rules.dockerfile.shared.roles import ships_as_application
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, fix_builder, register

WHY_UNSAFE = (
    "the slim variant lacks compilers, headers and many libraries: a RUN that builds native "
    "extensions or a runtime that needs them may fail"
)
#: Official images whose every Debian tag has a `-slim` twin (and whose slim KH120 accepts).
#: php (cli/fpm/apache, no slim) and the toolchains (golang, rust...) have no exact twin.
_SLIM_IMAGES = frozenset({"python", "node", "ruby", "perl"})


@fix_builder
def _base_fix(ctx: DockerfileContext, stages: list[Stage]) -> Fix | None:
    root = stages[-1]
    written = root.base_raw
    ref = image_ref(written)
    if ref is None or ref.digest or not ref.official or ref.path not in _SLIM_IMAGES:
        return None  # a digest pins the full image on purpose; a variable may be anything
    if ref.path == "python" and python_app_install(ctx):
        return None  # compiled dependencies would break on slim: the wheels conversion or none
    shipped = {s.index for s in stages}
    others = (s for s in ctx.build.stages if s.index not in shipped)
    if any(ctx.build.root(s).index == root.index for s in others):
        return None  # other stages build on it too (a builder that compiles would break)
    name, colon, tag = written.rpartition(":")
    if not colon or "/" in tag:
        name, tag = written, ""
    new_tag = slim_tag(ref.path, tag or "latest")
    if new_tag is None:
        return None
    inst = root.from_instruction
    span = inst.locate(written)
    if span is None or span.line != span.end_line:
        return None
    line = next(line for line in inst.lines if line.number == span.line)
    start, end = span.column - 1, span.end_column - 1
    text = line.content
    if (start and text[start - 1] not in " \t") or text[end : end + 1] not in ("", " ", "\t"):
        return None  # found inside another word (a flag's value): not the image
    ending = line.text[len(text) :]
    new = f"{text[:start]}{name}:{new_tag}{text[end:]}{ending}"
    return Fix((Edit(line.number, line.number, new),), f"base image {name}:{new_tag}",
               Safety.UNSAFE, WHY_UNSAFE)  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if not stages or is_dev_image(ctx) or not ships_as_application(ctx):
        return
    root = stages[-1]  # the stage built FROM an image: its base is what ships
    if root.base_stage is not None or root.is_scratch or not root.base or "$" in root.base:
        return
    advice = full_base(root.base)
    if advice is None:
        return
    inst = root.from_instruction
    yield Hit(inst, f"the final image is built on {advice.text(root.base)}", root,
              inst.locate(root.base_raw), python_wheels_fix(ctx) or _base_fix(ctx, stages))  # fmt: skip


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
            "is not checked.\n\n"
            "Fix (unsafe: the slim variant lacks compilers, headers and many libraries, so a "
            "RUN that builds native extensions, or a runtime that needs them, may fail): the "
            "official python, node, ruby and perl images move to the `-slim` tag of the same "
            "version and Debian suite (`python:3.12` to `python:3.12-slim`, `node:20-bookworm` "
            "to `node:20-bookworm-slim`). No fix for a digest, a variable, another image "
            "(php, golang and the toolchains have no exact slim twin), or a base stage other "
            "stages build on too. A python stage that installs its dependencies with pip "
            "gets, instead of the plain swap, the multi-stage conversion described under "
            "KH124 (wheels built on the full image, installed into the slim one), or no fix "
            "when that conversion does not apply: compiled dependencies would not build on "
            "slim."
            "\n\nSuggestions name only tags that exist, from the tag schemes in "
            "rules/dockerfile/shared/base_variants.py (with their sources): the same image and "
            "flavour (`php:8.3-fpm` to `php:8.3-fpm-alpine`); php's apache flavour has no "
            "smaller variant (fpm needs a separate web server), so it is not reported; a .NET "
            "SDK tag (`10.0.400`, an SDK version no runtime image has) maps to the runtime's "
            "`10.0`."
            "\n\nJudged by the stage's role (rules/dockerfile/shared/roles.py): not "
            "checked in an image made to be built on (ONBUILD, a CMD that only opens a "
            "prompt such as `node` or `bash`, a base/SDK/builder name), an export stage, or "
            "a command-less image over a toolchain (golang, gcc, buildpack-deps, the .NET SDK) "
            "that takes no sources in: there the compiler is the image's purpose (the "
            "golang image keeps gcc for cgo)."
        ),
        bad='FROM node:20\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        good='FROM node:20-slim\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Moves the final stage onto a smaller base (a slim or distroless image, or a "
            "build stage plus a runtime stage): tools, libraries and the shell of the full "
            "image are no longer there at run time."
        ),
    )
)
