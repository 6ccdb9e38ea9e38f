"""ShellCheck over RUN scripts, in the Dockerfile's context, in batches, with a cache.

What ShellCheck sees is the script BuildKit hands to the shell:

- **The script as BuildKit joins it.** Each shell-form RUN becomes one script file whose lines
  are the instruction's own physical lines (keyword and flags cut from the front, comment and
  blank lines inside the continuation dropped as BuildKit drops them). The Dockerfile escape is
  a backslash, which is also the shell's line continuation, so the script means what BuildKit
  hands to ``/bin/sh -c``, and ShellCheck's line and column point straight back into the
  Dockerfile. BuildKit also takes a backslash followed by spaces or tabs at the end of a line as
  a continuation; the shell would not, so that whitespace is cut before ShellCheck reads the
  line (no SC1101 for a file BuildKit builds). A heredoc RUN (``RUN <<EOF``) is checked as its
  body.
- **The shell of the stage** (``--shell`` through a ``# shellcheck shell=`` header): the SHELL
  instruction in effect (inherited from the stage's base stage), else the ``/bin/sh`` of the
  base image: ``dash`` for Debian and Ubuntu and the official images built on them,
  ``busybox`` (ash) for Alpine and BusyBox, ``bash`` for the RHEL family (CentOS, Fedora,
  Rocky, Alma, Amazon Linux, UBI, openSUSE, Arch), plain POSIX ``sh`` when the base is unknown.
  A heredoc's ``#!/bin/bash`` line wins. No ShellCheck at all for a shell that is not POSIX
  (``cmd``, PowerShell, a Windows base image, a file with ``# escape=```).
- **The build's variables.** A one-line preamble ShellCheck reads before the script assigns
  every ARG and ENV value known at that RUN (so ``$VERSION`` set to a plain word is no SC2086)
  and exports the names whose value is unknown (an ARG with no default: no SC2154). Findings on
  the preamble are dropped; the others are mapped back to their Dockerfile line.

**Codes in Dockerfiles.** ShellCheck's own levels were written for scripts in a repository.
Judged on the real-world corpus (``tests/data/judged/shellcheck.tsv``; ``python -m
tests.judged``), some codes are wrong or not actionable in a Dockerfile: :data:`OFF_BY_DEFAULT`
are not reported unless selected by code (``select = ["SC2046"]``), :data:`DEMOTED` are
reported below the gate. Each entry says why.

**Cost.** All scripts of all files go to a few ShellCheck processes (one per chunk of scripts,
chunks run in parallel), never one process per RUN, and a script several files share goes
once. With a :class:`ResultCache` (``keelhaul check`` uses one), ShellCheck's answer for a
script is kept under the user cache folder keyed by a hash of (the script with its header and
preamble, ShellCheck's version, the options), so a script already checked costs one SQLite
lookup. docs/shellcheck.md documents all of this for users.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keelhaul import limits, programs
from keelhaul.dockerfile.scripts import heredoc_is_script, script_program, skip_words
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, LineRole
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.rules.dockerfile.shared.images import image_ref, is_alpine
from keelhaul.rules.dockerfile.shared.structure import base_of, scopes
from keelhaul.rules.registry import DockerfileContext

CHUNK = 400  # scripts per ShellCheck process: well under any argv limit
#: The longest RUN script given to ShellCheck, in lines and bytes. ShellCheck's time and memory
#: grow faster than its input (2,000 ``&& echo`` lines: 10 s and 1.8 GB; 4,000: 50 s and
#: 7.6 GB) and it has no limit of its own; real RUN scripts stay far below these.
MAX_SCRIPT_LINES = limits.SHELLCHECK_SCRIPT_LINES
MAX_SCRIPT_BYTES = limits.SHELLCHECK_SCRIPT_BYTES
#: Seconds one ShellCheck process may take, and the address space it may map, by default
#: (settings ``shellcheck-timeout`` and ``shellcheck-max-memory``): past either it is killed
#: and the check stops with an error naming the RUN scripts it was given (exit 2).
SHELLCHECK_TIMEOUT = limits.SHELLCHECK_SECONDS
SHELLCHECK_MEMORY = limits.SHELLCHECK_MEMORY_BYTES
LEVELS = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "style": Severity.STYLE,
}
SHELLS = {"sh": "sh", "bash": "bash", "dash": "dash", "ash": "busybox", "ksh": "ksh",
          "busybox": "busybox"}  # fmt: skip
#: The options every ShellCheck run gets (part of the cache key).
#: A Dockerfile cannot say where a sourced file lives (SC1090/SC1091).
OPTIONS = ("--format=json1", "--norc", "--exclude=SC1090,SC1091")

OFF_BY_DEFAULT: dict[str, str] = {
    "SC2046": (
        "an unquoted `$(...)` in a RUN is nearly always a deliberate list of words "
        "(`cmake $(xx-clang --print-cmake-defines)`, `apk add $(cat build-deps)`) or an "
        "optional flag that must vanish when empty (`$(test ... && echo --with-lto)`), else "
        "one word (`-j$(nproc)`); quoting breaks the first two. Judged on the corpus: 58 "
        "wrong, 41 noise, none right out of 99"
    ),
    "SC2185": (
        "`find` with no path: GNU find and busybox find (the two a Linux image has) both "
        "default to `.`; judged wrong 70 times out of 70 in the issue's corpus"
    ),
    "SC2016": (
        "single quotes around `$VAR` in a Dockerfile are there on purpose: the text is for a "
        "later expansion (`envsubst '${VAR}'`, `sed 's/80/${PORT}/'` into an Apache config, a "
        "PHP ini line, `echo 'export PATH=$PATH:...' >> ~/.bashrc`)"
    ),
}
"""ShellCheck codes not reported by default in Dockerfiles, with the reason (select one by
its code to have it back). :data:`keelhaul.selection.SHELLCHECK_OFF_BY_DEFAULT` holds the
same codes for the selection layer (tests keep the two equal)."""

DEMOTED: dict[str, tuple[Severity, str]] = {
    "SC2155": (
        Severity.STYLE,
        '`export GNUPGHOME="$(mktemp -d)"`: declaring and assigning at once only masks the '
        "command's exit status; the docker-library pattern, 99 findings judged noise",
    ),
    "SC2043": (
        Severity.STYLE,
        "a `for` loop over one item is how generated Dockerfiles (docker-library, nginx) keep "
        "the loop their other variants need; 20 findings judged noise",
    ),
    "SC1007": (
        Severity.STYLE,
        "`ARCH= OPENSSL_ARCH=` and `VAR= command` are deliberate empty assignments, correct "
        "shell; 17 findings judged noise",
    ),
    "SC2154": (
        Severity.INFO,
        "a lower-case variable ShellCheck sees no assignment for comes from somewhere it "
        "cannot look in a Dockerfile: a sourced file (`. ./APKBUILD`), the base image's ENV, "
        "or `buildDeps='...' set -x` (an assignment before the special builtin `set` persists "
        "in POSIX sh); 5 findings judged wrong",
    ),
    "SC2174": (
        Severity.INFO,
        "`mkdir -p -m MODE`: in an image the parents exist or their default mode is what is "
        "wanted; 2 findings judged noise",
    ),
    "SC2038": (
        Severity.INFO,
        "`find ... | xargs` breaks on names with blanks or newlines; in a RUN the names are "
        "the build's own (the build context, the files an install just unpacked), known "
        "when the Dockerfile is written, not a user's; 2 findings judged noise, none right",
    ),
    "SC2010": (
        Severity.INFO,
        "`ls | grep` breaks on odd names, the same concern as SC2038 over the build's own "
        "files; 1 finding judged noise, none right",
    ),
}
"""ShellCheck codes reported below ShellCheck's own level in Dockerfiles (below the default
gate, ``fail-on = warning``), with the reason; ``[severity]`` in the configuration raises
them again."""


class ShellCheckFailed(KeelhaulError):
    """The ShellCheck binary ran but gave no usable answer."""


@dataclass(frozen=True, slots=True)
class Script:
    """One RUN script and where each of its lines sits in the Dockerfile."""

    path: str
    stage: str | None
    dialect: str
    text: str
    lines: tuple[tuple[int, int], ...]
    """Per script line: (Dockerfile line, columns cut from its front)."""
    known: tuple[tuple[str, str], ...] = ()
    """ARG and ENV values in effect: ShellCheck then knows ``$VERSION`` is a plain word."""
    unknown: tuple[str, ...] = ()
    """ARGs (and ENVs) whose value is not known: declared, so no SC2154."""

    def source(self) -> str:
        """The file ShellCheck reads: :data:`HEADER_LINES` lines of header, then the script."""
        parts = [f"export {' '.join(self.unknown)}"] if self.unknown else []
        parts += [f"{k}={_quote(v)}" for k, v in self.known]
        return f"# shellcheck shell={self.dialect}\n{'; '.join(parts)}\n{self.text}"


HEADER_LINES = 2
#: Characters of an ARG or ENV value the script's header gives ShellCheck.
_MAX_KNOWN_VALUE = 256
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTINUED = re.compile(r"\\[ \t]+(\r?)$")
"""A backslash then blanks at the end of a line: BuildKit's continuation, not the shell's."""


def _quote(value: str) -> str:
    return "'" + value.replace("\n", " ").replace("'", "'\\''") + "'"


def find_shellcheck() -> str | None:
    """``$KEELHAUL_SHELLCHECK``, else ``shellcheck`` beside this Python (a venv), else on PATH."""
    named = os.environ.get("KEELHAUL_SHELLCHECK")
    if named:
        return named
    beside = Path(sys.executable).parent / "shellcheck"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("shellcheck")


# --------------------------------------------------------------------------------------------
# the shell of a stage

_WINDOWS = ("windows", "servercore", "nanoserver", "dotnet/framework")
_RHEL = frozenset(
    {"centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "oraclelinux", "ubi",
     "ubi-minimal", "ubi8", "ubi9", "ubi10", "ubi8-minimal", "ubi9-minimal", "rhel", "photon",
     "opensuse", "leap", "tumbleweed", "archlinux", "clearlinux", "mageia", "amazoncorretto",
     "mysql", "azurelinux"}
)  # fmt: skip
"""Images whose ``/bin/sh`` is bash (in POSIX mode, which keeps ``[[``, ``${v:0:1}``...);
``mysql`` is built on Oracle Linux."""
_RHEL_TAGS = ("centos", "fedora", "ubi", "rocky", "alma", "oraclelinux", "amazonlinux",
              "corretto", "azurelinux", "mariner")  # fmt: skip
_DEBIAN = frozenset(
    {"debian", "ubuntu", "buildpack-deps", "python", "node", "golang", "ruby", "php", "perl",
     "rust", "eclipse-temurin", "maven", "gradle", "gcc", "nginx", "httpd", "redis",
     "postgres", "mariadb", "mongo", "memcached", "rabbitmq", "elixir", "erlang",
     "haskell", "julia", "r-base", "swift", "wordpress", "drupal", "ghost", "tomcat", "jetty",
     "haproxy", "neurodebian", "kali-rolling", "sdk", "aspnet", "runtime",
     "runtime-deps"}
)  # fmt: skip
"""Images whose ``/bin/sh`` is dash: Debian, Ubuntu, and the official images built on them
(the default variant of the docker-library language images; the .NET images are Debian;
``maven`` and ``gradle`` default to eclipse-temurin, on Ubuntu). Not ``openjdk`` (its last
default tags are Oracle Linux) nor ``mysql`` (Oracle Linux)."""
_ALPINE_OFFICIAL = frozenset({"docker", "registry", "traefik", "caddy"})
"""Official images whose every variant is built on Alpine (``docker:29-cli``)."""
_DEBIAN_TAGS = ("bookworm", "bullseye", "buster", "stretch", "trixie", "jammy", "noble",
                "focal", "bionic", "xenial", "slim", "oracular", "plucky")  # fmt: skip


def base_shell(reference: str) -> str | None:
    """The ShellCheck dialect of ``/bin/sh`` in the image ``reference``: ``dash``,
    ``busybox``, ``bash``, ``sh`` when unknown; None for a Windows image (its default shell is
    ``cmd``)."""
    lowered = reference.lower()
    if any(w in lowered for w in _WINDOWS):
        return None
    ref = image_ref(reference)
    if ref is None:
        return "sh"
    tag = (ref.tag or "").lower()
    alpine_name = "alpine" in ref.last and "glibc" not in ref.last
    if is_alpine(reference) or alpine_name or ref.last == "busybox" or "busybox" in tag:
        return "busybox"
    if ref.official and ref.last in _ALPINE_OFFICIAL:
        return "busybox"
    if ref.last in _RHEL or any(w in tag for w in _RHEL_TAGS):
        return "bash"
    official = ref.official or ref.registry == "mcr.microsoft.com"
    if (official and ref.last in _DEBIAN) or any(w in tag for w in _DEBIAN_TAGS):
        return "dash"
    return "sh"


def _shell_of(inst: Instruction) -> tuple[str, ...] | None:
    if inst.name == "SHELL" and inst.json and inst.values:
        return tuple(inst.values)
    return None


def _dialect(shell: Sequence[str] | None, root: Stage) -> str | None:
    """The shell a RUN runs in, as ShellCheck names it; None when it is not a POSIX one.

    ``shell`` is the SHELL in effect (None: the image's ``/bin/sh -c``); ``root`` the stage
    that starts from an image.
    """
    if shell is None:
        if root.is_scratch:
            return "sh"
        return base_shell(root.base)
    name = os.path.basename(shell[0]).lower()
    if name == "sh":
        return base_shell(root.base) if not root.is_scratch else "sh"
    return SHELLS.get(name)


# --------------------------------------------------------------------------------------------
# scripts


def _script_lines(inst: Instruction) -> tuple[list[str], list[tuple[int, int]]] | None:
    """The shell-form script of a RUN as (lines, mapping), or None when there is none."""
    eff = inst.effective
    code = [line for line in inst.lines if line.role is LineRole.CODE]
    if not code:
        return None
    keywords = 2 if inst.sub is not None else 1
    words_left = keywords
    flags_left = len(eff.flags)
    texts: list[str] = []
    mapping: list[tuple[int, int]] = []
    for line in code:
        content = line.content
        pos = 0
        if words_left or flags_left:
            pos = skip_words(content, 0, words_left)
            words_left = 0
            while flags_left:
                nxt = skip_words(content, pos, 1)
                if nxt == pos or not content[pos:nxt].strip().startswith("--"):
                    break
                pos, flags_left = nxt, flags_left - 1
            rest = content[pos:]
            if not rest.strip() or rest.strip() == "\\":
                continue  # a line that held only the keyword and flags
            pos += len(rest) - len(rest.lstrip(" \t"))
        texts.append(_CONTINUED.sub(r"\\\1", content[pos:]))
        mapping.append((line.number, pos))
    return texts, mapping


def _variables(ctx: DockerfileContext, inst: Instruction, texts: list[str]) -> tuple[
    tuple[tuple[str, str], ...], tuple[str, ...]
]:  # fmt: skip
    """(known values, names without a known value) of the ARGs and ENVs in effect at ``inst``
    that its script ``texts`` name: only those can change what ShellCheck says, and a scope
    inherited down a chain of thousands of stages would otherwise go to it with every RUN."""
    scope = scopes(ctx).at(inst)
    if scope is None:
        return (), ()
    known: list[tuple[str, str]] = []
    unknown: list[str] = []
    named = {word for text in texts for word in _NAME.findall(text)}
    for name in sorted(named):
        if name == "PATH" or (name not in scope.env and name not in scope.args):
            continue
        value = scope.env.get(name)
        if value is None or "$" in value:
            unknown.append(name)
        else:
            # ShellCheck needs only to know a name holds a plain word: a long value is cut,
            # so a variable that expanded to megabytes does not go to it once per RUN
            known.append((name, value[:_MAX_KNOWN_VALUE]))
    return tuple(known), tuple(unknown)


def scripts_of(ctx: DockerfileContext) -> Iterator[Script]:
    """Every shell-form RUN script of a Dockerfile, ready for ShellCheck."""
    if ctx.tree.escape != "\\":
        return  # backtick escape: Windows images, PowerShell or cmd scripts
    shells: dict[int, tuple[str, ...] | None] = {}
    for stage in ctx.build.stages:
        root = ctx.build.root(stage)
        base = base_of(stage)
        shell = shells.get(base) if base is not None else None
        for inst in stage.instructions:
            eff = inst.effective
            shell = _shell_of(inst) or shell
            if eff.name != "RUN" or eff.json:
                continue
            dialect = _dialect(shell, root)
            if dialect is None:
                continue
            if eff.heredocs:
                if not heredoc_is_script(inst):
                    continue  # `python3 <<EOF`: the heredoc is data, not shell
                program = script_program(eff.heredocs[0].content)
                if program is not None:
                    if program not in SHELLS:
                        continue
                    dialect = SHELLS[program] if program != "sh" else dialect
                body = [line for line in inst.lines if line.role is LineRole.HEREDOC]
                texts = [line.content for line in body]
                mapping = [(line.number, 0) for line in body]
            else:
                found = _script_lines(inst)
                if found is None:
                    continue
                texts, mapping = found
            if not texts:
                continue
            known, unknown = _variables(ctx, inst, texts)
            yield Script(
                ctx.tree.path,
                stage.label,
                dialect,
                "\n".join(texts) + "\n",
                tuple(mapping),
                known,
                unknown,
            )
        shells[stage.index] = shell


# --------------------------------------------------------------------------------------------
# running ShellCheck, and its cache


def cache_path() -> Path:
    """``$KEELHAUL_CACHE_DIR/shellcheck.sqlite3``, else under ``$XDG_CACHE_HOME/keelhaul``."""
    base = os.environ.get("KEELHAUL_CACHE_DIR")
    if base:
        return Path(base) / "shellcheck.sqlite3"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "keelhaul" / "shellcheck.sqlite3"


class ResultCache:
    """ShellCheck's comments on a script, keyed by a hash of (ShellCheck's version, the
    options, the script as ShellCheck reads it: dialect header, preamble, body). One SQLite
    file shared by parallel runs; a damaged or unwritable cache only costs the time."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, comments TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS binaries (identity TEXT PRIMARY KEY,"
                " version TEXT NOT NULL)"
            )
            self._db = db
        except (OSError, sqlite3.Error):
            self._db = None

    def version(self, binary: str) -> str:
        """ShellCheck's version, asked once per binary file (path, size, modification time)."""
        try:
            real = os.path.realpath(binary)
            st = os.stat(real)
            identity = f"{real}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return _ask_version(binary)
        row = self._get("SELECT version FROM binaries WHERE identity = ?", identity)
        if row is not None:
            return row
        version = _ask_version(binary)
        self._put("INSERT OR REPLACE INTO binaries VALUES (?, ?)", identity, version)
        return version

    def lookup(self, key: str) -> list[dict[str, object]] | None:
        row = self._get("SELECT comments FROM results WHERE key = ?", key)
        if row is None:
            return None
        try:
            found = json.loads(row)
        except ValueError:
            return None
        return found if isinstance(found, list) else None

    def store(self, entries: dict[str, list[dict[str, object]]]) -> None:
        if self._db is None or not entries:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in entries.items()],
            )
            self._db.execute("COMMIT")
        except sqlite3.Error:
            self._db = None

    def _get(self, sql: str, key: str) -> str | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(sql, (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def _put(self, sql: str, *values: str) -> None:
        if self._db is None:
            return
        try:
            self._db.execute(sql, values)
        except sqlite3.Error:
            self._db = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _ask_version(binary: str) -> str:
    try:
        done = programs.run([binary, "--version"], DEFAULT_BOUNDS)
    except (OSError, programs.TimedOut) as exc:
        raise ShellCheckFailed(f"cannot run ShellCheck ({binary}): {exc}") from exc
    stdout = done.stdout.decode("utf-8", "replace")
    for line in stdout.splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return stdout.strip() or "unknown"


def _key(version: str, source: str) -> str:
    text = "\0".join((version, *OPTIONS, source))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


Bounds = programs.Bounds
#: What one ShellCheck process may use unless the settings shellcheck-timeout and
#: shellcheck-max-memory say otherwise.
DEFAULT_BOUNDS = Bounds(SHELLCHECK_TIMEOUT, SHELLCHECK_MEMORY)


def _run_chunk(
    binary: str, folder: Path, names: list[str], limit: Bounds, where: str
) -> list[dict[str, object]]:
    """ShellCheck over the files ``names``; ``where`` names their RUN scripts for an error."""
    try:
        done = programs.run([binary, *OPTIONS, *names], limit, cwd=folder)
    except OSError as exc:
        raise ShellCheckFailed(f"cannot run ShellCheck ({binary}): {exc.strerror}") from exc
    except programs.TimedOut:
        raise ShellCheckFailed(
            f"ShellCheck ({binary}) was stopped after {limit.seconds:g} s (setting "
            f"shellcheck-timeout) checking {where}"
        ) from None
    if done.returncode not in (0, 1):
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[0]
        if done.killed_by_memory:
            raise ShellCheckFailed(
                f"ShellCheck ({binary}) was stopped at {_size(limit.memory)} of memory "
                f"(setting shellcheck-max-memory) checking {where}: {first[:200]}"
            )
        raise ShellCheckFailed(f"ShellCheck ({binary}) failed: {first}")
    try:
        comments = json.loads(done.stdout)["comments"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ShellCheckFailed(f"ShellCheck ({binary}) gave output that is not json1") from exc
    return list(comments)


def _size(count: int) -> str:
    """``52428800`` -> ``50 MiB``."""
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.3g} {unit}"


def _where(scripts: Sequence[Script], shown: int = 3) -> str:
    """The RUN scripts of a chunk, for a message: ``Dockerfile:3, Dockerfile:9 and 4 more``."""
    places = [f"{s.path}:{s.lines[0][0] if s.lines else 1}" for s in scripts[:shown]]
    more = len(scripts) - shown
    kind = "the RUN script at " if len(scripts) == 1 else "the RUN scripts at "
    return kind + ", ".join(places) + (f" and {more} more" if more > 0 else "")


def _shellcheck(
    binary: str, sources: Sequence[str], scripts: Sequence[Script], bounds: Bounds
) -> list[list[dict[str, object]]]:
    """ShellCheck's comments on each source (``scripts`` are where they come from), in a few
    processes run in parallel, each within ``bounds``."""
    answers: list[list[dict[str, object]]] = [[] for _ in sources]
    if not sources:
        return answers
    with tempfile.TemporaryDirectory(prefix="keelhaul-sc-") as tmp:
        folder = Path(tmp)
        names = []
        for n, source in enumerate(sources):
            name = f"{n}.sh"
            (folder / name).write_text(source, "utf-8", errors="surrogateescape")
            names.append(name)
        starts = range(0, len(names), CHUNK)
        chunks = [(names[i : i + CHUNK], _where(scripts[i : i + CHUNK])) for i in starts]
        workers = max(1, min(len(chunks), os.cpu_count() or 1))
        from concurrent.futures import ThreadPoolExecutor  # here: only a ShellCheck run needs it

        pool = ThreadPoolExecutor(workers)
        try:
            results = list(
                pool.map(lambda c: _run_chunk(binary, folder, c[0], bounds, c[1]), chunks)
            )
        except BaseException:  # one chunk failed, or Ctrl-C: the others stop now, not later
            programs.kill_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for comments in results:
        for comment in comments:
            try:
                n = int(str(comment["file"]).removesuffix(".sh"))
            except (KeyError, ValueError):
                continue
            if 0 <= n < len(answers):
                answers[n].append({k: v for k, v in comment.items() if k != "file"})
    return answers


def too_long(script: Script) -> str | None:
    """Why ``script`` is not given to ShellCheck (over :data:`MAX_SCRIPT_LINES` or
    :data:`MAX_SCRIPT_BYTES`), or None."""
    lines = len(script.lines)
    if lines > MAX_SCRIPT_LINES:
        return f"{lines} lines, more than ShellCheck is given ({MAX_SCRIPT_LINES})"
    size = len(script.text.encode("utf-8", "surrogateescape"))
    if size > MAX_SCRIPT_BYTES:
        return f"{size} bytes, more than ShellCheck is given ({MAX_SCRIPT_BYTES})"
    return None


def check_scripts(
    scripts: Sequence[Script],
    binary: str,
    cache: ResultCache | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> list[Finding]:
    """Run ShellCheck over ``scripts`` in a few processes (only those ``cache`` does not
    already hold), each within ``bounds``; findings point into the Dockerfiles."""
    if not scripts:
        return []
    sources = [script.source() for script in scripts]
    answers: list[list[dict[str, object]] | None] = [None] * len(scripts)
    keys: list[str] = []
    if cache is not None:
        version = cache.version(binary)
        keys = [_key(version, source) for source in sources]
        answers = [cache.lookup(key) for key in keys]
    # Generated Dockerfiles repeat their scripts (docker-library's variants): each distinct
    # source goes to ShellCheck once.
    first: dict[str, int] = {}
    for n, answer in enumerate(answers):
        if answer is None:
            first.setdefault(sources[n], n)
    todo = list(first.values())
    answered = _shellcheck(binary, [sources[n] for n in todo], [scripts[n] for n in todo], bounds)
    fresh = dict(zip(todo, answered, strict=True))
    for n, answer in enumerate(answers):
        if answer is None:
            answers[n] = fresh[first[sources[n]]]
    if cache is not None:
        cache.store({keys[n]: comments for n, comments in fresh.items()})
    found: list[Finding] = []
    for script, answer in zip(scripts, answers, strict=True):
        for comment in answer or ():
            finding = _finding(script, comment)
            if finding is not None:
                found.append(finding)
    return sorted(found, key=Finding.sort_key)


_ECHO_FLAGS = frozenset({"SC3036", "SC3037"})
_EXTERNAL_ECHO = re.compile(r"/(?:usr/)?bin/echo[ \t]+$")


def _external_echo(script: Script, line: int, column: int) -> bool:
    """The flag is given to ``/bin/echo``, the coreutils program (which takes ``-e``), not to
    the shell's builtin echo that SC3036/SC3037 are about."""
    lines = script.text.split("\n")
    return line < len(lines) and _EXTERNAL_ECHO.search(lines[line][: column - 1]) is not None


def _finding(script: Script, comment: dict[str, object]) -> Finding | None:
    try:
        line = int(str(comment["line"])) - 1 - HEADER_LINES
        end_line = int(str(comment["endLine"])) - 1 - HEADER_LINES
        column = int(str(comment["column"]))
        end_column = int(str(comment["endColumn"]))
        code = f"SC{comment['code']}"
        level = LEVELS[str(comment["level"])]
    except (KeyError, ValueError):
        return None
    if not 0 <= line < len(script.lines):
        return None  # on the header or the preamble
    if code in _ECHO_FLAGS and _external_echo(script, line, column):
        return None
    demoted = DEMOTED.get(code)
    if demoted is not None and demoted[0].rank < level.rank:
        level = demoted[0]
    df_line, cut = script.lines[line]
    end_line = min(max(end_line, line), len(script.lines) - 1)
    df_end, end_cut = script.lines[end_line]
    return Finding(
        code=code,
        name="shellcheck",
        severity=level,
        category=Category.CORRECTNESS,
        location=Location(script.path, df_line, column + cut, df_end, end_column + end_cut),
        message=str(comment.get("message", "")),
        stage=script.stage,
    )
