"""Shared by the package-manager rules: which stages ship, ONBUILD runs, where a word is, caches.

Only some stages end up in the image: the target stage, the stages it is built FROM, and a stage
whose whole filesystem a shipped stage copies (``COPY --from=x / /``). Size rules look at those
alone: what a builder stage leaves behind is never shipped, because ``COPY --from`` takes only
the files it names.

A *cache* here is a directory a package manager writes while it works and the image never needs:
apt's lists, apk's index, pip's wheels, Go's build cache... :func:`fills` tells which caches a
RUN writes; :meth:`Analysis.kept` which of them are still there when the RUN ends (not removed
by a later command of the same RUN, not under a ``--mount=type=cache`` or ``tmpfs``);
:func:`removal_of` which command of a RUN deletes one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import TypeVar, cast

from keelhaul.dockerfile.operations import (
    PackageOperation,
    PackageSpec,
    deleted_paths,
    package_spec,
)
from keelhaul.dockerfile.scripts import heredoc_is_script, script_texts, skip_words
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import DependencyVia
from keelhaul.dockerfile.syntax import Instruction, LineRole, Span
from keelhaul.rules.dockerfile.shared.images import image_name
from keelhaul.rules.dockerfile.shared.structure import Overlay, base_of
from keelhaul.rules.dockerfile.shared.toolchain import stage_env_maps
from keelhaul.rules.registry import DockerfileContext, Hit, Run, read_script

T = TypeVar("T")

APT = ("apt-get", "apt", "aptitude")
RPM = ("yum", "dnf", "microdnf", "tdnf")
NODE = ("npm", "yarn", "pnpm")

# --------------------------------------------------------------------------------------------
# runs and stages


_parsed = read_script  # one cache of parsed scripts for every rule


def _runs(ctx: DockerfileContext) -> list[Run]:
    """Every shell-form RUN script, ONBUILD ones included (they run in a build FROM this one).

    The parses of ``ctx.runs`` are reused where they read the same text; RUNs with heredocs
    are read here as BuildKit runs them (see :func:`script_texts`).
    """
    parsed: dict[int, list[Run]] = {}
    for run in ctx.runs:
        parsed.setdefault(id(run.instruction), []).append(run)
    out: list[Run] = []
    onbuild: list[Run] = []
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            eff = inst.effective
            if eff.name != "RUN" or eff.json:
                continue
            into = onbuild if inst.name == "ONBUILD" else out
            if inst.name != "ONBUILD" and not eff.heredocs and id(inst) in parsed:
                into.extend(parsed[id(inst)])
                continue
            for text in script_texts(inst):
                script, ops = _parsed(text)
                into.append(Run(inst, stage, script, ops))
    return out + onbuild


def _copies_whole_filesystem(inst: Instruction) -> bool:
    """``COPY --from=x / /``: everything of stage x ships, caches included."""
    sources = inst.effective.values[:-1]
    return any(s.startswith("/") and s.rstrip("/.") == "" for s in sources)


def _shipped(ctx: DockerfileContext) -> frozenset[int]:
    build = ctx.build
    if build.target is None:
        return frozenset()
    seen: set[int] = set()
    todo = [build.target]
    while todo:
        index = todo.pop()
        if index in seen or index >= len(build.stages):
            continue
        seen.add(index)
        stage = build.stages[index]
        for dep in stage.dependencies:
            if dep.stage is None:
                continue
            if dep.via is DependencyVia.FROM or (
                dep.via is DependencyVia.COPY and _copies_whole_filesystem(dep.instruction)
            ):
                todo.append(dep.stage)
    return frozenset(seen)


@dataclass(frozen=True)
class Facts:
    """What holds when a RUN starts: its stage chain's variables and base image."""

    env: Mapping[str, str]
    """ARG and ENV values of the stage chain (as they stand at the end of each stage)."""
    base: str
    """The image the stage chain starts from, as written after ARG expansion."""
    apt_keeps_debs: bool = False
    """Debian's docker-clean hook (which deletes downloaded .deb files) was switched off."""


_KEEP_DEBS = re.compile(r"apt\.conf\.d/docker-clean|Keep-Downloaded-Packages[\"' ]+(?:true|1)")

#: What an instruction is asked about: (instruction, its RUN scripts) -> an answer or None.
Probe = Callable[[Instruction, list[Run]], T | None]
_NOWHERE = 1 << 62


