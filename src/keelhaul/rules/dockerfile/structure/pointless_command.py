from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction, top_level
from keelhaul.rules.dockerfile.shared.packages import command_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

_INTERACTIVE = frozenset({"vim", "vi", "nvim", "nano", "emacs", "top", "htop", "less", "mc"})
_POWER = frozenset({"shutdown", "reboot", "halt", "poweroff", "telinit"})
_DIAGNOSTIC = frozenset({"ps", "free", "ifconfig", "netstat", "uptime", "lsof", "iotop"})
_KILL = frozenset({"kill", "pkill", "killall"})
_SYSTEMD_NEEDS_PID1 = frozenset({"start", "stop", "restart", "reload", "status", "daemon-reload",
                                 "try-restart", "reload-or-restart", "isolate"})  # fmt: skip
_STARTS = frozenset({"start", "restart", "force-reload", "reload"})


def _service_action(cmd: SimpleCommand) -> tuple[str, str] | None:
    """(service, action) of ``service NAME start`` or ``/etc/init.d/NAME start``."""
    if cmd.name == "service" and len(cmd.argv) >= 3:
        return cmd.argv[1], cmd.argv[2]
    if cmd.argv and cmd.argv[0].startswith("/etc/init.d/") and len(cmd.argv) >= 2:
        return cmd.name, cmd.argv[1]
    return None


def _mounts(run: Run, kind: str) -> bool:
    return any(
        f.startswith("--mount=") and f"type={kind}" in f for f in run.instruction.effective.flags
    )


def _last_step(run: Run) -> SimpleCommand | None:
    return next((c for c in reversed(run.script.commands) if top_level(c) and c.argv), None)


def _problem(run: Run, cmd: SimpleCommand, started: bool) -> str | None:
    name = cmd.name
    used_as_data = cmd.connector in ("|", "|&") or cmd.in_substitution or cmd.in_condition
    if name in _INTERACTIVE:
        return (f"`{name}` waits for a terminal that a build does not have; edit files with "
                "sed or COPY them, and leave interactive tools to `docker exec`")  # fmt: skip
    if name in _POWER:
        return f"`{name}` has no meaning in a build: there is no machine to stop"
    if name in _DIAGNOSTIC and not used_as_data:
        return f"`{name}` only prints to the build log about the builder; it changes nothing"
    if name in ("mount", "umount") and len(cmd.argv) > 1:
        if "--security=insecure" in run.instruction.effective.flags:
            return None
        return (f"`{name}` needs privileges a build does not have; mount what the RUN needs "
                "with `RUN --mount=type=bind|cache|tmpfs,...`")  # fmt: skip
    if name == "ssh" and not _mounts(run, "ssh"):
        return ("`ssh` in a build has no terminal and none of your keys; for private "
                "repositories forward the agent with `RUN --mount=type=ssh`")  # fmt: skip
    if name == "systemctl" and any(a in _SYSTEMD_NEEDS_PID1 for a in cmd.args[:2]):
        verb = next(a for a in cmd.args[:2] if a in _SYSTEMD_NEEDS_PID1)
        return (f"`systemctl {verb}` needs a running systemd, which a build does not have; "
                "start services from CMD or ENTRYPOINT")  # fmt: skip
    service = _service_action(cmd)
    if service is not None and service[1] in _STARTS and cmd is _last_step(run):
        return (f"`{' '.join(cmd.argv[:3])}` starts {service[0]}, which stops when the RUN "
                "ends; start it from CMD or ENTRYPOINT")  # fmt: skip
    if name in _KILL and not started and not used_as_data:
        return (f"`{name}` finds nothing of the build to stop: no process outlives its RUN, "
                "and this RUN starts none")  # fmt: skip
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_inst = runs_by_instruction(ctx)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            for run in by_inst.get(id(inst), []) if inst.name == "RUN" else ():
                started = False
                for cmd in run.script.commands:
                    if not cmd.argv:
                        continue
                    message = _problem(run, cmd, started)
                    if message is not None:
                        yield Hit(inst, message, stage, command_span(run, cmd))
                        break
                    if cmd.background or _service_action(cmd) is not None:
                        started = True
                    if cmd.name in ("nohup", "daemon", "start-stop-daemon", "supervisord"):
                        started = True


register(
    Rule(
        code="KH189",
        name="pointless-command",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="A command that does nothing useful in a build (vim, shutdown, ps, mount...).",
        explanation=(
            "A RUN runs once, without a terminal, without privileges, and every process it "
            "starts is gone when it ends. So editors and pagers (vim, nano, top, less) hang or "
            "fail, `shutdown`/`reboot` mean nothing, `ps`, `free` or `ifconfig` describe the "
            "builder rather than the image, `mount` lacks the privilege, `systemctl start` "
            "has no systemd to talk to, a `service x start` at the end of a RUN starts a "
            "daemon that dies with it, and `kill` has nothing to stop unless the same RUN "
            "started it.\n\n"
            "Not flagged: `service x start` followed by commands that use it in the same RUN "
            "(initialising a database), `kill` after the RUN started something in the "
            "background, `ps` or `free` whose output is piped or substituted, `mount` with "
            "`--security=insecure`, `ssh` with `--mount=type=ssh`, and `systemctl enable`, "
            "which works without systemd running. sudo is another rule's."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends nginx && service nginx start\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            'nginx\nCMD ["nginx", "-g", "daemon off;"]\n'
        ),
        check=check,
        related={"hadolint": ("DL3001",)},
    )
)
