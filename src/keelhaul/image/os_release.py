"""``/etc/os-release``: which distribution and release a filesystem is (freedesktop.org's
os-release format), read the one way by the image report and the SBOM."""

from __future__ import annotations

import re
import shlex

#: Where the release is read from, root-relative, in order (the first existing wins).
OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")
#: Bytes of it worth reading.
MAX_OS_RELEASE_BYTES = 64 * 1024

_KEY = re.compile(r"[A-Z0-9_]+")


def parse_os_release(data: bytes) -> dict[str, str]:
    """``KEY=value`` lines, shell-quoted values unquoted; malformed lines skipped."""
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if not _KEY.fullmatch(key):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        out[key] = " ".join(words)
    return out