def words_match(pattern: re.Pattern[str]) -> Probe[str]:
    """A probe for RUNs with a word matching ``pattern`` (``APT::Install-Recommends``)."""

    def probe(_inst: Instruction, runs: list[Run]) -> str | None:
        for run in runs:
            for cmd in run.script.commands:
                for word in cmd.words:
                    if pattern.search(word):
                        return word
        return None

    return probe


def copies_into(*folders: str) -> Probe[str]:
    """A probe for COPY/ADD with a destination in one of ``folders`` (a config file)."""

    def probe(inst: Instruction, _runs: list[Run]) -> str | None:
        eff = inst.effective
        if inst.name in ("COPY", "ADD") and eff.values and eff.values[-1].startswith(folders):
            return eff.values[-1]
        return None

    return probe


@dataclass
class Analysis:
    """What the package rules compute once per Dockerfile.

    Everything that looks back along a stage chain is computed in one pass in build order, so
    a file with thousands of RUNs costs linear time.
    """

    ctx: DockerfileContext
    runs: list[Run] = field(init=False)
    """Every RUN script, ONBUILD ones after the others."""
    shipped: frozenset[int] = field(init=False)
    """Indexes of the stages whose layers end up in the image."""
    _scripts: dict[int, list[Run]] = field(init=False, default_factory=dict)
    _position: dict[int, int] = field(init=False, default_factory=dict)
    _facts: dict[int, Facts] = field(init=False, default_factory=dict)
    _kept: dict[int, list[Fill]] = field(init=False, default_factory=dict)
    _prior: dict[int, Mapping[str, tuple[Run, Fill]]] = field(init=False, default_factory=dict)
    _firsts: dict[object, dict[int, tuple[int, int, object]]] = field(
        init=False, default_factory=dict
    )
    _earliests: dict[object, list[tuple[int, int, object] | None]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.runs = _runs(self.ctx)
        self.shipped = _shipped(self.ctx)
        for run in self.runs:
            self._scripts.setdefault(id(run.instruction), []).append(run)
        for stage in self.ctx.build.stages:
            for i, inst in enumerate(stage.instructions):
                # an ONBUILD trigger runs in a later build, after everything in this one
                self._position[id(inst)] = _NOWHERE if inst.name == "ONBUILD" else i
        self._walk()

    def shipped_runs(self) -> Iterator[Run]:
        return (r for r in self.runs if r.stage.index in self.shipped)

    def facts(self, run: Run) -> Facts:
        return self._facts[id(run)]

    def kept(self, run: Run) -> list[Fill]:
        """The caches this RUN writes and leaves in its layer, one per kind."""
        return self._kept[id(run)]

    def prior(self, run: Run) -> Mapping[str, tuple[Run, Fill]]:
        """Caches that earlier RUNs of the stage chain left in their layers, by kind."""
        return self._prior.get(id(run), {})

    def first_before(self, run: Run, key: object, probe: Probe[T]) -> tuple[int, T] | None:
        """The first instruction of the stage chain, up to ``run``'s own, that ``probe``
        answers, as (line, answer); ``key`` names the probe for the cache."""
        firsts = self._firsts.get(key)
        if firsts is None:
            firsts = self._firsts[key] = self._scan(probe)
        parent = base_of(run.stage)
        found = None if parent is None else self._earliest(key, firsts)[parent]
        if found is None:
            here = firsts.get(run.stage.index)
            if here is not None and here[0] <= self._position.get(id(run.instruction), _NOWHERE):
                found = here
        return None if found is None else (found[1], cast(T, found[2]))

    def configured(self, run: Run, pattern: re.Pattern[str], *folders: str) -> bool:
        """An earlier RUN (or this one) wrote ``pattern``, or a COPY put a file in ``folders``."""
        if self.first_before(run, ("words", pattern.pattern), words_match(pattern)) is not None:
            return True
        return bool(folders) and (
            self.first_before(run, ("copy", folders), copies_into(*folders)) is not None
        )

    def _earliest(
        self, key: object, firsts: dict[int, tuple[int, int, object]]
    ) -> list[tuple[int, int, object] | None]:
        """Per stage, ``firsts`` of the first stage of its chain (itself included) that has
        one, computed once per probe in file order."""
        earliest = self._earliests.get(key)
        if earliest is None:
            earliest = []
            for stage in self.ctx.build.stages:
                parent = base_of(stage)
                inherited = None if parent is None else earliest[parent]
                earliest.append(inherited if inherited is not None else firsts.get(stage.index))
            self._earliests[key] = earliest
        return earliest

    def _scan(self, probe: Probe[T]) -> dict[int, tuple[int, int, object]]:
        """Per stage, the first instruction ``probe`` answers: (position, line, answer)."""
        firsts: dict[int, tuple[int, int, object]] = {}
        for stage in self.ctx.build.stages:
            for i, inst in enumerate(stage.instructions):
                if inst.name == "ONBUILD":
                    continue
                answer = probe(inst, self._scripts.get(id(inst), []))
                if answer is not None:
                    firsts[stage.index] = (i, inst.start_line, answer)
                    break
        return firsts

    def _walk(self) -> None:
        stages = self.ctx.build.stages
        ends: dict[int, Mapping[str, tuple[Run, Fill]]] = {}
        debs_from = self._scan(words_match(_KEEP_DEBS))
        # per stage, along its chain: inherited from the base stage in one pass in file order
        # (not a walk back per stage: deep FROM chains would cost quadratic time)
        envs = stage_env_maps(self.ctx)
        debs_along = self.ctx.build.chain_flags("keeps .deb files", lambda s: s.index in debs_from)
        for stage in stages:
            env = envs[stage.index]
            parent = base_of(stage)
            earlier_debs = parent is not None and debs_along[parent]
            root = self.ctx.build.root(stage)
            base = stage.base_stage
            prior: Mapping[str, tuple[Run, Fill]] = (
                ends.get(base, {}) if base is not None and base < stage.index else {}
            )
            for inst in stage.instructions:
                for run in self._scripts.get(id(inst), []):
                    position = self._position[id(inst)]
                    here = debs_from.get(stage.index)
                    debs = earlier_debs or (here is not None and here[0] <= position)
                    facts = Facts(env, root.base, debs)
                    self._facts[id(run)] = facts
                    kept = _kept(run, facts)
                    if inst.name == "ONBUILD":
                        self._kept[id(run)] = kept
                        continue
                    self._prior[id(run)] = prior
                    kept = [f for f in kept if not (f.cache.once and f.cache.key in prior)]
                    self._kept[id(run)] = kept
                    added = {f.cache.key: (run, f) for f in kept if f.cache.key not in prior}
                    if added:
                        prior = {**prior, **added}
            ends[stage.index] = prior


def analysis(ctx: DockerfileContext) -> Analysis:
    """The analysis of ``ctx``, computed once however many rules ask."""
    return ctx.memo("packages.analysis", Analysis)


# --------------------------------------------------------------------------------------------
# where a word of a command is in the Dockerfile


def _script_text(run: Run, cmd: SimpleCommand) -> tuple[str, bool] | None:
    """The script ``cmd`` comes from, and whether it is only a heredoc body."""
    texts = script_texts(run.instruction)
    if not texts:
        return None
    return texts[0], heredoc_is_script(run.instruction)


def _searchable_lines(inst: Instruction, heredoc: bool) -> Iterator[tuple[int, str, int]]:
    """(line number, text, first column) of the lines a script was read from, in order."""
    if heredoc:
        for line in inst.lines:
            if line.role is LineRole.HEREDOC:
                yield line.number, line.content, 0
        return
    first = True
    for line in inst.lines:
        if line.role in (LineRole.HEREDOC, LineRole.TERMINATOR):
            yield line.number, line.content, 0
            continue
        if line.role is not LineRole.CODE:
            continue
        start = 0
        if first:
            first = False
            start = skip_words(line.content, 0, 2 if inst.sub is not None else 1)
            for _ in inst.effective.flags:
                nxt = skip_words(line.content, start, 1)
                if not line.content[start:nxt].strip().startswith("--"):
                    break
                start = nxt
        yield line.number, line.content, start


def word_span(run: Run, cmd: SimpleCommand, index: int = 0) -> Span | None:
    """Where ``cmd.argv[index]`` is written, or None when it cannot be found."""
    if not cmd.argv:
        return None
    index = min(index, len(cmd.argv) - 1)
    found = _script_text(run, cmd)
    if found is None or index >= len(cmd.arg_spans):
        return run.instruction.locate(cmd.argv[index])
    text, heredoc = found
    start, end = cmd.arg_spans[index]
    needle = text[start:end]
    if not needle or "\n" in needle:
        return run.instruction.locate(cmd.argv[index])
    skip = text.count(needle, 0, start)
    for number, line, col in _searchable_lines(run.instruction, heredoc):
        pos = line.find(needle, col)
        while pos >= 0:
            if skip == 0:
                return Span(number, pos + 1, number, pos + 1 + len(needle))
            skip -= 1
            pos = line.find(needle, pos + len(needle))
    return run.instruction.locate(needle)


def packages_span(run: Run, op: PackageOperation, raw: str) -> Span | None:
    """Where a package word (as written in ``op``) is."""
    cmd = op.command
    for i, word in enumerate(cmd.argv):
        if i and word == raw:
            return word_span(run, cmd, i)
    return operation_span(run, op)


# --------------------------------------------------------------------------------------------
# paths


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_HOME = re.compile(r"\A(?:~|\$HOME|\$\{HOME\}|/root|/home/[^/]+)(?=/|\Z)")
_GLOB = re.compile(r"[*?\[]")


def norm_path(path: str, env: Mapping[str, str]) -> str:
    """A path as the cache checks compare them: variables expanded, any home as ``~``, no
    trailing slash, and a trailing glob component (``lists/*``) dropped to its folder."""
    path = path.strip("'\"")
    if not _HOME.match(path):
        path = _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), path)
    path = _HOME.sub("~", path, count=1)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    while parts and _GLOB.search(parts[-1]):
        parts.pop()
    if not parts:
        return "/" if path.startswith("/") else ""
    joined = "/".join(parts)
    return joined if joined.startswith("~") or not path.startswith("/") else "/" + joined


