"""The warm start (keelhaul.warm_start): patterns and dataclass methods from the cache file are
the same as those compiled afresh, only import-time texts are written, and a file someone
else could have written is not read. Each case runs in its own Python: installing the warm
start changes ``re`` and ``dataclasses`` for the rest of the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Installs the warm start, imports modules with many patterns and dataclasses, compiles a
#: pattern at run time, then compares every cached entry with a fresh compile.
SCRIPT = r"""
import builtins, json, re, sys
from keelhaul import warm_start
warm_start.install()
if not warm_start.installed():
    print(json.dumps({"installed": False}))
    sys.exit(0)
store = warm_start._INSTALLED[0]
before = (len(store.patterns), len(store.code))
import keelhaul.secrets, keelhaul.dockerfile.syntax, keelhaul.findings
re.compile("run-time-only-[0-9]+-pattern")
fresh_pattern = re._compiler.compile.original
same_patterns = all(
    warm_start._sre.compile(*call) == fresh_pattern(pattern, flags)
    for (pattern, flags), call in store.patterns.items()
)
fresh_code = {
    text: builtins.compile(text, "<string>", "exec", dont_inherit=True) for text in store.code
}
same_code = all(fresh_code[text] == code for text, code in store.code.items())
from keelhaul.findings import Location
where = Location("Dockerfile", 3, 1)
print(json.dumps({
    "installed": True,
    "before": before,
    "patterns": len(store.patterns),
    "code": len(store.code),
    "same_patterns": same_patterns,
    "same_code": same_code,
    "runtime_pattern_kept": any("run-time-only" in str(k[0]) for k in store.patterns),
    "dataclass_works": repr(where).startswith("Location(") and where == Location("Dockerfile", 3, 1),
}))
"""


def run(cache: Path, **env: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "KEELHAUL_CACHE_DIR": str(cache), **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def the_file(cache: Path) -> Path:
    files = list(cache.glob("warm-start-*.marshal"))
    assert len(files) == 1, files
    return files[0]


def test_cold_then_warm_gives_the_same_patterns_and_code(tmp_path: Path) -> None:
    cold = run(tmp_path)
    assert cold["before"] == [0, 0]
    assert cold["same_patterns"]
    assert cold["same_code"]
    assert cold["dataclass_works"]
    assert isinstance(cold["patterns"], int)
    assert cold["patterns"] > 20
    written = the_file(tmp_path)
    assert written.stat().st_mode & 0o077 == 0  # the user's alone

    warm = run(tmp_path)
    assert warm["before"] == [cold["patterns"], cold["code"]]  # read back, all of it
    assert warm["same_patterns"]
    assert warm["same_code"]
    assert warm["dataclass_works"]


def test_a_pattern_compiled_at_run_time_is_not_written(tmp_path: Path) -> None:
    run(tmp_path)
    assert run(tmp_path)["runtime_pattern_kept"] is False
    assert b"run-time-only" not in the_file(tmp_path).read_bytes()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_file_others_could_write_is_not_read(tmp_path: Path) -> None:
    run(tmp_path)
    the_file(tmp_path).chmod(0o666)
    result = run(tmp_path)
    assert result["before"] == [0, 0]
    assert result["same_patterns"]
    assert result["same_code"]


def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    run(tmp_path)
    path = the_file(tmp_path)
    path.write_bytes(b"\x00not marshal")
    path.chmod(0o600)
    assert run(tmp_path)["before"] == [0, 0]
    assert run(tmp_path)["before"] != [0, 0]  # written again by the run before


def test_it_can_be_turned_off(tmp_path: Path) -> None:
    assert run(tmp_path, KEELHAUL_NO_WARM_START="1") == {"installed": False}
    assert not list(tmp_path.glob("warm-start-*"))
