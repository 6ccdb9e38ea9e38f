"""The unsafe fix of KH125 (build-in-final-stage) for a Java application built with Maven or
Gradle: a build stage with the JDK, then a JRE runtime stage. (Being written.)"""

from __future__ import annotations

from keelhaul.findings import Fix
from keelhaul.rules.dockerfile._images_toolchain import BuildStep
from keelhaul.rules.registry import DockerfileContext, fix_builder


@fix_builder
def java_multistage_fix(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    """Not written yet: no fix."""
    return None
