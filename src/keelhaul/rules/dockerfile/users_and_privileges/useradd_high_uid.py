from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import places, runs_by_instruction, script_env
from keelhaul.rules.dockerfile.shared.packages import command_span
from keelhaul.rules.dockerfile.shared.structure import expand
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Bytes per UID of /var/log/lastlog (292) and /var/log/faillog (32) on 64-bit glibc.
_BYTES_PER_UID = 292 + 32
_NO_LOG_INIT = ("-l", "--no-log-init")


def _uid(cmd: SimpleCommand) -> tuple[str | None, bool]:
    """The ``-u``/``--uid`` value as written, and whether ``-l`` is given."""
    uid: str | None = None
    quiet = False
    args = cmd.args
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _NO_LOG_INIT:
            quiet = True
        elif arg in ("-u", "--uid") and i + 1 < len(args):
            uid = args[i + 1]
            i += 1
        elif arg.startswith("--uid="):
            uid = arg.partition("=")[2]
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            cluster = arg[1:]
            if "l" in cluster.split("u", 1)[0]:
                quiet = True
            if "u" in cluster:
                rest = cluster.split("u", 1)[1]
                uid = rest if rest else (args[i + 1] if i + 1 < len(args) else None)
                i += 0 if rest else 1
        i += 1
    return uid, quiet


def _limit(ctx: DockerfileContext) -> int:
    return ctx.settings.useradd_uid_limit


def _size(uid: int) -> str:
    size = uid * _BYTES_PER_UID
    for unit in ("KB", "MB", "GB", "TB"):
        size //= 1000
        if size < 1000:
            return f"{size} {unit}"
    return f"{size} PB"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    limit = _limit(ctx)
    where = places(ctx)
    by_inst = runs_by_instruction(ctx)
    for stage in ctx.build.stages:
        base = ctx.build.root(stage).base.lower()
        if "alpine" in base or "busybox" in base:
            continue  # no /var/log/lastlog there for useradd to grow
        for inst in stage.instructions:
            for run in by_inst.get(id(inst), []) if inst.name == "RUN" else ():
                env = script_env(run, where.at(inst).env)
                for cmd in run.script.commands:
                    if cmd.name != "useradd":
                        continue
                    written, quiet = _uid(cmd)
                    if quiet or written is None:
                        continue
                    done = expand(written, env)
                    value = done[0] if done is not None and not done[1] else ""
                    if not value.isdigit() or int(value) < limit:
                        continue
                    uid = int(value)
                    yield Hit(inst, f"`useradd` with UID {uid} and no `-l` (--no-log-init) "
                              f"writes /var/log/lastlog and faillog sized for {uid} users: "
                              f"sparse on disk, but the layer stores all {_size(uid)}; add `-l`",
                              stage, command_span(run, cmd))  # fmt: skip


register(
    Rule(
        code="KH190",
        name="useradd-high-uid",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`useradd` with a high UID and no `-l`: a huge lastlog in the layer.",
        explanation=(
            "shadow's useradd reserves a record for the new UID in /var/log/lastlog (292 bytes "
            "per UID) and /var/log/faillog (32 bytes) by seeking to UID x record size. On disk "
            "the files are sparse; a layer is a tar archive, which stores them in full: UID "
            "100000 adds 32 MB, UID 1000000 adds 324 MB, and a UID in the hundreds of millions "
            "fills the builder's disk. `useradd -l` (--no-log-init) skips those files. Flagged "
            "from UID 100000 up, a limit the `useradd-uid-limit` setting changes; a UID given "
            "by a variable counts when ARG, ENV or the script give its value. Alpine and "
            "busybox stages are skipped: they have no lastlog for useradd to grow."
        ),
        bad="FROM debian:12\nRUN useradd --uid 1000000 app\nUSER app\n",
        good="FROM debian:12\nRUN useradd --no-log-init --uid 1000000 app\nUSER app\n",
        check=check,
        related={"hadolint": ("DL3046",)},
    )
)
