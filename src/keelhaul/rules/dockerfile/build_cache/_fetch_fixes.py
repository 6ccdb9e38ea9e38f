"""The dependency-download fix of build-fetches-dependencies (KH183).

``COPY . .`` then ``RUN mvn -B package`` becomes ``COPY pom.xml ./``, ``RUN mvn -B
dependency:go-offline``, ``COPY . .``, ``RUN mvn -B package``: the build files are copied
alone right before the source COPY and a download step runs on them, so editing a source
file re-runs the build but not the download. For Go, ``COPY go.mod go.sum ./`` and ``RUN go
mod download``, offered only when the build context's go.mod requires modules (a module
without dependencies has nothing to download: the rule stays quiet there).

Offered where keelhaul can see that the build files alone are enough:

* Maven: ``mvn`` (not the ``mvnw`` wrapper, whose ``.mvn`` folder is not read here) with
  only options that do not name files or modules (``-B``, ``-q``, ``-e``, ``-ntp``,
  ``-D...``); the context's pom.xml beside the build, sent to the builder, with no
  ``<modules>`` (each module's pom.xml would be needed) and no ``<relativePath>`` to a parent
  in the sources;
* Go: ``go build``, ``go test`` or ``go install`` of local packages; the context's go.mod with
  a ``require`` and no ``replace`` to a local folder, and no go.work;
* the build runs where the source COPY puts the files (no WORKDIR, ENV, ARG or USER between
  them: the download must see what the build sees), in the stage's first source COPY.

Unsafe: ``mvn dependency:go-offline`` does not resolve everything every build needs (plugins
a build pulls in later, a profile's dependencies): the build still downloads those, now after
every source change; and what the download reads that keelhaul cannot see (a settings file
in the sources, a private registry's credentials) is read one step earlier.
"""

from __future__ import annotations

import posixpath
import re

from keelhaul.dockerfile.edits import indentation, line_ending
from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.build_cache._dependencies import Late, Step
from keelhaul.rules.dockerfile.build_cache._local_install import read_context_file
from keelhaul.rules.dockerfile.build_cache._order_fixes import (
    Manifests,
    _comments_above,
    _copy_ok,
    _in_context,
    _plan,
    _sources,
    _Wanted,
)
from keelhaul.rules.dockerfile.shared.layers import places
from keelhaul.rules.registry import DockerfileContext, fix_builder

WHY_UNSAFE = (
    "the dependencies are downloaded from the build files alone, before the sources are "
    "copied: `mvn dependency:go-offline` does not resolve everything a build may need "
    "(plugins or a profile's dependencies the build pulls in later), which the build then "
    "still downloads after each source change, and a dependency the build files find only "
    "through the sources (a parent POM, a local module) fails the new step"
)
#: What the download step reads, and the command it runs, per tool.
_MAVEN = Manifests(("pom.xml",))
_GO = Manifests(("go.mod",), ("go.sum",), (), ("go.work",))
#: Maven options that change nothing the download reads (others name files, modules or
#: profiles: no fix).
_MAVEN_OPTIONS = re.compile(
    r"-B|--batch-mode|-q|--quiet|-e|--errors|-ntp|--no-transfer-progress|-U"
    r"|--update-snapshots|-o|--offline|-D\S+"
)
_GO_LOCAL = re.compile(r"\.{1,2}(?:/\S*)?")
_LOCAL_REPLACE = re.compile(r"=>\s*\.{0,2}/")


def _requires_modules(text: str) -> bool:
    # here: a Dockerfile check loads no SBOM code unless a Go build meets a go.mod
    from keelhaul.sbom.lockfiles import go_requires_modules

    return go_requires_modules(text)


def go_needs_download(ctx: DockerfileContext, late: Late) -> bool:
    """The go.mod the source COPY brings where the Go build runs requires modules (False
    when the build context, or that go.mod, is not known)."""
    where = places(ctx)
    at_copy, at_run = where.at(late.copy), where.at(late.run.instruction)
    sources = _sources(late.copy, at_copy, ctx.build_context)
    if ctx.build_context is None or sources is None or at_run.cwd is None:
        return False
    found = _in_context(posixpath.join(at_run.cwd, "go.mod"), sources)
    text = read_context_file(ctx, found) if found is not None else None
    return text is not None and _requires_modules(text)


