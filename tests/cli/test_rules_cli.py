"""`keelhaul rules` into a pipe: plain text, one rule per line, nothing wrapped or cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def rules(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["COLUMNS"] = "80"  # the width a pipe used to be wrapped to
    return subprocess.run([sys.executable, "-m", "keelhaul", "rules", *args],
                          capture_output=True, text=True, env=env, check=True)  # fmt: skip


def test_piped_list_has_one_rule_per_line() -> None:
    listed = json.loads(rules("--json").stdout)
    lines = rules().stdout.splitlines()
    assert lines[0].split("\t") == ["code", "name", "severity", "category", "fix", "summary"]
    assert len(lines) == len(listed) + 1


def test_piped_list_keeps_each_summary_whole() -> None:
    listed = {r["code"]: r for r in json.loads(rules("--json").stdout)}
    for line in rules().stdout.splitlines()[1:]:
        code, name, _severity, _category, _fix, summary = line.split("\t")
        assert name == listed[code]["name"]
        assert summary.startswith(listed[code]["summary"])


def test_piped_explanation_is_not_cut() -> None:
    explained = rules("KH182").stdout
    explanation = json.loads(rules("KH182", "--json").stdout)[0]["explanation"]
    for line in explanation.splitlines():
        assert line in explained
