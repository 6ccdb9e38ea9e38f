from collections.abc import Iterator

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import lexer
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

_OSES = frozenset(
    {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos",
     "android", "ios", "plan9", "aix", "dragonfly", "js", "wasip1"}
)  # fmt: skip
#: Operating systems BuildKit can run a stage for; another one is only ever a file tree.
_RUNNABLE = frozenset({"linux", "windows", "freebsd"})
_ARCHES = {
    "amd64": "amd64", "x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64",
    "arm64": "arm64", "arm": "arm", "armhf": "arm", "armel": "arm", "386": "386",
    "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
    "mips64le": "mips64le", "loong64": "loong64", "wasm": "wasm", "ppc64": "ppc64",
}  # fmt: skip


def parse_platform(text: str) -> tuple[str, str] | None:
    """(os, architecture) as containerd's platforms.Parse normalises them, or None."""
    parts = text.lower().split("/")
    if not all(parts) or len(parts) > 3:
        return None
    if len(parts) == 1:
        word = parts[0]
        if word in _OSES:
            return word, "amd64"
        return ("linux", _ARCHES[word]) if word in _ARCHES else None
    arch = _ARCHES.get(parts[1])
    if parts[0] not in _OSES or arch is None:
        return None
    return parts[0], arch


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    lex = lexer(ctx.tree.escape)
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        platform = inst.flag("platform")
        if not platform:
            continue
        try:
            value, matched, unmatched = lex.process_word_with_matches(platform, {})
        except ExpansionError:
            continue
        if matched or unmatched:
            continue  # a variable: not a constant
        parsed = parse_platform(value)
        if parsed is None:
            continue
        if parsed[0] not in _RUNNABLE and not any(i.name == "RUN" for i in stage.instructions):
            continue  # no builder runs a darwin image: its files are read as data (an SDK)
        name = stage.name or ""
        # A stage named for its platform ("build-arm64") is deliberate.
        if parsed[0] in name or parsed[1] in name:
            continue
        yield Hit(inst, f"FROM --platform={value} fixes this stage to {value} whatever the "
                  "build's target platform; use $BUILDPLATFORM (tools that run during the "
                  "build) or leave the flag out", stage,
                  inst.locate(platform))  # fmt: skip


register(
    Rule(
        code="KH145",
        name="constant-platform",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="FROM --platform with a fixed value such as linux/amd64.",
        explanation=(
            "A fixed `--platform` makes `docker build --platform linux/arm64` (or a "
            "multi-platform build) still produce amd64 files for that stage: on an ARM laptop "
            "or Graviton node it runs under emulation, many times slower, or ships binaries "
            "for the wrong architecture. Use `--platform=$BUILDPLATFORM` for stages that run "
            "build tools and cross-compile, and no flag for stages that ship. A stage whose "
            "name contains the OS or architecture (`build-amd64`) is taken as deliberate, and "
            "so is a stage for an OS no builder runs (`--platform=darwin/arm64`, with no RUN): "
            "its files are only copied out, a macOS SDK for cross-compiling, say."
        ),
        bad="FROM --platform=linux/amd64 node:20-slim\nCOPY . /app\n",
        good="FROM node:20-slim\nCOPY . /app\n",
        check=check,
        related={"hadolint": ("DL3029",), "buildkit": ("FromPlatformFlagConstDisallowed",)},
    )
)
