"""Build tools a final stage keeps because the container uses them when it runs (KH124, KH125).

Read from the file, three shapes:

- **Kernel modules for the host.** An image that installs ``kmod`` or ``dkms`` (modprobe,
  insmod, the module builder) next to a compiler builds out-of-tree modules for the kernel it
  runs on, which only the host can tell: a WireGuard or driver installer, a kernel test suite.
- **A compile service or a source-build kit.** ``distcc``/``icecc`` serve compilations;
  Debian's ``r-base-dev`` is R's kit for installing packages from source (CRAN ships sources
  for Linux), which an R environment's users do when they work.
- **A program run from the sources the build fetched** that nothing in the build compiles:
  the compilers are installed, no RUN uses them (no make, go build, pip, npm, no
  ``... install``), and the container starts in a ``/usr/src`` tree a RUN downloads into
  (``ENTRYPOINT ["/usr/src/unixbench/Run"]``): a benchmark or test suite that compiles its
  parts when it starts.

Headers alone (``libexif-dev`` for the library in it) are never a run-time need: they are
reported as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from keelhaul.rules.dockerfile.shared.images import final_chain
from keelhaul.rules.dockerfile.shared.security import script_text
from keelhaul.rules.dockerfile.shared.toolchain import (
    SYSTEM_MANAGERS,
    build_steps,
    installs_build_tools,
    is_build_tool,
    packages,
    script_env,
    stage_env,
    stage_runs,
)
from keelhaul.rules.registry import DockerfileContext, Run

#: Packages that load or build kernel modules (modprobe and insmod, DKMS).
_KERNEL_MODULES = frozenset({"kmod", "dkms", "module-init-tools"})
#: Packages whose purpose is to compile when the container runs.
_COMPILE_AT_RUN = frozenset({"distcc", "icecc", "icecream", "r-base-dev"})
#: Build tools that are headers or source control, not compilers.
_NOT_COMPILER = re.compile(r".+-dev|.+-devel|.+-headers|linux-headers.*|git|git-core|"
                           r"subversion|mercurial|pkg-config|pkgconf|pkgconfig")  # fmt: skip
#: Commands that compile what they install though no package manager keelhaul parses runs
#: them; any other command's ``install`` word counts too (``vagrant plugin install``).
_COMPILING_COMMANDS = frozenset(
    {"configure", "phpize", "pecl", "docker-php-ext-install", "cpanm", "cpan", "R", "Rscript",
     "node-gyp", "setup.py", "ninja", "meson", "scons", "bazel", "rpmbuild", "debuild"}
)  # fmt: skip
_FETCH = re.compile(r"\b(?:curl|wget|git\s+clone|svn\s+(?:co|checkout)|tar|unzip)\b")


def run_time_toolchain(ctx: DockerfileContext) -> str:
    """Why the target keeps its build tools for run time (a clause for a message), or ""."""
    return ctx.memo("run-time-toolchain", _run_time_toolchain)


def _run_time_toolchain(ctx: DockerfileContext) -> str:
    stages = final_chain(ctx)
    runs = [(run, stage_env(ctx, stage)) for stage in stages for run in stage_runs(ctx, stage)]
    if not any(installs_build_tools([run], env) for run, env in runs):
        return ""
    installed = {
        spec.name.lower()
        for run, env in runs
        for op in run.operations.packages
        if op.manager in SYSTEM_MANAGERS and op.action == "install"
        for spec in packages(op, script_env(run, env))
    }
    if installed & _KERNEL_MODULES:
        return "it installs kmod or dkms: it builds kernel modules for its host when it runs"
    if installed & _COMPILE_AT_RUN:
        return f"it installs {min(installed & _COMPILE_AT_RUN)}, which compiles when it runs"
    compilers = {n for n in installed if is_build_tool(n) and not _NOT_COMPILER.fullmatch(n)}
    if not compilers or any(_builds(run, env) for run, env in runs):
        return ""
    tree = _source_tree(ctx)
    if tree and any(tree in script_text(run) and _FETCH.search(script_text(run))
                    for run, _ in runs):  # fmt: skip
        return (f"it runs from the sources it fetched into {tree} and no step of its build "
                "uses its compilers: they compile when it runs")  # fmt: skip
    return ""


def _builds(run: Run, env: Mapping[str, str]) -> bool:
    """The RUN compiles or installs something that may compile (pip, make, ``... install``)."""
    if next(build_steps([run], env), None) is not None:
        return True
    if any(op.manager not in SYSTEM_MANAGERS for op in run.operations.packages):
        return True
    for cmd in run.script.commands:
        name = cmd.argv[0].rsplit("/", 1)[-1] if cmd.argv else ""
        if name in SYSTEM_MANAGERS or name == "dpkg":
            continue
        words = [w.rsplit("/", 1)[-1] for w in cmd.argv[:2]]
        if any(w in _COMPILING_COMMANDS for w in words) or "install" in cmd.argv[1:3]:
            return True
    return False


def _source_tree(ctx: DockerfileContext) -> str:
    """The ``/usr/src/NAME`` folder the target starts in (its ENTRYPOINT or WORKDIR), or ""."""
    found = ""
    for inst in (i for s in final_chain(ctx) for i in s.instructions):
        if inst.name in ("WORKDIR", "ENTRYPOINT") and inst.values:
            word = inst.values[0]
            m = re.match(r"/usr/src/[^/\s\"]+", word)
            if m:
                found = m.group(0)
    return found
