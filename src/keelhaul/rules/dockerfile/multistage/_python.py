"""The unsafe multi-stage conversion of a Python application whose dependencies are installed
in the final stage: wheels are built in a builder stage that keeps the compilers, and installed
into a slim runtime from a bind mount, so neither the toolchain nor the wheels ship.

Offered by KH124 (build tools in the final stage) and KH120 (full base image) for this
pattern (anything else: no fix, the finding stays)::

    FROM python:3.12                          FROM python:3.12 AS build
    WORKDIR /app                              WORKDIR /app
    RUN apt-get update && apt-get install \\   RUN apt-get update && apt-get install \\
        -y gcc libpq-dev                          -y gcc libpq-dev
    COPY requirements.txt .                   COPY requirements.txt .
    RUN pip install --no-cache-dir \\      ->  RUN pip wheel --wheel-dir /wheels --no-cache-dir \\
        -r requirements.txt                       -r requirements.txt
                                              FROM python:3.12-slim
                                              WORKDIR /app
                                              RUN apt-get update && apt-get install -y \\
                                                  --no-install-recommends libpq5 && rm -rf ...
                                              RUN --mount=type=bind,from=build,source=/wheels,\\
                                                  target=/wheels pip install --no-cache-dir \\
                                                  --no-index /wheels/*.whl
    COPY . .                                  COPY . .
    CMD ["python", "app.py"]                  CMD ["python", "app.py"]

- The final stage is built FROM an official ``python`` image on Debian (not alpine, not a
  variable). The runtime is its ``-slim`` twin (``3.12`` to ``3.12-slim``, ``3.12-bookworm``
  to ``3.12-slim-bookworm``), or the same image when it is slim already (digest kept); a
  full image pinned by digest: no fix (the slim digest is unknown).
- Exactly one RUN installs the application's dependencies with pip (``pip``, ``pip3``,
  ``python -m pip``; ``-r``, ``-c``, names, local paths). Each of those installs becomes
  ``pip wheel --wheel-dir=/wheels``: the options ``pip wheel`` does not take (``-U``,
  ``--upgrade``, ``--force-reinstall``, ``-I``, ``--compile``...) are taken out; ``--user``,
  ``--target``, ``--prefix``, ``--root``, ``-e`` and uv/poetry/pipenv: no fix. ``pip install
  --upgrade pip setuptools wheel`` stays as it is (build tooling).
- Before that RUN the stage may only hold ARG, ENV, LABEL, EXPOSE, STOPSIGNAL, WORKDIR, COPY
  (no ``--from``) of the files the install reads (``-r``/``-c`` files, local paths it
  installs, requirements files and folders) and RUNs of system package commands, ``rm`` and
  tooling pip installs. A ``COPY . .`` before an install of named packages or requirements
  (the sources would stay in the builder): no fix; KH182's reorder runs first and this
  conversion follows on its result.
- A local project installed from the sources (``COPY . .`` then ``pip install .``, a C
  extension compiled by its build backend): the sources stay in the builder, which builds the
  project's wheel (and its dependencies') with ``pip wheel .``; the runtime gets only what
  pip installs from the wheels. Offered when nothing after the install reads the sources: no
  RUN after it other than user and folder setup, and no CMD, ENTRYPOINT or HEALTHCHECK that
  runs a file by a relative path (``python app.py``, ``./start.sh``); its reason
  (``WHY_UNSAFE_PROJECT``)
  says what it cannot see: files the program reads from the sources at run time, and the
  shared libraries the extension links against.
- That local project's dependencies, when pyproject.toml's static ``[project] dependencies``
  list is its only dependency declaration (no setup.cfg/setup.py ``install_requires``, no
  requirements file, not dynamic), the install is ``pip install .`` after the only COPY,
  ``COPY . .``, and the image's Python has tomllib (3.11+): the builder copies pyproject.toml
  alone first and builds the listed dependencies' wheels into ``/wheels/deps``
  (:data:`READ_DEPENDENCIES` writes the list out), then ``COPY . .`` and ``pip wheel
  --no-deps`` build the project's wheel into ``/wheels/app``; the runtime installs the two
  from bind mounts in RUNs of their own. BuildKit keys a bind mount by the content of what it
  mounts, so a source change re-runs the project's install and leaves the dependencies' RUN
  cached. The runtime's install of the project is not ``--no-deps``: pip still checks that
  its dependencies are installed (a declaration keelhaul could not read fails the build
  instead of the program). Its reason is ``WHY_UNSAFE_SPLIT``.
- Runtime system packages: what the stage installs with apt that is not a build tool is
  installed again in the runtime; each ``-dev`` package is replaced by its runtime library
  where the name is the same on bookworm and trixie (``libpq-dev`` to ``libpq5``), or dropped
  when the slim image has it (``libffi-dev``, ``libssl-dev``, ``zlib1g-dev``...); any other
  ``-dev`` package, a package list in a variable, or another package manager: no fix.
- ARG, ENV, WORKDIR and RUNs that only create users and folders (``useradd``, ``mkdir``,
  ``chown``...) before the install are repeated in the runtime stage; LABEL, EXPOSE
  and STOPSIGNAL move there. Everything after the install stays where it is, now in the
  runtime stage; a later RUN that compiles or installs build tools or more pip packages: no
  fix.
- The runtime install mounts the wheels (``RUN --mount=type=bind``): BuildKit, the default
  builder since Docker 23, is needed; the legacy builder refuses ``--mount``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from keelhaul.dockerfile.edits import line_ending
from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.build_cache._local_install import static_dependencies
from keelhaul.rules.dockerfile.multistage._fixes import _name_stage, _whole, one_more_stage
from keelhaul.rules.dockerfile.packages_and_caches._fixes import plan, subcommand_index
from keelhaul.rules.dockerfile.shared.images import image_ref, slim_tag
from keelhaul.rules.dockerfile.shared.toolchain import (
    build_steps,
    is_build_tool,
    stage_env,
    stage_runs,
)
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder

WHEELS = "/wheels"


def _mount(folder: str) -> str:
    return f"--mount=type=bind,from=build,source={folder},target={folder}"


MOUNT = _mount(WHEELS)
#: The split project build: the dependencies' wheels, built before the sources are copied, and
#: the project's own wheel, built after.
DEPS_WHEELS, APP_WHEELS = f"{WHEELS}/deps", f"{WHEELS}/app"
#: Reads pyproject.toml's ``[project] dependencies`` into a requirements file (tomllib: 3.11+).
READ_DEPENDENCIES = (
    'python -c \'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))'
    '["project"]["dependencies"], sep="\\n")\' > /tmp/dependencies.txt'
)
WHY_UNSAFE = (
    "the slim runtime has no compilers or headers and only the system libraries keelhaul "
    "maps from the -dev packages: a dependency that compiles at run time, loads another "
    "native library or reads files left in the builder fails; the runtime install needs "
    "BuildKit (RUN --mount)"
)
WHY_UNSAFE_PROJECT = (
    "the runtime stage holds what pip installs from the project's wheel, not the sources: a "
    "file of the build context the program reads at run time that the package does not "
    "include is gone; the slim runtime has no compilers or headers and only the system "
    "libraries keelhaul maps from the -dev packages: a shared library the compiled extension "
    "links against that the slim image lacks (keelhaul cannot see them all) fails at import; "
    "the runtime install needs BuildKit (RUN --mount)"
)
WHY_UNSAFE_SPLIT = (
    f"{WHY_UNSAFE_PROJECT}; the dependencies are now built from the dependencies list of "
    "pyproject.toml's project table alone, before the sources are copied, and the project's "
    "wheel with --no-deps "
    "(the runtime's install of it still checks that its dependencies are there)"
)

#: ``-dev`` packages whose runtime library has the same name on bookworm and trixie.
_RUNTIME_LIBRARY = {
    "libpq-dev": "libpq5",
    "libjpeg-dev": "libjpeg62-turbo",
    "libjpeg62-turbo-dev": "libjpeg62-turbo",
    "libxslt1-dev": "libxslt1.1",
    "libxslt-dev": "libxslt1.1",
    "default-libmysqlclient-dev": "libmariadb3",
    "libmariadb-dev": "libmariadb3",
    "libmariadb-dev-compat": "libmariadb3",
    "libyaml-dev": "libyaml-0-2",
    "libmagic-dev": "libmagic1",
    "libpng-dev": "libpng16-16",
    "libopenjp2-7-dev": "libopenjp2-7",
    "libwebp-dev": "libwebp7",
    "libgomp1": "libgomp1",
}
#: ``-dev`` packages whose library the python slim image already holds (CPython needs it).
_IN_SLIM = frozenset({
    "libffi-dev", "libssl-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev", "libsqlite3-dev",
    "libreadline-dev", "libncurses-dev", "libncurses5-dev", "libncursesw5-dev",
    "libexpat1-dev", "uuid-dev", "libgdbm-dev", "libc6-dev", "libc-dev", "python3-dev",
    "python-dev", "libpython3-dev", "linux-libc-dev",
})  # fmt: skip
_APT = frozenset({"apt-get", "apt"})
_TOOLING = frozenset({"pip", "setuptools", "wheel"})
#: ``pip install`` options ``pip wheel`` refuses, dropped from the build command.
_INSTALL_ONLY = frozenset({"-U", "--upgrade", "--force-reinstall", "-I", "--ignore-installed",
                           "--compile", "--no-compile", "--no-warn-script-location",
                           "--no-warn-conflicts", "--break-system-packages",
                           "--root-user-action", "--upgrade-strategy"})  # fmt: skip
#: Options that install somewhere else or from sources that must stay: no fix.
_REFUSED = frozenset({"--user", "-t", "--target", "--prefix", "--root", "-e", "--editable",
                      "--src", "--report", "--dry-run"})  # fmt: skip
_BEFORE = frozenset({"ARG", "ENV", "LABEL", "EXPOSE", "STOPSIGNAL", "WORKDIR", "COPY", "RUN"})
_MOVED = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL"})
_CARRIED = frozenset({"ARG", "ENV", "WORKDIR"})
#: Files and folders named for pip's requirements (``requirements-prod.txt``, ``requirements/``).
_REQUIREMENTS = re.compile(r"(?:.*/)?[\w.-]*(?:requirements|constraints)[\w.-]*")
_CLEANUP = frozenset({"rm", "apt-mark", "true", "set"})
#: Commands that set the image up for the application (users, folders): a RUN of only these
#: before the install is repeated in the runtime stage.
_SETUP = frozenset({"groupadd", "useradd", "addgroup", "adduser", "mkdir", "chown", "chmod",
                    "true", "set"})  # fmt: skip


@dataclass(frozen=True)
class _Install:
    """The RUN that installs the application's dependencies, and its pip commands."""

    run: Run
    ops: tuple[PackageOperation, ...]


