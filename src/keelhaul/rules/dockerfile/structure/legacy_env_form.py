from collections.abc import Iterator

from keelhaul.dockerfile.edits import double_quoted, keyword_prefix, replace_instruction
from keelhaul.dockerfile.syntax import GO_SPACE, Instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.shared.structure import stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        eff = inst.effective
        if eff.name in ("ENV", "LABEL") and len(eff.values) == 3 and eff.values[2] == "":
            yield Hit(inst, f"legacy `{eff.name} key value` form; write `{eff.name} "
                      f"{eff.values[0]}=...`", stages.get(id(inst)), fix=_fix(inst))  # fmt: skip


def _fix(inst: Instruction) -> Fix | None:
    """``ENV key some value`` -> ``ENV key="some value"``: the legacy value is one word."""
    eff = inst.effective
    key, value = eff.values[0], eff.values[1]
    if any(c in value for c in "\"'`") or "=" in key:
        return None  # quoting inside the legacy value: not rewritten blindly
    if any(c in GO_SPACE for c in key):
        # BuildKit splits the legacy form at ASCII blanks only but the key=value form at
        # every Unicode space (U+2028, NBSP...): such a key cannot be written as key=value.
        return None
    word = value if value and not any(c.isspace() for c in value) else double_quoted(value)
    body = f"{keyword_prefix(inst)}{eff.keyword} {key}={word}"
    return Fix((replace_instruction(inst, body),), f"{eff.name} key=value form")


register(
    Rule(
        code="KH112",
        name="legacy-key-value",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="`ENV key value` instead of `ENV key=value`.",
        explanation=(
            "In the legacy form everything after the key is one value, spaces included, which "
            "surprises readers and cannot set several variables; BuildKit warns about it."
        ),
        bad="FROM debian:12\nENV APP_HOME /srv/app\n",
        good="FROM debian:12\nENV APP_HOME=/srv/app\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            '`ENV key value` and `ENV key="value"` set the same variable to the same text; '
            "the value is quoted so that the builder reads exactly the old words."
        ),
        related={"buildkit": ("LegacyKeyValueFormat",)},
    )
)
