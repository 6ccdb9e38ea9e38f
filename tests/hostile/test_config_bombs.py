"""Issue 23 item 7: a ``.hadolint.yaml`` alias bomb (and deep nesting) is refused before
anything walks it: a one-line configuration error, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.catalogue import all_rules
from keelhaul.config import MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_NODES, load_file
from keelhaul.errors import ConfigError
from keelhaul.selection import Vocabulary

VOCAB = Vocabulary(all_rules())


def alias_bomb(levels: int = 7, width: int = 9) -> str:
    """Each level a list of ``width`` aliases of the one before: ``width ** levels`` leaves."""
    lines = ["a0: &a0 [" + ", ".join(['"x"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"ignored: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / ".hadolint.yaml"
    path.write_text(text)
    return load_file(path, VOCAB)


def test_the_bomb_is_small_and_would_be_huge() -> None:
    assert len(alias_bomb()) < 400
    assert 9**7 > 4_000_000 > MAX_YAML_NODES  # leaves a walk would visit


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="aliases expanded"):
        load(tmp_path, alias_bomb())


def test_many_cheap_aliases_are_refused(tmp_path: Path) -> None:
    text = "a: &a DL3008\nignored: [" + ", ".join(["*a"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    with pytest.raises(ConfigError, match="aliases"):
        load(tmp_path, text)


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nested"):
        load(tmp_path, "ignored: &a [*a]\n")


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 5_000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    with pytest.raises(ConfigError, match="nested"):
        load(tmp_path, "ignored: " + "[" * depth + "]" * depth + "\n")


def test_a_real_config_with_an_alias_still_loads(tmp_path: Path) -> None:
    config = load(tmp_path, "ignored: &i [DL3008]\nfailure-threshold: error\nx: *i\n")
    assert config is not None


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / ".hadolint.yaml").write_text(alias_bomb(levels=9))
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "check", "Dockerfile"], cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert ".hadolint.yaml" in done.stderr
