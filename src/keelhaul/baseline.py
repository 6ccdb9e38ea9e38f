"""Baselines: adopt keelhaul on a big repository by accepting today's findings.

``keelhaul check --write-baseline FILE`` records every current finding; later runs with
``--baseline FILE`` report only findings that are not in it. A finding is known by its
fingerprint (code, stage and message, not its line nor line numbers in the message, so
edits elsewhere in the file do not make it new) within its file, and counted: a file with three baselined findings of one
fingerprint that now has four reports one.

The file is JSON, meant to be committed and reviewed::

    {
      "version": 1,
      "tool": "keelhaul",
      "files": {
        "services/api/Dockerfile": [
          {"fingerprint": "3f2a...", "count": 2, "code": "KH101", "lines": [1, 9],
           "message": "..."}
        ]
      }
    }

Paths are relative to the baseline file's folder, so the repository can move. Only
``fingerprint`` and ``count`` are read back; ``code``, ``lines`` and ``message`` are for
people reading the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from keelhaul.errors import FileMissing, FileUnwritable, KeelhaulError
from keelhaul.findings import Finding
from keelhaul.reading import read_limited
from keelhaul.writing import write_atomically

VERSION = 1
#: A baseline bigger than this is refused unread.
MAX_BASELINE_BYTES = 256 * 1024 * 1024


_LINE_REFERENCE = re.compile(r"\b(lines?) \d+(?:-\d+)?")


class BaselineError(KeelhaulError):
    """A baseline file that cannot be read, is not a baseline, or cannot be written."""


def _relative(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` with ``/`` separators (``..`` where it must)."""
    if path == "-":
        return path
    return Path(os.path.relpath(os.path.abspath(path), folder)).as_posix()


@dataclass
class Baseline:
    """Known findings per file (paths relative to :attr:`folder`), as fingerprint counts."""

    folder: Path
    known: dict[str, Counter[str]] = field(default_factory=dict)

    def key(self, finding: Finding) -> tuple[str, str]:
        """(path relative to the baseline, fingerprint with that path).

        Line numbers inside the message ("the RUN on line 12") are left out too, so that an
        edit above a finding does not make it new.
        """
        rel = _relative(finding.location.path, self.folder)
        stable = replace(
            finding,
            location=replace(finding.location, path=rel),
            message=_LINE_REFERENCE.sub(r"\1 N", finding.message),
        )
        return rel, stable.fingerprint

    @classmethod
    def of(cls, findings: Iterable[Finding], folder: Path) -> Baseline:
        baseline = cls(folder.absolute())
        for finding in (m for f in findings for m in f.itemised()):  # a group: its members
            rel, fingerprint = baseline.key(finding)
            baseline.known.setdefault(rel, Counter())[fingerprint] += 1
        return baseline

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a baseline; anything but a well-formed one is a :class:`BaselineError`."""
        try:
            data = read_limited(path, MAX_BASELINE_BYTES, pipes=True)
        except FileNotFoundError:
            raise FileMissing(path) from None
        except OSError as exc:
            raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
        if len(data) > MAX_BASELINE_BYTES:
            raise BaselineError(f"{path}: baseline bigger than {MAX_BASELINE_BYTES} bytes")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BaselineError(f"{path}: not a keelhaul baseline: invalid JSON ({exc})") from None
        except RecursionError:
            raise BaselineError(f"{path}: not a keelhaul baseline: nested too deeply") from None
        return cls(path.parent.absolute(), _parse(doc, path))

    def new(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings the baseline does not account for, in their order.

        Of several findings sharing a fingerprint, the first ones (by line) are taken for
        the known ones and the rest are new.
        """
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, finding in enumerate(findings):
            groups[self.key(finding)].append(index)
        fresh: set[int] = set()
        for (rel, fingerprint), indexes in groups.items():
            allowed = self.known.get(rel, Counter())[fingerprint]
            ordered = sorted(indexes, key=lambda i: findings[i].sort_key())
            fresh.update(ordered[allowed:])
        return [f for i, f in enumerate(findings) if i in fresh]

    def gone(self, findings: Sequence[Finding]) -> int:
        """How many baselined findings no longer occur (they can leave the baseline)."""
        now = Counter(self.key(f) for f in findings)
        return sum(
            max(0, count - now[(rel, fingerprint)])
            for rel, counts in self.known.items()
            for fingerprint, count in counts.items()
        )


def _parse(doc: object, path: Path) -> dict[str, Counter[str]]:
    def bad(why: str) -> BaselineError:
        return BaselineError(f"{path}: not a keelhaul baseline: {why}")

    if not isinstance(doc, dict) or "files" not in doc:
        raise bad("expected an object with 'version' and 'files'")
    if doc.get("version") != VERSION:
        raise bad(f"version {doc.get('version')!r}, this keelhaul reads version {VERSION}")
    files = doc["files"]
    if not isinstance(files, dict):
        raise bad("'files' is not an object")
    known: dict[str, Counter[str]] = {}
    for rel, entries in files.items():
        if not isinstance(entries, list):
            raise bad(f"entry of {rel!r} is not a list")
        counts: Counter[str] = Counter()
        for entry in entries:
            fingerprint = entry.get("fingerprint") if isinstance(entry, dict) else None
            count = entry.get("count", 1) if isinstance(entry, dict) else None
            if not isinstance(fingerprint, str) or not isinstance(count, int) or count < 1:
                raise bad(f"an entry of {rel!r} lacks a fingerprint or a positive count")
            counts[fingerprint] += count
        known[rel] = counts
    return known


def render(findings: Iterable[Finding], folder: Path) -> str:
    """The baseline document for ``findings`` (sorted, so that diffs stay small)."""
    baseline = Baseline(folder.absolute())
    groups: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    items = [m for f in findings for m in f.itemised()]  # a grouped finding: its members
    for finding in sorted(items, key=Finding.sort_key):
        rel, fingerprint = baseline.key(finding)
        groups[rel][fingerprint].append(finding)
    files: dict[str, list[dict[str, object]]] = {}
    for rel in sorted(groups):
        entries = []
        for fingerprint, same in groups[rel].items():
            entries.append(
                {
                    "fingerprint": fingerprint,
                    "count": len(same),
                    "code": same[0].code,
                    "lines": [f.location.line for f in same],
                    "message": same[0].message,
                }
            )
        files[rel] = entries
    doc = {"version": VERSION, "tool": "keelhaul", "files": files}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write(path: Path, findings: Iterable[Finding]) -> None:
    """Write the baseline of ``findings`` to ``path``, atomically."""
    text = render(findings, path.parent)
    try:
        write_atomically(path, text.encode("utf-8", "surrogateescape"))
    except FileUnwritable as exc:
        raise BaselineError(str(exc)) from None
