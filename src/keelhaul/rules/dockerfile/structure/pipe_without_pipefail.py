from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.images import image_name
from keelhaul.rules.dockerfile.shared.layers import Place, places, runs_by_instruction
from keelhaul.rules.dockerfile.shared.packages import word_span
from keelhaul.rules.dockerfile.structure._fixes import pipefail_fix
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Programs that practically never fail at the head of a pipeline: they print what they were
#: given (`echo "$KEY" | gpg --import`) or list local state (`find /usr/local ... | awk ...`,
#: `dpkg -l | awk`), so pipefail would change nothing worth a finding.
_PRODUCERS = frozenset({"echo", "printf", "yes", "true", ":", "find", "ls", "dpkg", "dpkg-query",
                        "scanelf", "ldd", "env", "printenv", "date", "uname", "id", "whoami",
                        "hostname", "pwd", "seq", "basename", "dirname", "nproc", "getconf",
                        "arch", "cat",
                        # and text filters, which fail only on a bad script or option
                        "awk", "gawk", "mawk", "sed", "sort", "uniq", "tr", "cut", "head",
                        "tail", "grep", "egrep", "fgrep", "wc", "rev", "column", "fold",
                        "paste", "fmt", "nl", "tac", "expand", "tee"})  # fmt: skip
#: Programs that fail on an empty or cut-short input, so a failed producer fails the pipeline
#: anyway: tar and the decompressors ("unexpected end of file"), checksum checks, gpg, grep.
_STRICT = frozenset({"tar", "gtar", "bsdtar", "gunzip", "zcat", "unxz", "xzcat", "bunzip2",
                     "bzcat", "unzstd", "zstdcat", "gpg", "gpg2", "apt-key", "grep", "egrep",
                     "fgrep", "rpm"})  # fmt: skip
_DECOMPRESSORS = frozenset({"gzip", "xz", "bzip2", "zstd", "lzma"})
_CHECKSUMS = frozenset({"sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "md5sum",
                        "b2sum", "shasum", "cksum"})  # fmt: skip
#: Shells of SHELL instructions that have no pipes in the POSIX sense.
_OTHER_SHELLS = frozenset({"cmd", "cmd.exe", "powershell", "powershell.exe", "pwsh", "pwsh.exe"})
_WINDOWS = ("windows", "nanoserver", "servercore", "windowsservercore")


def _pipelines(run: Run) -> Iterator[list[SimpleCommand]]:
    """Pipelines run by the RUN's own shell at top level (not in a condition, a substitution,
    a construct or an ``sh -c`` string)."""
    current: list[SimpleCommand] = []
    for cmd in run.script.commands:
        if cmd.context or cmd.parent:
            continue
        current.append(cmd)
        if cmd.connector in ("|", "|&"):
            continue
        if len(current) > 1:
            yield current
        current = []


def _options_before(run: Run, offset: int, shell: tuple[str, ...]) -> tuple[bool, bool]:
    """(pipefail, errexit) in force at ``offset``: SHELL flags, then top-level ``set``."""
    words = " ".join(shell[1:])
    pipefail = "pipefail" in words
    errexit = any(w.startswith("-") and not w.startswith("--") and "e" in w for w in shell[1:])
    for cmd in run.script.commands:
        if cmd.start >= offset:
            break
        if cmd.name != "set" or cmd.context or cmd.parent:
            continue
        args = cmd.args
        for i, arg in enumerate(args):
            on = arg.startswith("-")
            named = args[i + 1] if i + 1 < len(args) else ""
            if arg in ("-o", "+o"):
                if named == "pipefail":
                    pipefail = on
                elif named == "errexit":
                    errexit = on
            elif arg[:1] in "-+" and arg[1:].isalpha():
                if "e" in arg:
                    errexit = on
                if "o" in arg and named == "pipefail":
                    pipefail = on  # set -euo pipefail
    return pipefail, errexit


def _status_matters(last: SimpleCommand, run: Run, errexit: bool) -> bool:
    """Whether the pipeline's status decides anything: the RUN's result or an `&&` chain."""
    if last.connector == "&&":
        return True
    if last.connector in ("||", "&"):
        return False
    final = next((c for c in reversed(run.script.commands) if not c.context and not c.parent),
                 None)  # fmt: skip
    return errexit or final is last


