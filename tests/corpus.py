"""The shared corpus, read once per test session, for the tests that use it.

The corpus (``../shared/corpus``, or ``$KEELHAUL_SHARED/corpus``) holds about 2,100 real files.
Nothing here touches it at import time: the listings, the bytes and the parsed Dockerfiles are
read on first use and kept for the rest of the session (parsed trees are frozen dataclasses,
so tests can share them). Tests that use the corpus are marked ``corpus`` and skip when it is
absent (``require_corpus``); a check over every file of a kind runs as one test with
:func:`check_every_file`, which reports every failing file in one message.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from keelhaul.dockerfile.syntax import Dockerfile

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KEELHAUL_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"

T = TypeVar("T")


@functools.cache
def _listing(kind: str) -> tuple[Path, ...]:
    folder = CORPUS / kind
    if not folder.is_dir():
        if CORPUS.is_dir():  # a typo in the kind must not pass as "no corpus here"
            kinds = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
            raise ValueError(f"no corpus kind {kind!r}; there are {kinds}")
        return ()
    return tuple(sorted(p for p in folder.rglob("*") if p.is_file()))


def corpus_files(kind: str) -> list[Path]:
    """Every file of a corpus kind (``dockerfiles``, ``dockerignore``, ``compose``, ``k8s``)."""
    return list(_listing(kind))


def corpus_id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def require_corpus(kind: str) -> list[Path]:
    files = corpus_files(kind)
    if not files:
        pytest.skip(f"no shared corpus at {CORPUS / kind}")
    return files


@functools.cache
def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def corpus_bytes(path: Path) -> bytes:
    """The bytes of one corpus file, read once per session."""
    return _bytes(path)


@dataclass(frozen=True)
class ParsedDockerfile:
    path: Path
    data: bytes
    tree: Dockerfile


@functools.cache
def _parsed(kind: str) -> tuple[ParsedDockerfile, ...]:
    from keelhaul.dockerfile.syntax import parse

    return tuple(
        ParsedDockerfile(p, corpus_bytes(p), parse(corpus_bytes(p), str(p))) for p in _listing(kind)
    )


def parsed_dockerfiles() -> list[ParsedDockerfile]:
    """Every corpus Dockerfile with its bytes and its tree (``parse(data, str(path))``),
    parsed once per session; skips when there is no corpus."""
    require_corpus("dockerfiles")
    return list(_parsed("dockerfiles"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        text = str(exc) or "assertion failed"
        frames = traceback.extract_tb(exc.__traceback__)
        where = [f for f in frames if "_pytest" not in Path(f.filename).parts][-1]
        return f"{text}\n    (at {Path(where.filename).name}:{where.lineno})"
    return "".join(traceback.format_exception(exc, limit=-4)).rstrip()


def check_every_file(
    items: Iterable[T], check: Callable[[T], object], name: Callable[[T], str] = str
) -> int:
    """Run ``check`` on every item (a corpus file, usually) and fail once at the end, naming
    every item that failed with its own message; returns how many items were checked.

    This is what one parametrised test per corpus file used to give, without thousands of
    test items: no file hides another's failure.
    """
    failures: list[str] = []
    count = 0
    for item in items:
        count += 1
        try:
            check(item)
        except (Exception, pytest.fail.Exception) as exc:  # an assertion, a crash, a fail()
            message = _describe(exc).replace("\n", "\n  ")
            failures.append(f"- {name(item)}:\n  {message}")
    if failures:
        pytest.fail(f"{len(failures)} of {count} failed:\n" + "\n".join(failures), pytrace=False)
    return count
