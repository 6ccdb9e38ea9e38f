import re
from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.distroless import shell_less
from keelhaul.rules.dockerfile.shared.structure import inherited, rooted_at_scratch
from keelhaul.rules.dockerfile.structure._fixes import exec_form_fix
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: What only a shell does: expansions, pipes, lists, redirections, a leading assignment.
_NEEDS_SHELL = re.compile(r"[$`|;&<>]|^\s*[A-Za-z_][A-Za-z0-9_]*=")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    has_shell: dict[int, bool] = {}
    for stage in ctx.build.stages:
        # A SHELL instruction (here or in a stage this one is built FROM) is a deliberate
        # choice of interpreter; BuildKit does not warn then either.
        shell = inherited(stage, has_shell)
        scratch = rooted_at_scratch(ctx.build, stage)
        for inst in stage.instructions:
            if inst.name == "SHELL":
                shell = True
            if inst.name not in ("CMD", "ENTRYPOINT") or not inst.values or inst.json or shell:
                continue
            if (
                inst.values[0].lstrip().startswith("exec ")
                and not scratch
                and not shell_less(ctx.build.root(stage).base)
            ):
                continue  # `exec` replaces the shell: the program is PID 1 and gets signals
            if scratch:
                why = "a scratch-based image has no /bin/sh, so the container cannot start"
            elif shell_less(ctx.build.root(stage).base):
                why = "a distroless image has no /bin/sh, so the container cannot start"
            else:
                why = "the shell is PID 1 and does not pass SIGTERM on"
            text = " ".join(inst.values)
            if not scratch and _NEEDS_SHELL.search(text):
                # the JSON form would pass $VAR, pipes and redirections to the program as text
                advice = ("start it with `exec` so the program replaces the shell (the JSON "
                          "form would not expand variables, pipes or redirections)")  # fmt: skip
            else:
                advice = 'use the JSON form ["program", "arg"]'
            yield Hit(inst, f"shell-form {inst.name} runs under /bin/sh -c: {why}; {advice}",
                      stage,
                      fix=exec_form_fix(inst, ctx.build, stage))  # fmt: skip
        has_shell[stage.index] = shell


register(
    Rule(
        code="KH113",
        name="shell-form-command",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="CMD or ENTRYPOINT in shell form.",
        explanation=(
            "In shell form the process is a child of `/bin/sh -c`; the shell is PID 1 and does "
            "not forward SIGTERM, so `docker stop` waits 10 s and kills the service uncleanly. "
            "A shell-form ENTRYPOINT also ignores CMD and `docker run` arguments, and an image "
            "without /bin/sh (scratch, distroless) cannot start at all. Use the JSON form; when "
            "the command needs the shell (variables, pipes, redirections, `VAR=x cmd`), the "
            "message says to start it with `exec` instead, which keeps the expansions. Not "
            "flagged: commands starting with `exec` (the program replaces the shell), and "
            "stages with a SHELL instruction (an explicit choice of interpreter, as in BuildKit)."
            "\n\nFix: the JSON form, when the command is plain words (quotes without "
            "expansions allowed, `exec` dropped) that the shell would split the same way; no "
            "fix for variables, pipes, redirections, `&&`, globs. Safe for a CMD on a base image "
            "known to have no ENTRYPOINT or one that runs any command as it is (debian, "
            "alpine, python, node, golang...); unsafe on another base (its ENTRYPOINT, which "
            "keelhaul cannot see, may start other things when it gets the program instead of "
            "`/bin/sh`), when an ENTRYPOINT of the stage receives the CMD, and for an ENTRYPOINT (`docker run` "
            "arguments then reach it); none for an ENTRYPOINT next to a CMD. On a distroless "
            "`nodejs`, `python3` or `java` base, whose ENTRYPOINT is the interpreter, the CMD "
            'becomes the interpreter\'s arguments (`CMD node app.js` to `CMD ["app.js"]`), '
            "and there is no fix when the command does not start with that interpreter."
        ),
        bad="FROM node:20-slim\nCMD node server.js\n",
        good='FROM node:20-slim\nCMD ["node", "server.js"]\n',
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Safe only for a CMD where no ENTRYPOINT receives it (none in the Dockerfile, "
            "and a base image known to have none or to pass commands through) and the "
            "command is plain words the shell would split the same way: the program is then "
            "started directly and gets signals. Unsafe when an ENTRYPOINT (the stage's, or "
            "an unknown base image's) would get the program instead of `/bin/sh -c`, and "
            "for an ENTRYPOINT, which then receives `docker run` arguments."
        ),
        related={"hadolint": ("DL3025",), "buildkit": ("JSONArgsRecommended",)},
    )
)