def _is_python(stage: Stage) -> bool:
    if stage.base_stage is not None or "$" in stage.base_raw:
        return False
    ref = image_ref(stage.base_raw)
    return ref is not None and ref.path == "python" and ref.registry == "docker.io"


def runtime_base(written: str) -> str | None:
    """The slim image the application runs on, for a python base written ``written``."""
    ref = image_ref(written)
    if ref is None:
        return None
    tag = (ref.tag or "latest").lower()
    if "alpine" in tag or "windows" in tag:
        return None
    if "slim" in tag:
        return written
    if ref.digest:
        return None
    new = slim_tag("python", tag)
    if new is None:
        return None
    name = written.rpartition(":")[0] if ref.tag else written
    return f"{name}:{new}"


def _tooling(op: PackageOperation) -> bool:
    """``pip install --upgrade pip setuptools wheel``: the build's own tools."""
    return (
        bool(op.packages)
        and all(p.name.lower() in _TOOLING for p in op.packages)
        and not op.values("-r", "--requirement", "-c", "--constraint")
    )


def _pip_installs(run: Run) -> Iterator[PackageOperation]:
    for op in run.operations.packages:
        if op.manager == "pip" and op.action == "install":
            yield op


def _other_python_managers(run: Run) -> bool:
    return any(
        op.manager in ("uv", "poetry", "pipenv", "conda", "mamba", "micromamba", "pdm")
        for op in run.operations.packages
    )


