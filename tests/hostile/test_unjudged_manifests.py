"""Issue 23 item 19 (the rest): a manifest that cannot be judged is never passed over in
silence. Found by walking a folder, one over the walk's 4 MiB or not UTF-8 gets a located
notice (the run goes on, as ruff goes on past a file it cannot read); named, it is not
checked and the run exits 2 (unless ``--quiet-unknown``). Files that do not read like
runtime files (a large README) stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.runtime.discover import MAX_WALK_BYTES
from tests.keelhaul_cli import run

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: a\n      image: nginx:1.25\n"


def _latin1(folder: Path) -> Path:
    path = folder / "pod.yaml"
    path.write_bytes(POD.replace("name: x", "name: x # caf\xe9").encode("latin-1"))
    return path


def _huge(folder: Path) -> Path:
    path = folder / "big.yaml"
    filler = "# " + "y" * 97 + "\n"
    path.write_text(POD + filler * (MAX_WALK_BYTES // len(filler) + 1))
    return path


@pytest.mark.parametrize("command", ["check", "fix"])
def test_walked_manifests_not_read_get_a_located_notice(tmp_path: Path, command: str) -> None:
    (tmp_path / "k").mkdir()
    _latin1(tmp_path / "k")
    _huge(tmp_path / "k")
    (tmp_path / "k" / "README.md").write_text("# notes\n" + "text\n" * 1_000_000)
    done = run(command, "k", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notices = sorted(line for line in done.stderr.splitlines() if "notice" in line)
    assert len(notices) == 2, done.stderr  # the README does not read like a runtime file
    assert "k/big.yaml: larger than 4 MiB" in notices[0]
    assert "k/pod.yaml: not UTF-8 (byte 0xe9 at line 4, column 16)" in notices[1]


def test_a_named_manifest_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    _latin1(tmp_path)
    done = run("check", "pod.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "pod.yaml: not UTF-8 (byte 0xe9 at line 4, column 16); not checked" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert run("check", "--quiet-unknown", "pod.yaml", cwd=tmp_path).returncode == 0


def test_a_named_large_manifest_is_checked(tmp_path: Path) -> None:
    """Over the walk's limit but under the named one (a rendered chart): checked."""
    _huge(tmp_path)
    done = run("check", "big.yaml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert '"KH4' in done.stdout