def covers(outer: str, inner: str) -> bool:
    """Whether deleting (or mounting over) ``outer`` takes ``inner`` with it."""
    if outer in ("", "/", "~") or not inner:
        return False
    out_parts = outer.split("/")
    in_parts = inner.split("/")
    if len(out_parts) > len(in_parts):
        return False
    return all(
        a == b or fnmatchcase(b, a) or fnmatchcase(a, b)
        for a, b in zip(out_parts, in_parts, strict=False)
    )


def _mount_targets(run: Run, env: Mapping[str, str]) -> list[str]:
    """The RUN's cache and tmpfs mount targets, normalised as :func:`norm_path` does."""
    return [norm_path(target, env) for target in run.cache_mount_targets()]


# --------------------------------------------------------------------------------------------
# caches


@dataclass(frozen=True)
class Cache:
    """A kind of package-manager cache."""

    key: str
    what: str
    """In a message: "apt package lists"."""
    managers: tuple[str, ...]
    writes: Callable[[PackageOperation, Mapping[str, str]], bool]
    """Whether an operation of one of the managers writes this cache."""
    places: Callable[[PackageOperation | None, Mapping[str, str], Facts], tuple[str, ...]]
    """Where the cache may be (normalised); deleting any of them counts as a cleanup."""
    clean: Callable[[SimpleCommand], bool] = lambda _cmd: False
    """A command of the manager that empties the cache (``yum clean all``)."""
    fix: str = ""
    once: bool = False
    """Later writers in the stage chain add little (``go build`` after ``go mod download``)."""
    removal: re.Pattern[str] | None = None
    """Removed paths that count although :attr:`places` cannot say (gem's versioned folders)."""