def _find_install(runs: list[Run]) -> _Install | None:
    found = [r for r in runs if any(not _tooling(op) for op in _pip_installs(r))]
    if len(found) != 1 or any(_other_python_managers(r) for r in runs):
        return None
    run = found[0]
    return _Install(run, tuple(op for op in _pip_installs(run) if not _tooling(op)))


def _allowed_commands(run: Run, install: _Install | None) -> bool:
    """Every command of ``run`` is a system package command, a cleanup or a pip install
    (the converted ones only in the install RUN)."""
    ops = {id(op.command): op for op in run.operations.packages}
    for cmd in run.script.commands:
        if not cmd.argv:
            return False  # an assignment: something the rest may read
        op = ops.get(id(cmd))
        if op is None:
            if cmd.name not in _CLEANUP:
                return False
            continue
        if op.manager in _APT:
            continue
        if op.manager != "pip" or op.action != "install":
            return False
        if not _tooling(op) and (install is None or op not in install.ops):
            return False
    return True


def _setup(run: Run) -> bool:
    """The RUN only creates users and folders, which the runtime needs as well."""
    commands = run.script.commands
    return bool(commands) and all(c.argv and c.name in _SETUP for c in commands)


def python_app_install(ctx: DockerfileContext) -> bool:
    """The final stage installs the application's dependencies with pip (one RUN or more)."""
    stage = ctx.final_stage
    return stage is not None and any(
        not _tooling(op) for r in stage_runs(ctx, stage) for op in _pip_installs(r)
    )


