"""``keelhaul db``: import, status and errors, through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ}
    if env_db is not None:
        env["KEELHAUL_DB"] = str(env_db)
    return subprocess.run([sys.executable, "-m", "keelhaul", *args], capture_output=True,
                          text=True, check=False, env=env)  # fmt: skip


def test_import_then_status(tmp_path: Path) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    missing = run("db", "status", env_db=db)
    assert missing.returncode == 1
    assert "no database" in missing.stdout
    done = run("db", "import", str(OSV / "Alpine"), str(OSV / "Debian"), env_db=db)
    assert done.returncode == 0, done.stderr
    assert "imported 14 advisories" in done.stdout
    state = run("db", "status", "--json", "--db", str(db))
    assert state.returncode == 0
    shown = json.loads(state.stdout)
    assert shown["advisories"] == 14
    assert {e["ecosystem"] for e in shown["ecosystems"]} >= {"Alpine", "Debian"}
    assert db.stat().st_mode & 0o044  # readable by others, as the umask allows


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    done = run("db", "import", str(bad), env_db=tmp_path / "osv.sqlite3")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "bad.json: not an OSV record" in done.stderr
    assert not (tmp_path / "osv.sqlite3").exists()
    unreachable = run("db", "update", "-e", "PyPI", "--mirror", "http://127.0.0.1:9",
                      env_db=tmp_path / "osv.sqlite3")  # fmt: skip
    assert unreachable.returncode == 2
    assert "127.0.0.1:9/PyPI/all.zip" in unreachable.stderr
