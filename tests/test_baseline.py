"""Baselines: round trip, counts, moved repositories, bad files, atomic writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from keelhaul.baseline import Baseline, BaselineError, render, write
from keelhaul.errors import FileMissing, FileUnwritable
from keelhaul.findings import Finding
from keelhaul.writing import write_atomically
from tests.selection_sample import finding


def at(root: Path, code: str, line: int, name: str = "svc/Dockerfile", msg: str = "m") -> Finding:
    return finding(code, line, str(root / name), msg)


def test_round_trip_and_counts(tmp_path: Path) -> None:
    old = [at(tmp_path, "KH101", 1), *(at(tmp_path, "KH172", n) for n in (3, 4, 5))]
    write(tmp_path / "baseline.json", old)
    base = Baseline.load(tmp_path / "baseline.json")
    assert base.new(old) == []
    # lines moved: still known; a fourth KH172 with the same message: one new, the last
    now = [at(tmp_path, "KH101", 2), *(at(tmp_path, "KH172", n) for n in (4, 5, 6, 9))]
    assert base.new(now) == [at(tmp_path, "KH172", 9)]
    # a different message, file or code is new
    other = [at(tmp_path, "KH101", 2, msg="x"), at(tmp_path, "KH101", 2, "b/Dockerfile")]
    assert base.new(other) == other
    assert base.gone([]) == 4
    assert base.gone(now) == 0


def test_document_is_readable_and_relative(tmp_path: Path) -> None:
    findings = [at(tmp_path, "KH172", 4, msg="curl"), at(tmp_path, "KH172", 3, msg="curl")]
    doc = json.loads(render(findings, tmp_path))
    assert doc["version"] == 1
    assert list(doc["files"]) == ["svc/Dockerfile"]
    (entry,) = doc["files"]["svc/Dockerfile"]
    assert entry["count"] == 2
    assert entry["code"] == "KH172"
    assert entry["lines"] == [3, 4]
    assert entry["message"] == "curl"
    # paths outside the baseline's folder go up with ..
    deeper = json.loads(render(findings, tmp_path / "ci"))
    assert list(deeper["files"]) == ["../svc/Dockerfile"]


def test_repository_can_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    monkeypatch.chdir(tmp_path)
    findings = [finding("KH101", 1, "one/svc/Dockerfile")]
    first.mkdir()
    write(first / "baseline.json", findings)
    first.rename(second)
    base = Baseline.load(second / "baseline.json")
    assert base.new([finding("KH101", 1, "two/svc/Dockerfile")]) == []
    monkeypatch.chdir(second / "..")
    assert base.new([finding("KH101", 1, str(second / "svc/Dockerfile"))]) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[]", "expected an object"),
        ('{"version": 2, "files": {}}', "version 2, this keelhaul reads version 1"),
        ('{"version": 1, "files": []}', "'files' is not an object"),
        ('{"version": 1, "files": {"a": {}}}', "entry of 'a' is not a list"),
        ('{"version": 1, "files": {"a": [{"count": 1}]}}', "lacks a fingerprint"),
        ('{"version": 1, "files": {"a": [{"fingerprint": "x", "count": 0}]}}', "positive count"),
    ],
)
def test_corrupt_baseline_is_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(BaselineError) as info:
        Baseline.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(FileMissing):
        Baseline.load(tmp_path / "nope.json")


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("old")
    path.chmod(0o640)
    write_atomically(path, b"new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(FileUnwritable, match="cannot write: No space left on device"):
        write_atomically(path, b"new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_interrupted_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, b"new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_write_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomically(link, b"new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_write_into_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileUnwritable, match="cannot write"):
        write_atomically(tmp_path / "no" / "such" / "baseline.json", b"x")


def test_new_file_gets_umask_mode(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        write_atomically(tmp_path / "b.json", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o644


def test_line_numbers_in_messages_do_not_make_findings_new(tmp_path: Path) -> None:
    old = [at(tmp_path, "KH164", 9, msg="clean up in the RUN on line 7")]
    base = Baseline.of(old, tmp_path)
    assert base.new([at(tmp_path, "KH164", 12, msg="clean up in the RUN on line 10")]) == []
    other = [at(tmp_path, "KH164", 12, msg="clean up in the COPY on line 10")]
    assert base.new(other) == other
