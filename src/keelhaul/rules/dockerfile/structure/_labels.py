"""Label value formats for the label-schema rule (hadolint's label-schema types)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_SEMVER = re.compile(
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
_HASH = re.compile(r"[0-9a-fA-F]{7,64}")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#]+[^\s]*")
_ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_EMAIL = re.compile(rf"{_ADDRESS}|[^<>@]*<{_ADDRESS}>")

#: Common SPDX licence identifiers (a subset of the SPDX list; LicenseRef-* is always valid).
_SPDX_NAMES = """
    0BSD AFL-3.0 AGPL-1.0 AGPL-3.0 AGPL-3.0-only AGPL-3.0-or-later Apache-1.0 Apache-1.1
    Apache-2.0 APSL-2.0 Artistic-1.0 Artistic-2.0 BlueOak-1.0.0 BSD-1-Clause BSD-2-Clause
    BSD-2-Clause-Patent BSD-3-Clause BSD-3-Clause-Clear BSD-4-Clause BSL-1.0 BUSL-1.1
    CC-BY-3.0 CC-BY-4.0 CC-BY-NC-4.0 CC-BY-NC-SA-4.0 CC-BY-ND-4.0 CC-BY-SA-3.0 CC-BY-SA-4.0
    CC0-1.0 CDDL-1.0 CDDL-1.1 CECILL-2.1 CPL-1.0 ECL-2.0 EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2
    GFDL-1.3 GFDL-1.3-only GFDL-1.3-or-later GPL-1.0 GPL-2.0 GPL-2.0-only GPL-2.0-or-later
    GPL-3.0 GPL-3.0-only GPL-3.0-or-later ISC LGPL-2.0 LGPL-2.0-only LGPL-2.0-or-later
    LGPL-2.1 LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0 LGPL-3.0-only LGPL-3.0-or-later LPL-1.02
    MIT MIT-0 MPL-1.0 MPL-1.1 MPL-2.0 MPL-2.0-no-copyleft-exception MS-PL MS-RL MulanPSL-2.0
    NCSA ODbL-1.0 OFL-1.1 OpenSSL OSL-3.0 PHP-3.0 PHP-3.01 PostgreSQL Python-2.0 Ruby SSPL-1.0
    Unicode-DFS-2016 Unlicense UPL-1.0 Vim W3C WTFPL X11 Zlib ZPL-2.1 Elastic-2.0
    Classpath-exception-2.0 LLVM-exception GCC-exception-3.1 Autoconf-exception-3.0
"""
SPDX_IDS = frozenset(_SPDX_NAMES.split())
_SPDX_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+-]+")


def _spdx(value: str) -> bool:
    """A licence expression of known ids: ``MIT``, ``Apache-2.0 OR MIT``, ``(A AND B)``."""
    tokens = _SPDX_TOKEN.findall(value)
    if "".join(tokens) != re.sub(r"\s+", "", value) or not tokens:
        return False
    expect_id = True
    depth = 0
    for token in tokens:
        if expect_id:
            if token == "(":
                depth += 1
                continue
            name = token.removesuffix("+")
            if name not in SPDX_IDS and not name.startswith(("LicenseRef-", "DocumentRef-")):
                return False
            expect_id = False
        elif token == ")":
            depth -= 1
            if depth < 0:
                return False
        elif token in ("AND", "OR", "WITH"):
            expect_id = True
        else:
            return False
    return depth == 0 and not expect_id


def _rfc3339(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T").replace(" ", "T"))
    except ValueError:
        return False
    return True


#: type -> (validator, what a valid value is, hadolint id)
FORMATS: dict[str, tuple[Callable[[str], bool], str, str]] = {
    "url": (lambda v: _URL.fullmatch(v) is not None, "a URL", "DL3052"),
    "rfc3339": (_rfc3339, "an RFC 3339 time (2024-06-01T12:00:00Z)", "DL3053"),
    "spdx": (_spdx, "an SPDX licence expression (Apache-2.0, MIT OR BSD-3-Clause)", "DL3054"),
    "hash": (lambda v: _HASH.fullmatch(v) is not None, "a git commit hash", "DL3055"),
    "semver": (lambda v: _SEMVER.fullmatch(v) is not None, "a semantic version (1.4.2)", "DL3056"),
    "email": (lambda v: _EMAIL.fullmatch(v) is not None, "an email address", "DL3058"),
}

#: Formats of the OCI annotation labels, checked even without a configured schema.
OCI_LABELS = {
    "org.opencontainers.image.created": "rfc3339",
    "org.opencontainers.image.url": "url",
    "org.opencontainers.image.source": "url",
    "org.opencontainers.image.documentation": "url",
    "org.opencontainers.image.licenses": "spdx",
}
