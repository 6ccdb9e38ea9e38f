"""KH182 for a local Python package installed after the sources are copied (`pip install .`,
`pip wheel .`, `uv pip install .`...), when the build context declares dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules

RULES = [r for r in dockerfile_rules() if r.code == "KH182"]
PYPROJECT = '[project]\nname = "app"\nversion = "1"\ndependencies = ["requests"]\n'
NO_DEPS = '[project]\nname = "app"\nversion = "1"\n'
HEAD = "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\nCOPY src/ src/\n"


def lines(root: Path, dockerfile: str, files: dict[str, str] | None = None) -> list[int]:
    for name, text in (
        {"pyproject.toml": PYPROJECT, "src/app/__init__.py": ""} | (files or {})
    ).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    context = BuildContext.read(root, root / "Dockerfile")
    found = check_dockerfile(parse(dockerfile), rules=RULES, build_context=context)
    return [f.location.line for f in found]


@pytest.mark.parametrize("install", [
    "pip install .", "pip install -e .", "python -m pip wheel --wheel-dir /w '.[extra]'",
    "uv pip install .", "pip install -r requirements.txt .", "pip3 install /app",
])  # fmt: skip
def test_local_install_after_the_sources(tmp_path: Path, install: str) -> None:
    assert lines(tmp_path, HEAD + f"RUN {install}\n") == [5]


@pytest.mark.parametrize("install", [
    "pip install --no-deps .", "pip install /wheels/app-1-py3-none-any.whl",
    "uv pip install --no-deps -e .",
])  # fmt: skip
def test_quiet_for_installs_without_the_dependencies(tmp_path: Path, install: str) -> None:
    assert lines(tmp_path, HEAD + f"RUN {install}\n") == []


def test_quiet_when_dependencies_install_before_the_sources(tmp_path: Path) -> None:
    split = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt ./\n"
             "RUN pip wheel --wheel-dir /w -r requirements.txt\nCOPY src/ src/\n"
             "RUN pip install .\n")  # fmt: skip
    assert lines(tmp_path, split, {"requirements.txt": "requests\n"}) == []


def test_quiet_when_a_stub_install_ran_first(tmp_path: Path) -> None:
    stub = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\n"
            "RUN mkdir -p src/app && touch src/app/__init__.py && pip install .\n"
            "COPY src/ src/\nRUN pip install .\n")  # fmt: skip
    assert lines(tmp_path, stub) == []


def test_quiet_when_nothing_is_declared(tmp_path: Path) -> None:
    assert lines(tmp_path, HEAD + "RUN pip install .\n", {"pyproject.toml": NO_DEPS}) == []


def test_quiet_without_a_build_context() -> None:
    found = check_dockerfile(parse(HEAD + "RUN pip install .\n"), rules=RULES)
    assert found == []


@pytest.mark.parametrize(("name", "text"), [
    ("setup.cfg", "[options]\ninstall_requires =\n    requests\n"),
    ("setup.py", "from setuptools import setup\nsetup(install_requires=['requests'])\n"),
    ("requirements.txt", "# pinned\nrequests==2.32.3\n"),
    ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.12"\nrequests = "*"\n'),
])  # fmt: skip
def test_other_declarations(tmp_path: Path, name: str, text: str) -> None:
    files = {"pyproject.toml": NO_DEPS, name: text}
    assert lines(tmp_path, HEAD + "RUN pip install .\n", files) == [5]


def test_message_says_copy_the_declaration_first(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    dockerfile = HEAD + "RUN pip install .\n"
    context = BuildContext.read(tmp_path, None)
    [finding] = check_dockerfile(parse(dockerfile), rules=RULES, build_context=context)
    assert "copy only the dependency declaration first (pyproject.toml" in finding.message
    assert "--no-deps" in finding.message