def _copied_sources_read(inst: Instruction, reads: set[str]) -> bool:
    """A COPY before the install brings only what the install reads."""
    if inst.flag("from") is not None or inst.effective.heredocs:
        return False
    for source in inst.values[:-1]:
        clean = source.removeprefix("./").rstrip("/")
        if not clean or "$" in clean or clean == ".":
            return False
        if clean not in reads and not _REQUIREMENTS.fullmatch(clean):
            return False
    return True


def _installs_project(install: _Install) -> bool:
    """The install builds a local project from the sources (``pip install .``)."""
    return any(spec.kind == "path" for op in install.ops for spec in op.packages)


def _context_copy(inst: Instruction) -> bool:
    """A COPY or ADD of files of the build context (not another stage's, no heredoc)."""
    return inst.flag("from") is None and not inst.effective.heredocs


#: A word of CMD or ENTRYPOINT that names a file the sources may hold.
_SOURCE_FILE = re.compile(
    r"(?:\.{1,2}/|[\w.-]+/)\S*|\S+\.(?:py|sh|pyz|ini|cfg|conf|toml|ya?ml|json)"
)


def _reads_sources_at_run_time(inst: Instruction) -> bool:
    """A CMD, ENTRYPOINT or HEALTHCHECK that runs a file by a relative path (``python
    app.py``, ``./start.sh``, ``gunicorn -c conf/gunicorn.py``): without the sources it is
    gone."""
    values = inst.effective.values
    words: list[str] = []
    if inst.effective.json:
        words = list(values)
    else:
        try:
            words = shlex.split(" ".join(values))
        except ValueError:
            return True
    return any(not w.startswith(("/", "-", "$")) and _SOURCE_FILE.fullmatch(w) for w in words)


def _reads(ops: Iterable[PackageOperation]) -> set[str]:
    """The files and folders pip installs read: ``-r``/``-c`` files and local paths."""
    out: set[str] = set()
    for op in ops:
        for value in op.values("-r", "--requirement", "-c", "--constraint"):
            out.add(value.removeprefix("./").rstrip("/"))
        for spec in op.packages:
            if spec.kind == "path":
                out.add(spec.raw.removeprefix("./").rstrip("/"))
    return out


def _system_packages(runs: Iterable[Run]) -> list[str] | None:
    """The apt packages the runtime needs again, or None when one cannot be mapped."""
    needed: list[str] = []
    for run in runs:
        for op in run.operations.packages:
            if op.manager not in _APT or op.action != "install":
                continue
            for spec in op.packages:
                name = spec.name.lower()
                if "$" in spec.raw or spec.kind not in ("name",):
                    return None
                if name in _RUNTIME_LIBRARY:
                    lib = _RUNTIME_LIBRARY[name]
                elif name in _IN_SLIM:
                    continue
                elif is_build_tool(name):
                    if name.endswith(("-dev", "-devel", "-headers")):
                        return None  # a library the runtime may need, unmapped
                    continue  # a compiler or build system
                else:
                    lib = spec.raw
                if lib not in needed:
                    needed.append(lib)
    return needed


