import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import chain, transfer
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

TAR = re.compile(r"\.(?:tar|tgz|tbz2?|txz|tzst|tar\.(?:gz|bz2|xz|zst|lz|lzma))$", re.I)
ZIP = re.compile(r"\.zip$", re.I)


def _extracts(cmd: SimpleCommand) -> bool:
    """tar -x / tar xzf / tar --extract, unzip, bsdtar -x."""
    if cmd.name in ("unzip", "7z", "7za"):
        return cmd.name == "unzip" or "x" in cmd.args[:1]
    if cmd.name not in ("tar", "bsdtar", "gtar"):
        return False
    for i, arg in enumerate(cmd.args):
        if arg == "--extract" or arg == "--get":
            return True
        if arg.startswith("-") and not arg.startswith("--") and "x" in arg:
            return True
        if i == 0 and not arg.startswith("-") and "x" in arg and "/" not in arg:
            return True  # old-style bundled first argument: tar xzf file.tgz
    return False


def _basename(word: str) -> str:
    return word.rstrip("/").rsplit("/", 1)[-1]


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    final = ctx.final_stage
    if final is None:
        return
    # Only layers of the final stage (and stages it is built FROM) ship in the image.
    for stage in chain(ctx.build, final):
        copied: list[tuple[str, Instruction]] = []
        reported: set[int] = set()
        for inst in stage.instructions:
            move = transfer(inst) if inst.name == "COPY" else None
            if move is not None:
                names = [_basename(s) for s in move.sources]
                copied += [(n, inst) for n in names if TAR.search(n) or ZIP.search(n)]
        if not copied:
            continue
        for run in ctx.runs:
            if run.stage.index != stage.index:
                continue
            for cmd in run.script:
                if not _extracts(cmd):
                    continue
                words = {_basename(a) for a in cmd.args}
                for name, inst in copied:
                    if id(inst) in reported or inst.start_line > run.instruction.start_line:
                        continue
                    if any(fnmatchcase(w, name) for w in words):
                        reported.add(id(inst))
                        yield Hit(inst, _message(name, run.instruction), stage,
                                  inst.locate(name))  # fmt: skip


def _message(name: str, run: Instruction) -> str:
    how = (
        f"ADD {name} <dir>/ unpacks it without keeping it"
        if TAR.search(name)
        else f"RUN --mount=type=bind,source={name},target=/tmp/{name} unzip ... reads it "
        "without a layer"
    )
    return (f"{name} is copied into a layer and then unpacked by the RUN on line "
            f"{run.start_line}: the archive's bytes stay in the image; {how}")  # fmt: skip


register(
    Rule(
        code="KH157",
        name="copied-archive-extracted",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="COPY of an archive that a later RUN unpacks: the archive ships too.",
        explanation=(
            "Every COPY is a layer: an archive copied in and unpacked by a later RUN is in the "
            "image twice, packed and unpacked, and deleting it in the RUN saves nothing. "
            "`ADD app.tar.gz /opt/` unpacks a local tar archive in one layer without keeping "
            "it; for zip files (ADD does not unpack them) or extra options, read the archive "
            "from a bind mount: `RUN --mount=type=bind,source=app.zip,target=/tmp/app.zip "
            "unzip /tmp/app.zip -d /opt`. Only stages that end up in the image are checked."
        ),
        bad="FROM debian:12\nCOPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz -C /opt\n",
        good="FROM debian:12\nADD app.tar.gz /opt/\n",
        check=check,
        related={"hadolint": ("DL3010",)},
    )
)
