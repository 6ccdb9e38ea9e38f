from collections.abc import Iterator, Mapping

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    lexer,
    locate_variable,
    scopes,
    stage_of,
    variable_names,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _referenced(value: str, env: Mapping[str, str], escape: str) -> set[str]:
    try:
        _, matched, unmatched = lexer(escape).process_word_with_matches(value, env)
    except ExpansionError:
        return variable_names(value)
    return matched | unmatched


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        if inst.effective.name != "ENV":
            continue
        # An ONBUILD trigger's variables come from the build that uses the image.
        scope = known.at(inst) if inst.name != "ONBUILD" else None
        env = scope.env if scope is not None else {}
        set_here: set[str] = set()
        for key, value in inst.pairs():
            for name in sorted(_referenced(value, env, ctx.tree.escape) & set_here):
                before = "its previous value" if name in env else "an empty string"
                yield Hit(inst, f"{key} uses ${name}, which this same ENV sets: all values are "
                          f"expanded first, so it gets {before}; set {name} in an ENV line of "
                          "its own before this one", stages.get(id(inst)),
                          locate_variable(inst, name))  # fmt: skip
            set_here.add(key)


register(
    Rule(
        code="KH149",
        name="env-same-statement-reference",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="ENV a=1 b=$a: a value refers to a variable set in the same ENV.",
        explanation=(
            "One ENV instruction expands all its values before it sets any of them, so in "
            "`ENV APP_HOME=/srv/app APP_CONFIG=$APP_HOME/config` APP_CONFIG becomes `/config` "
            "(or uses APP_HOME's older value). Set the variable in an earlier ENV line."
        ),
        bad="FROM debian:12\nENV APP_HOME=/srv/app APP_CONFIG=$APP_HOME/config\n",
        good="FROM debian:12\nENV APP_HOME=/srv/app\nENV APP_CONFIG=$APP_HOME/config\n",
        check=check,
        related={"hadolint": ("DL3044",)},
    )
)
