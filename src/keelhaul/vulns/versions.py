"""Version order, ecosystem by ecosystem, as each package manager defines it.

OSV ranges are evaluated in the ecosystem's own order (the spec's "ECOSYSTEM" range type), so
``1.2.3-1~deb12u1`` must sort the way dpkg sorts it, ``1.2_rc1-r0`` the way apk does. Each
order here is written from its definition:

- dpkg: Debian Policy 5.6.12 (epoch, upstream, revision; ``~`` before everything, letters
  before other characters, digit runs numerically);
- apk: apk-tools' version.c (numbers, a letter, ``_alpha``/``_beta``/``_pre``/``_rc`` before the
  release and ``_cvs``/``_svn``/``_git``/``_hg``/``_p`` after it, ``-rN`` revision);
- rpm: rpmvercmp (alphanumeric segments, numbers newer than letters, ``~`` before and ``^``
  after the end);
- semver 2.0.0 (npm, crates.io, Go with its ``v`` and pseudo-versions, OSV SEMVER ranges);
- PEP 440 (PyPI), through ``packaging``;
- Maven's ComparableVersion; RubyGems' Gem::Version.

:func:`compare` returns <0, 0 or >0; :func:`order_for` gives the comparator of an OSV
ecosystem name (``Debian:12`` -> dpkg). An unparseable version raises :class:`BadVersion`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cmp_to_key, lru_cache

from packaging.version import InvalidVersion, Version


class BadVersion(ValueError):
    """A version string the ecosystem's order cannot read."""


Comparator = Callable[[str, str], int]


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


# --------------------------------------------------------------------------------------------
# dpkg


def _dpkg_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) else 0
            bc = _dpkg_order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


_DPKG = re.compile(r"(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?")


def _dpkg_parts(version: str) -> tuple[int, str, str]:
    found = _DPKG.fullmatch(version.strip())
    if found is None:
        raise BadVersion(f"not a dpkg version: {version!r}")
    epoch, upstream, revision = found.groups()
    return int(epoch or 0), upstream, revision or ""


def dpkg(a: str, b: str) -> int:
    """dpkg's order (``dpkg --compare-versions``)."""
    ea, ua, ra = _dpkg_parts(a)
    eb, ub, rb = _dpkg_parts(b)
    if ea != eb:
        return _sign(ea - eb)
    return _sign(_verrevcmp(ua, ub) or _verrevcmp(ra, rb))


# --------------------------------------------------------------------------------------------
# apk

_APK_PRE = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1}
_APK_POST = {"cvs": 1, "svn": 2, "git": 3, "hg": 4, "p": 5}
_APK = re.compile(
    r"(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)"
    r"(?:~[0-9a-f]+)?(?:-r(\d+))?"
)


def _apk_parts(version: str) -> tuple[list[str], str, list[tuple[int, int]], int]:
    found = _APK.fullmatch(version.strip())
    if found is None:
        raise BadVersion(f"not an apk version: {version!r}")
    numbers, letter, suffixes, revision = found.groups()
    parsed: list[tuple[int, int]] = []
    for suffix in filter(None, suffixes.split("_")):
        name = suffix.rstrip("0123456789")
        digits = suffix[len(name) :]
        parsed.append((_APK_PRE.get(name) or _APK_POST[name], int(digits or 0)))
    return numbers.split("."), letter, parsed, int(revision or 0)


def _apk_number(a: str, b: str, first: bool) -> int:
    # after the first number, a leading zero makes the component a decimal fraction
    if not first and (a.startswith("0") or b.startswith("0")):
        return _sign((a > b) - (a < b))
    return _sign(int(a) - int(b))


def apk(a: str, b: str) -> int:
    """apk-tools' order (``apk version -t``)."""
    na, la, sa, ra = _apk_parts(a)
    nb, lb, sb, rb = _apk_parts(b)
    for k in range(min(len(na), len(nb))):
        diff = _apk_number(na[k], nb[k], k == 0)
        if diff:
            return diff
    if len(na) != len(nb):
        return 1 if len(na) > len(nb) else -1
    if la != lb:
        return 1 if la > lb else -1  # a missing letter ("") sorts first
    for k in range(max(len(sa), len(sb))):
        x = sa[k] if k < len(sa) else (0, 0)
        y = sb[k] if k < len(sb) else (0, 0)
        if x != y:
            return 1 if x > y else -1
    return _sign(ra - rb)


