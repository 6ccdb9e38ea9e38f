import re
from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, LineRole, Trivia
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import arg_words, stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Comments that are instructions to a tool, not descriptions.
_PRAGMA = re.compile(r"^(?:hadolint|keelhaul|check|syntax|escape|shellcheck|noqa|nosec)\b", re.I)


def _comment_text(item: Trivia) -> str:
    return item.line.content.strip().removeprefix("#").strip()


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    comments: list[str] = []
    for item in ctx.tree.items:
        if isinstance(item, Trivia):
            if item.line.role is LineRole.COMMENT:
                text = _comment_text(item)
                if not text:
                    comments = []  # a bare "#" ends a description, as in BuildKit
                elif not _PRAGMA.match(text):
                    comments.append(text)
            continue
        if comments:
            yield from _judge(item, comments[-1], stages.get(id(item)))
        comments = []


def _judge(inst: Instruction, comment: str, stage: Stage | None) -> Iterator[Hit]:
    if inst.name == "ARG":
        keys = [k for k, _ in arg_words(inst)]
    elif inst.name == "FROM" and len(inst.values) == 3 and inst.values[1].lower() == "as":
        keys = [inst.values[2]]
    else:
        return
    if not keys or comment.split(" ")[0] in keys:
        return
    example = keys[0] if len(keys) == 1 else "<name>"
    yield Hit(inst, f"the comment above this {inst.name} is not a description: start it with "
              f"the name (`# {example} <description>`), or separate it with an empty `#` line",
              stage)  # fmt: skip


register(
    Rule(
        code="KH147",
        name="definition-description",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="A comment right above an ARG or named stage that does not start with its name.",
        explanation=(
            "BuildKit reads the comment right above an ARG or `FROM ... AS name` as its "
            "description (shown by `docker buildx build --call=outline` and `--call=targets`) "
            "when it starts with the name: `# VERSION the release to package`. Other comments "
            "there are taken for broken descriptions. Off by default (BuildKit too treats it "
            "as experimental); select KH147 to enforce the convention. Tool pragmas such as "
            "`# hadolint ignore=` are not descriptions and are skipped."
        ),
        bad="# the Go toolchain\nARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}\n",
        good="# GO_VERSION the Go toolchain\nARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}\n",
        check=check,
        related={"buildkit": ("InvalidDefinitionDescription",)},
        default_on=False,
    )
)