@dataclass(frozen=True)
class Fill:
    """A command that leaves a cache in its RUN's layer (or would, without a cleanup)."""

    cache: Cache
    command: SimpleCommand
    op: PackageOperation | None
    places: tuple[str, ...]

    @property
    def shown(self) -> str:
        """The place named in messages."""
        return self.places[0] if self.places else ""

    @property
    def program(self) -> str:
        return shown(self.op) if self.op is not None else self.command.name


_PYTHON = re.compile(r"(?:python|pypy)[0-9.]*\Z|py\Z")


def shown(op: PackageOperation) -> str:
    """The command as a message names it: ``apt-get install``, ``python3 -m pip install``."""
    name = op.command.name
    if _PYTHON.match(name) and op.manager in ("pip", "uv"):
        name = f"{name} -m {op.manager}"
    return f"{name} {op.subcommand}".strip()


def _sub(cmd: SimpleCommand) -> tuple[str, ...]:
    return tuple(a for a in cmd.argv[1:] if not a.startswith("-"))


def _env(env: Mapping[str, str], op: PackageOperation | None, *names: str) -> str | None:
    inline = dict(op.command.env) if op is not None else {}
    for name in names:
        value = inline.get(name, env.get(name))
        if value:
            return value
    return None


def _norm_all(env: Mapping[str, str], *paths: str | None) -> tuple[str, ...]:
    return tuple(norm_path(p, env) for p in paths if p)


_TRUTHY = ("1", "true", "yes", "on", "off", "0", "false")  # pip reads any set value as "no cache"


