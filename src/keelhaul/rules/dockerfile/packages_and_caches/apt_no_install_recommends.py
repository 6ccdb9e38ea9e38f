import re
from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, words_fix
from keelhaul.rules.dockerfile.shared.packages import analysis, listed, operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: apt-get's options that only simulate: nothing is installed (``if apt-get install -s pkg``
#: probes whether a package exists, as the official postgres image does).
SIMULATE = ("-s", "--simulate", "--just-print", "--dry-run", "--recon", "--no-act")

#: An earlier RUN that writes ``APT::Install-Recommends "false"`` into apt's configuration.
CONFIGURED = re.compile(r"APT::Install-Recommends", re.IGNORECASE)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    for run in found.shipped_runs():
        for op in run.operations.packages:
            # build-dep's packages are build tools, purged again by the RUN that builds
            wanted = (
                op.manager in ("apt-get", "apt")
                and op.action == "install"
                and op.subcommand != "build-dep"
                and (op.packages or op.has("-f", "--fix-broken"))
            )
            if not wanted or op.no_install_recommends or op.has(*SIMULATE):
                continue
            if found.configured(run, CONFIGURED, "/etc/apt/apt.conf"):
                continue
            what = listed(list(op.packages)) or "the missing dependencies (-f)"
            yield Hit(run.instruction, f"`{shown(op)}` of {what} also installs the packages "
                      "they recommend; add --no-install-recommends", run.stage,
                      operation_span(run, op), _fix(ctx, run, op))  # fmt: skip


def _fix(ctx: DockerfileContext, run: Run, op: PackageOperation) -> Fix | None:
    """``install --no-install-recommends``, after a ``-y`` that follows ``install``, so the
    fixes of KH103 and KH104 give the same words in either order."""
    index = subcommand_index(op)
    if index is not None and op.command.argv[index + 1 : index + 2] in (("-y",), ("--yes",)):
        index += 1
    return words_fix(ctx, run, op.command, index, ("--no-install-recommends",),
                     f"`{shown(op)} --no-install-recommends`")  # fmt: skip


register(
    Rule(
        code="KH103",
        name="apt-no-install-recommends",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`apt-get install` without `--no-install-recommends` in a shipped stage.",
        explanation=(
            "By default apt also installs every package the requested ones recommend: often "
            "tens to hundreds of MB of documentation tools, X libraries and helpers the image "
            "never uses, each one more attack surface. Only stages that end up in the image "
            "are checked (a builder stage's extras never ship), and not after an earlier RUN "
            "set `APT::Install-Recommends` in apt's configuration."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        fix=Safety.SAFE,
        related={"hadolint": ("DL3015",), "trivy": ("DS-0029",)},
    )
)
