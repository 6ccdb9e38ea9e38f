from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import apt_lists_read_later, cleanup_fix
from keelhaul.rules.dockerfile.shared.packages import (
    APT_ARCHIVES,
    APT_LISTS,
    fill_span,
    kept_caches,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, APT_LISTS, APT_ARCHIVES):
        if fill.cache is APT_LISTS:
            cleanup = "rm -rf /var/lib/apt/lists/*"
            message = (f"`{fill.program}` leaves the package lists in /var/lib/apt/lists "
                       "(20-50 MB) in this layer; end the RUN with "
                       "`&& rm -rf /var/lib/apt/lists/*`")  # fmt: skip
        else:
            cleanup = "apt-get clean"
            message = (f"`{fill.program}` keeps the downloaded .deb files in "
                       "/var/cache/apt/archives (docker-clean is switched off in this stage); "
                       "end the RUN with `&& apt-get clean` or mount a cache at "
                       "/var/cache/apt")  # fmt: skip
        # a later RUN installing without its own update needs the lists: no fix then
        later = fill.cache is APT_LISTS and apt_lists_read_later(ctx, run)
        fix = None if later else cleanup_fix(ctx, run, fill.command, cleanup,
                                             f"end the RUN with `&& {cleanup}`")  # fmt: skip
        yield Hit(run.instruction, message, run.stage, fill_span(run, fill), fix)


register(
    Rule(
        code="KH105",
        name="apt-lists-not-removed",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="apt lists (or kept .deb archives) not removed in the RUN that downloaded them.",
        explanation=(
            "`apt-get update` downloads package lists into /var/lib/apt/lists (20-50 MB on "
            "Debian and Ubuntu); `apt-get clean` does not remove them. Removed in a later RUN "
            "they still ship in the earlier layer. Remove them in the same RUN, or use a "
            "BuildKit cache mount for /var/lib/apt/lists. The official Debian and Ubuntu "
            "images delete downloaded .deb files after each install (their docker-clean apt "
            "hook); when a Dockerfile switches that off, /var/cache/apt/archives must be "
            "emptied (`apt-get clean`) or mounted as a cache too. Only stages that end up in "
            "the image are checked: a builder stage's leftovers never ship."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Removes apt's package lists at the end of the RUN that downloaded them, only "
            "when the RUN succeeded and no later RUN of this or a derived stage reads them "
            "without downloading them again."
        ),
        related={"hadolint": ("DL3009",)},
    )
)
