import re
from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role
from keelhaul.rules.dockerfile.shared.security import all_runs, final_chain, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: An octal mode whose "others" digit has the write bit (777, 0666, 2777), without the sticky
#: bit (1777 is /tmp's mode: anyone may create files, only their owner may remove them).
_OCTAL = re.compile(r"^0*([0-7]?)([0-7])([0-7])([0-7])$")


def world_writable(mode: str) -> bool:
    """``mode`` (octal or symbolic, as chmod takes it) gives others write permission."""
    found = _OCTAL.match(mode)
    if found is not None:
        special, _, _, others = found.groups()
        return int(others) & 2 != 0 and not (special and int(special) & 1)
    for clause in mode.split(","):
        parsed = re.match(r"^([ugoa]*)([-+=])([rwxXst]*)$", clause)
        if parsed is None:
            continue
        who, op, perms = parsed.groups()
        if op != "-" and "w" in perms and "t" not in perms and ("o" in who or "a" in who):
            return True
    return False


def _modes(cmd: SimpleCommand) -> Iterator[tuple[int, str]]:
    """(argv index, mode) of the modes ``cmd`` sets: chmod's, mkdir -m's and install -m's."""
    argv = cmd.argv
    if cmd.name == "chmod":
        for i, word in enumerate(argv[1:], start=1):
            if word.startswith("--reference"):
                return
            if word.startswith("-") and not re.match(r"^-[rwxXst]+$", word):
                continue  # -R, -v, --recursive (but "-w" is a mode)
            yield i, word
            return
    elif cmd.name in ("mkdir", "install"):
        for i, word in enumerate(argv[1:], start=1):
            if word in ("-m", "--mode") and i + 1 < len(argv):
                yield i + 1, argv[i + 1]
            elif word.startswith("--mode="):
                yield i, word.removeprefix("--mode=")
            elif word.startswith("-m") and len(word) > 2 and not word.startswith("--"):
                yield i, word[2:]


def _dev_or_test(ctx: DockerfileContext) -> bool:
    role = stage_role(ctx)
    return role.role is Role.TEST or "development" in role.reason


def _removed_later(run: Run, cmd: SimpleCommand, target: str) -> bool:
    """``target`` is deleted by a later ``rm`` of the same RUN (a temporary folder)."""
    return any(
        other.start > cmd.end and other.name == "rm" and target in other.argv[1:]
        for other in run.script.commands
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    if stage_role(ctx).role in (Role.TEST, Role.BASE) and _dev_or_test(ctx):
        return  # a development or test image, run with the developer's own UID
    shipped = {s.index for s in final_chain(ctx)}
    for stage in final_chain(ctx):
        for inst in stage.instructions:
            if inst.name not in ("COPY", "ADD"):
                continue
            mode = inst.flag("chmod")
            if mode and world_writable(mode):
                yield Hit(inst, f"{inst.name} --chmod={mode} makes the copied files writable by "
                          "every user of the image: any process can rewrite them; give the "
                          "owner write permission only (--chmod=755, or 644 for data)", stage,
                          inst.locate(f"--chmod={mode}"))  # fmt: skip
    for run in all_runs(ctx):
        if run.stage.index not in shipped:
            continue
        for cmd in run.script.commands:
            for index, mode in _modes(cmd):
                if not world_writable(mode):
                    continue
                targets = [w for w in cmd.argv[index + 1 :] if not w.startswith("-")]
                if targets and all(_removed_later(run, cmd, t) for t in targets):
                    continue  # a temporary folder, gone before the layer is saved
                what = " ".join(targets[:3]) + (" ..." if len(targets) > 3 else "")
                yield Hit(run.instruction, f"{cmd.name} {mode} {what}".rstrip() + " makes it "
                          "writable by every user of the image: any process, whatever its "
                          "user, can change what runs or is read there; make the runtime user "
                          "the owner (chown, COPY --chown) and keep the mode at 755 (or "
                          "chgrp 0 and chmod g=u for arbitrary UIDs, as OpenShift runs them)",
                          run.stage, word_span(run, cmd, index))  # fmt: skip


register(
    Rule(
        code="KH220",
        name="world-writable",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="Files or folders made writable by every user (`chmod 777`, `--chmod=777`).",
        explanation=(
            "A mode that gives *others* write permission (`777`, `666`, `o+w`, `a+w`) lets "
            "any process in the container, under any user, rewrite what it covers: a program "
            "under /usr/bin, a config the service reads, a script the entrypoint runs. An "
            "unprivileged USER no longer protects the image, and `chmod -R 777 /usr/bin` hands "
            "root to whoever runs code as any user. Make the runtime user the owner instead "
            "(`COPY --chown=10001:10001`, `chown`) with 755 (or 644 for data); for images run "
            "under an arbitrary UID (OpenShift), use `chgrp -R 0 DIR && chmod -R g=u DIR`. "
            "The sticky-bit modes (`1777`, `a+rwxt`) are /tmp's and are not reported. "
            "Checked: `chmod`, `mkdir -m` and `install -m` in the RUNs of the stages the "
            "final image is built from, and `COPY --chmod`/`ADD --chmod` there; build stages "
            "are not checked, as their files ship only through COPY --from, nor a folder the "
            "same RUN removes (a temporary build folder), nor development and test images "
            "(a `dev.Dockerfile`, a `dev-envs` target, a test runner), which run with the "
            "developer's own UID and make $GOPATH or the workspace writable on purpose."
        ),
        bad="FROM debian:12\nRUN chmod -R 777 /usr/bin\n",
        good=(
            "FROM debian:12\nRUN useradd --uid 10001 app && mkdir /data && chown app /data\n"
            "USER 10001\n"
        ),
        check=check,
    )
)
