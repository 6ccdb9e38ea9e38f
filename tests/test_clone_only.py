"""A clone alone: skip messages say what to install, never a tool outside the repository,
and the README links only documents inside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_points_to_tools_outside_the_repository() -> None:
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name == Path(__file__).name:
            continue
        assert "shared/tools" not in path.read_text(encoding="utf-8"), path


def test_readme_links_stay_inside_the_repository() -> None:
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert not link.startswith(("../", "/")), link


def test_registry_skip_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.registry import conftest

    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("KEELHAUL_REQUIRE_DOCKER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install docker-registry"):
        conftest._start(None)


def test_engine_skip_says_what_to_install() -> None:
    from tests import conftest

    assert "apt-get install docker.io" in conftest.NEEDS_ENGINE
    assert "/var/run/docker.sock" in conftest.NEEDS_ENGINE
    assert "docker import - keelhaul-test/x" in conftest.base_image_advice("keelhaul-test/x")