def _rewrite_install(
    ctx: DockerfileContext, install: _Install, folder: str = WHEELS, *extra: str
) -> Edit | None:
    """The install RUN with each pip install turned into ``pip wheel --wheel-dir /wheels``
    (``folder``), with the words ``extra`` after it."""
    found = plan(ctx, install.run)
    if found is None:
        return None
    for op in install.ops:
        argv = op.command.argv
        if op.has(*_REFUSED) or any("$" in w for w in argv):
            return None
        sub = subcommand_index(op)
        if sub is None:
            return None
        words: dict[int, tuple[str, ...]] = {sub: ("wheel", f"--wheel-dir={folder}", *extra)}
        for index, word in enumerate(argv):
            name = word.partition("=")[0]
            if name in _INSTALL_ONLY:
                if "=" not in word and name in ("--root-user-action", "--upgrade-strategy"):
                    return None  # its value is the next word
                words[index] = ()
        if not found.rewrite(op.command, words):
            return None
    return found.edit()


_PLAIN_WORD = re.compile(r"[\w@%+=:,./-]+")
_VERSION = re.compile(r"(\d+)\.(\d+)")


@dataclass(frozen=True)
class _Split:
    """A local project whose dependencies can be built before its sources are copied: the
    source COPY, and the RUN (text) that builds the dependencies' wheels."""

    copy: Instruction
    run: str


def _split_project(
    ctx: DockerfileContext, stage: Stage, install: _Install, before: list[Instruction]
) -> _Split | None:
    """How to build a local project's dependencies before its sources: when ``pip install .``
    (one project, the build context's root, copied by the only COPY before it, ``COPY . .``)
    installs a project whose only dependency declaration is pyproject.toml's static
    ``[project] dependencies``, and the image's Python reads TOML (3.11+); else None."""
    if len(install.ops) != 1:
        return None
    op = install.ops[0]
    specs = op.packages
    if len(specs) != 1 or specs[0].kind != "path" or specs[0].raw not in (".", "./"):
        return None
    if op.values("-r", "--requirement", "-c", "--constraint") or op.has("--no-deps"):
        return None
    copies = [i for i in before if i.name in ("COPY", "ADD")]
    if len(copies) != 1 or copies[0].name != "COPY" or not _context_copy(copies[0]):
        return None
    copy = copies[0]
    if tuple(copy.values) != (".", ".") and tuple(copy.values) != (".", "./"):
        return None
    ref = image_ref(stage.base_raw)
    version = _VERSION.match(ref.tag or "") if ref is not None else None
    if version is None or (int(version[1]), int(version[2])) < (3, 11):
        return None
    if static_dependencies(ctx) is None:
        return None
    argv = op.command.argv
    sub = subcommand_index(op)
    if sub is None:
        return None
    options = [w for w in argv[sub + 1 :] if w != specs[0].raw and w not in _INSTALL_ONLY]
    if not all(_PLAIN_WORD.fullmatch(w) for w in (*argv[:sub], *options)):
        return None
    pip = " ".join(argv[:sub])
    wheel = " ".join([pip, "wheel", f"--wheel-dir={DEPS_WHEELS}", *options])
    return _Split(copy, f"{READ_DEPENDENCIES} \\\n && {wheel} -r /tmp/dependencies.txt")


