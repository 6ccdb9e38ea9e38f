from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction, shipped_chain
from keelhaul.rules.dockerfile.shared.packages import word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

_TOOLS = ("curl", "wget")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_inst = runs_by_instruction(ctx)
    first: dict[str, tuple[Run, SimpleCommand]] = {}
    installed: dict[str, int] = {}
    for stage in shipped_chain(ctx):
        for inst in stage.instructions:
            if inst.name != "RUN":
                continue
            for run in by_inst.get(id(inst), []):
                for op in run.operations.packages:
                    for spec in op.packages if op.action == "install" else ():
                        if spec.name in _TOOLS:
                            installed.setdefault(spec.name, inst.start_line)
                for cmd in run.script.commands:
                    if cmd.name in _TOOLS and cmd.name not in first:
                        first[cmd.name] = (run, cmd)
    if len(first) < 2:
        return
    (used, (earlier, first_cmd)), (_, (later, cmd)) = sorted(
        first.items(), key=lambda item: (item[1][0].instruction.start_line, item[1][1].start)
    )
    span = word_span(earlier, first_cmd, 0)
    other = span.line if span is not None else earlier.instruction.start_line
    drop = (f" (and drop {cmd.name} from the install on line {installed[cmd.name]})"
            if cmd.name in installed else "")  # fmt: skip
    yield Hit(later.instruction, f"the image uses both {used} (line {other}) and {cmd.name}: one "
              f"download tool is enough; use {used} here too{drop}", later.stage,
              word_span(later, cmd, 0))  # fmt: skip


register(
    Rule(
        code="KH187",
        name="curl-and-wget",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="The image uses both curl and wget.",
        explanation=(
            "Two download tools do one job: each is a package to install, update and patch "
            "(curl brings libcurl and its TLS and HTTP/2 libraries, a few MB), and two sets "
            "of options to get right (`curl -fsSL` fails on HTTP errors, plain curl does not). "
            "Pick one for the whole image. Only the stages that ship (the target and the "
            "stages it is built FROM) are looked at together; one finding, at the first use "
            "of the second tool."
        ),
        bad=(
            "FROM debian:12\nRUN wget -q -O /tmp/a.tgz https://example.com/a.tgz\n"
            "RUN curl -fsSLo /tmp/b.tgz https://example.com/b.tgz\n"
        ),
        good=(
            "FROM debian:12\nRUN curl -fsSLo /tmp/a.tgz https://example.com/a.tgz\n"
            "RUN curl -fsSLo /tmp/b.tgz https://example.com/b.tgz\n"
        ),
        check=check,
        related={"hadolint": ("DL4001",), "trivy": ("DS-0014",)},
    )
)