def _pip_writes(op: PackageOperation, env: Mapping[str, str]) -> bool:
    if op.action not in ("install", "download", "build") or op.no_cache:
        return False
    return (_env(env, op, "PIP_NO_CACHE_DIR") or "").lower() not in _TRUTHY


def _pip_places(op: PackageOperation | None, env: Mapping[str, str], _f: Facts) -> tuple[str, ...]:
    given = op.values("--cache-dir") if op is not None else ()
    xdg = _env(env, op, "XDG_CACHE_HOME")
    return _norm_all(
        env,
        given[-1] if given else _env(env, op, "PIP_CACHE_DIR"),
        "~/.cache/pip",
        f"{xdg}/pip" if xdg else None,
    )


def _rpm_writes(op: PackageOperation, _env_: Mapping[str, str]) -> bool:
    if op.action not in ("install", "upgrade", "update", "download", "group", "module"):
        return False
    return not op.has("--installroot", "-C", "--cacheonly", "--downloadonly")


_RPM_PLACE = {
    "yum": "/var/cache/yum",
    "dnf": "/var/cache/dnf",
    "microdnf": "/var/cache/yum",
    "tdnf": "/var/cache/tdnf",
}


def _rpm_places(op: PackageOperation | None, _e: Mapping[str, str], _f: Facts) -> tuple[str, ...]:
    first = _RPM_PLACE.get(op.manager if op is not None else "", "/var/cache/yum")
    return (first, "/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5", "/var/cache/tdnf")


def _rpm_clean(cmd: SimpleCommand) -> bool:
    sub = _sub(cmd)
    return cmd.name in RPM and sub[:1] == ("clean",) and bool({"all", "metadata"} & set(sub))


def _go_dir(env: Mapping[str, str], op: PackageOperation | None, facts: Facts) -> str:
    gopath = _env(env, op, "GOPATH")
    if gopath:
        return gopath.split(":", 1)[0]
    return "/go" if image_name(facts.base).startswith("golang") else "~/go"


def _go_build_writes(op: PackageOperation, env: Mapping[str, str]) -> bool:
    return op.action in ("build", "install", "test", "run") and _env(env, op, "GOCACHE") != "off"


def _go_mod_writes(op: PackageOperation, env: Mapping[str, str]) -> bool:
    if op.action not in ("build", "install", "test", "run", "download", "lock"):
        return False
    vendored = "-mod=vendor" in (_env(env, op, "GOFLAGS") or "") or "vendor" in op.values("-mod")
    return not vendored


def _cargo_home(env: Mapping[str, str], op: PackageOperation | None) -> tuple[str, ...]:
    home = _env(env, op, "CARGO_HOME")
    return (home,) if home else ("/usr/local/cargo", "~/.cargo")


def _npm_places(op: PackageOperation | None, env: Mapping[str, str], _f: Facts) -> tuple[str, ...]:
    given = op.values("--cache") if op is not None else ()
    return _norm_all(
        env,
        given[-1] if given else _env(env, op, "npm_config_cache", "NPM_CONFIG_CACHE"),
        "~/.npm",
        "~/.npm/_cacache",
    )


def _yarn_places(op: PackageOperation | None, env: Mapping[str, str], _f: Facts) -> tuple[str, ...]:
    given = op.values("--cache-folder") if op is not None else ()
    return _norm_all(
        env,
        given[-1] if given else _env(env, op, "YARN_CACHE_FOLDER"),
        "/usr/local/share/.cache/yarn",
        "~/.cache/yarn",
        "~/.yarn/berry/cache",
        _env(env, op, "YARN_GLOBAL_FOLDER"),
    )


def _composer_places(
    op: PackageOperation | None, env: Mapping[str, str], _f: Facts
) -> tuple[str, ...]:
    home = _env(env, op, "COMPOSER_HOME")
    return _norm_all(
        env,
        _env(env, op, "COMPOSER_CACHE_DIR"),
        f"{home}/cache" if home else None,
        "~/.composer/cache",
        "~/.cache/composer",
        "/tmp/cache" if image_name(_f.base) == "composer" else None,
    )


def _gem_places(op: PackageOperation | None, env: Mapping[str, str], _f: Facts) -> tuple[str, ...]:
    home = _env(env, op, "GEM_HOME")
    bundle = _env(env, op, "BUNDLE_PATH")
    # the official ruby images set GEM_HOME=/usr/local/bundle; elsewhere the first place
    # named is the one a message shows, so it stays a variable
    ruby = image_name(_f.base).startswith(("ruby", "jruby"))
    return _norm_all(
        env,
        f"{home}/cache" if home else ("/usr/local/bundle/cache" if ruby else "$GEM_HOME/cache"),
        "/usr/local/bundle/cache",
        f"{bundle}/ruby/*/cache" if bundle else None,
        "/usr/local/bundle/ruby/*/cache",
        "/usr/local/lib/ruby/gems/*/cache",
        "/var/lib/gems/*/cache",
        "~/.gem",
        "~/.local/share/gem",
    )


