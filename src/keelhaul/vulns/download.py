"""Downloading one export of advisories cheaply: only when it changed, resuming where an
interrupted download stopped, never beyond a size limit.

- **Only when it changed**: the ``ETag`` (else ``Last-Modified``) the server sent for the copy
  the database holds goes back as ``If-None-Match`` (``If-Modified-Since``); ``304 Not
  Modified`` means nothing to download.
- **Resumes**: the bytes of an interrupted download stay in a ``.part`` file beside a small
  ``.part.json`` naming the URL and the validator the server gave; the next run asks for the
  rest (``Range: bytes=N-`` with ``If-Range``). A server that answers ``200`` instead (the
  export changed meanwhile, or it does not do ranges) sends it whole again.
- **Bounded**: a ``Content-Length`` beyond the limit is refused before a byte is read, and so
  is a body that grows beyond it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelhaul import limits
from keelhaul.errors import KeelhaulError

#: Bytes one export may take, compressed (OSV's largest, Debian's, is some hundreds of MB).
MAX_DOWNLOAD_BYTES = limits.OSV_DOWNLOAD_BYTES

#: (bytes so far, total when the server said) while a download runs.
Progress = Callable[[int, int | None], None]


class DownloadError(KeelhaulError):
    """An export cannot be downloaded."""


@dataclass(frozen=True)
class Validators:
    """What tells one copy of an export from another: the server's ETag and Last-Modified."""

    url: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def usable(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class Fetched:
    """A download's outcome: ``changed`` False when the server said the copy held is current
    (``path`` is then None)."""

    changed: bool
    validators: Validators
    path: Path | None = None
    resumed_from: int = 0


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _partial(target: Path, url: str) -> tuple[int, Validators | None]:
    """Bytes already downloaded of ``url`` into ``target``, and their validators."""
    try:
        saved = json.loads(_sidecar(target).read_text())
        size = target.stat().st_size
    except (OSError, ValueError):
        return 0, None
    if not isinstance(saved, dict) or saved.get("url") != url:
        return 0, None
    found = Validators(url, saved.get("etag"), saved.get("last_modified"))
    return (size, found) if found.usable and size > 0 else (0, None)


def forget(target: Path) -> None:
    """Remove a download's file and its note."""
    target.unlink(missing_ok=True)
    _sidecar(target).unlink(missing_ok=True)


def fetch(client: Any, url: str, target: Path, *, held: Validators | None = None,
          limit: int = MAX_DOWNLOAD_BYTES, progress: Progress | None = None) -> Fetched:  # fmt: skip
    """Download ``url`` into ``target`` (an :class:`httpx.Client` as ``client``) unless ``held``
    (the validators of the copy already stored) says it is current."""
    import httpx

    headers = {"Accept-Encoding": "identity"}
    if held is not None and held.url == url:
        if held.etag:
            headers["If-None-Match"] = held.etag
        elif held.last_modified:
            headers["If-Modified-Since"] = held.last_modified
    offset, partial = _partial(target, url)
    if partial is not None:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = partial.etag or partial.last_modified or ""
    started = time.monotonic()
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                forget(target)
                return Fetched(False, held or Validators(url))
            if status == 206 and partial is not None:
                where = response.headers.get("content-range", "")
                if not where.startswith(f"bytes {offset}-"):
                    forget(target)
                    raise DownloadError(f"{url}: the server resumed at the wrong place "
                                        f"({where or 'no Content-Range'}); run again")  # fmt: skip
                found, mode = partial, "ab"
            elif status == 200:
                offset, mode = 0, "wb"
                found = Validators(url, response.headers.get("etag"),
                                   response.headers.get("last-modified"))  # fmt: skip
            else:
                raise DownloadError(f"{url}: HTTP {status}")
            length = response.headers.get("content-length")
            total = offset + int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                forget(target)
                raise DownloadError(f"{url}: {total} bytes, more than the limit of {limit} "
                                    "(--max-size)")  # fmt: skip
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "wb":
                _sidecar(target).write_text(json.dumps({"url": url, "etag": found.etag,
                                                        "last_modified": found.last_modified}))  # fmt: skip
            done = offset
            with target.open(mode) as out:
                for chunk in response.iter_raw():
                    done += len(chunk)
                    if done > limit:
                        out.close()
                        forget(target)
                        raise DownloadError(f"{url}: more than the limit of {limit} bytes "
                                            "(--max-size)")  # fmt: skip
                    out.write(chunk)
                    if progress is not None:
                        progress(done, total)
            if total is not None and done != total:
                raise DownloadError(f"{url}: {done} of {total} bytes arrived (kept; run again "
                                    "to resume)")  # fmt: skip
    except httpx.HTTPError as exc:
        kept = " (kept what arrived; run again to resume)" if target.exists() else ""
        raise DownloadError(f"{url}: {exc or type(exc).__name__} after "
                            f"{time.monotonic() - started:.1f} s{kept}") from None  # fmt: skip
    return Fetched(True, found, target, offset)
