import re
from collections.abc import Iterator, Mapping

from keelhaul.dockerfile.operations import PackageOperation, PackageSpec
from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import image_ref, is_alpine
from keelhaul.rules.dockerfile.shared.packages import operation_span, packages_span, word_span
from keelhaul.rules.dockerfile.shared.toolchain import (
    installs_build_tools,
    stage_env,
    stage_runs,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: C, C++ or Rust extensions: PyPI has glibc (manylinux) wheels for every release, musllinux
#: wheels only for some releases, Python versions and CPUs; without one pip compiles. (psycopg2
#: and mysqlclient are left out: they publish no wheels at all and compile on any base.)
COMPILED = frozenset(
    {
        "numpy", "pandas", "scipy", "scikit-learn", "scikit-image", "statsmodels",
        "matplotlib", "contourpy", "kiwisolver", "grpcio", "grpcio-tools", "cryptography",
        "psycopg2-binary", "lxml", "pillow", "orjson",
        "pydantic-core", "uvloop", "httptools", "gevent", "greenlet", "cffi", "bcrypt",
        "pynacl", "psutil", "ujson", "msgpack", "pyzmq", "h5py", "shapely", "pyarrow",
        "confluent-kafka", "regex", "tokenizers", "numba", "llvmlite",
    }
)  # fmt: skip
#: Published for glibc only: no musllinux wheel at all.
GLIBC_ONLY = frozenset(
    {"tensorflow", "tensorflow-cpu", "torch", "torchvision", "torchaudio", "opencv-python",
     "opencv-python-headless", "opencv-contrib-python", "onnxruntime", "jaxlib"}
)  # fmt: skip
#: Download URLs of programs built for glibc: Rust/LLVM ``*-linux-gnu`` triples, glibc or
#: manylinux builds, conda installers, AWS CLI v2, nodejs.org and Temurin/Oracle JDK tarballs.
_GLIBC_URL = re.compile(
    r"linux-gnu|glibc|manylinux|/(?:mini|ana)conda|miniforge|mambaforge|awscli-exe-linux"
    r"|nodejs\.org/dist/.*-linux-(?:x64|arm64|armv7l|ppc64le|s390x)|_linux_hotspot_"
    r"|_linux-(?:x64|aarch64)_bin",
    re.I,
)
_MUSL_URL = re.compile(r"musl|alpine-linux|unofficial-builds", re.I)
_SHIM = frozenset({"gcompat", "libc6-compat"})


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _glibc_variant(stage_base: str) -> str:
    ref = image_ref(stage_base)
    if ref is not None and ref.official and ref.path != "alpine" and ref.tag:
        version = ref.tag.split("-", 1)[0]
        return f"{ref.path}:{version}-slim" if version[:1].isdigit() else f"{ref.path}:slim"
    return "a glibc base such as debian:12-slim"


def _shim(runs: list[Run]) -> str | None:
    for run in runs:
        for op in run.operations.by_manager("apk"):
            for spec in op.packages:
                if op.action == "install" and spec.name in _SHIM:
                    return spec.name
    return None


def _wheels(stage: Stage, runs: list[Run], base: str, env: Mapping[str, str]) -> Iterator[Hit]:
    compiles = installs_build_tools(runs, env)
    for run in runs:
        for op in run.operations.packages:
            if op.manager not in ("pip", "uv") or op.action not in ("install", "build"):
                continue
            hit = _wheel_hit(op, run, stage, base, compiles)
            if hit is not None:
                yield hit


def _wheel_hit(
    op: PackageOperation, run: Run, stage: Stage, base: str, compiles: bool
) -> Hit | None:
    unique: dict[str, PackageSpec] = {}
    for spec in op.packages:
        if spec.kind == "name":
            unique.setdefault(_normal(spec.name), spec)  # the first spelling of each, in order
    named = list(unique.values())
    glibc = [p for p in named if _normal(p.name) in GLIBC_ONLY]
    compiled = [p for p in named if _normal(p.name) in COMPILED]
    if not glibc and not compiled:
        return None
    first = (glibc or compiled)[0]
    where = packages_span(run, op, first.raw) or operation_span(run, op)
    fix = f"use {_glibc_variant(base)}, or Alpine's own py3-* packages"
    if glibc:
        names = ", ".join(p.name for p in glibc)
        return Hit(run.instruction, f"{names} publish no musl wheels: on this Alpine (musl "
                   f"libc) stage pip cannot install them as wheels and builds them from "
                   f"source, if at all; {fix}", stage, where)  # fmt: skip
    names = ", ".join(p.name for p in compiled[:4])
    sign = " (the stage installs compilers for it)" if compiles else ""
    return Hit(run.instruction, f"{names} on Alpine (musl libc): PyPI's manylinux wheels "
               "are for glibc, and a release without a musllinux wheel for this Python and "
               f"CPU is compiled from source{sign}: slow builds, bigger images; {fix}",
               stage, where)  # fmt: skip


def _downloads(stage: Stage, runs: list[Run], base: str) -> Iterator[Hit]:
    shim = _shim(runs)
    note = (f" ({shim} is only a partial shim: no dlopen of glibc libraries, other "
            "locale and DNS behaviour)" if shim else "")  # fmt: skip
    fix = f"download the musl build, or use {_glibc_variant(base)}"
    for run in runs:
        for dl in run.operations.downloads:
            for url in dl.urls:
                if "://" not in url or not _GLIBC_URL.search(url) or _MUSL_URL.search(url):
                    continue
                index = dl.command.argv.index(url) if url in dl.command.argv else 0
                yield Hit(run.instruction, f"{url} is a glibc build, downloaded into an Alpine "
                          f"(musl libc) stage: it fails with 'not found' or crashes{note}; "
                          f"{fix}", stage, word_span(run, dl.command, index))  # fmt: skip
                break
    for inst in stage.instructions:
        if inst.name != "ADD":
            continue
        for src in inst.values[:-1]:
            if "://" in src and _GLIBC_URL.search(src) and not _MUSL_URL.search(src):
                yield Hit(inst, f"{src} is a glibc build, added to an Alpine (musl libc) "
                          f"stage: it fails with 'not found' or crashes{note}; {fix}", stage,
                          inst.locate(src))  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        root = ctx.build.root(stage)
        if root.base_stage is not None or not root.base or not is_alpine(root.base):
            continue
        runs = stage_runs(ctx, stage)
        yield from _wheels(stage, runs, root.base, stage_env(ctx, stage))
        yield from _downloads(stage, runs, root.base)


register(
    Rule(
        code="KH122",
        name="alpine-musl-mismatch",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="An Alpine stage pip-installs compiled packages or fetches glibc programs.",
        explanation=(
            "Alpine uses musl libc, not glibc. Programs built for glibc (Rust `*-linux-gnu` "
            "releases, nodejs.org and JDK tarballs, conda installers, AWS CLI v2) fail there "
            "with a baffling 'not found' (their loader /lib64/ld-linux-x86-64.so.2 is "
            "missing) or crash later; `gcompat`/`libc6-compat` is a partial shim, which is "
            "why installing it is a symptom rather than a fix, and is not reported by "
            "itself. Python packages with C or Rust extensions (numpy, pandas, grpcio, "
            "cryptography, lxml, pillow, orjson, pydantic-core...) ship manylinux wheels for "
            "glibc; musllinux wheels exist only for some releases, Python versions and CPUs, "
            "and some projects (torch, tensorflow, opencv-python) publish none. Without one "
            "pip compiles from source: minutes of build time, gcc and headers in the stage, "
            "and an image often bigger than the slim Debian one it was meant to beat. Use "
            "the `-slim` (glibc) variant, the musl build of the program, or Alpine's "
            "packages (`apk add py3-numpy`). Every stage built on Alpine is checked, builders "
            "included: they are where the slow builds happen."
        ),
        bad="FROM python:3.12-alpine\nRUN pip install --no-cache-dir pandas==2.2.2\n",
        good="FROM python:3.12-slim\nRUN pip install --no-cache-dir pandas==2.2.2\n",
        check=check,
    )
)