def _fix(place: Place, base: str, shell: tuple[str, ...]) -> str:
    program = shell[0].rsplit("/", 1)[-1] if shell else "sh"
    if program in ("bash", "zsh", "ksh", "mksh", "ash") or "alpine" in base or "busybox" in base:
        return "start the RUN with `set -o pipefail &&`"
    return (
        'put `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before it (the sh of '
        "Debian and Ubuntu, dash, has no pipefail)"
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    where = places(ctx)
    by_inst = runs_by_instruction(ctx)
    for stage in ctx.build.stages:
        base = ctx.build.root(stage).base.lower()
        if any(w in base for w in _WINDOWS):
            continue
        for inst in stage.instructions:
            if inst.name != "RUN" or inst.json:
                continue
            place = where.at(inst)
            shell = place.shell or ("/bin/sh", "-c")
            if shell[0].rsplit("/", 1)[-1].lower() in _OTHER_SHELLS:
                continue
            for run in by_inst.get(id(inst), []):
                hit = _first_unguarded(run, shell)
                if hit is not None:
                    pipeline, risky = hit
                    names = [c.name for c in pipeline]
                    piped = " | ".join(names if len(names) <= 3 else [names[0], "...", names[-1]])
                    yield Hit(inst, f"`{piped}`: the RUN succeeds when `{risky.name}` fails, "
                              f"as long as `{names[-1]}` does not; "
                              f"{_fix(place, image_name(base) + ' ' + base, shell)}", stage,
                              word_span(run, risky, 0),
                              pipefail_fix(inst, ctx.build, stage, place.shell, ctx.tree.escape))  # fmt: skip
                    break


def _fails_on_empty(cmd: SimpleCommand) -> bool:
    name = cmd.name
    if name in _STRICT:
        return True
    if name in _DECOMPRESSORS:
        return any(a in ("-d", "--decompress") or (a[:1] == "-" and "d" in a[1:]) for a in cmd.args)
    if name in _CHECKSUMS:
        return any(a in ("-c", "--check") for a in cmd.args)
    return False


def _first_unguarded(
    run: Run, shell: tuple[str, ...]
) -> tuple[list[SimpleCommand], SimpleCommand] | None:
    """The first pipeline whose hidden failure matters, and its first command that may fail."""
    for pipeline in _pipelines(run):
        risky = next(
            (c for c in pipeline[:-1] if c.name not in _PRODUCERS or (c.name == "cat" and c.args)),
            None,
        )
        if risky is None:
            continue
        if _fails_on_empty(pipeline[-1]):
            continue
        pipefail, errexit = _options_before(run, pipeline[0].start, shell)
        if pipefail or not _status_matters(pipeline[-1], run, errexit):
            continue
        return pipeline, risky
    return None


register(
    Rule(
        code="KH185",
        name="pipe-without-pipefail",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="A RUN pipeline whose failure is hidden: no `set -o pipefail`.",
        explanation=(
            "A pipeline's status is its last command's: in `RUN curl -fsSL $URL | sh` or "
            "`curl ... | tee key.asc`, a failed download gives the last command an empty input "
            "it is happy with, and the build goes on with nothing installed. `set -o pipefail` makes "
            "the pipeline fail when any part fails. Alpine's sh (busybox ash) and bash have "
            "it: start the RUN with `set -o pipefail &&`. The sh of Debian and Ubuntu (dash) "
            'does not: put `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before the '
            "RUN.\n\n"
            "Not flagged: a SHELL that sets pipefail, a `set -o pipefail` (or `set -euo "
            "pipefail`) earlier in the script, pipes fed only by programs that print what they "
            "are given, list local state or filter text (echo, printf, find, ls, dpkg -l, awk, "
            "sed, sort...), pipes "
            "into a program that fails on an empty or truncated input anyway (tar, gunzip, "
            "`sha256sum -c`, gpg, apt-key, grep), pipes "
            "whose status decides nothing (followed by `||`, `&`, or `;` without `set -e`), "
            "pipes in `if`/`while` conditions, substitutions and `sh -c` strings, PowerShell "
            "and cmd shells and Windows images. One finding per RUN.\n\n"
            "Fix: `set -o pipefail && ` before the script where the shell has it; the SHELL line "
            "on images known to ship bash (Debian, Ubuntu and the official images built on "
            "them) when the stage has no SHELL yet. Unsafe: a build that passed may fail (that is "
            "the point: the failure was hidden), and the SHELL line also changes the shell of "
            "later instructions."
        ),
        bad="FROM debian:12\nRUN curl -fsSL https://example.com/key.asc | tee /etc/apt/keyrings/x.asc\n",
        good=(
            'FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
            "RUN curl -fsSL https://example.com/key.asc | tee /etc/apt/keyrings/x.asc\n"
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "The RUN now fails when any command of a pipe fails: a failure that was hidden "
            "stops the build (the point of the rule), and so does a producer cut off early "
            "(`head`, `grep -q`) or a `grep` that matches nothing; a SHELL line also "
            "changes the shell of later instructions."
        ),
        related={"hadolint": ("DL4006",)},
    )
)
