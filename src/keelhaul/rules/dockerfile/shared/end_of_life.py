"""End-of-life dates of the releases a base image tag names (``node:16``, ``python:3.7``,
``debian:buster``, ``alpine:3.12``, ``golang:1.20-bullseye``), for KH119. The table is the
offline default: nothing is fetched; a release missing from it is never reported.

Sources, from endoflife.date's data (its repository's ``products/*.md``; dates are the end of
security support, ``eol``), read when the table was written:

- Node.js: https://github.com/endoflife-date/endoflife.date/blob/012fdfa90d2dbc4f63965829845fb19ea4b23c28/products/nodejs.md
  (22 and 24 from https://nodejs.org/en/about/previous-releases: 2027-04-30, 2028-04-30;
  odd majors 23, 25 end after six months);
- Python: https://github.com/endoflife-date/endoflife.date/blob/000f8ec56192c83b0d364882fee34b27229361ab/products/python.md
  (3.12 to 3.14 from https://devguide.python.org/versions/: five years after release);
- Alpine: https://github.com/endoflife-date/endoflife.date/blob/0118c3037fa9f22d86a72e0f4d8f492e45b77234/products/alpine-linux.md
- Debian: https://endoflife.date/debian, the end of LTS (the last security updates a Docker
  image gets), the same dates :mod:`keelhaul.image.base` reports for built images.
- distroless (``gcr.io/distroless/base-debian11``): the Debian release its name carries, with
  Debian's dates above. Distroless's SUPPORT_POLICY.md says it tracks Debian's *standard*
  support and stops building a release a year after the next one (the debian11 builds were
  removed in GoogleContainerTools/distroless#1656, 2024-09-03), so by the end of Debian's LTS
  the images have long stopped changing: the date is a late bound.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

NODE: dict[str, str] = {
    "0.8": "2014-07-31", "0.10": "2016-10-31", "0.11": "2014-07-31", "0.12": "2016-12-31",
    "4": "2018-04-30", "5": "2016-06-30", "6": "2019-04-30", "7": "2017-06-30",
    "8": "2019-12-31", "9": "2018-06-30", "10": "2021-04-30", "11": "2019-06-30",
    "12": "2022-04-30", "13": "2020-06-01", "14": "2023-04-30", "15": "2021-06-01",
    "16": "2023-09-11", "17": "2022-06-01", "18": "2025-04-30", "19": "2023-06-01",
    "20": "2026-04-30", "21": "2024-06-01", "22": "2027-04-30", "23": "2025-06-01",
    "24": "2028-04-30", "25": "2026-06-01",
}  # fmt: skip
PYTHON: dict[str, str] = {
    "2.6": "2013-10-29", "2.7": "2020-01-01", "3.3": "2017-09-29", "3.4": "2019-03-18",
    "3.5": "2020-09-13", "3.6": "2021-12-23", "3.7": "2023-06-27", "3.8": "2024-10-14",
    "3.9": "2025-10-05", "3.10": "2026-10-04", "3.11": "2027-10-24", "3.12": "2028-10-31",
    "3.13": "2029-10-31", "3.14": "2030-10-31",
}  # fmt: skip
ALPINE: dict[str, str] = {
    "3.0": "2016-05-01", "3.1": "2016-11-01", "3.2": "2017-05-01", "3.3": "2017-11-01",
    "3.4": "2018-05-01", "3.5": "2018-11-01", "3.6": "2019-05-01", "3.7": "2019-11-01",
    "3.8": "2020-05-01", "3.9": "2020-11-01", "3.10": "2021-05-01", "3.11": "2021-11-01",
    "3.12": "2022-05-01", "3.13": "2022-11-01", "3.14": "2023-05-01", "3.15": "2023-11-01",
    "3.16": "2024-05-23", "3.17": "2024-11-22", "3.18": "2025-05-09", "3.19": "2025-11-01",
    "3.20": "2026-04-01", "3.21": "2026-11-01", "3.22": "2027-05-01", "3.23": "2027-11-01",
}  # fmt: skip
#: Debian codename -> (release number, end of LTS).
DEBIAN: dict[str, tuple[str, str]] = {
    "wheezy": ("7", "2018-05-31"), "jessie": ("8", "2020-06-30"),
    "stretch": ("9", "2022-06-30"), "buster": ("10", "2024-06-30"),
    "bullseye": ("11", "2026-08-31"), "bookworm": ("12", "2028-06-30"),
    "trixie": ("13", "2030-06-30"),
}  # fmt: skip
#: Replaces today's date when set (tests).
TODAY: dt.date | None = None


def today() -> dt.date:
    return TODAY or dt.date.today()


_DEBIAN_NUMBERS = {number: name for name, (number, _) in DEBIAN.items()}


@dataclass(frozen=True, slots=True)
class Release:
    product: str
    """As a person names it: ``Node.js 16``, ``Debian 10 (buster)``, ``Alpine 3.12``."""
    end: str
    """The day security support ended (ISO date)."""
    newer: str
    """A supported release to move to: ``Node.js 24``."""


def _supported(table: dict[str, str], today: dt.date) -> str:
    live = [v for v, end in table.items() if dt.date.fromisoformat(end) >= today]
    return max(live, key=lambda v: tuple(int(p) for p in v.split(".")), default="")


def releases(path: str, tag: str, official: bool, today: dt.date) -> list[Release]:
    """The past-end-of-life releases an image's tag names (the language, then the OS)."""
    tag = tag.lower()
    found: list[Release] = []
    head = tag.split("-", 1)[0]
    if path == "node":
        m = re.match(r"(0\.\d+|\d+)", head)
        if m and m.group(1) in NODE:
            found.append(Release(f"Node.js {m.group(1)}", NODE[m.group(1)],
                                 f"Node.js {_even_supported(today)}"))  # fmt: skip
    elif path == "python":
        m = re.match(r"(\d+\.\d+)", head)
        version = m.group(1) if m else ("2.7" if head == "2" else "")
        if version in PYTHON:
            found.append(Release(f"Python {version}", PYTHON[version],
                                 f"Python {_supported(PYTHON, today)}"))  # fmt: skip
    elif path == "alpine":
        m = re.match(r"(\d+\.\d+)", head)
        if m and m.group(1) in ALPINE:
            found.append(Release(f"Alpine {m.group(1)}", ALPINE[m.group(1)],
                                 f"Alpine {_supported(ALPINE, today)}"))  # fmt: skip
    elif path == "debian":
        m = re.match(r"(\d+)", head)
        name = _DEBIAN_NUMBERS.get(m.group(1), "") if m else head
        if name in DEBIAN:
            found.append(_debian(name, today))
    if official and path != "debian":
        words = re.split(r"[-_.]", tag)
        codename = next((w for w in words if w in DEBIAN), None)
        if codename is not None:
            found.append(_debian(codename, today))
        if path != "alpine":
            m = re.search(r"alpine(\d+\.\d+)", tag)
            if m and m.group(1) in ALPINE:
                found.append(Release(f"Alpine {m.group(1)}", ALPINE[m.group(1)],
                                     f"Alpine {_supported(ALPINE, today)}"))  # fmt: skip
    return [r for r in found if dt.date.fromisoformat(r.end) < today]


