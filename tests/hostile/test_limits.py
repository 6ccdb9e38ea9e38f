"""Issue 23, "limits at every edge, set in one place": every fixed limit lives in
``keelhaul.limits`` (the modules that enforce them read it there), the settings that are
limits exist, docs/settings.md lists them all, and each limit a minimal input can reach
fires with a message naming the file (and line), not a hang or a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from keelhaul import limits, settings
from keelhaul.config import MAX_CONFIG_BYTES, MAX_YAML_ALIASES
from keelhaul.dockerfile import lex, shell, syntax
from keelhaul.image import bomb_guard
from keelhaul.rules import shellcheck
from keelhaul.runtime import discover
from keelhaul.vulns import database, download
from tests.keelhaul_cli import run


def test_the_modules_read_their_limits_from_the_one_place() -> None:
    enforced = {
        "DOCKERFILE_BYTES": syntax.MAX_DOCKERFILE_BYTES,
        "DOCKERFILE_LINE_BYTES": syntax._MAX_LINE_BYTES,
        "CONFIG_BYTES": MAX_CONFIG_BYTES,
        "CONFIG_YAML_ALIASES": MAX_YAML_ALIASES,
        "WALKED_FILE_BYTES": discover.MAX_WALK_BYTES,
        "NAMED_RUNTIME_FILE_BYTES": discover.MAX_NAMED_BYTES,
        "EXPANDED_CHARS": lex.MAX_EXPANDED_CHARS,
        "SCRIPT_CHARS": shell.MAX_SCRIPT_CHARS,
        "SHELLCHECK_SCRIPT_LINES": shellcheck.MAX_SCRIPT_LINES,
        "SHELLCHECK_SCRIPT_BYTES": shellcheck.MAX_SCRIPT_BYTES,
        "SHELLCHECK_SECONDS": shellcheck.SHELLCHECK_TIMEOUT,
        "SHELLCHECK_MEMORY_BYTES": shellcheck.SHELLCHECK_MEMORY,
        "DECOMPRESSION_RATIO": bomb_guard.MAX_RATIO,
        "OSV_RECORD_BYTES": database.MAX_RECORD_BYTES,
        "OSV_ZIP_BYTES": database.MAX_ZIP_BYTES,
        "OSV_DOWNLOAD_BYTES": download.MAX_DOWNLOAD_BYTES,
    }
    for name, value in enforced.items():
        assert value == limits.LIMITS[name].value == getattr(limits, name), name
    defaults = {spec.key: spec.default for spec in settings.SCHEMA}
    assert defaults["max-expanded-size"] == limits.EXPANDED_CHARS
    assert defaults["image-max-ratio"] == limits.DECOMPRESSION_RATIO
    assert defaults["shellcheck-timeout"] == limits.SHELLCHECK_SECONDS
    assert defaults["shellcheck-max-memory"] == limits.SHELLCHECK_MEMORY_BYTES
    assert set(limits.SETTINGS) <= set(defaults)


def test_the_settings_page_lists_every_limit() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    assert page == settings.settings_markdown()
    for name in limits.LIMITS:
        assert f"`{name}`" in page


def _dockerfile_line(folder: Path) -> list[str]:
    (folder / "Dockerfile").write_text("FROM debian:12.5\nRUN echo " + "a" * 70_000 + "\n")
    return ["check", "--no-shellcheck", "Dockerfile"]


def _dockerfile_bytes(folder: Path) -> list[str]:
    (folder / "Dockerfile").write_text("FROM debian:12.5\n" + ("# " + "x" * 1000 + "\n") * 17_000)
    return ["check", "--no-shellcheck", "Dockerfile"]


def _config_bytes(folder: Path) -> list[str]:
    (folder / "Dockerfile").write_text("FROM debian:12.5\n")
    (folder / ".keelhaul.toml").write_text("# " + "x" * limits.CONFIG_BYTES + "\n")
    return ["check", "--no-shellcheck", "Dockerfile"]


def _yaml_aliases(folder: Path) -> list[str]:
    (folder / "Dockerfile").write_text("FROM debian:12.5\n")
    body = "".join(f"  - &a{i} DL300{i % 10}\n" for i in range(limits.CONFIG_YAML_ALIASES + 1))
    refs = "".join(f"  - *a{i}\n" for i in range(limits.CONFIG_YAML_ALIASES + 1))
    (folder / ".hadolint.yaml").write_text("ignored:\n" + body + "trustedRegistries:\n" + refs)
    return ["check", "--no-shellcheck", "Dockerfile"]


def _expanded(folder: Path) -> list[str]:
    (folder / ".keelhaul.toml").write_text('[settings]\nmax-expanded-size = "1KB"\n')
    (folder / "Dockerfile").write_text(
        "FROM debian:12.5\nARG A=" + "a" * 600 + "\nARG B=${A}${A}\nRUN echo $B\n"
    )
    return ["check", "--no-shellcheck", "--format", "concise", "Dockerfile"]


def _walked(folder: Path) -> list[str]:
    (folder / "k").mkdir()
    pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: x\n"
    (folder / "k" / "pod.yaml").write_text(pod + "#" * limits.WALKED_FILE_BYTES + "\n")
    return ["check", "k"]


def _osv_record(folder: Path) -> list[str]:
    (folder / "osv").mkdir()
    record = {"id": "PYSEC-BIG-1", "modified": "2024-01-01T00:00:00Z",
              "details": "x" * limits.OSV_RECORD_BYTES, "affected": []}  # fmt: skip
    (folder / "osv" / "big.json").write_text(json.dumps(record))
    return ["db", "import", "--db", str(folder / "osv.sqlite3"), "osv"]


#: (limit, the input, the exit code, what the message says, where it points)
CASES: list[tuple[str, Callable[[Path], list[str]], int, str, str]] = [
    ("DOCKERFILE_LINE_BYTES", _dockerfile_line, 2, "line greater than max", "Dockerfile:2"),
    ("DOCKERFILE_BYTES", _dockerfile_bytes, 2, "larger than 16 MiB", "Dockerfile"),
    ("CONFIG_BYTES", _config_bytes, 2, "bigger than", ".keelhaul.toml"),
    ("CONFIG_YAML_ALIASES", _yaml_aliases, 2, "aliases", ".hadolint.yaml"),
    ("EXPANDED_CHARS", _expanded, 1, "max-expanded-size", "Dockerfile:3"),
    ("WALKED_FILE_BYTES", _walked, 0, "larger than 4 MiB", "k/pod.yaml"),
    ("OSV_RECORD_BYTES", _osv_record, 2, "larger than 16 MiB", "big.json"),
]


@pytest.mark.parametrize(
    ("limit", "make", "code", "says", "where"), CASES, ids=[c[0] for c in CASES]
)
def test_each_limit_fires_with_a_located_message(
    tmp_path: Path, limit: str, make: Callable[[Path], list[str]], code: int, says: str, where: str
) -> None:
    assert limit in limits.LIMITS
    done = run(*make(tmp_path), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == code, output[-2000:]
    assert "Traceback" not in output
    located = [line for line in output.splitlines() if says in line]
    assert located, output[-2000:]
    assert where in located[0], located[0][:300]
