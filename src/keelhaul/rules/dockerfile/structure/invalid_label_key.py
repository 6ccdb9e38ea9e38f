import re
from collections.abc import Iterator

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import lexer, stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Docker's guideline, plus "_" and "/" (common in keys such as build_id or
#: app.kubernetes.io/name, harmless, and accepted by hadolint too).
_VALID = re.compile(r"[a-z](?:[a-z0-9_/]|[.-](?=[a-z0-9_/]))*(?<=[a-z0-9])")
_RESERVED = ("com.docker.", "io.docker.", "org.dockerproject.")
#: Docker's own tools ask image authors to set these (Docker Desktop extensions).
_INVITED = ("com.docker.desktop.extension.", "com.docker.extension.")


def problem(key: str) -> str | None:
    if key.startswith(_RESERVED) and not key.startswith(_INVITED):
        return "uses a namespace reserved for Docker"
    if not _VALID.fullmatch(key):
        return (
            "should be lowercase letters, digits, dots and hyphens, start with a letter and "
            "end with a letter or digit, without `..` or `--` (reverse-DNS style: "
            "org.example.key)"
        )
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    lex = lexer(ctx.tree.escape)
    for inst in ctx.tree.instructions:
        if inst.effective.name != "LABEL":
            continue
        for raw, _ in inst.pairs():
            if "$" in raw:
                continue  # the key depends on a variable
            try:
                key = lex.process_word(raw, {})
            except ExpansionError:
                continue
            why = problem(key)
            if why is not None:
                yield Hit(inst, f"label key {key} {why}", stages.get(id(inst)),
                          inst.locate(raw))  # fmt: skip


register(
    Rule(
        code="KH151",
        name="invalid-label-key",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="A LABEL key outside Docker's naming guidelines or in a reserved namespace.",
        explanation=(
            "Docker's guidelines for label keys: lowercase letters, digits, `.` and `-`, "
            "starting with a letter, ending with a letter or digit, no `..` or `--` (`_` and "
            "`/` are tolerated, as hadolint does), and "
            "namespaced in reverse-DNS form (`org.opencontainers.image.source`). The "
            "`com.docker.*`, `io.docker.*` and `org.dockerproject.*` namespaces are Docker's "
            "(Docker Desktop extension labels excepted). Keys outside the convention collide "
            "more easily and are awkward in `--filter label=` and Kubernetes tooling."
        ),
        bad='FROM alpine:3.20\nLABEL Build_Date="2024-06-01"\n',
        good='FROM alpine:3.20\nLABEL org.opencontainers.image.created="2024-06-01T00:00:00Z"\n',
        check=check,
        related={"hadolint": ("DL3048",)},
    )
)
