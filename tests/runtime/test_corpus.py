"""Every Kubernetes manifest of the shared corpus reads without a crash and is checked; the
counts (workloads, findings by code) are printed at the end of the test run."""

from __future__ import annotations

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.kubernetes import read_kubernetes
from tests.conftest import corpus_stats
from tests.corpus import corpus_files, corpus_id

FILES = corpus_files("k8s")


@pytest.mark.skipif(not FILES, reason="no shared corpus")
@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_reads_and_checks_without_crash(path: object) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    text = path.read_text(encoding="utf-8", errors="replace")
    stats = corpus_stats("k8s runtime")
    stats["files"] += 1
    try:
        runs = read_kubernetes(text, str(path))
    except KeelhaulError:
        stats["refused"] += 1
        return
    stats["containers"] += len(runs)
    stats["workloads"] += len({r.workload for r in runs})
    lines = text.count("\n") + 1
    for finding in check_runs(runs, pss="restricted"):
        assert 1 <= finding.location.line <= lines, finding
        stats[finding.code] += 1


@pytest.mark.skipif(not FILES, reason="no shared corpus")
def test_the_corpus_has_workloads_of_every_kind() -> None:
    kinds: set[str] = set()
    refused: list[str] = []
    for path in FILES:
        try:
            runs = read_kubernetes(path.read_text(encoding="utf-8", errors="replace"), str(path))
        except KeelhaulError as exc:  # a duplicate key: refused, with its place
            refused.append(str(exc))
            continue
        for run in runs:
            kinds.add(run.workload.split("/", 1)[0])
            assert run.init or run.ephemeral or run.name
    assert {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    } <= kinds
    assert all("duplicate key" in r for r in refused), refused