@fix_builder
def python_wheels_fix(ctx: DockerfileContext) -> Fix | None:
    """Build the final stage's pip dependencies as wheels in a builder, install them into
    the slim runtime."""
    stage = ctx.final_stage
    if stage is None or not _is_python(stage):
        return None
    runtime = runtime_base(stage.base_raw)
    if runtime is None:
        return None
    runs = stage_runs(ctx, stage)
    install = _find_install(runs)
    if install is None:
        return None
    insts = list(stage.instructions)
    at = insts.index(install.run.instruction)
    before, after = insts[:at], insts[at + 1 :]
    reads = _reads(install.ops)
    by_inst = {id(r.instruction): r for r in runs}
    project = False  # the sources are copied before a local project's install
    for inst in before:
        if inst.name not in _BEFORE:
            return None
        if inst.name == "COPY" and not _copied_sources_read(inst, reads):
            if not (_installs_project(install) and _context_copy(inst)):
                return None
            project = True
        run = by_inst.get(id(inst))
        if run is not None and not _allowed_commands(run, None) and not _setup(run):
            return None
    if not _allowed_commands(install.run, install):
        return None
    later = [by_inst[id(i)] for i in after if i.name == "RUN"]
    if project and (
        any(not _setup(r) for r in later)
        or any(
            i.name in ("CMD", "ENTRYPOINT", "HEALTHCHECK") and _reads_sources_at_run_time(i)
            for i in after
        )
    ):
        return None  # something after the install may read the sources the runtime lacks
    env = stage_env(ctx, stage)
    if any(i.name == "ONBUILD" for i in insts) or next(build_steps(later, env), None):
        return None
    if any(
        (op.manager == "pip" and op.action == "install") or _other_python_managers(r)
        or (op.manager in _APT and op.action == "install"
            and any(is_build_tool(p.name) for p in op.packages))
        for r in later for op in r.operations.packages
    ):  # fmt: skip
        return None
    system = _system_packages([*(by_inst[id(i)] for i in before if i.name == "RUN"), install.run])
    if system is None:
        return None
    split = _split_project(ctx, stage, install, before) if project else None
    if split is None:
        rewritten = _rewrite_install(ctx, install)
    else:
        rewritten = _rewrite_install(ctx, install, APP_WHEELS, "--no-deps")
    name_edit = _name_stage(stage, ctx)
    if rewritten is None or name_edit is None:
        return None
    nl = line_ending(install.run.instruction)
    head = [f"FROM {runtime}{nl}"]
    edits = [name_edit, rewritten]
    for inst in before:
        if inst.name in _CARRIED or (inst.name == "RUN" and _setup(by_inst[id(inst)])):
            head.append(_whole(inst))
        elif inst.name in _MOVED:
            head.append(_whole(inst))
            edits.append(Edit(inst.start_line, inst.end_line, ""))
    if system:
        head.append(
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(system)} && rm -rf /var/lib/apt/lists/*{nl}"
        )
    for folder in (WHEELS,) if split is None else (DEPS_WHEELS, APP_WHEELS):
        head.append(
            f"RUN {_mount(folder)} pip install --no-cache-dir --no-index {folder}/*.whl{nl}"
        )
    end = install.run.instruction.end_line
    edits.append(Edit(end + 1, end, "".join(head)))
    if split is not None:
        at_copy = split.copy.start_line
        first = f"COPY pyproject.toml ./{nl}RUN {split.run.replace(chr(10), nl)}{nl}"
        edits.append(Edit(at_copy, at_copy - 1, first))
    edits.sort(key=lambda e: e.start_line)
    if not _proved(ctx, edits, runtime, 1 if split is None else 2):
        return None
    if split is not None:
        return Fix(
            tuple(edits),
            "build the dependencies pyproject.toml declares as wheels before the sources are "
            "copied, and the project's wheel after them, in a `build` stage (the sources stay "
            f"there); install them into {runtime}, the dependencies in a step of their own that "
            "a source change does not re-run",
            Safety.UNSAFE,
            WHY_UNSAFE_SPLIT,
        )
    if project:
        return Fix(
            tuple(edits),
            "build the project and its dependencies as wheels in a `build` stage (the sources "
            f"stay there) and install the wheels into {runtime}",
            Safety.UNSAFE,
            WHY_UNSAFE_PROJECT,
        )
    return Fix(
        tuple(edits),
        f"build the pip dependencies as wheels in a `build` stage and install them into {runtime}",
        Safety.UNSAFE,
        WHY_UNSAFE,
    )


def _proved(ctx: DockerfileContext, edits: list[Edit], runtime: str, installs: int) -> bool:
    """The fixed file parses into the builder and a runtime stage that installs the wheels
    (in ``installs`` RUNs)."""
    build = one_more_stage(ctx, edits)
    if build is None:
        return False
    builder, final = build.stages[-2], build.stages[-1]
    mounts = [
        i
        for i in final.instructions
        if i.name == "RUN" and "--mount=type=bind,from=build," in i.text
    ]
    return builder.name == "build" and final.base_raw == runtime and len(mounts) == installs
