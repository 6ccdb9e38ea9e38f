"""The unsafe fix of KH125 (build-in-final-stage) for a front-end bundled with npm, yarn or pnpm:
a build stage, then a static file server serving the bundle. (Being written.)"""

from __future__ import annotations

from keelhaul.findings import Fix
from keelhaul.rules.dockerfile._images_toolchain import BuildStep
from keelhaul.rules.registry import DockerfileContext, fix_builder


@fix_builder
def node_multistage_fix(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    """Not written yet: no fix."""
    return None
