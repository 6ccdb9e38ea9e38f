from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import MOVING, analysis, operation_span, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _remote(path: str) -> bool:
    """``github.com/x/y``: a module path (its first element has a dot), not a local package."""
    return not path.startswith((".", "/", "$")) and "." in path.split("/", 1)[0]


def _loose(word: str, needs_version: bool) -> str | None:
    """Why ``word`` (a package argument) is not pinned, or None when it is."""
    path, at, version = word.partition("@")
    if at:
        return f"@{version}" if version.lower() in MOVING else None
    if needs_version and _remote(path):
        return "no @version"
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in analysis(ctx).runs:
        for op in run.operations.packages:
            if op.manager != "go" or op.subcommand not in ("install", "get", "run"):
                continue
            # `go install pkg` without @version builds inside the current module, whose go.mod
            # pins it (outside a module Go refuses); `go get pkg` upgrades it to the newest.
            needs_version = op.subcommand == "get"
            words = op.operands[:1] if op.subcommand == "run" else op.operands
            for word in words:
                why = _loose(word, needs_version)
                if why is None:
                    continue
                cmd = op.command
                index = cmd.argv.index(word, 1) if word in cmd.argv[1:] else 0
                span = word_span(run, cmd, index) if index else operation_span(run, op)
                yield Hit(run.instruction, f"`go {op.subcommand} {word}` ({why}) takes the "
                          "newest release on each build; name a version (`@v1.2.3`)",
                          run.stage, span)  # fmt: skip
                break
            else:
                if op.subcommand == "get" and op.has("-u"):
                    yield Hit(run.instruction, "`go get -u` upgrades every dependency to its "
                              "newest release on each build, overriding go.sum's pins",
                              run.stage, operation_span(run, op))  # fmt: skip


register(
    Rule(
        code="KH179",
        name="go-unpinned",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="`go install ...@latest`, `go get` without a version, `go run pkg@latest`.",
        explanation=(
            "`@latest` (or a branch such as `@master`) resolves to whatever the module's "
            "newest version is on the day of the build, so the tool in the image changes "
            "without a change to the Dockerfile. The module proxy keeps every version, so "
            "`@v1.2.3` pins do not rot. `go install ./cmd/x` and `go install pkg` inside a "
            "module are pinned by go.mod and go.sum and not flagged; local paths never are. "
            "Information by default."
        ),
        bad="FROM golang:1.23 AS tools\nRUN go install golang.org/x/tools/gopls@latest\n",
        good="FROM golang:1.23 AS tools\nRUN go install golang.org/x/tools/gopls@v0.16.2\n",
        check=check,
        related={"hadolint": ("DL3062",)},
    )
)
