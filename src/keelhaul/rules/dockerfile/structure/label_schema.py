from collections.abc import Iterator

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import chain, lexer, scopes
from keelhaul.rules.dockerfile.structure._labels import FORMATS, OCI_LABELS
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def schema_of(ctx: DockerfileContext) -> dict[str, str]:
    """The configured ``label-schema`` (label -> type), over the OCI labels' own formats."""
    schema = dict(OCI_LABELS)
    configured = ctx.settings.label_schema
    if configured is not None:
        schema.update({k: v.lower() for k, v in configured.items()})
    return schema


def _labels(ctx: DockerfileContext) -> Iterator[tuple[Stage, Instruction, str, str | None]]:
    """(stage, LABEL, key, value or None when it depends on a build arg)."""
    known = scopes(ctx)
    lex = lexer(ctx.tree.escape)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.name != "LABEL":
                continue
            scope = known.at(inst)
            if scope is None:
                continue
            for raw_key, raw_value in inst.pairs():
                try:
                    key, used_key, missing_key = lex.process_word_with_matches(raw_key, scope.env)
                    value, used, missing = lex.process_word_with_matches(raw_value, scope.env)
                except ExpansionError:
                    continue
                if not scope.uncertain(used_key, missing_key):
                    yield stage, inst, key, None if scope.uncertain(used, missing) else value


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    schema = schema_of(ctx)
    configured = ctx.settings.label_schema is not None
    strict = ctx.settings.strict_labels
    final = ctx.final_stage
    shipped = {s.index for s in chain(ctx.build, final)} if final is not None else set()
    present: set[str] = set()
    for stage, inst, key, value in _labels(ctx):
        where = inst.locate(key)
        if stage.index in shipped:
            present.add(key)
        kind = schema.get(key)
        if kind is None:
            if strict and configured:
                yield Hit(inst, f"label {key} is not in the label schema (strict-labels)",
                          stage, where)  # fmt: skip
            continue
        if value is None:
            continue  # set from a build arg: only known at build time
        if not value.strip():
            yield Hit(inst, f"label {key} is empty", stage, where)
        elif kind in FORMATS and not FORMATS[kind][0](value):
            yield Hit(inst, f"label {key} should be {FORMATS[kind][1]}, not {value!r}", stage,
                      where)  # fmt: skip
    if final is not None and configured:
        for key in sorted(set(schema) - set(OCI_LABELS) - present):
            yield Hit(final.from_instruction, f"the image has no label {key}, which the label "
                      "schema requires", final)  # fmt: skip


register(
    Rule(
        code="KH152",
        name="label-schema",
        severity=Severity.WARNING,
        category=Category.MAINTAINABILITY,
        summary="Labels missing from, outside of, or not matching the configured label schema.",
        explanation=(
            "Off by default; select KH152 and describe your labels in the configuration: "
            '`label-schema = { "org.opencontainers.image.source" = "url", "maintainer" = '
            '"email" }` (types: text, url, rfc3339, spdx, hash, semver, email) and optionally '
            "`strict-labels = true` to reject labels outside the schema. The same keys in "
            "`.hadolint.yaml` work. Every schema label must be set in the final stage (or a "
            "stage it is built FROM); values must not be empty and must match their type. "
            "Without a schema the rule still checks the formats of the OCI labels it knows "
            "(created is RFC 3339, url/source/documentation are URLs, licenses is SPDX). "
            "Values that come from build args are only known at build time and are not "
            "judged. SPDX ids are checked against the common part of the SPDX list."
        ),
        bad='FROM alpine:3.20\nLABEL org.opencontainers.image.created="last tuesday"\n',
        good='FROM alpine:3.20\nLABEL org.opencontainers.image.created="2024-06-01T12:00:00Z"\n',
        check=check,
        related={
            "hadolint": (
                "DL3049",
                "DL3050",
                "DL3051",
                "DL3052",
                "DL3053",
                "DL3054",
                "DL3055",
                "DL3056",
                "DL3058",
            ),
        },
        default_on=False,
    )
)
