import posixpath
from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import resolve_word, scopes
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Mounted over at run time (or never part of a container's own files).
SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/boot", "/initrd", "/lost+found")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.name != "WORKDIR" or not inst.values:
                continue
            scope = known.at(inst)
            path = resolve_word(inst.values[0], scope, ctx.tree.escape) if scope else None
            if path is None or not path.startswith("/"):
                continue
            path = posixpath.normpath(path)
            system = next((d for d in SYSTEM_DIRS if path == d or path.startswith(d + "/")), None)
            if system is not None:
                yield Hit(inst, f"WORKDIR {path} is inside {system}, which the container "
                          "runtime mounts over (or which is no place for application "
                          "files); use a directory such as /app", stage,
                          inst.locate(inst.values[0]))  # fmt: skip


register(
    Rule(
        code="KH158",
        name="workdir-system-directory",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="WORKDIR inside /proc, /sys, /dev, /boot or similar system directories.",
        explanation=(
            "At run time the container runtime mounts fresh /proc, /sys and /dev over the "
            "image's, so files written there at build time vanish, and a working directory "
            "inside them is at best confusing. /boot, /initrd and /lost+found belong to a "
            "host, not an image. Keep application files in a directory of their own."
        ),
        bad="FROM debian:12\nWORKDIR /dev/app\n",
        good="FROM debian:12\nWORKDIR /app\n",
        check=check,
        related={"trivy": ("DS-0030",)},
    )
)
