from collections.abc import Iterator

from keelhaul.context.dockerignore import DockerIgnore, IgnorePattern
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.context._context import context_copies
from keelhaul.rules.dockerfile.shared.structure import locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Patterns that leave nothing at the top of the context (BuildKit's list).
EVERYTHING = frozenset({"*", "**", "**/*"})
_GLOB = frozenset("*?[\\")


def excluding_pattern(ignore: DockerIgnore, source: str) -> IgnorePattern | None:
    """The pattern that keeps ``source`` (cleaned, relative) out of the context, if one does."""
    if source == ".":
        if ignore.has_exceptions:
            return None
        return next((p for p in ignore.patterns if p.text in EVERYTHING), None)
    if not ignore.has_exceptions:
        # BuildKit's own check: the patterns match the source or a folder above it.
        return ignore.excluded_by(source) if ignore.matches(source) else None
    # With exceptions BuildKit gives up; the walk's rules still settle plain paths.
    if not _GLOB.isdisjoint(source) or ignore.may_reinclude_under(source):
        return None
    return ignore.excluded_by(source)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    context = ctx.build_context
    if context is None or context.dockerignore is None:
        return
    ignore = context.dockerignore
    for copy in context_copies(ctx):
        inst = copy.instruction
        for written, source in zip(copy.written, copy.sources, strict=True):
            pattern = excluding_pattern(ignore, source)
            if pattern is None:
                continue
            where = f"{context.ignore_name} (line {pattern.line}: {pattern})"
            if source == ".":
                message = (f"{inst.name} {written} copies nothing: {where} excludes everything at "
                           "the top of the context; add exceptions for what the image needs "
                           "(!src, !package.json...)")  # fmt: skip
            else:
                message = (f"{inst.name} source {written} is excluded by {where}, so the build "
                           "fails with \"not found\"; remove the pattern or add the exception "
                           f"!{source}")  # fmt: skip
            yield Hit(inst, message, copy.stage, locate_source(inst, written))


register(
    Rule(
        code="KH233",
        name="copy-ignored-file",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="A COPY or ADD source that the .dockerignore excludes.",
        explanation=(
            "Files the `.dockerignore` excludes never reach the builder, so a COPY or ADD "
            'that names one fails with "not found" (or, for `COPY .` under a `*` pattern, '
            "copies nothing). Usually the pattern is broader than meant (`*.json` also takes "
            "package.json) or the file was added to the ignore list after the Dockerfile "
            "started to need it. Remove the pattern or add an exception (`!config.json`). Like "
            "BuildKit's CopyIgnoredFile check, sources are matched against the patterns; where "
            "the `.dockerignore` has `!` exceptions BuildKit gives up, while keelhaul still "
            "flags a plain path that the exceptions cannot bring back (following how BuildKit "
            "skips excluded folders). Checked only when keelhaul knows the Dockerfile's build "
            "context."
        ),
        bad="FROM python:3.12-slim\nWORKDIR /app\nCOPY config.json app.py ./\n",
        good="FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py ./\n",
        check=check,
        related={"buildkit": ("CopyIgnoredFile",)},
        example_context={
            ".dockerignore": "*.md\nconfig.json\n",
            "app.py": "print('hello')\n",
            "config.json": "{}\n",
        },
    )
)