# --------------------------------------------------------------------------------------------
# rpm


def _rpm_skip(text: str, i: int) -> int:
    while i < len(text) and not text[i].isalnum() and text[i] not in "~^":
        i += 1
    return i


def _rpm_run(text: str, i: int, digits: bool) -> int:
    while i < len(text) and (text[i].isdigit() if digits else text[i].isalpha()):
        i += 1
    return i


def rpmvercmp(a: str, b: str) -> int:
    """rpm's rpmvercmp on one field (version or release)."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        i, j = _rpm_skip(a, i), _rpm_skip(b, j)
        x = a[i] if i < len(a) else ""
        y = b[j] if j < len(b) else ""
        if "~" in (x, y):  # a tilde sorts before everything, the end included
            if x != "~":
                return 1
            if y != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if "^" in (x, y):  # a caret sorts after the end, before anything else
            if not x:
                return -1
            if not y:
                return 1
            if x != "^":
                return 1
            if y != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (x and y):
            break
        digits = x.isdigit()
        end_a, end_b = _rpm_run(a, i, digits), _rpm_run(b, j, digits)
        if end_b == j:
            return 1 if digits else -1  # a number is newer than letters
        seg_a, seg_b = a[i:end_a], b[j:end_b]
        i, j = end_a, end_b
        if digits:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def _rpm_parts(version: str) -> tuple[int, str, str]:
    text = version.strip()
    if not text:
        raise BadVersion("empty rpm version")
    epoch = 0
    if ":" in text:
        head, _, text = text.partition(":")
        if not head.isdigit():
            raise BadVersion(f"not an rpm version: {version!r}")
        epoch = int(head)
    ver, _, release = text.rpartition("-") if "-" in text else (text, "", "")
    return epoch, ver, release


def rpm(a: str, b: str) -> int:
    """rpm's order of ``[epoch:]version[-release]``."""
    ea, va, ra = _rpm_parts(a)
    eb, vb, rb = _rpm_parts(b)
    if ea != eb:
        return _sign(ea - eb)
    return rpmvercmp(va, vb) or (rpmvercmp(ra, rb) if ra and rb else 0)


# --------------------------------------------------------------------------------------------
# semver

_SEMVER = re.compile(
    r"v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?"
)


def _semver_parts(version: str) -> tuple[tuple[int, int, int], list[str]]:
    found = _SEMVER.fullmatch(version.strip())
    if found is None:
        raise BadVersion(f"not a semantic version: {version!r}")
    major, minor, patch, pre = found.groups()
    return (int(major), int(minor or 0), int(patch or 0)), pre.split(".") if pre else []


def _identifier(a: str, b: str) -> int:
    if a.isdigit() and b.isdigit():
        return _sign(int(a) - int(b))
    if a.isdigit() != b.isdigit():
        return -1 if a.isdigit() else 1
    return (a > b) - (a < b)


def semver(a: str, b: str) -> int:
    """Semantic Versioning 2.0.0 precedence (build metadata ignored; a leading ``v`` and
    missing minor/patch numbers accepted, as npm and Go write them)."""
    core_a, pre_a = _semver_parts(a)
    core_b, pre_b = _semver_parts(b)
    if core_a != core_b:
        return 1 if core_a > core_b else -1
    if not pre_a or not pre_b:
        return (not pre_a) - (not pre_b)
    for x, y in zip(pre_a, pre_b, strict=False):
        diff = _identifier(x, y)
        if diff:
            return diff
    return _sign(len(pre_a) - len(pre_b))


# --------------------------------------------------------------------------------------------
# PEP 440


