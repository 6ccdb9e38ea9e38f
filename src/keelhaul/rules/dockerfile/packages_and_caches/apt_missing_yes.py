import re
from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, words_fix
from keelhaul.rules.dockerfile.shared.packages import (
    analysis,
    answered_by_pipe,
    operation_span,
    shown,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: An earlier RUN that writes ``APT::Get::Assume-Yes "true"`` into apt's configuration.
CONFIGURED = re.compile(r"APT::Get::Assume-Yes", re.IGNORECASE)
#: Options that only show what would happen: nothing to confirm.
DRY_RUN = ("-s", "--simulate", "--just-print", "--dry-run", "--recon", "--no-act", "--print-uris")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    for run in found.runs:
        for op in run.operations.packages:
            if op.manager not in ("apt-get", "apt") or op.action not in (
                "install", "upgrade", "remove"
            ):  # fmt: skip
                continue
            if op.assume_yes or op.has(*DRY_RUN) or answered_by_pipe(run, op):
                continue
            if found.configured(run, CONFIGURED, "/etc/apt/apt.conf"):
                continue
            fix = words_fix(ctx, run, op.command, subcommand_index(op), ("-y",),
                            f"`{shown(op)} -y`")  # fmt: skip
            yield Hit(run.instruction, f"`{shown(op)}` without -y stops "
                      "at its confirmation prompt and fails the build", run.stage,
                      operation_span(run, op), fix)  # fmt: skip


register(
    Rule(
        code="KH104",
        name="apt-missing-yes",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="`apt-get install` (or upgrade, remove) without `-y`.",
        explanation=(
            "With no terminal, apt asks 'Do you want to continue?' and reads end-of-file as "
            "no: the build fails as soon as something beyond the named packages must be "
            "installed or removed. `-y`, `-qq`, `--assume-yes` or `APT::Get::Assume-Yes` in "
            "apt's configuration answer it; DEBIAN_FRONTEND=noninteractive does not."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install --no-install-recommends curl\n",
        good="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`-y` only answers apt's prompt, which in a build reads no input and aborts: "
            "the install either did not ask (nothing changes) or failed (now it completes "
            "as written)."
        ),
        related={"hadolint": ("DL3014",), "trivy": ("DS-0021",)},
    )
)