def _names(*names: str) -> Callable[[SimpleCommand], bool]:
    """A cleaning command given as its program and words (``("npm", "cache")``)."""

    def check(cmd: SimpleCommand) -> bool:
        words = (cmd.name, *_sub(cmd))
        return any(words[: len(n.split())] == tuple(n.split()) for n in names)

    return check


def _fixed(
    *paths: str,
) -> Callable[[PackageOperation | None, Mapping[str, str], Facts], tuple[str, ...]]:
    return lambda _op, _env_, _facts: paths


APT_LISTS = Cache(
    "apt-lists",
    "apt package lists",
    APT,
    lambda op, _e: op.action == "update",
    _fixed("/var/lib/apt/lists"),
    _names("apt-get distclean", "apt distclean", "apt-get dist-clean"),
    "`rm -rf /var/lib/apt/lists/*`",
)
APT_ARCHIVES = Cache(
    "apt-archives",
    "downloaded .deb archives (docker-clean is switched off)",
    APT,
    lambda op, _e: op.action in ("install", "upgrade") and not op.has("--download-only", "-d"),
    _fixed("/var/cache/apt/archives", "/var/cache/apt"),
    _names("apt-get clean", "apt clean", "aptitude clean", "apt-get distclean", "apt distclean"),
    "`apt-get clean`",
)
APK_INDEX = Cache(
    "apk",
    "apk package index",
    ("apk",),
    lambda op, _e: (
        op.action in ("install", "update", "upgrade") and not op.has("--no-cache", "--no-network")
    ),
    _fixed("/var/cache/apk", "/etc/apk/cache"),
    fix="`--no-cache` (or `rm -rf /var/cache/apk/*`)",
)
PIP_CACHE = Cache(
    "pip",
    "pip download cache",
    ("pip",),
    _pip_writes,
    _pip_places,
    _names("pip cache purge", "pip3 cache purge", "pip cache remove"),
    "`--no-cache-dir` (or `PIP_NO_CACHE_DIR=1`)",
)
RPM_CACHE = Cache(
    "rpm",
    "repository metadata and package cache",
    RPM,
    _rpm_writes,
    _rpm_places,
    _rpm_clean,
    "`dnf clean all`",
)
ZYPPER_CACHE = Cache(
    "zypper",
    "repository metadata and package cache",
    ("zypper",),
    lambda op, _e: op.action in ("install", "upgrade", "update"),
    _fixed("/var/cache/zypp"),
    _names("zypper clean", "zypper cc"),
    "`zypper clean --all`",
)
YARN_CACHE = Cache(
    "yarn",
    "yarn cache",
    ("yarn",),
    lambda op, _e: op.action == "install",
    _yarn_places,
    _names("yarn cache clean"),
    "`yarn cache clean`",
)
NPM_CACHE = Cache(
    "npm",
    "npm cache",
    ("npm",),
    lambda op, _e: op.action in ("install", "ci", "update") and not op.has("--dry-run"),
    _npm_places,
    _names("npm cache clean", "npm cache clear", "npm cache rm"),
    "`npm cache clean --force`",
)
GO_BUILD = Cache(
    "go-build",
    "Go build cache",
    ("go",),
    _go_build_writes,
    lambda op, env, _f: _norm_all(env, _env(env, op, "GOCACHE"), "~/.cache/go-build"),
    lambda cmd: cmd.name == "go" and "clean" in cmd.argv[1:2] and "-cache" in cmd.argv,
    "`go clean -cache`",
    once=True,
)
GO_MODULES = Cache(
    "go-mod",
    "Go module cache",
    ("go",),
    _go_mod_writes,
    lambda op, env, facts: _norm_all(
        env, _env(env, op, "GOMODCACHE"), f"{_go_dir(env, op, facts)}/pkg/mod", "/go/pkg/mod"
    ),
    lambda cmd: cmd.name == "go" and "clean" in cmd.argv[1:2] and "-modcache" in cmd.argv,
    "`go clean -modcache`",
    once=True,
)
CARGO_REGISTRY = Cache(
    "cargo",
    "Cargo registry (crate index and sources)",
    ("cargo",),
    lambda op, _e: op.action in ("build", "install", "download", "run", "test", "update"),
    lambda op, env, _f: _norm_all(env, *(f"{h}/registry" for h in _cargo_home(env, op))),
    fix="`rm -rf $CARGO_HOME/registry`",
    once=True,
)
COMPOSER_CACHE = Cache(
    "composer",
    "Composer cache",
    ("composer",),
    lambda op, env: (
        op.action in ("install", "update")
        and not op.has("--no-cache")
        and _env(env, op, "COMPOSER_CACHE_DIR") != "/dev/null"
    ),
    _composer_places,
    _names("composer clear-cache", "composer clearcache", "composer cc"),
    "`composer clear-cache`",
)
GEM_CACHE = Cache(
    "gem",
    "downloaded .gem files",
    ("gem", "bundle"),
    lambda op, _e: op.action in ("install", "update"),
    _gem_places,
    fix="`rm -rf $GEM_HOME/cache`",
    once=True,
    removal=re.compile(r"(?:bundle|gems?)/(?:.*/)?cache\b|\.gem\b"),
)

