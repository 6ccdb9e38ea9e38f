import re
from collections.abc import Iterator

from keelhaul.context.build_context import BuildContext
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.context._context import (
    describe,
    ignore_file_fix,
    ignore_line_list,
    whole_context_copies,
)
from keelhaul.rules.dockerfile.shared.structure import locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Dockerfiles and ignore files: what a folder of Dockerfiles holds (``Dockerfile``,
#: ``Dockerfile.dev``, ``api.Dockerfile``, ``Containerfile``, ``x.dockerignore``).
_DOCKERFILE = re.compile(r"(?i)(?:^|[._-])(?:dockerfile|containerfile)(?:[._-]|$)|\.dockerignore$")
#: The linters' own files beside them: keelhaul's settings and the baseline `keelhaul check`
#: suggests writing, hadolint's settings. Writing the baseline must not make a finding.
_LINTER_FILES = frozenset(
    {".keelhaul.toml", "keelhaul-baseline.json", ".hadolint.yaml", ".hadolint.yml"}
)


def _only_dockerfiles(context: BuildContext) -> bool:
    """The folder holds nothing but Dockerfiles: it is not the build context the file is
    built with (a folder of Dockerfiles built with ``-f`` from elsewhere), or `COPY .` copies
    nothing but them. Either way there is nothing to say about its ignore file."""
    files = [e for e in context.entries if not e.is_dir]
    return (
        context.complete
        and not any(e.is_dir for e in context.entries)
        and all(_DOCKERFILE.search(e.name) or e.name in _LINTER_FILES for e in files)
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    context = ctx.build_context
    if context is None or context.has_patterns or _only_dockerfiles(context):
        return
    copies = whole_context_copies(ctx)
    if not copies:
        return
    first = copies[0]
    inst = first.instruction
    source = next(w for w, s in zip(first.written, first.sources, strict=True) if s in (".", "*"))
    if context.ignore_file is None:
        missing = "there is no .dockerignore"
    else:
        missing = f"{context.ignore_name} has no patterns"
    sent = [e for e in context.notable if e.sent]
    holding = f" (here that includes {describe(sent)})" if sent else ""
    yield Hit(inst, f"{inst.name} {source} copies the whole build context and {missing}: every "
              f"file in the folder{holding} goes into the image, and a change to any of them "
              "rebuilds this layer and all after it; add a .dockerignore",
              first.stage, locate_source(inst, source),
              ignore_file_fix(ctx, context, ignore_line_list(sent)))  # fmt: skip


register(
    Rule(
        code="KH230",
        name="no-dockerignore",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="COPY . or ADD . of the whole build context with no .dockerignore.",
        explanation=(
            "`COPY . .` takes everything in the build context: `.git` (often bigger than the "
            "code), `node_modules` and virtualenvs built for the host, logs, coverage reports, "
            "local build output, `.env` files and keys, and the Dockerfile itself. They make "
            "the image bigger and, worse, any change to any of them (every commit touches "
            "`.git`; editing a comment in the Dockerfile counts too) invalidates the cache of "
            "this COPY and of every instruction after it, so dependency installs and compiles "
            "run again. A `.dockerignore` at the context root (or `<Dockerfile>.dockerignore` "
            "beside the Dockerfile, which BuildKit prefers) keeps them out, for example:\n\n"
            "    .git\n    node_modules\n    **/*.log\n    coverage\n    dist\n    .env*\n\n"
            "Copying only the files the image needs works too. Checked only when keelhaul "
            "knows the Dockerfile's build context: not when the folder it reads holds nothing "
            "but Dockerfiles (a folder of Dockerfiles is built with `-f` from another context, "
            "whose ignore file keelhaul cannot see; judged on real projects, most such "
            "findings were about the wrong folder).\n\n"
            "Fix: writes a .dockerignore with the lines for what it found, leaving out any "
            "line that would exclude a path a COPY names, and `.git` when a RUN calls git; unsafe when `.git` is among "
            "them (a build step or the program may read it), or a .env file, key or "
            "credentials file (the program may load them at run time)."
        ),
        bad="FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n",
        good="FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt app.py ./\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Creates a .dockerignore: safe when the lines leave out only what no COPY names "
            "and no RUN reads (logs, coverage, host virtualenvs, build output the "
            "Dockerfile rebuilds). Unsafe when it leaves out `.git` (a build step keelhaul "
            "cannot see into, such as setuptools-scm or `git describe` in a Makefile, may "
            "read it) or .env files, keys and credentials (the program may load them at run "
            "time)."
        ),
        example_context={
            "app.py": "print('hello')\n",
            "requirements.txt": "flask==3.0.3\n",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
)
