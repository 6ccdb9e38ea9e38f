"""Shared by the multi-stage rules (KH122, KH124, KH125, KH127): the compilers, headers and SDKs
a RUN installs and whether they are removed again, and the commands that compile or bundle.

A build tool installed and removed in the *same* RUN never reaches a layer (the classic
``apk add --virtual .build-deps ... && apk del .build-deps``, or ``apt-mark auto`` then
``apt-get purge --auto-remove``); removed in a later RUN it still ships in the earlier layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from immutables import Map

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec, package_spec
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.structure import Overlay, base_of
from keelhaul.rules.registry import DockerfileContext, Run

# --------------------------------------------------------------------------------------------
# toolchain packages

SYSTEM_MANAGERS = _SYSTEM_MANAGERS = frozenset({"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf",
                              "tdnf", "zypper"})  # fmt: skip
_FAMILY = {"apt": "apt-get", "aptitude": "apt-get", "dnf": "yum", "microdnf": "yum",
           "tdnf": "yum"}  # fmt: skip

#: Compilers, build systems, source control and SDKs, as the distributions name them.
_TOOL_NAMES = frozenset(
    {
        "build-essential", "build-base", "alpine-sdk", "gcc", "g++", "gcc-c++", "c++", "clang",
        "llvm", "make", "cmake", "ninja", "ninja-build", "meson", "autoconf", "automake",
        "libtool", "pkg-config", "pkgconf", "pkgconfig", "bison", "flex", "gfortran",
        "gcc-gfortran", "swig", "nasm", "yasm", "git", "git-core", "subversion", "mercurial",
        "golang", "golang-go", "go", "rust", "rustc", "cargo", "maven", "gradle", "ant",
        "default-jdk", "default-jdk-headless",
    }
)  # fmt: skip
_TOOL_PATTERN = re.compile(
    r"(?:gcc|g\+\+|clang|llvm|cpp)-\d+(?:\.\d+)?"  # versioned compilers: gcc-12, clang-17
    r"|golang-[\d.]+(?:-go)?"  # golang-1.21-go
    r"|openjdk-?\d+(?:-jdk(?:-headless)?)?|temurin-\d+-jdk|java-[\d.]+-openjdk-devel"
    r"|dotnet-sdk-[\d.]+|dotnet\d+-sdk"
    r"|.+-dev|.+-devel|.+-headers|linux-headers.*"  # headers and static libraries
    r"|.*development[ _-]tools|c-development"  # yum/dnf/zypper groups
)


_SOURCE_CONTROL = frozenset({"git", "git-core", "subversion", "mercurial"})


def is_build_tool(name: str) -> bool:
    """Whether a distribution package is a compiler, headers, a build system or an SDK."""
    lowered = name.lower().lstrip("@")
    return lowered in _TOOL_NAMES or _TOOL_PATTERN.fullmatch(lowered) is not None


@dataclass(frozen=True, slots=True)
class ToolInstall:
    """Build tools one package-manager command installs (and nothing removes in its RUN)."""

    run: Run
    op: PackageOperation
    packages: tuple[PackageSpec, ...]
    removed_by: Run | None = None
    """A later RUN of the same stages that removes them: too late, the bytes are in a layer."""

    @property
    def names(self) -> str:
        shown = [p.name for p in self.packages[:4]]
        more = len(self.packages) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _family(manager: str) -> str:
    return _FAMILY.get(manager, manager)


def _auto_removed(run: Run, after: int) -> bool:
    """``apt-mark auto '.*'`` ... ``apt-get purge --auto-remove``: everything installed in
    between is removed again (the official images' pattern)."""
    marked = any(
        c.name == "apt-mark" and c.argv[1:2] == ("auto",) and c.start > after
        for c in run.script.commands
    )
    return marked and any(
        op.manager in ("apt-get", "apt") and op.command.start > after
        and (op.subcommand in ("autoremove", "autopurge") or op.has("--auto-remove", "--autoremove"))
        for op in run.operations.packages
    )  # fmt: skip


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?\Z")


def script_env(run: Run, env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` with the script's own ``NAME=value`` and ``export NAME=value`` added, so
    ``buildDeps='gcc make'; apt-get install -y $buildDeps`` reads as gcc and make."""
    out: dict[str, str] = {}  # over ``env``, not a copy of it: deep scopes stay linear
    for cmd in run.script.commands:
        if not cmd.argv:
            out.update(cmd.env)
        elif cmd.name == "export":
            out.update(w.partition("=")[::2] for w in cmd.argv[1:] if "=" in w)
    return Overlay(out, env)


def packages(op: PackageOperation, env: Mapping[str, str]) -> tuple[PackageSpec, ...]:
    """The packages of ``op``, a ``$buildDeps`` word read as the packages it holds."""
    out: list[PackageSpec] = []
    for spec in op.packages:
        found = _VARIABLE.match(spec.raw)
        value = env.get(found.group(1)) if found else None
        if value is None or "$" in value:
            out.append(spec)
        else:
            out.extend(replace(package_spec(op.manager, w), raw=spec.raw) for w in value.split())
    return tuple(out)


def _tools(op: PackageOperation, env: Mapping[str, str]) -> list[PackageSpec]:
    return [p for p in packages(op, env) if p.kind in ("name", "group") and is_build_tool(p.name)]


def _removes(
    remover: PackageOperation, install: PackageOperation, spec: PackageSpec,
    env: Mapping[str, str],
) -> bool:  # fmt: skip
    if remover.action != "remove" or _family(remover.manager) != _family(install.manager):
        return False
    removed = packages(remover, env)
    names = {p.name.lower() for p in removed}
    if spec.name.lower() in names or (install.virtual and install.virtual.lower() in names):
        return True
    # ``apt-get purge -y $buildDeps`` with a list set elsewhere: taken to be what was installed
    return any("$" in p.raw for p in removed)


def _kept(run: Run, op: PackageOperation, env: Mapping[str, str]) -> tuple[PackageSpec, ...]:
    """The build tools ``op`` installs that no later command of its RUN removes."""
    tools = _tools(op, env)
    if not tools or _auto_removed(run, op.command.start):
        return ()
    later = [o for o in run.operations.packages if o.command.start > op.command.start]
    kept = tuple(p for p in tools if not any(_removes(o, op, p, env) for o in later))
    # git, svn, hg alone are as often a runtime need (tools that clone, CI agents) as a build one
    return kept if any(p.name.lower() not in _SOURCE_CONTROL for p in kept) else ()


def cleans_up(run: Run, env: Mapping[str, str]) -> bool:
    """The RUN installs build tools and removes them all again before it ends."""
    env = script_env(run, env)
    ops = [op for op in run.operations.packages
           if op.manager in _SYSTEM_MANAGERS and op.action == "install" and _tools(op, env)]  # fmt: skip
    return bool(ops) and not any(_kept(run, op, env) for op in ops)


def installs_build_tools(runs: Iterable[Run], env: Mapping[str, str]) -> bool:
    """Some RUN installs build tools, whether or not it removes them again."""
    return any(
        op.manager in _SYSTEM_MANAGERS and op.action == "install"
        and _tools(op, script_env(run, env))
        for run in runs
        for op in run.operations.packages
    )  # fmt: skip


def tool_installs(runs: Iterable[Run], env: Mapping[str, str]) -> Iterator[ToolInstall]:
    """Build tools installed by ``runs`` (in order, with the stage's variables ``env``) and
    left in their layers."""
    ordered = list(runs)
    for i, run in enumerate(ordered):
        here = script_env(run, env)
        for op in run.operations.packages:
            if op.manager not in _SYSTEM_MANAGERS or op.action != "install":
                continue
            kept = _kept(run, op, here)
            if not kept:
                continue
            removed_by = next(
                (
                    r for r in ordered[i + 1 :]
                    if any(_removes(o, op, p, script_env(r, env)) for o in r.operations.packages
                           for p in kept)
                ),
                None,
            )  # fmt: skip
            yield ToolInstall(run, op, kept, removed_by)


# --------------------------------------------------------------------------------------------
# build commands


@dataclass(frozen=True, slots=True)
class BuildStep:
    """A command that compiles or bundles: ``go build``, ``npm run build``, ``make``."""

    run: Run
    command: SimpleCommand
    label: str
    ecosystem: str
    """go, rust, java, node, dotnet, c (make, cmake, gcc...)."""


_SCRIPT = re.compile(r"(?:build|compile|bundle|dist)(?:[:_-].*)?")
_BUNDLERS = {"tsc": "node", "webpack": "node", "rollup": "node", "esbuild": "node",
             "javac": "java"}  # fmt: skip
#: Frameworks whose ``build`` subcommand bundles an application.
_BUILD_SUBCOMMAND = frozenset(
    {"vite", "ng", "next", "nuxt", "nuxi", "parcel", "gatsby", "react-scripts",
     "vue-cli-service", "astro", "remix", "svelte-kit", "turbo", "nx"}
)  # fmt: skip
_NATIVE = frozenset({"make", "gmake", "cmake", "ninja", "gcc", "g++", "cc", "c++", "clang",
                     "clang++", "configure"})  # fmt: skip
_RUNNERS = frozenset({"npx", "pnpx", "bunx"})
_INFO = frozenset({"--version", "-v", "-V", "--help", "-h", "-dumpversion"})


def _operation_step(op: PackageOperation) -> tuple[str, str] | None:
    """(label, ecosystem) when a package-manager command compiles."""
    m = op.manager
    if m == "go" and (
        op.action == "build"
        or (op.action == "install" and all(p.kind == "path" for p in op.packages))
    ):
        return f"go {op.subcommand}", "go"
    if m == "cargo" and op.action in ("build", "install") and op.subcommand != "doc":
        return f"cargo {op.subcommand}", "rust"
    if m in ("mvn", "gradle") and op.action in ("build", "test"):
        return f"{m} {op.subcommand}".strip(), "java"
    if m == "dotnet" and op.action in ("build", "publish"):
        return f"dotnet {op.subcommand}", "dotnet"
    if m in ("npm", "yarn", "pnpm") and (
        op.action == "run" or op.subcommand == "build"  # ``yarn build`` runs the build script
    ):
        if op.subcommand in ("run", "run-script"):
            script = op.operands[0] if op.operands else ""
        else:
            script = op.subcommand  # ``yarn build``
        if _SCRIPT.fullmatch(script):
            return f"{m} run {script}" if m == "npm" else f"{m} {script}", "node"
    return None


def _command_step(cmd: SimpleCommand) -> tuple[str, str] | None:
    argv = cmd.argv
    if argv and argv[0].rsplit("/", 1)[-1] in _RUNNERS:
        argv = tuple(a for a in argv[1:] if not a.startswith("-"))
    if not argv or any(a in _INFO for a in argv[1:2]):
        return None
    name = argv[0].rsplit("/", 1)[-1]
    if name in _BUNDLERS:
        return name, _BUNDLERS[name]
    if name in _BUILD_SUBCOMMAND and "build" in argv[1:3]:
        return f"{name} build", "node"
    if name in _NATIVE:
        return (f"{name} install" if argv[1:2] == ("install",) else name), "c"
    return None


def build_steps(runs: Iterable[Run], env: Mapping[str, str]) -> Iterator[BuildStep]:
    """The first compiling command of each of ``runs``; a RUN that installs its build tools
    and removes them again (the official images' build-from-source RUNs) leaves no toolchain
    behind and is skipped."""
    for run in runs:
        if cleans_up(run, env):
            continue
        found: list[tuple[int, SimpleCommand, str, str]] = []
        for op in run.operations.packages:
            step = _operation_step(op)
            if step is not None:
                found.append((op.command.start, op.command, *step))
        for cmd in run.script.commands:
            step = _command_step(cmd)
            if step is not None:
                found.append((cmd.start, cmd, *step))
        if found:
            _, cmd, label, ecosystem = min(found, key=lambda f: f[0])
            yield BuildStep(run, cmd, label, ecosystem)


# --------------------------------------------------------------------------------------------
# stages


def stage_runs(ctx: DockerfileContext, stage: Stage) -> list[Run]:
    """The RUNs of one stage (ONBUILD ones excluded: they run in another build)."""
    return list(ctx.memo("toolchain.stage_runs", _runs_by_stage).get(stage.index, ()))


def _runs_by_stage(ctx: DockerfileContext) -> dict[int, list[Run]]:
    out: dict[int, list[Run]] = {}
    for run in ctx.runs:
        out.setdefault(run.stage.index, []).append(run)
    return out


def stage_env(ctx: DockerfileContext, stage: Stage) -> Mapping[str, str]:
    """The ARG and ENV values of the stage and the stages it is built FROM (their last
    values: enough to read a package list kept in a variable)."""
    return stage_env_maps(ctx)[stage.index]


def stage_env_maps(ctx: DockerfileContext) -> list[Mapping[str, str]]:
    """Every stage's ``stage_env`` by index, computed once per Dockerfile."""
    return ctx.memo("toolchain.stage_envs", _stage_envs)


def _stage_envs(ctx: DockerfileContext) -> list[Mapping[str, str]]:
    """Every stage's ``stage_env``: the ARGs of its chain (a persistent map built on its
    base's) under its ENV (which holds what it inherits already), so deep FROM chains cost
    linear time and memory, not a walk back and a copy per stage."""
    args: list[Map[str, str]] = []
    out: list[Mapping[str, str]] = []
    for stage in ctx.build.stages:
        base = base_of(stage)
        args.append((args[base] if base is not None else Map()).update(stage.args))
        out.append(Overlay(stage.env, args[-1]))
    return out


def whole_context_copy(stage: Stage) -> Instruction | None:
    """A ``COPY . .`` / ``ADD . /app`` of the whole build context in ``stage``."""
    for inst in stage.instructions:
        if inst.name not in ("COPY", "ADD") or inst.flag("from"):
            continue
        sources = inst.values[:-1]
        if any(s in (".", "./") for s in sources):
            return inst
    return None


#: Where each ecosystem's output goes once built in a builder stage.
RUNTIME_HINT = {
    "go": "scratch or gcr.io/distroless/static-debian12 (CGO_ENABLED=0)",
    "rust": "gcr.io/distroless/cc-debian12 or debian:12-slim",
    "java": "a JRE image such as eclipse-temurin:21-jre",
    "dotnet": "mcr.microsoft.com/dotnet/aspnet",
    "node": "a slim Node.js image with production dependencies only (or nginx for a static bundle)",
    "c": "debian:12-slim or gcr.io/distroless/cc-debian12, with only the runtime libraries",
}
