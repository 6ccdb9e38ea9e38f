"""Shared by the base-image rules (KH101, KH120-KH128): image references, what keelhaul knows
of common base images, and which stages are the final image, its builders and its targets.

The sizes below are *approximate* compressed sizes (what a pull downloads) of the linux/amd64
images of 2024-2025 tags, rounded; uncompressed sizes on disk are about 2.5 times larger. They
are there to give an order of magnitude in a message, not a measurement: a tag's size moves
with every rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from keelhaul.dockerfile.stages import DependencyKind, Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.registry.reference import (
    DOCKER_HUB,
    OFFICIAL_PREFIX,
    InvalidReference,
    parse_reference,
)
from keelhaul.rules.dockerfile.shared.base_variants import (
    dotnet_chiseled,
    dotnet_runtime_version,
    php_smaller,
)
from keelhaul.rules.dockerfile.shared.structure import chain, expand
from keelhaul.rules.registry import DockerfileContext

#: Names Docker Hub answers to; ``docker.io`` stands for all of them in settings.
HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com",
     "hub.docker.com"}
)  # fmt: skip
#: Mirrors that serve Docker Hub's official images under ``library/`` paths (or their own).
_HUB_MIRRORS = {"mirror.gcr.io": "library/", "public.ecr.aws": "docker/library/"}


# --------------------------------------------------------------------------------------------
# references


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image reference as the rules compare images: Docker Hub is ``docker.io`` whichever
    of its names or known mirrors serve it, and its ``library/`` is dropped.

    Built by :func:`image_ref` from keelhaul's one reference parser
    (:func:`keelhaul.registry.reference.parse_reference`); it parses nothing itself.
    """

    registry: str
    """Lower case (host names are not case-sensitive)."""
    path: str
    """The repository path; ``library/`` is dropped for Docker Hub (``node``)."""
    tag: str | None
    digest: str | None

    @property
    def names(self) -> tuple[str, ...]:
        """The spellings a pattern may use for the repository: ``node``, ``library/node``,
        ``docker.io/library/node``, ``docker.io/node``; ``gcr.io/distroless/static``."""
        if self.registry != DOCKER_HUB:
            return (f"{self.registry}/{self.path}",)
        if "/" in self.path:
            return (self.path, f"{DOCKER_HUB}/{self.path}")
        return (self.path, f"library/{self.path}", f"{DOCKER_HUB}/library/{self.path}",
                f"{DOCKER_HUB}/{self.path}")  # fmt: skip

    @property
    def official(self) -> bool:
        """A Docker Hub official image (``node``, ``python``; also through a known mirror)."""
        return self.registry == DOCKER_HUB and "/" not in self.path

    @property
    def last(self) -> str:
        """The last part of the path: ``golang`` of ``docker.io/library/golang:1.22``."""
        return self.path.rsplit("/", 1)[-1]


@lru_cache(maxsize=1024)
def image_ref(reference: str) -> ImageRef | None:
    """``reference`` as the rules see it, or None when it is no valid image reference (a
    variable such as ``${BASE}``, capitals in the repository, ``name:sha256:...``): there is
    then nothing to judge, and a build would refuse it anyway."""
    try:
        parsed = parse_reference(reference)
    except InvalidReference:
        return None
    registry, path = parsed.registry.lower(), parsed.repository
    if registry in HUB_ALIASES:
        registry = DOCKER_HUB
    mirrored = _HUB_MIRRORS.get(registry)
    if mirrored is not None and path.startswith(mirrored):
        registry, path = DOCKER_HUB, path[len(mirrored) :]
    if registry == DOCKER_HUB:
        path = path.removeprefix(OFFICIAL_PREFIX)
    return ImageRef(registry, path, parsed.tag, parsed.digest)


def image_name(reference: str) -> str:
    """``docker.io/library/golang:1.22-alpine@sha256:...`` -> ``golang``; ``""`` when
    ``reference`` is no valid image reference."""
    ref = image_ref(reference)
    return "" if ref is None else ref.last


