"""The .dockerignore matcher proved against a real Docker Engine, and against its recording.

The unit tests run the case table (tests/context/engine_cases.py, with every corpus
.dockerignore over one shared tree) against the engine's recorded answers; the docker tests
build each case with BuildKit and check the engine still answers what was recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.context.engine_cases import (
    CASES,
    VERSION_NOTES,
    Case,
    all_cases,
    corpus_files,
    engine_listing,
    keelhaul_listing,
    load_recording,
    materialise,
)

RECORDED = load_recording()
CASE_LIST = all_cases()


def _keelhaul(case: Case, tmp_path: Path) -> list[str]:
    materialise(case, tmp_path)
    return keelhaul_listing(case, tmp_path)


def _expected(case: Case) -> list[str]:
    return list(case.current) if case.current is not None else RECORDED[case.name]


@pytest.mark.parametrize("case", CASE_LIST, ids=lambda c: c.name)
def test_keelhaul_sends_what_the_engine_sent(case: Case, tmp_path: Path) -> None:
    assert case.name in RECORDED, "new case: record it (python -m tests.context.engine_cases)"
    assert _keelhaul(case, tmp_path) == _expected(case)


def test_every_version_difference_is_explained_and_real() -> None:
    differing = {c.name for c in CASES if c.current is not None}
    assert differing == set(VERSION_NOTES)
    for case in CASES:
        if case.current is not None:
            assert list(case.current) != RECORDED[case.name]


def test_the_corpus_is_in_the_table() -> None:
    files = corpus_files()
    if not files:
        pytest.skip("no ../shared/corpus here")
    corpus = [c for c in CASE_LIST if c.name.startswith("corpus:")]
    assert len(corpus) == len(files) >= 10
    # the shared tree holds something each ignore file leaves out (or it proves nothing)
    for case in corpus:
        assert len(RECORDED[case.name]) < len(RECORDED["corpus-tree"]), case.name


def test_the_recording_says_which_builder() -> None:
    import json

    from tests.context.engine_cases import RECORDING

    data = json.loads(RECORDING.read_text(encoding="utf-8"))
    assert data["builder"].startswith("buildkit")


@pytest.mark.docker
@pytest.mark.parametrize("case", CASE_LIST, ids=lambda c: c.name)
def test_the_engine_still_answers_the_recording(
    case: Case, tmp_path: Path, docker_engine: str, buildkit_docker: str
) -> None:
    engine = engine_listing(case, tmp_path / "engine", docker_engine, buildkit_docker)
    assert engine == RECORDED[case.name]
    if case.current is None:
        assert _keelhaul(case, tmp_path / "keelhaul") == engine
