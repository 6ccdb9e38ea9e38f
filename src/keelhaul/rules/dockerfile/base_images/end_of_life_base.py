import datetime as dt
from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared import end_of_life
from keelhaul.rules.dockerfile.shared.end_of_life import distroless_releases, releases
from keelhaul.rules.dockerfile.shared.images import (
    final_chain,
    image_ref,
    is_dev_image,
)
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if not stages or is_dev_image(ctx) or _language_base(stages):
        return  # a development target; an image to build on publishes its variants on purpose
    if stage_role(ctx).role is Role.TEST:
        return  # a test fixture or runner: it runs in the test suite, it ships to no one
    root = stages[-1]  # the stage built FROM an image: what ships
    if root.base_stage is not None or root.is_scratch or not root.base or "$" in root.base:
        return
    ref = image_ref(root.base)
    if ref is None:
        return
    today = _today(ctx)
    if ref.registry == "gcr.io" and ref.path.startswith("distroless/"):
        found = distroless_releases(ref.path, today)  # the name carries the Debian release
    elif ref.tag and ref.official:  # Docker Hub's official images: their tags name it
        found = releases(ref.path, ref.tag, True, today)
    else:
        return
    for release in found:
        newer = f"; move to a supported release: {release.newer}" if release.newer else ""
        inst = root.from_instruction
        yield Hit(inst, f"the final image is built on {root.base}: {release.product} is "
                  f"end-of-life since {release.end} (no more security updates){newer}",
                  root, inst.locate(root.base_raw))  # fmt: skip
        return  # one finding per image: the first release that ended


#: A CMD that opens a language's prompt: the official language images' last line.
_INTERPRETERS = frozenset({"node", "python", "python2", "python3", "ruby", "irb", "php", "perl"})


def _language_base(stages: list[Stage]) -> bool:
    """An image made to be built on: ONBUILD triggers, or its CMD is a language's prompt
    (``CMD ["node"]``); a shell CMD is a tool image's and still counts."""
    instructions = [i for s in stages for i in s.instructions]
    if any(i.name == "ONBUILD" for i in instructions):
        return True
    cmd = next((i for i in reversed(instructions) if i.name == "CMD"), None)
    if cmd is None or not cmd.values:
        return False
    words = list(cmd.values) if cmd.json else cmd.values[0].split()
    return bool(words) and words[0].rsplit("/", 1)[-1] in _INTERPRETERS and len(words) == 1


def _today(ctx: DockerfileContext) -> dt.date:
    return end_of_life.today()


register(
    Rule(
        code="KH119",
        name="end-of-life-base",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The final image's base tag names a release past its end of life.",
        explanation=(
            "A release past its end of life gets no more security fixes: `node:16`, "
            "`python:3.7`, `debian:buster`, `alpine:3.12`, and the Debian codename or Alpine "
            "release in an official image's tag (`golang:1.20-bullseye`, "
            "`python:3.12-alpine3.18`), and the Debian release a distroless image's name "
            "carries (`gcr.io/distroless/base-debian11`: distroless has no version tags) keep "
            "every vulnerability found since, and scanners report them all. The dates come from a table kept in keelhaul "
            "(`rules/dockerfile/shared/end_of_life.py`, from endoflife.date's data, with its "
            "sources); nothing is fetched, and a release missing from the table is not "
            "reported. Debian counts until the end of its LTS. Only the final image's base "
            "is checked (a build stage's compiler ships nothing), and not in development "
            "images (`.devcontainer`, `Dockerfile.dev`, a final stage named `dev`/`test`) or test "
            "fixtures and runners (a `tests/`, `testdata/` or `e2e/` path: they ship to no "
            "one), nor in an image made to be built on (ONBUILD, a "
            "CMD that only opens a language's prompt such as `node` or `python3`: the official images publish one variant "
            "per release on purpose); `keelhaul image` reports "
            "the same for a built image from its /etc/os-release."
        ),
        bad='FROM node:16-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        good='FROM node:24-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        check=check,
    )
)
