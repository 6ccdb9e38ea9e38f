"""The unsafe fix of KH125 (build-in-final-stage) for a front-end bundled with npm, yarn or
pnpm: the node stage becomes the build stage, and a new final stage serves the bundle with
nginx.

The one pattern fixed (anything else: no fix, the finding stays)::

    FROM node:20                            FROM node:20 AS build
    LABEL org.opencontainers.image.title=x  WORKDIR /app
    WORKDIR /app                            COPY package.json package-lock.json ./
    COPY package.json package-lock.json ./  RUN npm ci
    RUN npm ci                              COPY . .
    COPY . .                                RUN npm run build
    RUN npm run build                       RUN npm install -g serve
    RUN npm install -g serve            ->  FROM nginxinc/nginx-unprivileged:1.27-alpine
    USER node                               LABEL org.opencontainers.image.title=x
    EXPOSE 3000                             COPY --from=build /app/build /usr/share/nginx/html
    CMD ["serve", "-s", "build"]            EXPOSE 8080

- The final stage is built FROM a ``node`` image (any tag or digest, kept), installs the
  project's dependencies (``npm ci``, ``npm install``, ``yarn``/``yarn install``, ``pnpm
  install`` with no package named and no ``-g``), copies sources, and runs exactly one build
  command (``npm run build``, ``yarn build``, ``pnpm build``, ``vite build``, ``ng build``...).
- Its CMD (or ENTRYPOINT, or exec-form ENTRYPOINT plus exec-form CMD) only serves a folder of
  static files: ``serve FOLDER`` or ``http-server FOLDER``, run directly, by path, or through
  ``npx``/``pnpx`` (``npx -y serve@14 -s build``), exec form or plain shell words (no
  variables, quotes or operators). Every option must be known and harmless (port, address,
  logging, compression, CORS, caching, ``-s``); a config file, TLS, a proxy or an option
  keelhaul does not know: no fix. ``http-server`` parses its arguments loosely (a flag
  followed by a word takes the word as its value), so a flag directly before a word: no fix.
  ``npm start``, ``node server.js``, ``npm run preview``: not static, no fix.
- ``vite preview`` is not fixed: it serves vite's ``build.outDir``, which the project's
  vite.config may move (and ``base`` may prefix every URL), so the folder is not known.
- The folder must be named: relative ones resolve against the stage's last WORKDIR. No folder
  (serving the working directory), a variable or an unusual character in it, or a folder that
  holds the project itself (where the dependencies were installed, with node_modules and the
  sources): no fix.
- The runtime stage is inserted after the stage's last RUN, COPY, ADD, WORKDIR or SHELL: any
  later RUN (``npm install -g serve``, ``npm prune``) stays in the build stage, before the
  copy. What follows may only be ENV, ARG, LABEL, EXPOSE, USER, CMD, ENTRYPOINT and
  ``HEALTHCHECK NONE``; ENV and ARG stay as they are (nginx ignores them), except that an ENV
  there replacing PATH (without ``$PATH``) would hide nginx: no fix. A LABEL with a variable
  (the node stage's ARGs are not declared in the nginx stage): no fix. A HEALTHCHECK that runs
  something (curl, wget, node), STOPSIGNAL, VOLUME or ONBUILD: no fix.
- The runtime image ``nginxinc/nginx-unprivileged:1.27-alpine`` (setting
  ``static-server-base`` in ``ctx.settings`` names another) runs nginx as uid 101 listening on
  port 8080, with its own CMD: the CMD/ENTRYPOINT and every EXPOSE of the node stage are
  removed, ``EXPOSE 8080`` is added, and a USER after the last build instruction is dropped
  (nginx-unprivileged is already non-root; the node image's ``node`` user does not exist
  there). LABELs move to the runtime stage (they describe the image).
- Single-page apps: ``serve -s`` answers every unknown path with index.html; nginx's default
  configuration answers 404. The fix still applies (writing an nginx configuration would need
  a heredoc, which the legacy builder lacks, or a new file in the context), and why_unsafe
  says that deep links 404 until a ``try_files $uri /index.html`` rule is added. Likewise
  serve's clean URLs (``/about`` for about.html) and the directory listings of serve and
  http-server are not nginx defaults.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from keelhaul.dockerfile.edits import line_ending
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.multistage._fixes import (
    _exec_words,
    _name_stage,
    _resolve,
    _whole,
    one_more_stage,
)
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.toolchain import (
    BuildStep,
    _command_step,
    _operation_step,
    stage_runs,
)
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder

STATIC_SERVER = "nginxinc/nginx-unprivileged:1.27-alpine"
HTML = "/usr/share/nginx/html"
NGINX_PORT = "8080"

_STRUCTURE = frozenset({"RUN", "COPY", "ADD", "WORKDIR", "SHELL"})
_BEFORE = frozenset({"ENV", "ARG", "LABEL", "EXPOSE", "USER", "WORKDIR", "COPY", "ADD", "RUN",
                     "SHELL"})  # fmt: skip
_AFTER = frozenset({"ENV", "ARG", "LABEL", "EXPOSE", "USER", "CMD", "ENTRYPOINT", "HEALTHCHECK"})
_DEPENDENCY_MANAGERS = frozenset({"npm", "yarn", "pnpm"})
_FOLDER = re.compile(r"[A-Za-z0-9._@+/-]+")
_PORT = re.compile(r"(?:(?:tcp://)?[A-Za-z0-9.\-\[\]]*:)?(\d{1,5})")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Server:
    """What a static file server command serves: the folder as written, the port, ``-s``."""

    name: str
    folder: str
    port: str
    single: bool


# the options of `serve` (vercel/serve: typed options, so a flag never swallows a word)
_SERVE_VALUES = frozenset({"-l", "--listen", "-p", "--port"})
_SERVE_FLAGS = frozenset({"-s", "--single", "-d", "--debug", "-C", "--cors", "-S", "--symlinks",
                          "-n", "--no-clipboard", "-u", "--no-compression", "--no-etag",
                          "-L", "--no-request-logging", "--no-port-switching"})  # fmt: skip
# the options of `http-server` (minimist: untyped, a flag followed by a word takes it)
_HTTP_VALUES = frozenset({"-p", "--port", "-a", "-c", "-e", "--ext"})
_HTTP_FLAGS = frozenset({"-s", "--silent", "-g", "--gzip", "-b", "--brotli", "--cors", "-U",
                         "--utc", "--log-ip", "--no-dotfiles"})  # fmt: skip
_DEFAULT_PORT = {"serve": "3000", "http-server": "8080"}


def _is_node(stage: Stage) -> bool:
    if stage.base_stage is not None or "$" in stage.base:
        return False
    ref = image_ref(stage.base)
    return ref is not None and ref.path == "node"


def _server_words(words: list[str]) -> tuple[str, list[str]] | None:
    """(server, its arguments) when ``words`` run serve or http-server."""
    rest = list(words)
    if rest and posixpath.basename(rest[0]) in ("npx", "pnpx"):
        rest = rest[1:]
        while rest and rest[0] in ("-y", "--yes"):
            rest = rest[1:]
    if not rest:
        return None
    name = posixpath.basename(rest[0])
    if words[0] != rest[0]:  # through npx: `serve@14` is the serve package at version 14
        name = re.sub(r"@[\w.^~-]+\Z", "", name)
    if name not in _DEFAULT_PORT:
        return None
    return name, rest[1:]


def _port(value: str) -> str | None:
    found = _PORT.fullmatch(value)
    return found.group(1) if found else None


def _static_server(words: list[str]) -> _Server | None:
    """The folder, port and SPA mode of a ``serve``/``http-server`` command, when every
    argument is understood."""
    found = _server_words(words)
    if found is None:
        return None
    name, args = found
    values, flags = (
        (_SERVE_VALUES, _SERVE_FLAGS) if name == "serve" else (_HTTP_VALUES, _HTTP_FLAGS)
    )
    folders: list[str] = []
    ports: list[str] = []
    single = False
    i = 0
    while i < len(args):
        word = args[i]
        option, eq, value = word.partition("=")
        if name == "http-server" and re.fullmatch(r"-c-?\d+", word):  # `-c-1`: no caching
            i += 1
            continue
        if option in values:
            if not eq:
                if i + 1 >= len(args):
                    return None
                value = args[i + 1]
                i += 1
            if option in ("-l", "--listen", "-p", "--port"):
                port = _port(value)
                if port is None:
                    return None
                ports.append(port)
        elif word in flags:
            single = single or (name == "serve" and word in ("-s", "--single"))
            nxt = args[i + 1] if i + 1 < len(args) else "-"
            if name == "http-server" and not nxt.startswith("-"):
                return None  # minimist would read the next word as this flag's value
        elif word.startswith("-"):
            return None
        else:
            folders.append(word)
        i += 1
    if len(folders) != 1 or len(ports) > 1 or not _FOLDER.fullmatch(folders[0]):
        return None
    return _Server(name, folders[0], ports[0] if ports else _DEFAULT_PORT[name], single)


def _sets_path(inst: Instruction) -> bool:
    """An ENV that replaces PATH (rather than adding to ``$PATH``)."""
    values = inst.effective.values
    pairs = inst.pairs()
    if not pairs and values:  # the legacy ``ENV PATH /x`` form
        pairs = ((values[0], " ".join(values[1:])),)
    return any(
        key == "PATH" and "$PATH" not in value and "${PATH}" not in value for key, value in pairs
    )


def _build_count(runs: list[Run]) -> int:
    """How many commands of ``runs`` compile or bundle."""
    count = 0
    for run in runs:
        count += sum(_operation_step(op) is not None for op in run.operations.packages)
        count += sum(_command_step(cmd) is not None for cmd in run.script.commands)
    return count


def _installs_dependencies(run: Run) -> bool:
    return any(
        op.manager in _DEPENDENCY_MANAGERS
        and op.action in ("install", "ci")
        and not op.packages
        and not op.has("-g", "--global")
        for op in run.operations.packages
    )


def _runner_words(after: list[Instruction]) -> tuple[list[str], list[Instruction]] | None:
    """The words the container runs, and the CMD/ENTRYPOINT instructions to remove."""
    entries = [i for i in after if i.name == "ENTRYPOINT"]
    commands = [i for i in after if i.name == "CMD"]
    entry = entries[-1] if entries else None
    command = commands[-1] if commands else None
    if entry is not None:
        words = _exec_words(entry)
        if words is not None and entry.effective.json and command is not None:
            extra = _exec_words(command) if command.effective.json else None
            words = None if extra is None else words + extra
    elif command is not None:
        words = _exec_words(command)
    else:
        return None
    if not words:
        return None
    return words, entries + commands


def _server_image(ctx: DockerfileContext) -> str:
    chosen = ctx.settings.static_server_base
    if chosen is not None and _IMAGE.fullmatch(chosen):
        return chosen
    return STATIC_SERVER


def _why(server: _Server) -> str:
    moved = "stays 8080" if server.port == NGINX_PORT else f"moves from {server.port} to 8080"
    why = f"nginx (uid 101) serves the folder instead of {server.name}: the port {moved}, " + (
        "and clean URLs (/about for about.html) and directory listings are not nginx defaults"
        if server.name == "serve"
        else "and directory listings are not an nginx default"
    )
    if server.single:
        why += (
            "; `serve -s` answered unknown paths with index.html, nginx's default configuration "
            "answers 404, so deep links of a single-page app break until a `try_files $uri "
            "/index.html` rule is added"
        )
    return why


@fix_builder
def node_multistage_fix(ctx: DockerfileContext, step: BuildStep) -> Fix | None:
    """Split a final stage that bundles a front-end into a build stage and an nginx stage."""
    stage = ctx.final_stage
    if stage is None or step.ecosystem != "node" or not _is_node(stage):
        return None
    runs = stage_runs(ctx, stage)
    if _build_count(runs) != 1 or step.run not in runs:
        return None
    insts = list(stage.instructions)
    last = max(i for i, inst in enumerate(insts) if inst.name in _STRUCTURE)
    if insts.index(step.run.instruction) > last:
        return None
    before, after = insts[: last + 1], insts[last + 1 :]
    if any(i.name not in _BEFORE for i in before) or any(i.name not in _AFTER for i in after):
        return None
    if any(i.name == "HEALTHCHECK" and [v.upper() for v in i.values] != ["NONE"] for i in after):
        return None
    if any(i.name == "LABEL" and "$" in i.text for i in insts) or any(
        i.name == "ENV" and _sets_path(i) for i in after
    ):
        return None  # the node stage's ARGs are not visible in nginx; nginx needs its PATH
    # the WORKDIR of each instruction: the project is where the dependencies were installed
    workdir, projects, copied = "/", set[str](), False
    at_build = insts.index(step.run.instruction)
    for n, inst in enumerate(insts):
        if inst.name == "WORKDIR":
            value = inst.values[0] if inst.values else ""
            if "$" in value or not value:
                return None
            workdir = _resolve(value, workdir)
        elif inst.name in ("COPY", "ADD") and not inst.flag("from") and n < at_build:
            copied = True
        elif inst.name == "RUN" and n <= at_build:
            run = next((r for r in runs if r.instruction is inst), None)
            if run is not None and _installs_dependencies(run):
                projects.add(workdir)
    if not projects or not copied:
        return None
    found = _runner_words(after)
    if found is None:
        return None
    words, runners = found
    server = _static_server(words)
    if server is None:
        return None
    folder = _resolve(server.folder, workdir)
    if any(p == folder or p.startswith(folder.rstrip("/") + "/") for p in projects):
        return None  # the folder holds the project: sources, node_modules and all
    return _edits(ctx, stage, before, after, runners, folder, server)


def _edits(
    ctx: DockerfileContext, stage: Stage, before: list[Instruction], after: list[Instruction],
    runners: list[Instruction], folder: str, server: _Server,
) -> Fix | None:  # fmt: skip
    """Edits that insert the nginx stage after ``before`` and clean up the node stage."""
    edits: list[Edit] = []
    labels: list[str] = []
    for inst in before:
        if inst.name == "LABEL":
            labels.append(_whole(inst))
            edits.append(Edit(inst.start_line, inst.end_line, ""))
        elif inst.name == "EXPOSE":
            edits.append(Edit(inst.start_line, inst.end_line, ""))
    for inst in after:
        if inst.name in ("EXPOSE", "USER") or inst in runners:
            edits.append(Edit(inst.start_line, inst.end_line, ""))
    anchor = before[-1]
    nl = line_ending(anchor) or line_ending(stage.from_instruction) or "\n"
    image = _server_image(ctx)
    head = (
        f"FROM {image}{nl}"
        + "".join(labels)
        + f"COPY --from=build {folder} {HTML}{nl}EXPOSE {NGINX_PORT}{nl}"
    )
    edits.append(Edit(anchor.end_line + 1, anchor.end_line, head))
    name_edit = _name_stage(stage, ctx)
    if name_edit is None:
        return None
    edits.append(name_edit)
    edits.sort(key=lambda e: e.start_line)
    if not _proved(ctx, edits, folder, image):
        return None
    return Fix(
        tuple(edits),
        f"build in a `build` stage and serve `{folder}` from {image}",
        Safety.UNSAFE,
        _why(server),
    )


def _proved(ctx: DockerfileContext, edits: list[Edit], folder: str, image: str) -> bool:
    """The fixed file parses into the build stage and an nginx stage that copies the folder,
    exposes 8080 and runs nothing of its own."""
    build = one_more_stage(ctx, edits)
    if build is None:
        return False
    final = build.stages[-1]
    names = [i.name for i in final.instructions]
    copies = [i for i in final.instructions if i.name == "COPY"]
    return (
        build.stages[-2].name == "build"
        and final.base == image
        and len(copies) == 1
        and copies[0].values == (folder, HTML)
        and copies[0].flag("from") == "build"
        and [i.values for i in final.instructions if i.name == "EXPOSE"] == [(NGINX_PORT,)]
        and not {"RUN", "CMD", "ENTRYPOINT", "USER"} & set(names)
        and all(
            [v.upper() for v in i.values] == ["NONE"]
            for i in final.instructions
            if i.name == "HEALTHCHECK"
        )
    )
