"""The unsafe fix of KH125 (build-in-final-stage) for a Go program: split the final stage into
a build stage and a static runtime stage.

The one pattern fixed (anything else: no fix, the finding stays)::

    FROM golang:1.22                        FROM golang:1.22 AS build
    WORKDIR /src                            WORKDIR /src
    COPY go.mod go.sum ./                   COPY go.mod go.sum ./
    RUN go mod download                     RUN go mod download
    COPY . .                                COPY . .
    RUN go build -o /bin/app ./cmd/app  ->  RUN CGO_ENABLED=0 go build -o /bin/app ./cmd/app
    EXPOSE 8080                             FROM gcr.io/distroless/static-debian12:nonroot
    CMD ["app", "serve"]                    COPY --from=build /bin/app /app
                                            EXPOSE 8080
                                            CMD ["/app", "serve"]

- The final stage is built FROM a ``golang`` image (any tag or digest, kept) and compiles with
  exactly one ``go build`` (no other ``go build``/``go install``) that names its output with
  ``-o FILE`` (``-o=FILE``); a relative output resolves against the WORKDIR. No ``-o``, an
  output folder (``-o out/``) or a variable in it: no fix.
- That RUN is the stage's last RUN, COPY, ADD and WORKDIR: what follows may only be ENV,
  LABEL, EXPOSE, STOPSIGNAL, ARG, a numeric USER, an exec-form HEALTHCHECK that runs the
  binary (or ``HEALTHCHECK NONE``), CMD and ENTRYPOINT. All of those end up after the new
  FROM, in the runtime stage, unchanged except that the program is now ``/<basename>``.
- The stage installs no system packages (they could be runtime needs the runtime image lacks)
  and has no SHELL, VOLUME or ONBUILD.
- CGO: the build gets ``CGO_ENABLED=0`` so the binary is static; if ``CGO_ENABLED`` is set to
  anything but 0 anywhere in the stage, or set in a way that cannot be read (a variable, an
  export in another RUN): no fix.
- The program runs by ENTRYPOINT, or by CMD without ENTRYPOINT, naming the binary: its
  absolute path, a path relative to the WORKDIR (``./app``), or its bare name when its folder
  is on the golang image's PATH. The shell form is rewritten into the exec form only when it is
  plain words (no variables, quotes, operators). A HEALTHCHECK ``CMD-SHELL`` (the shell form)
  or one running another program: no fix (the runtime image has no shell nor curl).
- An ENV before the build that sets anything but Go's settings (GO*, CGO_*, PATH) is repeated
  whole in the runtime stage (the program may read it); with a variable in it: no fix. LABEL, EXPOSE and
  STOPSIGNAL before the build move to the runtime stage (they describe the image).
- USER: distroless' ``:nonroot`` already runs as 65532, so no USER is added; with ``scratch``
  ``USER 65532:65532`` is added unless the original sets a numeric USER after the build.
- Setting ``static-base`` (``ctx.settings``): ``"distroless"`` (default,
  ``gcr.io/distroless/static-debian12:nonroot``: CA certificates, tzdata, /etc/passwd) or
  ``"scratch"`` (empty: no CA certificates or time zones).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from keelhaul.dockerfile.edits import apply_edits, line_ending
from keelhaul.dockerfile.scripts import script_texts
from keelhaul.dockerfile.shell import SimpleCommand, parse_shell
from keelhaul.dockerfile.stages import Build, Stage, resolve
from keelhaul.dockerfile.syntax import Instruction, LineRole, parse
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.toolchain import BuildStep, stage_runs
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder

DISTROLESS = "gcr.io/distroless/static-debian12:nonroot"
NONROOT = "65532:65532"
WHY_UNSAFE = (
    "the runtime image has no shell, package manager or libc: a binary that needs cgo, files "
    "from the build stage other than the binary, or shell tools at run time will fail"
)

#: The golang image's PATH: a bare command name found there.
_GO_PATH = ("/go/bin", "/usr/local/go/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
            "/usr/bin", "/sbin", "/bin")  # fmt: skip
_SYSTEM_MANAGERS = frozenset({"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf",
                              "tdnf", "zypper"})  # fmt: skip
_AFTER_BUILD = frozenset({"ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "ARG", "USER", "HEALTHCHECK",
                          "CMD", "ENTRYPOINT"})  # fmt: skip
_BEFORE_BUILD = frozenset({"ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "ARG", "USER", "WORKDIR",
                           "COPY", "ADD", "RUN"})  # fmt: skip
_MOVED = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL"})
_PLAIN_WORDS = re.compile(
    r"[^\s$`|&;<>(){}*?\[\]~\\'\"#]+(?:[ \t]+[^\s$`|&;<>(){}*?\[\]~\\'\"#]+)*"
)
_GO_ENV = re.compile(r"(?:GO|CGO_)[A-Z0-9_]*|PATH")


def _is_golang(stage: Stage) -> bool:
    if stage.base_stage is not None or "$" in stage.base:
        return False
    ref = image_ref(stage.base)
    return ref is not None and ref.path == "golang"


def _output(cmd: SimpleCommand) -> str | None:
    """The ``-o`` file of a ``go build`` (None when missing, a folder or a variable)."""
    argv = cmd.argv
    found: str | None = None
    for i, word in enumerate(argv[2:], start=2):
        if word in ("-o", "--o") and i + 1 < len(argv):
            found = argv[i + 1]
        elif word.startswith(("-o=", "--o=")):
            found = word.partition("=")[2]
    if not found or "$" in found or found.endswith("/") or found in (".", ".."):
        return None
    return found


def _go_commands(runs: list[Run]) -> Iterator[tuple[Run, SimpleCommand]]:
    for run in runs:
        for cmd in run.script.commands:
            if (
                cmd.argv[:1]
                and cmd.argv[0].rsplit("/", 1)[-1] == "go"
                and cmd.argv[1:2] in (("build",), ("install",))
            ):
                yield run, cmd


def _cgo_prefix_needed(stage: Stage, run: Run, cmd: SimpleCommand) -> bool | None:
    """False when the build already has CGO_ENABLED=0, True when it needs the prefix, None
    when CGO_ENABLED is set otherwise (or somewhere keelhaul cannot follow)."""
    own = dict(cmd.env).get("CGO_ENABLED")
    if own is not None:
        return False if own == "0" else None
    mentions = [i for i in stage.instructions if "CGO_ENABLED" in i.text]
    if not mentions:
        return True
    env_value = stage.env.get("CGO_ENABLED")
    others = [i for i in mentions if i.name not in ("ENV", "ARG")]
    if env_value == "0" and not others and stage.args.get("CGO_ENABLED", "0") == "0":
        return False
    return None


def _resolve(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


def split_at_build(
    stage: Stage,
    build_run: Instruction,
    before_ok: frozenset[str],
    after_ok: frozenset[str],
) -> tuple[list[Instruction], list[Instruction], str] | None:
    """The stage's instructions before and after its build RUN, and the WORKDIR that RUN runs
    in, when only ``before_ok`` instructions come before it and ``after_ok`` after (None
    otherwise, or when a WORKDIR uses a variable): what the conversions move into a build
    stage and what they keep in the runtime one."""
    insts = list(stage.instructions)
    if build_run not in insts:
        return None
    at = insts.index(build_run)
    before, after = insts[:at], insts[at + 1 :]
    if any(i.name not in before_ok for i in before) or any(i.name not in after_ok for i in after):
        return None
    workdir = "/"
    for inst in before:
        if inst.name == "WORKDIR":
            value = inst.values[0] if inst.values else ""
            if "$" in value:
                return None
            workdir = _resolve(value, workdir)
    return before, after, workdir


def one_more_stage(ctx: DockerfileContext, edits: list[Edit]) -> Build | None:
    """The fixed file, resolved, when it parses without errors into the stages it had plus
    one: the first half of every multi-stage conversion's proof."""
    try:
        after = parse(apply_edits(ctx.tree.render(), edits))
    except ValueError:
        return None
    if after.errors:
        return None
    build = resolve(after)
    return build if len(build.stages) == len(ctx.build.stages) + 1 else None


