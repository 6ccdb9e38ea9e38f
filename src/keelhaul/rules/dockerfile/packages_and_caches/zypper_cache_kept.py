from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import cleanup_fix
from keelhaul.rules.dockerfile.shared.packages import ZYPPER_CACHE, fill_span, kept_caches
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, ZYPPER_CACHE):
        yield Hit(run.instruction, f"`{fill.program}` leaves its repository metadata and "
                  "package cache in /var/cache/zypp in this layer; end the RUN with "
                  "`&& zypper clean --all`", run.stage, fill_span(run, fill),
                  cleanup_fix(ctx, run, fill.command, "zypper clean --all",
                              "end the RUN with `&& zypper clean --all`"))  # fmt: skip


register(
    Rule(
        code="KH161",
        name="zypper-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`zypper install` without `zypper clean` in the same RUN.",
        explanation=(
            "zypper keeps the repository metadata (raw and solv files, tens of MB for the "
            "openSUSE repositories) under /var/cache/zypp, and it ships in the layer. "
            "`zypper clean --all` (or `rm -rf /var/cache/zypp`) at the end of the same RUN, "
            "or a cache mount there, keeps it out; cleaning in a later RUN saves nothing. Only "
            "stages that end up in the image are checked."
        ),
        bad="FROM opensuse/leap:15.6\nRUN zypper --non-interactive install curl\n",
        good=(
            "FROM opensuse/leap:15.6\n"
            "RUN zypper --non-interactive install curl && zypper clean --all\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Appends `zypper clean --all` to the RUN that filled the cache, after "
            "everything else succeeded: the packages installed are the same, and a later "
            "install downloads the metadata again."
        ),
        related={"hadolint": ("DL3036",), "trivy": ("DS-0020",)},
    )
)
