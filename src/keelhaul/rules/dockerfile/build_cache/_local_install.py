"""A local Python package installed after the sources are copied (part of KH182).

``pip install .``, ``pip wheel '.[extra]'``, ``pip install -e .``, ``uv pip install .`` and
``pip install -r requirements.txt .`` install the project *and* every dependency it declares.
After a COPY that brings the sources (``COPY . .``, ``COPY src/ src/``) any source change
re-runs that RUN, so every dependency is downloaded and built again. When the build context
declares dependencies (``[project] dependencies`` or ``optional-dependencies``, Poetry's
``[tool.poetry.dependencies]``, ``install_requires`` in setup.cfg or setup.py, a
``requirements*.txt``), the fix is to copy only the dependency declaration first, install the
dependencies, then copy the sources and install the project alone (``--no-deps``).

Quiet when a Python dependency step or a local install already ran before the source COPY in
the stage (the cache is split already: ``COPY pyproject.toml ./``, a stub package, ``pip
wheel .``, ``COPY src/ src/``, ``pip wheel --no-deps .``), for ``--no-deps`` installs, for
wheels and archives (``pip install /wheels/*.whl``), and when the build context is unknown or
declares no dependency.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.build_cache._dependencies import source_words, step_of
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction
from keelhaul.rules.dockerfile.shared.packages import operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit

#: Files read for declared dependencies, at most this many bytes each.
_MAX_BYTES = 1_000_000
_ARCHIVE = re.compile(r"\.(?:whl|tar\.gz|tgz|tar\.bz2|zip|egg)\Z", re.I)
_INSTALL_REQUIRES = re.compile(r"\binstall_requires\s*=\s*\[\s*[\"'A-Za-z]")
_REQUIREMENTS = re.compile(r"requirements[\w.-]*\.(?:txt|in)\Z")


def installs_local_project(op: PackageOperation) -> bool:
    """``pip install .``, ``pip wheel .``, ``uv pip install -e ./pkg``: a local folder
    installed (or built) as a package, with its dependencies."""
    if op.manager not in ("pip", "uv"):
        return False
    if op.manager == "uv" and not op.subcommand.startswith("pip "):
        return False
    if op.action not in ("install", "build"):
        return False
    return any(p.kind == "path" and not _ARCHIVE.search(p.name) for p in op.packages)


def _no_deps(op: PackageOperation) -> bool:
    return op.has("--no-deps")


def read_context_file(ctx: DockerfileContext, name: str) -> str | None:
    """The text of the context file ``name`` when it is sent to the builder and small."""
    context = ctx.build_context
    if context is None or context.excludes(name):
        return None
    path = context.root / name
    try:
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _pyproject_declares(text: str) -> bool:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    project = data.get("project")
    if isinstance(project, dict):
        if project.get("dependencies") or project.get("optional-dependencies"):
            return True
        if "dependencies" in (project.get("dynamic") or ()):
            return True
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    return isinstance(deps, dict) and any(k != "python" for k in deps)


def _setup_cfg_declares(text: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    return bool(parser.get("options", "install_requires", fallback="").strip())


def _requirements_declare(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def declared_dependencies(ctx: DockerfileContext) -> tuple[str, ...]:
    """The files at the root of the build context that declare dependencies (sent files only);
    () when the context is unknown or declares none."""
    context = ctx.build_context
    if context is None:
        return ()
    found: list[str] = []
    checks = (("pyproject.toml", _pyproject_declares), ("setup.cfg", _setup_cfg_declares),
              ("setup.py", lambda t: bool(_INSTALL_REQUIRES.search(t))))  # fmt: skip
    for name, declares in checks:
        text = read_context_file(ctx, name)
        if text is not None and declares(text):
            found.append(name)
    for entry in context.entries:
        if "/" not in entry.path and not entry.is_dir and _REQUIREMENTS.match(entry.name):
            text = read_context_file(ctx, entry.path)
            if text is not None and _requirements_declare(text):
                found.append(entry.path)
    return tuple(found)


def static_dependencies(ctx: DockerfileContext) -> tuple[str, ...] | None:
    """The requirements of pyproject.toml's static ``[project] dependencies`` list, when that
    list is the only dependency declaration the build context sends (no setup.cfg or setup.py
    ``install_requires``, no requirements file, ``dependencies`` not dynamic); else None."""
    if ctx.memo("kh182-declared-dependencies", declared_dependencies) != ("pyproject.toml",):
        return None
    text = read_context_file(ctx, "pyproject.toml")
    try:
        data = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        return None
    project = data.get("project")
    if not isinstance(project, dict) or "dependencies" in (project.get("dynamic") or ()):
        return None
    deps = project.get("dependencies")
    if not isinstance(deps, list) or not deps or not all(isinstance(d, str) for d in deps):
        return None
    return tuple(deps)


def _message(
    op: PackageOperation, copy: Instruction, source: str, declared: tuple[str, ...]
) -> str:
    files = " and ".join(declared)
    return (f"`{shown(op)}` installs the project after the {copy.name} on line "
            f"{copy.start_line} brought in `{source}`, so any source change downloads and builds "
            f"every dependency {files} declares again: copy only the dependency declaration "
            f"first ({files}, with a stub package if the build needs one), install the "
            f"dependencies, then copy the sources and install the project with --no-deps")  # fmt: skip


def local_install_hits(ctx: DockerfileContext) -> Iterator[Hit]:
    """KH182's findings for local package installs (one per stage)."""
    declared = ctx.memo("kh182-declared-dependencies", declared_dependencies)
    if not declared:
        return
    runs = runs_by_instruction(ctx)
    for stage in ctx.build.stages:
        copy: Instruction | None = None
        source = ""
        prepared = False
        reported = False
        for inst in stage.instructions:
            if reported:
                break
            if inst.name in ("COPY", "ADD"):
                words = source_words(inst)
                if copy is None and words:
                    copy, source = inst, words[0]
                continue
            if inst.name != "RUN":
                continue
            for run in runs.get(id(inst), []):
                for op in run.operations.packages:
                    local = installs_local_project(op)
                    if copy is None:
                        step = step_of(op)
                        from_list = op.manager in ("pip", "uv") and bool(op.requirement_files)
                        if local or from_list or (step is not None and step.family == "python"
                                                  and step.kind != "tool"):  # fmt: skip
                            prepared = True
                        continue
                    if not local or prepared or _no_deps(op) or reported:
                        continue
                    yield Hit(inst, _message(op, copy, source, declared), stage,
                              operation_span(run, op))  # fmt: skip
                    reported = True


__all__ = [
    "declared_dependencies",
    "installs_local_project",
    "local_install_hits",
    "static_dependencies",
]
