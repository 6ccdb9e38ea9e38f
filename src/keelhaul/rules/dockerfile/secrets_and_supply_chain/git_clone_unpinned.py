import re
from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import needed_runs, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Branch names: what they point to moves with every push.
_BRANCHES = re.compile(r"^(?:master|main|develop|dev|devel|trunk|next|nightly|latest|HEAD|"
                       r"stable|release|unstable|edge|gh-pages)$")  # fmt: skip
#: git options that take a value as the next word.
_VALUED = frozenset(
    {"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "--reference",
     "--separate-git-dir", "-j", "--jobs", "--filter", "--shallow-since", "--shallow-exclude",
     "-u", "--upload-pack", "--template"}
)  # fmt: skip
#: A later command that moves the clone to a fixed revision.
_PINS = re.compile(r"^(?:checkout|reset|switch)$")

#: The user and password part of a URL (never shown in a message).
_USERINFO = re.compile(r"://[^/@\s]+@")


def _clone(cmd: SimpleCommand) -> tuple[int, str | None] | None:
    """(index of the URL in argv, the --branch value) for ``git clone``, else None."""
    argv = list(cmd.argv)
    if cmd.name != "git":
        return None
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("-C", "-c") else 1  # git -C dir clone
    if i >= len(argv) or argv[i] != "clone":
        return None
    branch: str | None = None
    url_at: int | None = None
    j = i + 1
    while j < len(argv):
        word = argv[j]
        if word in ("-b", "--branch") and j + 1 < len(argv):
            branch = argv[j + 1]
        elif word.startswith("--branch="):
            branch = word.removeprefix("--branch=")
        if word in _VALUED:
            j += 2
            continue
        if not word.startswith("-") and url_at is None:
            url_at = j
        j += 1
    return None if url_at is None else (url_at, branch)


def _pinned_later(run: Run, after: int) -> bool:
    for cmd in run.script.commands:
        if cmd.start < after or cmd.name != "git":
            continue
        words = [w for w in cmd.argv[1:] if not w.startswith("-")]
        if cmd.argv[1:2] == ("-C",) or "-C" in cmd.argv:
            words = words[1:]
        if words and _PINS.match(words[0]):
            return True
    return False


def _later_runs_pin(ctx: DockerfileContext, run: Run) -> bool:
    seen = False
    for other in needed_runs(ctx):
        if other is run:
            seen = True
            continue
        if seen and other.stage.index == run.stage.index and _pinned_later(other, -1):
            return True
    return False


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in needed_runs(ctx):
        for cmd in run.script.commands:
            found = _clone(cmd)
            if found is None:
                continue
            url_at, branch = found
            if branch is not None and not _BRANCHES.match(branch):
                continue  # a tag or a build argument (a version): pinned enough
            if _pinned_later(run, cmd.end) or _later_runs_pin(ctx, run):
                continue
            url = _USERINFO.sub("://…@", cmd.argv[url_at])
            what = f"branch {branch}" if branch else "its default branch"
            yield Hit(run.instruction, f"git clone {url} takes {what}, whatever it holds at "
                      "build time: the image changes, or breaks, with every push upstream; "
                      "clone a tag (--branch v1.2.3) or check out a commit after cloning",
                      run.stage, word_span(run, cmd, url_at))  # fmt: skip


register(
    Rule(
        code="KH222",
        name="git-clone-unpinned",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="`git clone` of a branch, not a tag or a commit.",
        explanation=(
            "A clone with no `--branch`, or with a branch name (`master`, `main`...), builds "
            "whatever was pushed last: two builds of the same Dockerfile differ, a bad or "
            "malicious push goes straight into the image, and the build cache hides which "
            "revision an image holds. Clone a release tag (`git clone --branch v1.2.3 "
            "--depth 1 URL`), or check out a commit after cloning (`git -C dir checkout "
            "<sha>`), or use `ADD URL.git#<sha>`. A `--branch` given by a build argument "
            '(`--branch "$VERSION"`) counts as pinned, as does a later `git checkout`, '
            "`git reset` or `git switch` in the same RUN or a later RUN of the stage."
        ),
        bad="FROM debian:12\nRUN git clone https://github.com/example/tool.git /src/tool\n",
        good=(
            "FROM debian:12\n"
            "RUN git clone --depth 1 --branch v1.4.2 https://github.com/example/tool.git /src/tool\n"
        ),
        check=check,
    )
)