def registry_matches(registry: str, patterns: list[str]) -> bool:
    """Whether ``registry`` is one of ``patterns`` (globs such as ``*.gcr.io`` allowed)."""
    for pattern in patterns:
        p = pattern.strip().lower().rstrip("/")
        if p in HUB_ALIASES:
            p = DOCKER_HUB
        if fnmatchcase(registry, p):
            return True
    return False


def image_matches(ref: ImageRef, patterns: list[str]) -> bool:
    """Whether ``ref`` matches a glob of ``patterns``: ``node``, ``gcr.io/distroless/*``,
    ``python:3.12-*`` (a pattern with a tag is matched against ``name:tag``)."""
    tag = ref.tag or "latest"
    forms: list[str] = []
    for name in ref.names:
        forms += [name, f"{name}:{tag}"]
        if ref.digest:
            forms += [f"{name}@{ref.digest}", f"{name}:{tag}@{ref.digest}"]
    return any(fnmatchcase(form, p.strip().lower()) for p in patterns for form in forms)


@dataclass(frozen=True, slots=True)
class ImageUse:
    """An image a stage pulls: its base (FROM), or one named by COPY --from / RUN --mount."""

    stage: Stage
    instruction: Instruction
    reference: str
    """As expanded with the ARG defaults."""
    written: str
    """As written in the Dockerfile, to locate it."""
    via: str
    """``FROM``, ``COPY --from`` or ``RUN --mount``."""


def _known(ctx: DockerfileContext, stage: Stage) -> bool:
    """The FROM holds no variable that only a build arg may set (``FROM alpine:$TAG`` with
    ``ARG TAG`` and no default: the tag is unknown, not empty)."""
    if "$" not in stage.base_raw:
        return True
    found = expand(stage.base_raw, ctx.build.resolved_global_args, ctx.tree.escape)
    return found is not None and not found[1] and "$" not in found[0]


def image_uses(ctx: DockerfileContext) -> Iterator[ImageUse]:
    """Every image the build pulls, in file order; never scratch, a stage, or a FROM that
    depends on a build arg without a default (nothing to judge). ``COPY --from`` and
    ``RUN --mount=from=`` take no variables (BuildKit refuses them)."""
    for stage in ctx.build.stages:
        for dep in stage.dependencies:
            if dep.kind is not DependencyKind.IMAGE or not dep.reference:
                continue
            ref = dep.reference
            inst = dep.instruction
            if ref.lower() == "scratch" or "$" in ref:
                continue
            if inst is stage.from_instruction:
                if _known(ctx, stage):
                    yield ImageUse(stage, inst, ref, stage.base_raw, "FROM")
            elif inst.name in ("COPY", "ADD"):
                yield ImageUse(stage, inst, ref, ref, f"{inst.name} --from")
            else:
                yield ImageUse(stage, inst, ref, ref, "RUN --mount")


# --------------------------------------------------------------------------------------------
# stages


def final_chain(ctx: DockerfileContext) -> list[Stage]:
    """The final stage, then the stage it is built FROM, and so on back to an image."""
    final = ctx.final_stage
    return [] if final is None else chain(ctx.build, final)


#: Stage names that say "a development or test target", built with --target on purpose:
#: carrying compilers there is the point.
_DEV_TARGET = re.compile(
    r"(?:dev|devel|develop|development|debug|test|tests|testing|ci|lint|local|sandbox"
    r"|devcontainer|dev[-_]?envs?|validate|verify|check|generate|gen|update|vendor|fmt"
    r"|format|shell)(?:[-_].*)?"
)


_DEV_WORDS = (
    r"(?:dev|devel|development|debug|test|tests|testing|ci|local|devcontainer|lint|build"
    r"|builder)"
)
#: ``Dockerfile.dev``, ``Dockerfile-test``, ``dev.Dockerfile``, ``dev.go.Dockerfile``, and the
#: build-container files of pre-multi-stage days: ``Dockerfile.build``, ``builder.Dockerfile``.
_DEV_FILE = re.compile(
    rf"(?:.*[._-])?{_DEV_WORDS}[._-](?:[a-z0-9]+[.-])?(?:docker|container)file"
    rf"|(?:docker|container)file[._-]{_DEV_WORDS}",
    re.I,
)


