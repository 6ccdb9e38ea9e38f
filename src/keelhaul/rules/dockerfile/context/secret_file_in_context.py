from collections.abc import Iterator

from keelhaul.context.build_context import BuildContext, ContextEntry
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.context._context import (
    ContextCopy,
    context_copies,
    copied,
    copied_under,
    describe,
    ignore_lines,
)
from keelhaul.rules.dockerfile.shared.structure import locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _taken(context: BuildContext, copy: ContextCopy, secrets: list[ContextEntry]) -> list[str]:
    """The sources of ``copy``, as written, that carry some of the ``secrets``."""
    return [w for w, s in zip(copy.written, copy.sources, strict=True)
            if _secrets_of(context, copy, s, secrets)]  # fmt: skip


def _secrets_of(
    context: BuildContext, copy: ContextCopy, source: str, secrets: list[ContextEntry]
) -> list[ContextEntry]:
    if source in (".", "*"):
        return [e for e in secrets if copied(copy, e)]
    folder = context.entry(source)
    if folder is None or not folder.is_dir:
        return []  # a secret file named directly is the secrets rules' business
    return [e for e in secrets if copied_under(copy, source, e)]


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    context = ctx.build_context
    if context is None:
        return
    secrets = [e for e in context.notable if e.kind is not None and e.kind.is_secret]
    if not secrets:
        return
    for copy in context_copies(ctx):
        inst = copy.instruction
        carried = {e.path: e for s in copy.sources for e in _secrets_of(context, copy, s, secrets)}
        if not carried:
            continue
        source = _taken(context, copy, secrets)[0]
        entries = list(carried.values())
        them = "them" if len(entries) > 1 else "it"
        final = ctx.final_stage is not None and copy.stage.index == ctx.final_stage.index
        where = (
            "the image, where anyone who can pull the image"
            if final
            else f"the layers of stage {copy.stage.label}, where anyone with the build cache"
        )
        yield Hit(inst, f"{inst.name} {source} puts {describe(entries)} into {where} can read "
                  f"{them}; add "
                  f"{ignore_lines(entries)} to {context.ignore_name} and pass secrets with "
                  "RUN --mount=type=secret", copy.stage, locate_source(inst, source))  # fmt: skip


register(
    Rule(
        code="KH232",
        name="secret-file-in-context",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="COPY of the context or of a folder takes .env files, private keys or "
        "credentials the .dockerignore does not exclude.",
        explanation=(
            "`COPY . .` (or `COPY config/ ...`) copies every file the `.dockerignore` lets "
            "through, and this context holds secrets: `.env` files, private keys (`id_rsa`, a "
            "`.pem` or `.key` that contains a PRIVATE KEY block, `.p12`/`.pfx` bundles) or "
            "credential files (`.npmrc`, `.pypirc`, `.netrc`, `.git-credentials` that hold a "
            "token or password). Once in a layer they stay in the image for anyone who can pull "
            "it, even if a later RUN deletes them. Exclude them in `.dockerignore` (`.env*`, "
            "`*.pem`, `*.key`...) and give the build what it needs with "
            "`RUN --mount=type=secret`, the container with the orchestrator's secrets. Files "
            "are checked against the patterns exactly as BuildKit applies them; templates such "
            "as `.env.example` and public certificates are not flagged. Checked only when "
            "keelhaul knows the Dockerfile's build context."
        ),
        bad="FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n",
        good="FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py ./\n",
        check=check,
        example_context={
            ".dockerignore": ".git\n",
            ".env": "DATABASE_URL=postgres://app:s3cr3t@db/app\n",
            "app.py": "print('hello')\n",
        },
    )
)
