"""The steps that cost minutes when they rebuild: dependency installs and compiles.

Reuses the recognisers of the build-cache rules (``step_of``: installs from manifests, build
steps, tool installs) and of the toolchain rules (``build_steps``: ``go build``, ``npm run
build``, ``make``...), so ``keelhaul cache`` and ``keelhaul check`` agree on what an install is.
"""

from __future__ import annotations

from collections.abc import Mapping

from keelhaul.dockerfile.syntax import Dockerfile
from keelhaul.rules.dockerfile.build_cache._dependencies import step_of
from keelhaul.rules.dockerfile.shared.packages import shown
from keelhaul.rules.dockerfile.shared.toolchain import build_steps
from keelhaul.rules.registry import DockerfileContext

#: What each kind of step is called in reports.
INSTALL = "dependency install"
COMPILE = "compile"
SYSTEM = "system packages"
_SYSTEM_MANAGERS = frozenset(
    {"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf", "tdnf", "zypper"}
)


def expensive_steps(
    tree: Dockerfile, build_args: Mapping[str, str] | None = None
) -> dict[int, str]:
    """Start line of each expensive RUN -> what it is (``dependency install: npm ci``)."""
    ctx = DockerfileContext.of(tree, build_args)
    found: dict[int, str] = {}
    for run in ctx.runs:
        line = run.instruction.start_line
        if line in found:
            continue
        for op in run.operations.packages:
            step = step_of(op)
            if step is None:
                continue
            if step.kind == "build":
                found[line] = f"{COMPILE}: {shown(op)}"
            elif step.kind == "manifest":
                found[line] = f"{INSTALL}: {shown(op)}"
            elif op.manager in _SYSTEM_MANAGERS:
                found[line] = f"{SYSTEM}: {shown(op)}"
            else:
                found[line] = f"{INSTALL}: {shown(op)}"
            break
        if line in found:
            continue
        for build_step in build_steps([run], {}):
            found[line] = f"{COMPILE}: {build_step.label}"
            break
    return found
