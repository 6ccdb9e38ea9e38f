import re
from collections.abc import Iterator, Mapping
from dataclasses import replace

from keelhaul.dockerfile.operations import Download
from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.images import image_name
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction
from keelhaul.rules.dockerfile.shared.packages import word_span
from keelhaul.rules.dockerfile.shared.structure import chain
from keelhaul.rules.dockerfile.structure._fixes import wget_progress_fix
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Long options that keep wget from printing its progress (or send its log elsewhere).
_QUIET_LONG = re.compile(r"--(?:quiet|no-verbose|progress|output-file|append-output|"
                         r"show-progress)(?:=|\Z)")  # fmt: skip
#: Short options of wget that take a value: a cluster stops at them (`-qO-`, `-O-q`).
_VALUED = frozenset("OoaPtTwUeiBlARDXIQY")


def _quiet(arg: str) -> bool:
    if arg.startswith("--"):
        return _QUIET_LONG.match(arg) is not None
    if arg == "-nv":
        return True
    if not arg.startswith("-") or arg.startswith("-n"):
        return False
    for ch in arg[1:]:
        if ch in "qoa":
            return True  # -q, or -o/-a: the log goes to a file
        if ch in _VALUED:
            return False
    return False


#: Files so small that their progress lines do not matter.
_SMALL = re.compile(r"\.(?:asc|sig|gpg|key|pub|pem|crt|sha\d*|sha\d+sum|md5|txt|sh|json|ya?ml|"
                    r"xml|conf|cfg|repo|list|toml|ini)\Z", re.I)  # fmt: skip


def _noisy(dl: Download) -> bool:
    if dl.tool != "wget" or any(_quiet(a) for a in dl.command.args):
        return False
    urls = [u.split("?", 1)[0] for u in dl.urls]
    return bool(urls) and not all(_SMALL.search(u) for u in urls)


def _installs_wget_before(
    ctx: DockerfileContext, stage: Stage, runs: Mapping[int, list[Run]], run: Run, dl: Download
) -> bool:
    """A package manager installs wget before ``dl`` runs: in an earlier instruction of the
    stage chain, or earlier in the same RUN (a later install does not help this download)."""
    for link in chain(ctx.build, stage):
        for inst in link.instructions:
            if link is stage and inst.start_line > run.instruction.start_line:
                break
            for other in runs.get(id(inst), []):
                for op in other.operations.packages:
                    if other is run and op.command.start > dl.command.start:
                        continue
                    if any(p.name == "wget" for p in op.packages):
                        return True
    return False


def _busybox(
    ctx: DockerfileContext, stage: Stage, runs: Mapping[int, list[Run]], run: Run, dl: Download
) -> bool:
    """Alpine's (and busybox's) wget is busybox's, which draws one progress line, unless the
    stage chain installs GNU wget before the download."""
    base = ctx.build.root(stage).base.lower()
    if "alpine" not in base and "busybox" not in base:
        return False
    return not _installs_wget_before(ctx, stage, runs, run, dl)


#: Official images whose wget is GNU wget (Debian, Ubuntu, Fedora and images built on them).
_GNU_WGET = frozenset({"debian", "ubuntu", "fedora", "centos", "rockylinux", "almalinux",
                       "oraclelinux", "amazonlinux", "python", "node", "buildpack-deps",
                       "golang", "rust", "ruby", "openjdk", "eclipse-temurin", "maven",
                       "gradle", "php", "perl", "gcc"})  # fmt: skip
_BUSYBOX_TOO = ("alpine", "busybox", "musl")
_NOT_GNU = ("if the image's wget is BusyBox's (Alpine-based images; keelhaul cannot see the "
            "base image), it rejects --progress and the RUN fails")  # fmt: skip


def _gnu_wget(
    ctx: DockerfileContext, stage: Stage, runs: Mapping[int, list[Run]], run: Run, dl: Download
) -> bool:
    """The wget of ``dl`` is known to be GNU wget: the base is one of :data:`_GNU_WGET` (not
    an Alpine variant), or the stage chain installs wget before the download."""
    base = ctx.build.root(stage).base.lower()
    if image_name(base) in _GNU_WGET and not any(w in base for w in _BUSYBOX_TOO):
        return True
    return _installs_wget_before(ctx, stage, runs, run, dl)


def _configured(runs: Mapping[int, list[Run]]) -> bool:
    """A RUN writes a wgetrc (``progress = dot:giga``) or sets WGETRC."""
    return any(
        "wgetrc" in word.lower() or "WGETRC" in dict(cmd.env)
        for found in runs.values()
        for run in found
        for cmd in run.script.commands
        for word in (*cmd.words, *(target for _, target in cmd.redirects))
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    runs = runs_by_instruction(ctx)
    if _configured(runs):
        return
    wgetrc = ctx.build.chain_flags("sets WGETRC", lambda st: bool(st.env.get("WGETRC")))
    for stage in ctx.build.stages:
        if wgetrc[stage.index]:
            continue
        for inst in stage.instructions:
            for run in runs.get(id(inst), []) if inst.name == "RUN" else ():
                noisy = next((d for d in run.operations.downloads if _noisy(d)), None)
                if noisy is None or _busybox(ctx, stage, runs, run, noisy):
                    continue
                span = word_span(run, noisy.command, 0)
                fix = wget_progress_fix(inst, span, noisy.command, ctx.tree.escape)
                if fix is not None and not _gnu_wget(ctx, stage, runs, run, noisy):
                    fix = replace(fix, safety=Safety.UNSAFE, why_unsafe=_NOT_GNU)
                yield Hit(inst, "`wget` prints a progress line for every 50 KB it downloads "
                          "into the build log (2,000 lines for 100 MB); add `-q`, `-nv` or "
                          "`--progress=dot:giga`", stage, span, fix)  # fmt: skip


register(
    Rule(
        code="KH188",
        name="wget-progress",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="GNU wget without `-q`, `-nv` or `--progress`: a log flooded with progress dots.",
        explanation=(
            "Without a terminal GNU wget shows its progress as dots, one line per 50 KB: a "
            "100 MB download writes 2,000 lines into the build log, which CI systems store, "
            "truncate, and make you scroll through to find the error. `wget -q` (or `-nv`, "
            "or `--progress=dot:giga` to keep a little progress) keeps the log readable.\n\n"
            "Not flagged: downloads of small files (keys, checksums, scripts, lists), "
            "Alpine and busybox stages where wget is busybox's (unless the stage installs GNU "
            "wget), and Dockerfiles that configure wget through a wgetrc or WGETRC.\n\n"
            "Fix: `--progress=dot:giga` after wget; safe on a base known to ship GNU wget (or "
            "a stage that installs wget), unsafe on another base, whose wget may be BusyBox's, "
            "which rejects the option."
        ),
        bad="FROM debian:12\nRUN wget -O /tmp/go.tgz https://go.dev/dl/go1.22.5.linux-amd64.tar.gz\n",
        good=(
            "FROM debian:12\nRUN wget -q -O /tmp/go.tgz "
            "https://go.dev/dl/go1.22.5.linux-amd64.tar.gz\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Safe where the stage's wget is GNU wget (a Debian, Ubuntu, Fedora... base, or "
            "one that installs wget), which reads `--progress=dot:giga` and only prints "
            "less. Unsafe on an unknown base image: BusyBox's wget (Alpine-based images) "
            "rejects the option and the RUN fails."
        ),
        related={"hadolint": ("DL3047",)},
    )
)
