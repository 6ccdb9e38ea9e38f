from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import cleanup_fix
from keelhaul.rules.dockerfile.shared.packages import RPM_CACHE, fill_span, kept_caches
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, RPM_CACHE):
        manager = fill.op.manager if fill.op is not None else "yum"
        cleanup = f"{fill.command.name} clean all"
        fix = cleanup_fix(ctx, run, fill.command, cleanup, f"end the RUN with `&& {cleanup}`")
        yield Hit(run.instruction, f"`{fill.program}` leaves its repository metadata and "
                  f"package cache in {fill.shown} in this layer; end the RUN with "
                  f"`&& {manager} clean all`", run.stage, fill_span(run, fill),
                  fix)  # fmt: skip


register(
    Rule(
        code="KH160",
        name="yum-dnf-cache-kept",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`yum`/`dnf`/`microdnf`/`tdnf` install without `clean all` in the same RUN.",
        explanation=(
            "yum and dnf download the repository metadata (tens to hundreds of MB on Fedora, "
            "CentOS and RHEL) into /var/cache/yum or /var/cache/dnf (/var/cache/libdnf5 with "
            "dnf5) and it ships in the layer. `yum clean all` / `dnf clean all` (`clean "
            "metadata` at least), `rm -rf /var/cache/dnf` at the end of the same RUN, or a "
            "cache mount there keeps it out; cleaning in a later RUN saves nothing. "
            "`--setopt=keepcache=0` drops downloaded packages but not the metadata. yum and "
            "dnf are one rule, as yum is dnf on RHEL 8 and later. Only stages that end up in "
            "the image are checked."
        ),
        bad="FROM rockylinux:9\nRUN dnf install -y httpd\n",
        good="FROM rockylinux:9\nRUN dnf install -y httpd && dnf clean all\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Appends `yum/dnf clean all` to the RUN that filled the cache, after everything "
            "else succeeded: the packages installed are the same, and a later install "
            "downloads the metadata again."
        ),
        related={
            "hadolint": ("DL3032", "DL3040"),
            "trivy": ("DS-0015", "DS-0019", "DS-0027"),
        },
    )
)