def is_dev_image(ctx: DockerfileContext) -> bool:
    """The Dockerfile builds a development or CI environment, not an image that ships: a
    ``.devcontainer`` folder's file, ``Dockerfile.dev``/``test.Dockerfile``, or a final stage
    named ``dev``, ``test``, ``ci``, ``lint``, ``validate``..."""
    parts = ctx.tree.path.replace("\\", "/").split("/")
    if ".devcontainer" in parts:
        return True
    if _DEV_FILE.fullmatch(parts[-1]):
        return True
    final = ctx.final_stage
    return final is not None and final.name is not None and bool(_DEV_TARGET.fullmatch(final.name))


#: A CMD that only starts a shell or an interpreter's prompt: the image is a base for others
#: (``CMD ["python3"]`` in the official images), not an application.
_PROMPT = re.compile(
    r"(?:ba|a|z|k|da)?sh|python[\d.]*|node|irb|ruby|php|perl|jshell|iex|erl|ghci|julia|R"
    r"|pwsh|powershell|cmd"
)


def _last(stages: list[Stage], name: str) -> Instruction | None:
    for stage in stages:
        found = [i for i in stage.instructions if i.name == name]
        if found:
            return found[-1]
    return None


def is_base_for_others(ctx: DockerfileContext) -> bool:
    """The image is made to be built upon: it has ONBUILD triggers, or its CMD only opens a
    shell or an interpreter (``CMD ["node"]``, ``CMD ["php", "-a"]``, ``CMD bash``)."""
    stages = final_chain(ctx)
    if any(i.name == "ONBUILD" for s in stages for i in s.instructions):
        return True
    cmd = _last(stages, "CMD")
    if cmd is None or not cmd.values:
        return False
    words = list(cmd.values) if cmd.json else cmd.values[0].split()
    program = words[0].rsplit("/", 1)[-1] if words else ""
    return bool(_PROMPT.fullmatch(program)) and all(w.startswith("-") for w in words[1:])


def is_alpine(reference: str) -> bool:
    """An image built on Alpine (musl libc): ``alpine``, ``python:3.12-alpine``, ``*/alpine``.

    ``alpine-glibc`` style images that add glibc are not counted.
    """
    ref = image_ref(reference)
    if ref is None or "glibc" in ref.path or "glibc" in (ref.tag or ""):
        return False
    return ref.last == "alpine" or "alpine" in (ref.tag or "").lower()


# --------------------------------------------------------------------------------------------
# smaller bases


@dataclass(frozen=True, slots=True)
class Option:
    image: str
    size_mb: float
    note: str = ""

    def __str__(self) -> str:
        extra = f", {self.note}" if self.note else ""
        return f"{self.image} ({mb(self.size_mb)}{extra})"


@dataclass(frozen=True, slots=True)
class Advice:
    """What a base image is, about how big, and the smaller images that fit."""

    what: str
    size_mb: float
    options: tuple[Option, ...]

    def text(self, shown: str) -> str:
        """``node:20, the full Node.js image (...), ~400 MB compressed; smaller: ...``."""
        return (f"{shown}, {self.what}, {mb(self.size_mb)} compressed; smaller: "
                f"{'; '.join(str(o) for o in self.options)}")  # fmt: skip


def mb(size: float) -> str:
    if size == 0:
        return "0 MB"
    return "~1 MB" if size < 1.5 else f"~{size:g} MB"


#: Approximate compressed sizes (MB, linux/amd64) of the images the rules suggest or flag.
SIZES: dict[str, float] = {
    "node": 400, "node-slim": 70, "node-alpine": 45, "distroless-nodejs": 45,
    "python": 370, "python-slim": 45, "python-alpine": 18, "distroless-python": 20,
    "ruby": 360, "ruby-slim": 75, "ruby-alpine": 35,
    "perl": 330, "perl-slim": 45,
    "php": 170, "php-alpine": 35,
    "golang": 300, "golang-alpine": 75, "distroless-static": 1, "distroless-base": 8,
    "rust": 550, "rust-slim": 250, "distroless-cc": 9,
    "gcc": 500, "buildpack-deps": 330, "buildpack-deps-curl": 55,
    "jdk": 190, "jre": 90, "jre-alpine": 70, "distroless-java": 80,
    "maven": 280, "gradle": 450,
    "dotnet-sdk": 280, "dotnet-aspnet": 90, "dotnet-chiseled": 50,
    "ubuntu": 30, "debian": 49, "debian-slim": 28, "alpine": 3.5,
    "centos": 70, "fedora": 60, "fedora-minimal": 35, "el": 65, "el-minimal": 38,
    "amazonlinux": 52, "amazonlinux-minimal": 35, "oraclelinux": 90, "oraclelinux-slim": 45,
    "ubi": 80, "ubi-minimal": 38, "ubi-micro": 7,
}  # fmt: skip

