"""Every Kubernetes manifest of the shared corpus reads without a crash and is checked; the
counts (workloads, findings by code) are printed at the end of the test run."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.kubernetes import read_kubernetes
from keelhaul.runtime.model import ContainerRun
from tests.conftest import corpus_stats
from tests.corpus import check_every_file, corpus_bytes, corpus_id, require_corpus

pytestmark = pytest.mark.corpus


def _text(path: Path) -> str:
    return corpus_bytes(path).decode("utf-8", errors="replace")


@functools.cache
def _runs(path: Path) -> list[ContainerRun] | None:
    """The manifest's container runs, or None where keelhaul refuses the file."""
    try:
        return read_kubernetes(_text(path), str(path))
    except KeelhaulError:
        return None


def test_reads_and_checks_without_crash() -> None:
    stats = corpus_stats("k8s runtime")

    def one(path: Path) -> None:
        stats["files"] += 1
        runs = _runs(path)
        if runs is None:
            stats["refused"] += 1
            return
        stats["containers"] += len(runs)
        stats["workloads"] += len({r.workload for r in runs})
        lines = _text(path).count("\n") + 1
        for finding in check_runs(runs, pss="restricted"):
            assert 1 <= finding.location.line <= lines, finding
            stats[finding.code] += 1

    check_every_file(require_corpus("k8s"), one, corpus_id)


def test_the_corpus_has_workloads_of_every_kind() -> None:
    kinds: set[str] = set()
    refused: list[str] = []
    for path in require_corpus("k8s"):
        runs = _runs(path)
        if runs is None:  # a duplicate key: refused, with its place (checked below)
            refused.append(str(path))
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
    for path in refused:
        with pytest.raises(KeelhaulError, match="duplicate key"):
            read_kubernetes(_text(Path(path)), path)