CACHES = (
    APT_LISTS,
    APT_ARCHIVES,
    APK_INDEX,
    PIP_CACHE,
    RPM_CACHE,
    ZYPPER_CACHE,
    YARN_CACHE,
    NPM_CACHE,
    GO_BUILD,
    GO_MODULES,
    CARGO_REGISTRY,
    COMPOSER_CACHE,
    GEM_CACHE,
)
_BY_MANAGER: dict[str, tuple[Cache, ...]] = {}
for _cache in CACHES:
    for _manager in _cache.managers:
        _BY_MANAGER[_manager] = (*_BY_MANAGER.get(_manager, ()), _cache)


_SPECIAL_BUILTINS = frozenset(
    {":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return",
     "set", "shift", "times", "trap", "unset"}
)  # fmt: skip


def _script_env(run: Run, env: Mapping[str, str]) -> Mapping[str, str]:
    """The variables in force, with ``export NAME=value`` lines of the script added."""
    out: dict[str, str] = {}  # over ``env``, not a copy of it: deep scopes stay linear
    for cmd in run.script.commands:
        if cmd.name == "export":
            for word in cmd.argv[1:]:
                name, sep, value = word.partition("=")
                if sep:
                    out[name] = value
        # a bare `NAME=value`, and (POSIX) `NAME=value set -x`: assignments before a special
        # built-in stay set for the rest of the script
        if not cmd.argv or cmd.name in _SPECIAL_BUILTINS:
            out.update(cmd.env)
    return Overlay(out, env)


def _add_apt_repository_updates(cmd: SimpleCommand) -> bool:
    # add-apt-repository refreshes the lists itself unless told not to (-n / --no-update)
    return cmd.name == "add-apt-repository" and not ({"-n", "--no-update"} & set(cmd.argv))


def fills(run: Run, facts: Facts) -> list[Fill]:
    """The caches the RUN writes, in script order."""
    env = _script_env(run, facts.env)
    out: list[Fill] = []
    for op in run.operations.packages:
        for cache in _BY_MANAGER.get(op.manager, ()):
            if cache is APT_ARCHIVES and not facts.apt_keeps_debs:
                continue
            if cache.writes(op, env):
                out.append(Fill(cache, op.command, op, cache.places(op, env, facts)))
    for cmd in run.script.commands:
        if _add_apt_repository_updates(cmd):
            out.append(Fill(APT_LISTS, cmd, None, APT_LISTS.places(None, env, facts)))
    out.sort(key=lambda f: f.command.start)
    return out


def _only_on_failure(run: Run, cmd: SimpleCommand) -> bool:
    """``a || rm ...``: the command runs only when the one before it fails."""
    commands = run.script.commands
    for i, other in enumerate(commands):
        if other is cmd:
            return i > 0 and commands[i - 1].connector == "||"
    return False


def removal_of(
    run: Run, fill: Fill, env: Mapping[str, str], after: int = -1
) -> SimpleCommand | None:
    """The command of ``run`` (after offset ``after``) that removes the cache ``fill`` wrote."""
    cache = fill.cache
    for cmd in run.script.commands:
        if cmd.start <= after or not cmd.argv:
            continue
        hit = cache.clean(cmd)
        if not hit:
            paths = deleted_paths(cmd)
            hit = any(covers(norm_path(p, env), place) for p in paths for place in fill.places) or (
                cache.removal is not None and any(cache.removal.search(p) for p in paths)
            )
        if hit and not _only_on_failure(run, cmd):
            return cmd
    return None


