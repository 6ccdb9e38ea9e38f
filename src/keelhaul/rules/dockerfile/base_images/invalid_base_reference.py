import re
from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.registry.reference import InvalidReference, parse_reference
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: ``name:sha256:<hex>``: a digest written after ``:`` as if it were a tag.
_DIGEST_AS_TAG = re.compile(r"(?P<name>.+?):(?P<digest>(?:sha256|sha384|sha512):[0-9a-fA-F]+)")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        raw = stage.base_raw
        if not raw or "$" in raw or stage.base_stage is not None or stage.is_scratch:
            continue  # a variable is KH143's (its value is known only with the ARG defaults)
        try:
            parse_reference(raw)
        except InvalidReference as err:
            inst = stage.from_instruction
            found = _DIGEST_AS_TAG.fullmatch(raw)
            if found is not None:
                why = (f"a digest follows '@', not ':': write "
                       f"{found['name']}@{found['digest']}")  # fmt: skip
            else:
                why = err.reason
            yield Hit(inst, f"FROM {raw} is not a valid image reference ({why}), so the "
                      "build fails", stage, inst.locate(raw))  # fmt: skip


register(
    Rule(
        code="KH129",
        name="invalid-base-reference",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="FROM names something that is not an image reference: the build fails.",
        explanation=(
            "BuildKit parses the FROM argument with the distribution reference grammar "
            "(`[registry/]name[:tag][@digest]`); a reference it cannot parse stops the build "
            "before anything runs. The usual mistake is a digest written like a tag, "
            "`FROM alpine:sha256:...`: a digest follows `@` (`alpine@sha256:...`, or "
            "`alpine:3.20@sha256:...` to keep the tag readable). Upper-case repository names, "
            "a tag longer than 128 characters or with characters outside `[A-Za-z0-9_.-]`, "
            "and a bare 64-character image ID are refused too. References are read by "
            "keelhaul's one reference parser (the one `keelhaul image` uses). A FROM with a "
            "variable is checked by KH143 with the ARG defaults."
        ),
        bad="FROM alpine:sha256:" + "0" * 64 + '\nCMD ["sh"]\n',
        good="FROM alpine:3.20@sha256:" + "0" * 64 + '\nCMD ["sh"]\n',
        check=check,
        related={"hadolint": ("DL3000",)},
    )
)
