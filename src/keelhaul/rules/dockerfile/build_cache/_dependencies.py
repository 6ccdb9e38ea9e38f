"""Dependency steps for the build-cache rules: what an install needs from the build context,
and where each package manager keeps the downloads a BuildKit cache mount can keep.

A *step* is one package-manager command read as one of three kinds:

* ``manifest``: needs only the ecosystem's manifests (``npm ci``, ``pip install -r``,
  ``go mod download``, ``mvn dependency:go-offline``...), so it belongs before the sources;
* ``build``: needs the sources and also resolves the dependencies (``mvn package``,
  ``cargo build``, ``dotnet publish``...), so the dependencies belong in a step before it;
* ``tool``: needs nothing from the context (``apt-get install gcc``, ``pip install
  gunicorn``, ``npm install -g pnpm``, ``go install x@v1``).

A COPY that brings *sources* is one whose sources are the whole context, a folder, or source
code files; manifests, lock files and their folders (``requirements/``, ``.yarn/``) are not.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.packages import (
    APK_INDEX,
    APT_ARCHIVES,
    APT_LISTS,
    CARGO_REGISTRY,
    COMPOSER_CACHE,
    GO_BUILD,
    GO_MODULES,
    NPM_CACHE,
    PIP_CACHE,
    RPM_CACHE,
    YARN_CACHE,
    ZYPPER_CACHE,
    Cache,
    Facts,
    norm_path,
)
from keelhaul.rules.dockerfile.shared.structure import is_remote, transfer
from keelhaul.rules.registry import Run

# --------------------------------------------------------------------------------------------
# ecosystems

#: What to copy before installing, per manager (in a message).
MANIFESTS: Mapping[str, str] = {
    "npm": "package.json and package-lock.json",
    "yarn": "package.json and yarn.lock",
    "pnpm": "package.json and pnpm-lock.yaml",
    "poetry": "pyproject.toml and poetry.lock",
    "uv": "pyproject.toml and uv.lock",
    "pipenv": "Pipfile and Pipfile.lock",
    "go": "go.mod and go.sum",
    "cargo": "Cargo.toml and Cargo.lock",
    "bundle": "Gemfile and Gemfile.lock",
    "composer": "composer.json and composer.lock",
    "mvn": "pom.xml",
    "gradle": "build.gradle(.kts), settings.gradle(.kts) and the gradle/ wrapper folder",
    "dotnet": "the *.csproj (and *.sln) files",
}
#: Managers whose installs share manifests: any of them installing first counts for all.
FAMILY: Mapping[str, str] = {
    "npm": "node", "yarn": "node", "pnpm": "node",
    "pip": "python", "uv": "python", "poetry": "python", "pipenv": "python",
    "apt-get": "system", "apt": "system", "aptitude": "system", "apk": "system",
    "yum": "system", "dnf": "system", "microdnf": "system", "tdnf": "system",
    "zypper": "system",
}  # fmt: skip
#: The dependency-only step to run before copying the sources, for build steps.
FETCH_STEP: Mapping[str, str] = {
    "mvn": "`mvn dependency:go-offline`",
    "go": "`go mod download`",
    "gradle": "`gradle dependencies` (or a dependency-resolving task)",
    "cargo": "`cargo fetch` (or build the dependencies alone, as cargo-chef does)",
    "dotnet": "`dotnet restore`",
}
_SYSTEM = frozenset({"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf", "tdnf",
                     "zypper"})  # fmt: skip


@dataclass(frozen=True)
class Step:
    op: PackageOperation
    kind: str
    """``manifest``, ``build`` or ``tool`` (see the module)."""

    @property
    def family(self) -> str:
        return FAMILY.get(self.op.manager, self.op.manager)

    @property
    def manifests(self) -> str:
        # `-r` is a requirements file for pip and uv only (`dotnet restore -r linux-x64` is
        # a runtime identifier, `cargo -r` a release build): other managers' hints name
        # their manifests
        python = self.op.manager in ("pip", "uv", "pipenv")
        files = self.op.requirement_files if python else ()
        if self.op.manager in ("pip", "uv"):
            files += self.op.values("-c", "--constraint")
        if files:
            names = list(dict.fromkeys(posixpath.basename(f) for f in files))
            return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        return MANIFESTS.get(self.op.manager, "its manifests")


def _named_only(op: PackageOperation) -> bool:
    """Packages from a registry only (no local path, no ``-r``, no project install)."""
    return bool(op.packages) and all(p.kind in ("name", "url") for p in op.packages)


def step_of(op: PackageOperation) -> Step | None:
    """The kind of dependency step ``op`` is, or None when it is none of them."""
    m, action = op.manager, op.action
    kind: str | None = None
    if m in _SYSTEM:
        kind = "tool" if action == "install" and _named_only(op) else None
    elif m in ("npm", "yarn", "pnpm"):
        if action in ("install", "ci", "download"):
            # `npm install cheerio` and `-g` need no package.json; a bare install does
            kind = "tool" if op.global_install or _named_only(op) else "manifest"
    elif m in ("pip", "uv", "pipenv"):
        kind = _python_kind(op)
    elif m == "poetry":
        kind = "manifest" if action == "install" else None
    elif m in ("go", "cargo"):
        kind = _compiled_kind(op)
    elif m == "bundle":
        kind = "manifest" if action == "install" else None
    elif m == "gem":
        kind = "tool" if action == "install" and _named_only(op) else None
    elif m == "composer":
        kind = "manifest" if action in ("install", "update") and not op.packages else None
    elif m in ("mvn", "gradle"):
        kind = {"download": "manifest", "build": "build", "test": "build"}.get(action)
    elif m == "dotnet":
        kind = {"restore": "manifest", "build": "build", "publish": "build", "test": "build"}.get(
            action
        )
    return Step(op, kind) if kind is not None else None


def _python_kind(op: PackageOperation) -> str | None:
    if op.action != "install":
        return None
    if op.manager == "uv" and op.subcommand == "sync":
        return "manifest"
    if op.requirement_files:
        # `-r requirements.txt .` also installs the project: it needs the sources
        return None if any(p.kind == "path" for p in op.packages) else "manifest"
    if op.manager == "pipenv":
        return "tool" if _named_only(op) else "manifest"
    return "tool" if _named_only(op) and not op.editable else None


def _chef_step(op: PackageOperation) -> str | None:
    """``cargo chef``: the word after ``chef`` (``prepare``, ``cook``), or None."""
    words = op.command.argv
    if op.manager != "cargo" or "chef" not in words:
        return None
    rest = [w for w in words[words.index("chef") + 1 :] if not w.startswith("-")]
    return rest[0] if rest else ""


def _compiled_kind(op: PackageOperation) -> str | None:
    action = op.action
    chef = _chef_step(op)
    if chef is not None:
        # cargo-chef is the caching pattern: `prepare` reads the sources to write the recipe
        # (it downloads nothing, so it belongs after `COPY . .`); `cook` builds the
        # dependencies from the recipe alone
        return "manifest" if chef == "cook" else None
    if action == "download":
        return "manifest"
    if action == "install" and op.packages and all(p.version for p in op.packages):
        return "tool"  # go install x@v1.2, cargo install ripgrep --version 14
    if op.manager == "cargo" and action == "install" and _named_only(op):
        return "tool"
    if op.manager == "cargo" and action in ("build", "test", "install"):
        return "build"
    return None  # `go build`: a module may have no dependencies at all


# --------------------------------------------------------------------------------------------
# sources

_MANIFEST_NAMES = re.compile(
    r"(?:package(?:-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml"
    r"|pnpm-workspace\.yaml|\.npmrc|\.yarnrc(?:\.yml)?|\.pnpmfile\.cjs|\.nvmrc|\.node-version"
    r"|requirements.*\.(?:txt|in)|constraints.*\.txt|pyproject\.toml|poetry\.lock|uv\.lock"
    r"|Pipfile(?:\.lock)?|setup\.(?:py|cfg)|\.python-version|go\.(?:mod|sum|work|work\.sum)"
    r"|Cargo\.(?:toml|lock)|Gemfile(?:\.lock)?|\.ruby-version|[\w.-]*\.gemspec"
    r"|composer\.(?:json|lock)|auth\.json|pom\.xml|(?:build|settings)\.gradle(?:\.kts)?"
    r"|gradle\.properties|gradlew(?:\.bat)?|mvnw(?:\.cmd)?|[\w.-]*\.(?:csproj|fsproj|vbproj"
    r"|sln|props|targets)|nuget\.config|NuGet\.Config|global\.json|packages\.lock\.json"
    r"|rust-toolchain(?:\.toml)?|\.cargo|\.mvn|gradle|\.yarn|requirements|patches"
    r"|package\*\.json|\*\.csproj|requirements\*\.txt)\Z"
)
_CODE = re.compile(
    r"\.(?:py|js|mjs|cjs|ts|tsx|jsx|vue|svelte|go|rs|java|kt|kts|scala|groovy|rb|php|cs|fs"
    r"|vb|c|cc|cpp|cxx|h|hpp|swift|dart|ex|exs|erl|clj|hs|ml|lua|pl|r|jl)\Z",
    re.I,
)


def source_words(inst: Instruction) -> list[str]:
    """The sources of a COPY or ADD from the build context that bring code, as written."""
    eff = inst.effective
    if eff.flag("from") is not None:
        return []
    move = transfer(inst)
    if move is None:
        return []
    found: list[str] = []
    for source in move.sources:
        if is_remote(source):
            continue
        trimmed = source.rstrip("/")
        name = posixpath.basename(trimmed)
        if _MANIFEST_NAMES.match(name):
            continue
        whole = trimmed in ("", ".", "*", "./*", "..") or name in (".", "..")
        folder = source.endswith("/") or ("." not in name and not name.startswith("$"))
        if whole or folder or _CODE.search(name):
            found.append(source)
    return found


# --------------------------------------------------------------------------------------------
# cache directories

_HOME_CACHES: Mapping[str, tuple[str, ...]] = {
    "uv": ("~/.cache/uv",),
    "poetry": ("~/.cache/pypoetry",),
    "pipenv": ("~/.cache/pipenv",),
    "pnpm": ("~/.local/share/pnpm/store",),
    "mvn": ("~/.m2",),
    "gradle": ("~/.gradle",),
    "dotnet": ("~/.nuget/packages",),
}
_BY_MANAGER: Mapping[str, tuple[Cache, ...]] = {
    "apt-get": (APT_ARCHIVES, APT_LISTS),
    "apt": (APT_ARCHIVES, APT_LISTS),
    "aptitude": (APT_ARCHIVES, APT_LISTS),
    "apk": (APK_INDEX,),
    "yum": (RPM_CACHE,),
    "dnf": (RPM_CACHE,),
    "microdnf": (RPM_CACHE,),
    "tdnf": (RPM_CACHE,),
    "zypper": (ZYPPER_CACHE,),
    "pip": (PIP_CACHE,),
    "npm": (NPM_CACHE,),
    "yarn": (YARN_CACHE,),
    "go": (GO_BUILD, GO_MODULES),
    "cargo": (CARGO_REGISTRY,),
    "composer": (COMPOSER_CACHE,),
}
#: Actions that download (or build) and so profit from a cache.
_CACHED_ACTIONS = frozenset({"install", "ci", "update", "upgrade", "download", "build",
                             "restore", "publish", "test", "run"})  # fmt: skip
#: apt, apk and the rpm managers lock their cache: builds running at once must take turns.
_LOCKED = frozenset({"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf", "tdnf",
                     "zypper"})  # fmt: skip


@dataclass(frozen=True)
class CacheDir:
    """A folder a manager downloads into, as a mount target (``~`` for the user's home)."""

    target: str
    locked: bool


def cache_dirs(op: PackageOperation, env: Mapping[str, str], facts: Facts) -> list[CacheDir]:
    """Where ``op`` keeps what a BuildKit cache mount could keep across builds; [] if none."""
    m = op.manager
    if op.action not in _CACHED_ACTIONS or (op.action == "run" and m != "go"):
        return []
    found: list[str] = []
    for cache in _BY_MANAGER.get(m, ()):
        if cache is APT_LISTS and op.action != "update":
            continue
        if cache is APT_ARCHIVES and op.action == "update":
            continue
        if (cache is GO_MODULES or cache is GO_BUILD) and not cache.writes(op, env):
            continue
        places = cache.places(op, env, facts)
        if cache is APT_ARCHIVES:
            places = ("/var/cache/apt",)
        elif cache is APT_LISTS:
            places = ("/var/lib/apt",)
        elif cache is APK_INDEX:
            places = ("/etc/apk/cache",)
        if places:
            found.append(places[0])
    found.extend(_HOME_CACHES.get(m, ()))
    locked = m in _LOCKED
    return [CacheDir(p, locked) for p in dict.fromkeys(found) if p and "$" not in p]


def mount_targets(run: Run, env: Mapping[str, str]) -> list[str]:
    """The RUN's cache and tmpfs mount targets, normalised as :func:`norm_path` does."""
    return [norm_path(target, env) for target in run.cache_mount_targets()]


def mounted(place: str, targets: list[str], env: Mapping[str, str]) -> bool:
    """A mount at ``place``, above it, or below it (cargo's registry/cache and registry/index
    mounted apart: the author chose what to keep)."""
    wanted = norm_path(place, env).rstrip("/") + "/"
    return any(
        wanted.startswith(t) or t.startswith(wanted)
        for t in (t.rstrip("/") + "/" for t in targets if t)
    )


# --------------------------------------------------------------------------------------------
# the walk


@dataclass(frozen=True)
class Late:
    """A dependency step that runs after a COPY brought sources into its stage."""

    run: Run
    step: Step
    copy: Instruction
    """The first COPY or ADD of the stage that brought sources."""
    source: str
    """Its first source-like word (``.``, ``src/``, ``app.py``)."""
    prepared: bool
    """The cache is already split for this family: a step of it ran before that COPY, or
    the family's manifests were copied on their own after it (so that COPY most likely feeds
    the install: a local module, a workspace package)."""
    fetched: bool
    """A manifest step of the same family already ran after that COPY (reported itself)."""


#: Manifest file names (or the globs written for them) and the family they belong to.
_MANIFEST_FAMILY: tuple[tuple[str, str], ...] = (
    ("package*.json", "node"), ("npm-shrinkwrap.json", "node"), ("yarn.lock", "node"),
    ("pnpm-*.yaml", "node"), ("requirements*", "python"), ("pyproject.toml", "python"),
    ("poetry.lock", "python"), ("uv.lock", "python"), ("Pipfile*", "python"),
    ("setup.py", "python"), ("setup.cfg", "python"), ("go.*", "go"), ("Cargo.*", "cargo"),
    ("Gemfile*", "bundle"), ("*.gemspec", "bundle"), ("composer.*", "composer"),
    ("pom.xml", "mvn"), ("*.gradle*", "gradle"), ("*.csproj", "dotnet"), ("*.sln", "dotnet"),
    ("*.fsproj", "dotnet"),
)  # fmt: skip


def manifest_families(inst: Instruction) -> set[str]:
    """Families whose manifests a COPY brings (by name or by the glob written for them)."""
    move = transfer(inst)
    if move is None or inst.effective.flag("from") is not None:
        return set()
    found: set[str] = set()
    for source in move.sources:
        name = posixpath.basename(source.rstrip("/"))
        for pattern, family in _MANIFEST_FAMILY:
            if fnmatchcase(name, pattern) or name == pattern:
                found.add(family)
    return found


def late_steps(
    stage: Stage,
    runs: Mapping[int, list[Run]],
    classify: Callable[[PackageOperation], Step | None] = step_of,
) -> Iterator[Late]:
    """Dependency steps of ``stage`` after a COPY brought sources into it (ONBUILD
    instructions are left out: they run in another build); ``classify`` reads each package
    operation as a step (KH183 adds Go builds)."""
    copy: Instruction | None = None
    source = ""
    installed: set[str] = set()  # dependency steps before the source COPY
    split: set[str] = set()  # manifests copied on their own after it
    fetched: set[str] = set()  # manifest steps after it
    for inst in stage.instructions:
        if inst.name in ("COPY", "ADD"):
            words = source_words(inst)
            if copy is None and words:
                copy, source = inst, words[0]
            elif copy is not None and not words:
                split |= manifest_families(inst)
            continue
        if inst.name != "RUN":
            continue
        for run in runs.get(id(inst), []):
            for op in run.operations.packages:
                step = classify(op)
                if step is None:
                    continue
                family = step.family
                if copy is None:
                    if step.kind != "tool":  # a dependency step, or a build that fetched them
                        installed.add(family)
                    continue
                yield Late(run, step, copy, source, family in installed or family in split,
                           family in fetched)  # fmt: skip
                if step.kind == "manifest":
                    fetched.add(family)