_DISTROLESS = re.compile(r"(distroless/.+)-debian(\d+)")


def distroless_releases(path: str, today: dt.date) -> list[Release]:
    """The past-end-of-life Debian release a distroless image's name carries
    (``distroless/base-debian11``): distroless publishes no version tags, its names do."""
    m = _DISTROLESS.fullmatch(path)
    name = _DEBIAN_NUMBERS.get(m.group(2), "") if m else ""
    if m is None or name not in DEBIAN:
        return []
    found = _debian(name, today)
    if dt.date.fromisoformat(found.end) >= today:
        return []
    live = [n for n, (_, e) in DEBIAN.items() if dt.date.fromisoformat(e) >= today]
    newer = f"gcr.io/{m.group(1)}-debian{DEBIAN[live[-1]][0]}" if live else ""
    return [Release(found.product, found.end, newer)]


def _debian(name: str, today: dt.date) -> Release:
    number, end = DEBIAN[name]
    live = [n for n, (_, e) in DEBIAN.items() if dt.date.fromisoformat(e) >= today]
    newer = f"Debian {DEBIAN[live[-1]][0]} ({live[-1]})" if live else ""
    return Release(f"Debian {number} ({name})", end, newer)


def _even_supported(today: dt.date) -> str:
    """The newest long-term (even) Node.js major still supported."""
    even = {v: e for v, e in NODE.items() if "." not in v and int(v) % 2 == 0}
    return _supported(even, today)