def _names_binary(word: str, out: str, workdir: str) -> bool:
    if "/" in word:
        return _resolve(word, workdir) == out
    return word == posixpath.basename(out) and posixpath.dirname(out) in _GO_PATH


def _exec_words(inst: Instruction) -> list[str] | None:
    """The words a CMD/ENTRYPOINT/HEALTHCHECK CMD runs, when they can be written as JSON."""
    eff = inst.effective
    values = list(eff.values)
    if inst.name == "HEALTHCHECK":
        if not eff.json or values[:1] != ["CMD"]:
            return None
        return values[1:]
    if eff.json:
        return values
    text = eff.values[0] if eff.values else ""
    if not _PLAIN_WORDS.fullmatch(text.strip()):
        return None
    script = parse_shell(text)
    if len(script.commands) != 1 or script.commands[0].env:
        return None
    return text.split()


def _json(words: list[str]) -> str:
    return (
        "["
        + ", ".join('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)
        + "]"
    )


def _rewrite(inst: Instruction, words: list[str]) -> str:
    head = inst.name
    if inst.name == "HEALTHCHECK":
        head = " ".join([inst.name, *inst.effective.flags, "CMD"])
    return f"{head} {_json(words)}"


def _whole(inst: Instruction) -> str:
    return inst.text if inst.text.endswith(("\n", "\r")) else inst.text + "\n"


def _cgo_edit(run: Run, cmd: SimpleCommand) -> Edit | None:
    """``CGO_ENABLED=0 `` before the ``go`` word of ``cmd`` (found once on one line)."""
    first = cmd.raw.split()[0] if cmd.raw.split() else ""
    if not first or cmd.env:
        first = next((w for w in cmd.raw.split() if "=" not in w), "")
    if not first:
        return None
    pattern = re.compile(r"(?<![\w/.=-])" + re.escape(first) + r"[ \t]+build\b")
    inst = run.instruction
    hits = [(line, m) for line in inst.lines if line.role not in (LineRole.COMMENT, LineRole.BLANK)
            for m in pattern.finditer(line.content)]  # fmt: skip
    if len(hits) != 1:
        return None
    line, m = hits[0]
    text = line.text[: m.start()] + "CGO_ENABLED=0 " + line.text[m.start() :]
    return Edit(line.number, line.number, text)


@fix_builder
def go_multistage_fix(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    """Split a final stage that builds a Go program into build and runtime stages."""
    stage = ctx.final_stage
    if stage is None or step.ecosystem != "go" or not _is_golang(stage):
        return None
    if any(i.name == "ONBUILD" for i in stage.instructions):
        return None
    runs = stage_runs(ctx, stage)
    gos = list(_go_commands(runs))
    if len(gos) != 1 or gos[0][1].argv[1] != "build" or gos[0][0] is not step.run:
        return None
    run, cmd = gos[0]
    out = _output(cmd)
    if out is None or any(
        op.manager in _SYSTEM_MANAGERS and op.action == "install"
        for r in runs for op in r.operations.packages
    ):  # fmt: skip
        return None
    split = split_at_build(stage, run.instruction, _BEFORE_BUILD, _AFTER_BUILD)
    if split is None:
        return None
    before, after, workdir = split
    out = _resolve(out, workdir)
    binary = "/" + posixpath.basename(out)
    cgo = _cgo_prefix_needed(stage, run, cmd)
    if cgo is None:
        return None
    edits: list[Edit] = []
    if cgo:
        cgo_edit = _cgo_edit(run, cmd)
        if cgo_edit is None:
            return None
        edits.append(cgo_edit)
    # the runtime stage's head: FROM, the binary, what described the image before the build
    scratch = ctx.settings.static_base == "scratch"
    nl = line_ending(run.instruction)
    head = [f"FROM {'scratch' if scratch else DISTROLESS}", f"COPY --from=build {out} {binary}"]
    carried: list[str] = []
    for inst in before:
        runtime = inst.name in _MOVED or (inst.name == "ENV" and not _build_only_env(inst))
        if runtime and "$" in inst.text:
            return None
        if inst.name in _MOVED:
            carried.append(_whole(inst))
            edits.append(Edit(inst.start_line, inst.end_line, ""))
        elif inst.name == "ENV" and not _build_only_env(inst):
            carried.append(_whole(inst))
    # the runtime instructions: the program's path becomes /<basename>
    entry = next((i for i in reversed(after) if i.name == "ENTRYPOINT"), None)
    command = next((i for i in reversed(after) if i.name == "CMD"), None)
    if any(i.name in ("CMD", "ENTRYPOINT") for i in before):
        return None
    runner = entry or command
    if runner is None:
        return None
    users = [i for i in after if i.name == "USER"]
    if any(not re.fullmatch(r"\d+(?::\d+)?", " ".join(i.values)) for i in users):
        return None
    for inst in after:
        if inst.name == "HEALTHCHECK" and [v.upper() for v in inst.values] != ["NONE"]:
            words = _exec_words(inst)
            if not words or not _names_binary(words[0], out, workdir):
                return None
            edits.append(Edit(inst.start_line, inst.end_line,
                              _rewrite(inst, [binary, *words[1:]]) + nl))  # fmt: skip
        elif inst.name in ("ENV", "LABEL", "EXPOSE", "STOPSIGNAL") and "$" in inst.text:
            return None
    words = _exec_words(runner)
    if not words or not _names_binary(words[0], out, workdir):
        return None
    if entry is not None and command is not None and not command.effective.json:
        return None  # a shell-form CMD would become arguments of the program
    edits.append(Edit(runner.start_line, runner.end_line,
                      _rewrite(runner, [binary, *words[1:]]) + nl))  # fmt: skip
    if scratch and not users:
        head.append(f"USER {NONROOT}")
    insertion = "".join(line + nl for line in head) + "".join(carried)
    edits.append(Edit(run.instruction.end_line + 1, run.instruction.end_line, insertion))
    name_edit = _name_stage(stage, ctx)
    if name_edit is None:
        return None
    edits.append(name_edit)
    edits.sort(key=lambda e: e.start_line)
    if not _proved(ctx, edits, out, binary):
        return None
    base = "scratch" if scratch else DISTROLESS
    return Fix(
        tuple(edits),
        f"build `{out}` in a `build` stage and run it from {base}",
        Safety.UNSAFE,
        WHY_UNSAFE,
    )


def _build_only_env(inst: Instruction) -> bool:
    keys = [k for k, _ in inst.effective.pairs()] or list(inst.effective.values[:1])
    return bool(keys) and all(_GO_ENV.fullmatch(k) for k in keys)


def _name_stage(stage: Stage, ctx: DockerfileContext) -> Edit | None:
    """``AS build`` on the FROM line (a one-line FROM of an unnamed stage, name unused)."""
    inst = stage.from_instruction
    if stage.name is not None or len(inst.lines) != 1 or inst.sub is not None:
        return None
    if any(s.name == "build" for s in ctx.build.stages):
        return None
    line = inst.lines[0]
    content = line.content.rstrip()
    return Edit(line.number, line.number, content + " AS build" + line.text[len(line.content) :])


def _static_build(stage: Stage) -> bool:
    """The stage's ``go build`` runs with CGO_ENABLED=0 (its own assignment or the ENV)."""
    for inst in stage.instructions:
        if inst.name != "RUN":
            continue
        for text in script_texts(inst):
            for cmd in parse_shell(text).commands:
                if (
                    cmd.argv[:1]
                    and cmd.argv[0].rsplit("/", 1)[-1] == "go"
                    and cmd.argv[1:2] == ("build",)
                ):
                    return dict(cmd.env).get("CGO_ENABLED", stage.env.get("CGO_ENABLED")) == "0"
    return False


def _proved(ctx: DockerfileContext, edits: list[Edit], out: str, binary: str) -> bool:
    """The fixed file parses into the build stage and a runtime stage copying the binary."""
    build = one_more_stage(ctx, edits)
    if build is None:
        return False
    final = build.stages[-1]
    copies = [i for i in final.instructions if i.name == "COPY"]
    return (
        _static_build(build.stages[-2])
        and build.stages[-2].name == "build"
        and len(copies) == 1
        and copies[0].values == (out, binary)
        and not any(i.name == "RUN" for i in final.instructions)
    )