_CODENAMES = frozenset(
    {"trixie", "bookworm", "bullseye", "buster", "stretch", "jessie", "sid", "noble", "jammy",
     "focal", "bionic"}
)  # fmt: skip
_SMALL_VARIANT = re.compile(r"slim|alpine|minimal|micro|distroless|chisel")
_WINDOWS = re.compile(r"windows|nanoserver|servercore|ltsc", re.I)
_BUILDPACK = "built on buildpack-deps, with gcc, make, git and -dev headers"
#: Node.js majors distroless publishes an image for.
_DISTROLESS_NODE = frozenset({"18", "20", "22", "24"})


def _version(tag: str) -> str:
    """The version part of a tag: ``20`` of ``20-bookworm``, ``""`` for ``latest``/codenames."""
    head = tag.split("-", 1)[0]
    return "" if head in ("", "latest") or head in _CODENAMES else head


def _variant(name: str, version: str, suffix: str) -> str:
    return f"{name}:{version}-{suffix}" if version else f"{name}:{suffix}"


def _major(text: str) -> str:
    found = re.search(r"\d+", text)
    return found.group() if found else ""


def _language(ref: ImageRef) -> Advice | None:
    """Full Docker Hub language images: node, python, ruby, perl, php."""
    name, tag = ref.path, (ref.tag or "").lower()
    if _SMALL_VARIANT.search(tag):
        return None
    v = _version(tag)
    if name == "node":
        options = [
            Option(_variant("node", v, "slim"), SIZES["node-slim"]),
            Option(_variant("node", v, "alpine"), SIZES["node-alpine"], "musl"),
        ]
        major = _major(v)
        if major in _DISTROLESS_NODE:
            options.append(
                Option(f"gcr.io/distroless/nodejs{major}-debian12", SIZES["distroless-nodejs"])
            )
        return Advice(f"the full Node.js image ({_BUILDPACK})", SIZES["node"], tuple(options))
    if name == "python":
        return Advice(f"the full Python image ({_BUILDPACK})", SIZES["python"], (
            Option(_variant("python", v, "slim"), SIZES["python-slim"]),
            Option("gcr.io/distroless/python3-debian12", SIZES["distroless-python"],
                   "Debian's Python 3.11"),
        ))  # fmt: skip
    if name in ("ruby", "perl"):
        options = [Option(_variant(name, v, "slim"), SIZES[f"{name}-slim"])]
        if name == "ruby":
            options.append(Option(_variant(name, v, "alpine"), SIZES["ruby-alpine"], "musl"))
        return Advice(f"the full {name.title()} image ({_BUILDPACK})", SIZES[name],
                      tuple(options))  # fmt: skip
    if name == "php":
        v = v if v[:1].isdigit() else ""
        smaller = php_smaller(v, tag)
        if smaller is None:
            return None  # apache: no smaller image of the same flavour (fpm needs a web server)
        return Advice("a Debian PHP image that keeps gcc, g++, make and autoconf "
                      "($PHPIZE_DEPS: purge them after docker-php-ext-install)", SIZES["php"], (
            Option(smaller, SIZES["php-alpine"]),
        ))  # fmt: skip
    return None


def _java_major(tag: str) -> str:
    found = re.search(r"(?:temurin|jdk|java|corretto|openjdk|semeru)-?(\d+)", tag)
    return found.group(1) if found else ""