def go_build(op: PackageOperation) -> Step | None:
    """``go build``, ``go test`` or ``go install`` of local packages: a build that downloads
    the modules go.mod requires."""
    if op.manager != "go" or op.action not in ("build", "test", "install"):
        return None
    if op.action == "install" and any(p.version for p in op.packages):
        return None  # `go install x@v1`: a tool, nothing of the module's
    return Step(op, "build")


def _download_command(op: PackageOperation) -> str | None:
    """The download step for the build ``op``, or None when its options forbid one."""
    if op.manager == "go":
        local = all(_GO_LOCAL.fullmatch(w) for w in op.operands)
        return "go mod download" if local else None
    if op.manager != "mvn" or op.command.argv[0] != "mvn":
        return None
    words = op.command.argv[1:]
    goals = set(op.subcommand.split())
    options = [w for w in words if w not in goals]
    if not all(_MAVEN_OPTIONS.fullmatch(w) for w in options):
        return None
    kept = [w for w in options if w in ("-B", "--batch-mode", "-q", "--quiet", "-ntp",
                                        "--no-transfer-progress")]  # fmt: skip
    return " ".join(["mvn", *kept, "dependency:go-offline"])


def _build_files_ok(ctx: DockerfileContext, op: PackageOperation, folder: str) -> bool:
    if op.manager == "go":
        text = read_context_file(ctx, posixpath.join(folder, "go.mod"))
        return text is not None and _requires_modules(text) and not (_LOCAL_REPLACE.search(text))
    text = read_context_file(ctx, posixpath.join(folder, "pom.xml"))
    return text is not None and "<modules>" not in text and "<relativePath>" not in text


@fix_builder
def fetch_fix(ctx: DockerfileContext, late: Late) -> Fix | None:
    """The fix for a KH183 finding about ``late``, or None when keelhaul cannot prove it."""
    run, copy = late.run, late.copy
    op = late.step.op
    inst = run.instruction
    context = ctx.build_context
    if context is None or inst.sub is not None or copy.sub is not None or copy.heredocs:
        return None
    command = _download_command(op)
    if command is None or not _copy_ok(copy):
        return None
    where = places(ctx)
    at_copy, at_run = where.at(copy), where.at(inst)
    if at_run.cwd is None or at_copy.cwd != at_run.cwd or at_copy.user != at_run.user:
        return None
    if at_copy.env != at_run.env:
        return None  # an ENV or ARG between: the download would not see it
    for item in ctx.tree.instructions:
        if copy.start_line < item.start_line < inst.start_line and item.name in (
            "WORKDIR", "USER", "SHELL", "ENV", "ARG"
        ):  # fmt: skip
            return None
    # the build files where the build runs, as the source COPY brings them
    kinds = _GO if op.manager == "go" else _MAVEN
    wanted = [_Wanted(posixpath.join(at_run.cwd, n), False, True) for n in kinds.required]
    wanted += [_Wanted(posixpath.join(at_run.cwd, n), False, False) for n in kinds.optional]
    wanted += [
        _Wanted(posixpath.join(at_run.cwd, n), False, False, forbidden=True)
        for n in kinds.forbidden
    ]
    plan = _plan(ctx, copy, at_copy, wanted)
    if plan is None or not plan.copies or plan.folders:
        return None
    files = [f for group in plan.copies.values() for f in group]
    folders = {posixpath.dirname(f) for f in files}
    if len(folders) != 1 or not _build_files_ok(ctx, op, folders.pop() or "."):
        return None
    newline = line_ending(copy) or "\n"
    indent = indentation(copy)
    keyword = "COPY" if copy.keyword.isupper() else "copy"
    run_keyword = "RUN" if inst.keyword.isupper() else "run"
    flags = "".join(f"{f} " for f in copy.flags)
    text = ""
    for dest, group in plan.copies.items():
        if not dest.endswith("/") and not (dest == "." and len(group) == 1):
            dest += "/"
        text += f"{indent}{keyword} {flags}{' '.join(group)} {dest}{newline}"
    text += f"{indent}{run_keyword} {command}{newline}"
    start = _comments_above(list(ctx.tree.lines()), copy.start_line)
    return Fix(
        (Edit(start, start - 1, text),),
        f"copy {', '.join(files)} first and run `{command}` before the sources are copied",
        Safety.UNSAFE,
        WHY_UNSAFE,
    )
