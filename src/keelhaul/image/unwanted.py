"""Files that should not ship in a production image: package caches and indexes, build
toolchains, VCS folders, docs and tests, sources of compiled languages, core dumps and logs.

:func:`classify` looks at a path only (one compiled expression per kind, tried on every shipped
file); the analysis adds the bytes up per kind and layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    pattern: re.Pattern[str]
    min_bytes: int
    """Below this many bytes in the whole image the kind is not worth a finding."""


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


# Paths are root-relative (``var/lib/apt/lists/x``); ``(?:^|.*/)`` matches at any depth.
_DEEP = r"(?:^|.*/)"

KINDS: tuple[Kind, ...] = (
    Kind("package-cache", "package manager caches and indexes", _any(
        r"^var/lib/apt/lists/(?!lock$|partial/?$)", r"^var/cache/apt/", r"^var/cache/apk/",
        r"^etc/apk/cache/", r"^var/cache/(?:yum|dnf)/", r"^var/cache/zypp/",
        _DEEP + r"\.cache/(?:pip|pypoetry|yarn|go-build|uv)/", _DEEP + r"\.npm/_cacache/",
        r"^usr/local/share/\.cache/yarn/", _DEEP + r"\.local/share/pnpm/store/",
        _DEEP + r"\.pnpm-store/", _DEEP + r"go/pkg/mod/cache/", _DEEP + r"\.cargo/registry/",
        _DEEP + r"\.cargo/git/", _DEEP + r"\.m2/repository/", _DEEP + r"\.gradle/caches/",
        _DEEP + r"\.gradle/wrapper/dists/", r"^usr/local/cargo/registry/",
    ), 4096),
    Kind("toolchain", "build toolchains and headers", _any(
        r"^usr/lib/gcc/", r"^usr/libexec/gcc/", r"^usr/lib/gcc-cross/",
        r"^usr/bin/(?:[a-z0-9_\-]+-)?(?:gcc|g\+\+|cc1|cpp|c\+\+)(?:-\d+)?$",
        r"^usr/lib/llvm-[^/]+/", r"^usr/include/", r"^usr/local/include/", r"^usr/local/go/",
        r"^usr/lib/go-[^/]+/", _DEEP + r"\.rustup/toolchains/", r"^usr/local/rustup/toolchains/",
        r"^usr/lib/jvm/[^/]+/(?:bin/javac|lib/ct\.sym|jmods/)", r"^usr/(?:share|lib)/dotnet/sdk/",
    ), 1 << 20),
    Kind("vcs", "version-control folders", _any(_DEEP + r"\.(?:git|svn|hg)/"), 1),
    Kind("docs", "documentation and man pages", _any(
        r"^usr/share/(?:doc|man|info|gtk-doc|help)/", r"^usr/local/share/(?:doc|man|info)/",
    ), 1 << 20),
    Kind("tests", "test suites of installed packages", _any(
        _DEEP + r"(?:site|dist)-packages/[^/]+/tests?/", _DEEP + r"node_modules/.+/(?:tests?|__tests__)/",
    ), 1 << 20),
    Kind("sources", "sources of compiled languages", _any(
        r"^usr/src/",
        r"^(?!usr/(?:include|share|lib|local/go|local/include)/)(?!.*(?:site-packages|dist-packages|node_modules|/go/pkg/mod)/).+\.(?:c|cc|cpp|cxx|go|rs|java|o|obj)$",
    ), 1 << 20),
    Kind("core-dump", "core dumps and heap dumps", _any(
        _DEEP + r"(?:core|core\.\d+|vgcore\.\d+|hs_err_pid\d+\.log|[^/]+\.hprof|[^/]+\.core)$",
    ), 1),
    Kind("logs", "log files", _any(r"^var/log/.", r".*\.log$", r".*\.log\.\d+(?:\.gz)?$"), 64 << 10),
)  # fmt: skip
_BY_NAME = {k.name: k for k in KINDS}
#: One pass per path: named groups say which kind matched (the first listed wins).
_ALL = re.compile("|".join(f"(?P<k{i}>{k.pattern.pattern})" for i, k in enumerate(KINDS)))


def kind(name: str) -> Kind:
    return _BY_NAME[name]


def classify(path: str) -> Kind | None:
    """The kind of unwanted file ``path`` (root-relative) is, or None. Every pattern is
    anchored at the start of the path, so the first kind listed that matches wins."""
    match = _ALL.match(path)
    if match is None:
        return None
    group = match.lastgroup
    assert group is not None
    return KINDS[int(group[1:])]


def group_folder(path: str, found: Kind) -> str:
    """The folder to name for a file of kind ``found`` (``/var/lib/apt/lists``, ``/app/.git``)."""
    if found.name == "vcs":
        for marker in ("/.git/", "/.svn/", "/.hg/"):
            at = ("/" + path).find(marker)
            if at >= 0:
                return ("/" + path)[: at + len(marker) - 1]
    parts = path.split("/")
    return "/" + "/".join(parts[: min(len(parts) - 1, 4)]) if len(parts) > 1 else "/" + path