def _jre_options(major: str) -> tuple[Option, ...]:
    shown = major or "<version>"
    options = [Option(f"eclipse-temurin:{shown}-jre", SIZES["jre"]),
               Option(f"eclipse-temurin:{shown}-jre-alpine", SIZES["jre-alpine"], "musl")]  # fmt: skip
    if major in ("17", "21", "25"):
        options.append(Option(f"gcr.io/distroless/java{major}-debian12", SIZES["distroless-java"]))
    return tuple(options)


def _toolchain(ref: ImageRef) -> Advice | None:
    """Images that are a compiler or an SDK whatever their tag."""
    name, tag = ref.path, (ref.tag or "").lower()
    if ref.registry == DOCKER_HUB:
        if name == "golang":
            size = SIZES["golang-alpine" if "alpine" in tag else "golang"]
            return Advice("the Go toolchain", size, (
                Option("scratch", 0, "for a static binary: CGO_ENABLED=0 go build in a builder "
                       "stage"),
                Option("gcr.io/distroless/static-debian12", SIZES["distroless-static"],
                       "CA certificates and tzdata included"),
                Option("gcr.io/distroless/base-debian12", SIZES["distroless-base"],
                       "when it needs glibc"),
            ))  # fmt: skip
        if name == "rust":
            size = SIZES["rust-slim" if _SMALL_VARIANT.search(tag) else "rust"]
            return Advice("the Rust toolchain", size, (
                Option("gcr.io/distroless/cc-debian12", SIZES["distroless-cc"]),
                Option("debian:12-slim", SIZES["debian-slim"]),
                Option("scratch", 0, "for a static musl build"),
            ))  # fmt: skip
        if name == "gcc":
            return Advice("the GCC toolchain", SIZES["gcc"], (
                Option("debian:12-slim", SIZES["debian-slim"]),
                Option("gcr.io/distroless/cc-debian12", SIZES["distroless-cc"]),
            ))  # fmt: skip
        if name == "buildpack-deps" and not re.search(r"curl|scm", tag):
            codename = next((c for c in _CODENAMES if c in tag), "bookworm")
            return Advice("buildpack-deps, a build environment (gcc, make, headers)",
                          SIZES["buildpack-deps"], (
                Option(f"debian:{codename}-slim", SIZES["debian-slim"]),
                Option(f"buildpack-deps:{codename}-curl", SIZES["buildpack-deps-curl"]),
            ))  # fmt: skip
        if name in ("maven", "gradle"):
            return Advice(f"{name.title()} with a full JDK, a build tool", SIZES[name],
                          _jre_options(_java_major(tag)))  # fmt: skip
        jdk_images = ("openjdk", "eclipse-temurin", "amazoncorretto", "ibm-semeru-runtimes",
                      "sapmachine")  # fmt: skip
        if name in jdk_images and "jre" not in tag:
            return Advice("a full JDK (compiler included)", SIZES["jdk"],
                          _jre_options(_major(tag)))  # fmt: skip
    if ref.registry == "mcr.microsoft.com" and re.fullmatch(r"dotnet/(?:core/)?sdk", name):
        runtime = dotnet_runtime_version(tag) or "8.0"
        options = [Option(f"mcr.microsoft.com/dotnet/aspnet:{runtime}", SIZES["dotnet-aspnet"])]
        chiseled = dotnet_chiseled(runtime)
        if chiseled is not None:
            options.append(Option(f"mcr.microsoft.com/dotnet/aspnet:{chiseled}",
                                  SIZES["dotnet-chiseled"]))  # fmt: skip
        return Advice("the .NET SDK", SIZES["dotnet-sdk"], tuple(options))
    return None


def _ubi(ref: ImageRef) -> str | None:
    if ref.registry not in ("registry.access.redhat.com", "registry.redhat.io", DOCKER_HUB):
        return None
    found = re.fullmatch(r"(?:redhat/)?ubi(\d+)(?:/ubi)?", ref.path)
    return found.group(1) if found else None


