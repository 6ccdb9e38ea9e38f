"""Issue 23 item 22: ``ENV A<U+2028>B value``. BuildKit reads the legacy form's key up to an
ASCII blank (the key is ``A<U+2028>B``) but splits the key=value form at every Unicode space,
so ``ENV A<U+2028>B=value`` would be two words and a different instruction. The finding stays;
KH112 offers no fix for such a key (it used to offer one and then report a keelhaul bug)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.keelhaul_cli import run


@pytest.mark.parametrize("space", ["\u2028", "\u2029", "\xa0", "\u3000"])
def test_a_key_with_a_unicode_space_is_reported_and_left_alone(tmp_path: Path, space: str) -> None:
    text = f"FROM debian:12.5\nENV A{space}B value\nENV PLAIN some value\n"
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    checked = run("check", "--select", "KH112", "--format", "json", "Dockerfile", cwd=tmp_path)
    assert checked.stdout.count('"KH112"') == 2, checked.stdout
    fixed = run("fix", "--select", "KH112", ".", cwd=tmp_path)
    assert fixed.returncode in (0, 1), fixed.stderr
    assert "bug" not in fixed.stderr
    after = (tmp_path / "Dockerfile").read_text(encoding="utf-8")
    assert f"ENV A{space}B value\n" in after
    assert 'ENV PLAIN="some value"\n' in after
