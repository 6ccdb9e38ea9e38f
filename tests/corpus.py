"""Where the shared corpus lives, for tests that use it (they skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KEELHAUL_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"


def corpus_files(kind: str) -> list[Path]:
    """Every file of a corpus kind (``dockerfiles``, ``dockerignore``, ``compose``, ``k8s``)."""
    folder = CORPUS / kind
    if not folder.is_dir():
        if CORPUS.is_dir():  # a typo in the kind must not pass as "no corpus here"
            kinds = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
            raise ValueError(f"no corpus kind {kind!r}; there are {kinds}")
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def corpus_id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def require_corpus(kind: str) -> list[Path]:
    files = corpus_files(kind)
    if not files:
        pytest.skip(f"no shared corpus at {CORPUS / kind}")
    return files