def _distribution(ref: ImageRef) -> Advice | None:
    """General-purpose distributions (a shell, a package manager, coreutils...)."""
    name, tag = ref.path, (ref.tag or "").lower()
    if _SMALL_VARIANT.search(tag):
        return None
    v = _version(tag)
    minimal = (Option("gcr.io/distroless/base-debian12", SIZES["distroless-base"]),
               Option("alpine", SIZES["alpine"], "musl"))  # fmt: skip
    release = _ubi(ref)
    if release is not None:
        return Advice("Red Hat UBI, a full distribution", SIZES["ubi"], (
            Option(f"registry.access.redhat.com/ubi{release}/ubi-minimal", SIZES["ubi-minimal"]),
            Option(f"registry.access.redhat.com/ubi{release}/ubi-micro", SIZES["ubi-micro"]),
        ))  # fmt: skip
    if ref.registry != DOCKER_HUB:
        return None
    if name == "ubuntu":
        return Advice("a general-purpose distribution", SIZES["ubuntu"], minimal)
    if name == "debian":
        slim = f"debian:{tag}-slim" if tag and tag != "latest" else "debian:stable-slim"
        return Advice("the full Debian image", SIZES["debian"],
                      (Option(slim, SIZES["debian-slim"]), *minimal))  # fmt: skip
    if name == "centos":
        return Advice("CentOS Linux, end-of-life and no longer patched", SIZES["centos"], (
            Option("rockylinux:9-minimal", SIZES["el-minimal"]),
            Option("registry.access.redhat.com/ubi9/ubi-minimal", SIZES["ubi-minimal"]),
        ))  # fmt: skip
    if name in ("rockylinux", "rockylinux/rockylinux", "almalinux"):
        return Advice(
            "a full Enterprise Linux image",
            SIZES["el"],
            (Option(_variant(name, v or _major(tag), "minimal"), SIZES["el-minimal"]),),
        )
    if name == "fedora":
        return Advice("a full Fedora image", SIZES["fedora"], (
            Option(f"registry.fedoraproject.org/fedora-minimal:{v or 'latest'}",
                   SIZES["fedora-minimal"]),
        ))  # fmt: skip
    if name == "amazonlinux":
        return Advice("a full Amazon Linux image", SIZES["amazonlinux"], (
            Option("public.ecr.aws/amazonlinux/amazonlinux:2023-minimal",
                   SIZES["amazonlinux-minimal"]),
        ))  # fmt: skip
    if name == "oraclelinux" and v:
        return Advice(
            "a full Oracle Linux image",
            SIZES["oraclelinux"],
            (Option(f"oraclelinux:{v}-slim", SIZES["oraclelinux-slim"]),),
        )
    return None


@lru_cache(maxsize=512)
def full_base(reference: str) -> Advice | None:
    """Advice when ``reference`` is a full language image or a toolchain (KH120)."""
    ref = image_ref(reference)
    if ref is None or _WINDOWS.search(reference):
        return None
    if ref.official:
        found = _language(ref)
        if found is not None:
            return found
    return _toolchain(ref)


@lru_cache(maxsize=512)
def distribution_base(reference: str) -> Advice | None:
    """Advice when ``reference`` is a general-purpose distribution (KH121)."""
    ref = image_ref(reference)
    if ref is None or _WINDOWS.search(reference):
        return None
    return _distribution(ref)


_SLIM_VERSION = re.compile(r"\d+(?:\.\d+){0,2}|latest|lts|current")
#: Debian suites the official images build on; python, ruby and perl write `3.12-slim-bookworm`,
#: node writes `20-bookworm-slim`.
_SLIM_SUITES = frozenset({"bookworm", "bullseye", "buster", "trixie"})


def slim_tag(image: str, tag: str) -> str | None:
    """The `-slim` twin of a full official tag (`3.12` -> `3.12-slim`), or None."""
    version, _, suite = tag.partition("-")
    if version in _SLIM_SUITES and not suite:
        version, suite = "", version
    elif (suite and suite not in _SLIM_SUITES) or not _SLIM_VERSION.fullmatch(version):
        return None
    if version in ("lts", "current") and image != "node":
        return None
    if version == "latest":
        return None if suite else "slim"
    parts = [version] if version else []
    if not suite:
        parts.append("slim")
    elif image == "node":
        parts += [suite, "slim"]
    else:
        parts += ["slim", suite]
    return "-".join(parts)
