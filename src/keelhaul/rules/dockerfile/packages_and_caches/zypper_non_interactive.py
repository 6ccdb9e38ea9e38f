from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import words_fix
from keelhaul.rules.dockerfile.shared.packages import analysis, answered_by_pipe, operation_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in analysis(ctx).runs:
        for op in run.operations.packages:
            if op.manager != "zypper" or op.action not in ("install", "upgrade", "remove"):
                continue
            if op.assume_yes or answered_by_pipe(run, op):
                continue
            yield Hit(run.instruction, f"`zypper {op.subcommand}` without --non-interactive "
                      "(`zypper -n ...`) or -y stops at its prompt and fails the build",
                      run.stage, operation_span(run, op),
                      words_fix(ctx, run, op.command, 0, ("-n",),
                                "`zypper -n`: non-interactive"))  # fmt: skip


register(
    Rule(
        code="KH166",
        name="zypper-non-interactive",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="`zypper install` (or remove, update, patch) without `-n`/`-y`.",
        explanation=(
            "zypper asks before changing packages; with no terminal the build stops there. "
            "Give the global `--non-interactive` (`zypper -n install ...`; after the "
            "subcommand `-n` means --name) or the command's `-y`/`--no-confirm`."
        ),
        bad="FROM opensuse/leap:15.6\nRUN zypper install curl && zypper clean --all\n",
        good="FROM opensuse/leap:15.6\nRUN zypper -n install curl && zypper clean --all\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`-n` only answers zypper's prompt, which in a build reads no input and aborts: "
            "the command either did not ask (nothing changes) or failed (now it completes "
            "as written)."
        ),
        related={"hadolint": ("DL3034",)},
    )
)
