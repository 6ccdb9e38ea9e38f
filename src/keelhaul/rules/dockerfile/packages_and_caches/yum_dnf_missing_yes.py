import re
from collections.abc import Iterator

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, words_fix
from keelhaul.rules.dockerfile.shared.packages import (
    RPM,
    analysis,
    answered_by_pipe,
    operation_span,
    shown,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: ``assumeyes=1`` written into yum.conf/dnf.conf by an earlier RUN.
CONFIGURED = re.compile(r"assumeyes\s*=\s*(?:1|true|yes)", re.IGNORECASE)
CONFIG_FILES = ("/etc/yum.conf", "/etc/dnf/", "/etc/yum/")


def asks(op: PackageOperation) -> bool:
    """Whether the operation asks 'Is this ok [y/N]' before changing packages."""
    first = op.subcommand.split()[0] if op.subcommand else ""
    return op.action in ("install", "upgrade", "remove") or first in ("module", "group")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    for run in found.runs:
        for op in run.operations.packages:
            if op.manager not in RPM or not asks(op) or op.assume_yes:
                continue
            if answered_by_pipe(run, op):
                continue
            if found.configured(run, CONFIGURED, *CONFIG_FILES):
                continue
            note = " (microdnf asks since RHEL 9)" if op.manager == "microdnf" else ""
            yield Hit(run.instruction, f"`{shown(op)}` without -y asks 'Is this ok [y/N]'{note}, "
                      "reads no answer and stops the build; add -y", run.stage,
                      operation_span(run, op), _fix(ctx, run, op))  # fmt: skip


def _fix(ctx: DockerfileContext, run: Run, op: PackageOperation) -> Fix | None:
    """``dnf install -y``; ``dnf -y module ...`` where the subcommand has a verb after it."""
    words = op.subcommand.split()
    verb_follows = len(words) != 1 or words[0] in ("module", "group", "groups")
    index = 0 if verb_follows else subcommand_index(op)
    return words_fix(ctx, run, op.command, index, ("-y",), f"`{shown(op)} -y`")


register(
    Rule(
        code="KH165",
        name="yum-dnf-missing-yes",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="`yum`/`dnf`/`microdnf`/`tdnf` install, upgrade or remove without `-y`.",
        explanation=(
            "Without a terminal the confirmation prompt reads end-of-file, yum and dnf answer "
            "'Operation aborted' and the build fails (or, behind `|| true`, silently installs "
            "nothing). `-y`/`--assumeyes`, or `assumeyes=1` in yum.conf/dnf.conf, answers it. "
            "microdnf assumed yes until RHEL 8 and asks since RHEL 9."
        ),
        bad="FROM rockylinux:9\nRUN dnf install httpd && dnf clean all\n",
        good="FROM rockylinux:9\nRUN dnf install -y httpd && dnf clean all\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`-y` only answers the prompt, which in a build reads no input and aborts: the "
            "command either did not ask (nothing changes) or failed (now it completes as "
            "written)."
        ),
        related={"hadolint": ("DL3030", "DL3038")},
    )
)
