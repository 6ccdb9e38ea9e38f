import re
from collections.abc import Iterator
from dataclasses import replace

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, words_fix
from keelhaul.rules.dockerfile.packages_and_caches._recommends import left_out, why_unsafe
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
    fixes of KH103 and KH104 give the same words in either order.

    ``ca-certificates`` goes in by name when the packages recommend it (curl, wget, git...)
    or when keelhaul does not know what they recommend: without it every later HTTPS
    download fails. The fix is safe only when everything else left out is known to be
    unused (:mod:`._recommends`); otherwise it is unsafe and says what goes.
    """
    index = subcommand_index(op)
    if index is not None and op.command.argv[index + 1 : index + 2] in (("-y",), ("--yes",)):
        index += 1
    names = [p.name if p.kind == "name" and "$" not in p.raw else p.raw for p in op.packages]
    found = left_out(
        names if names and not op.has("-f", "--fix-broken") else ["the missing dependencies (-f)"]
    )
    words = ("--no-install-recommends", "ca-certificates") if found.certificates else (
        "--no-install-recommends",)  # fmt: skip
    kept = ", keeping ca-certificates" if found.certificates else ""
    fix = words_fix(ctx, run, op.command, index, words,
                    f"`{shown(op)} --no-install-recommends`{kept}")  # fmt: skip
    if fix is None or not (found.notable or found.unknown):
        return fix
    return replace(fix, safety=Safety.UNSAFE, why_unsafe=why_unsafe(found))


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
            "set `APT::Install-Recommends` in apt's configuration.\n\n"
            "Fix: `--no-install-recommends`, and `ca-certificates` by name when the packages "
            "recommend it (curl, wget, git, nodejs...) or keelhaul does not know what they "
            "recommend: without it every later HTTPS download (curl, git clone, pip) fails "
            "with a certificate error. What each package leaves out was measured on Debian 12; "
            "when that includes something a program may use (git's openssh-client, gcc's "
            "libc6-dev, python3-pip's build-essential) or a package keelhaul does not know, "
            "the fix is unsafe and names what goes."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "ca-certificates curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Safe only when keelhaul knows (measured on Debian 12) everything the listed "
            "packages recommend and none of it is used by a program (translations, manual "
            "pages, libraries nothing else loads); ca-certificates is kept by name when "
            "they recommend it, or when keelhaul cannot tell. Otherwise unsafe: it names "
            "the recommended packages that go (git's openssh-client, gcc's libc6-dev...), "
            "which a later step or the program may use."
        ),
        related={"hadolint": ("DL3015",), "trivy": ("DS-0029",)},
    )
)