@lru_cache(maxsize=65536)
def _pep440(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise BadVersion(f"not a PEP 440 version: {version!r}") from None


def pep440(a: str, b: str) -> int:
    """PEP 440 (PyPI)."""
    x, y = _pep440(a), _pep440(b)
    return (x > y) - (x < y)


# --------------------------------------------------------------------------------------------
# Maven

_MAVEN_QUALIFIERS = {"alpha": 1, "a": 1, "beta": 2, "b": 2, "milestone": 3, "m": 3, "rc": 4,
                     "cr": 4, "snapshot": 5, "": 6, "ga": 6, "final": 6, "release": 6,
                     "sp": 7}  # fmt: skip
_MAVEN_TOKEN = re.compile(r"\d+|[A-Za-z]+")


_MavenItem = tuple[int, int, str]
#: What a missing item compares as: the release itself.
_MAVEN_END: _MavenItem = (1, 6, "")


def _maven_items(version: str) -> list[_MavenItem]:
    """Items to compare: a number ``(3, n, "")`` beats any word; known qualifiers
    ``(1, rank, "")`` sort by rank, other words ``(1, 8, word)`` after them; trailing
    "null" items (0, ``final``, ``ga``...) are dropped as Maven does."""
    items: list[_MavenItem] = []
    for part in version.lower().split("-"):  # each dash-separated part loses its own
        here: list[_MavenItem] = []  # trailing nulls: 1.0-rc1 is 1-rc-1
        for token in _MAVEN_TOKEN.findall(part):
            if token.isdigit():
                here.append((3, int(token), ""))
            elif token in _MAVEN_QUALIFIERS:
                here.append((1, _MAVEN_QUALIFIERS[token], ""))
            else:
                here.append((1, 8, token))
        while here and here[-1] in ((3, 0, ""), _MAVEN_END):
            here.pop()
        items.extend(here)
    return items


def maven(a: str, b: str) -> int:
    """Maven's ComparableVersion in its common cases: numbers, the known qualifiers
    (alpha < beta < milestone < rc < snapshot < release < sp), other words after them."""
    x, y = _maven_items(a), _maven_items(b)
    for k in range(max(len(x), len(y))):
        p = x[k] if k < len(x) else _MAVEN_END
        q = y[k] if k < len(y) else _MAVEN_END
        if p != q:
            return 1 if p > q else -1
    return 0


# --------------------------------------------------------------------------------------------
# RubyGems

_GEM_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)


def _gem_segments(version: str) -> list[int | str]:
    text = version.strip().replace("-", ".pre.")
    if not re.fullmatch(r"[0-9]+(?:\.[0-9a-zA-Z]+)*", text):
        raise BadVersion(f"not a RubyGems version: {version!r}")
    segments: list[int | str] = [int(s) if s.isdigit() else s for s in _GEM_SEGMENT.findall(text)]
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def rubygems(a: str, b: str) -> int:
    """Gem::Version's order (a segment with letters makes a prerelease)."""
    x, y = _gem_segments(a), _gem_segments(b)
    for k in range(max(len(x), len(y))):
        p = x[k] if k < len(x) else 0
        q = y[k] if k < len(y) else 0
        if p == q:
            continue
        if isinstance(p, str) and isinstance(q, int):
            return -1
        if isinstance(p, int) and isinstance(q, str):
            return 1
        return 1 if p > q else -1  # type: ignore[operator]
    return 0


# --------------------------------------------------------------------------------------------
# by ecosystem

_BY_ECOSYSTEM: dict[str, Comparator] = {
    "Debian": dpkg, "Ubuntu": dpkg,
    "Alpine": apk, "Alpaquita": apk, "Wolfi": apk, "Chainguard": apk,
    "Red Hat": rpm, "Rocky Linux": rpm, "AlmaLinux": rpm, "openSUSE": rpm, "SUSE": rpm,
    "Mageia": rpm, "Photon OS": rpm, "Azure Linux": rpm, "openEuler": rpm,
    "PyPI": pep440,
    "npm": semver, "crates.io": semver, "Go": semver, "NuGet": semver, "Hex": semver,
    "Pub": semver, "SwiftURL": semver, "Packagist": semver,
    "Maven": maven,
    "RubyGems": rubygems,
}  # fmt: skip


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``, ``Alpine:v3.19`` -> ``Alpine``."""
    return ecosystem.partition(":")[0]


def order_for(ecosystem: str) -> Comparator | None:
    """The comparator of an OSV ecosystem, or None when keelhaul does not know its order."""
    return _BY_ECOSYSTEM.get(base_ecosystem(ecosystem))


def sort_key(order: Comparator) -> Callable[[str], object]:
    return cmp_to_key(order)