def _kept(run: Run, facts: Facts) -> list[Fill]:
    env = _script_env(run, facts.env)
    mounts = _mount_targets(run, env)
    out: list[Fill] = []
    seen: set[str] = set()
    for fill in fills(run, facts):
        if fill.cache.key in seen:
            continue
        if any(covers(m, place) for m in mounts for place in fill.places):
            continue
        if removal_of(run, fill, env, fill.command.start) is not None:
            continue
        seen.add(fill.cache.key)
        out.append(fill)
    return out


def env_of(run: Run, facts: Facts) -> Mapping[str, str]:
    return _script_env(run, facts.env)


# --------------------------------------------------------------------------------------------
# shared checks


def command_span(run: Run, cmd: SimpleCommand, last: int = 0) -> Span | None:
    """From the program to ``argv[last]`` when both are on one line, else the program."""
    first = word_span(run, cmd, 0)
    if first is None or last <= 0:
        return first
    end = word_span(run, cmd, last)
    if end is None or end.line != first.line or end.column < first.column:
        return first
    return Span(first.line, first.column, end.line, end.end_column)


def operation_span(run: Run, op: PackageOperation) -> Span | None:
    """``apt-get install``: the program and its subcommand."""
    cmd = op.command
    words = op.subcommand.split()
    if words and words[0] in cmd.argv[1:]:
        return command_span(run, cmd, cmd.argv.index(words[0], 1))
    return command_span(run, cmd)


def kept_caches(ctx: DockerfileContext, *caches: Cache) -> Iterator[tuple[Run, Fill]]:
    """Caches of the given kinds that shipped RUNs leave in their layers."""
    found = analysis(ctx)
    for run in found.shipped_runs():
        for fill in found.kept(run):
            if fill.cache in caches:
                yield run, fill


def fill_span(run: Run, fill: Fill) -> Span | None:
    if fill.op is not None:
        return operation_span(run, fill.op)
    return command_span(run, fill.command)


def answered_by_pipe(run: Run, op: PackageOperation) -> bool:
    """``yes | apt-get install ...`` or ``echo y | yum install ...``."""
    program = op.command.argv[0]
    for cmd in run.script.commands:
        if cmd.pipe_to[:1] == (program,) and cmd.name in ("yes", "echo", "printf"):
            return True
    return False


#: Versions that name a moving target rather than a release.
MOVING = frozenset({"latest", "next", "*", "x", "", "master", "main", "head", "upgrade", "patch"})


def has_version(spec: PackageSpec) -> bool:
    """An explicit version or constraint (``=1.2``, ``>=2``, ``@^4``), not ``@latest``."""
    return spec.version is not None and spec.version.strip().lower() not in MOVING


_ONLY_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?\Z")


def _expanded(op: PackageOperation, env: Mapping[str, str]) -> list[PackageSpec]:
    """The packages, with a ``$buildDeps`` list set earlier in the script read as packages."""
    out: list[PackageSpec] = []
    for spec in op.packages:
        found = _ONLY_VARIABLE.match(spec.raw)
        value = env.get(found.group(1)) if found else None
        if value is None or "$" in value:
            out.append(spec)
            continue
        out.extend(replace(package_spec(op.manager, w), raw=spec.raw) for w in value.split())
    return out


def unpinned_hits(
    ctx: DockerfileContext,
    wanted: Callable[[PackageOperation, Facts], bool],
    message: Callable[[PackageOperation, list[PackageSpec]], str],
    accept: Callable[[PackageOperation, PackageSpec], bool] = lambda _op, spec: has_version(spec),
) -> Iterator[Hit]:
    """One finding per install command that names registry packages without a version.

    A variable (``$PKGS``) counts when the script, an ENV or an ARG default gives its value;
    otherwise it stays unknown, as a build arg may pin it.
    """
    found = analysis(ctx)
    for run in found.runs:
        for op in run.operations.packages:
            if not op.packages or not wanted(op, found.facts(run)):
                continue
            specs = _expanded(op, env_of(run, found.facts(run)))
            loose = [p for p in specs if p.kind == "name" and not accept(op, p)]
            if loose:
                yield Hit(run.instruction, message(op, loose), run.stage,
                          packages_span(run, op, loose[0].raw))  # fmt: skip


def listed(specs: list[PackageSpec], limit: int = 4) -> str:
    names = ", ".join(s.name for s in specs[:limit])
    return names + (f" and {len(specs) - limit} more" if len(specs) > limit else "")
