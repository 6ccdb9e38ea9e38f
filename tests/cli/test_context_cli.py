"""``keelhaul context``: every output, the exit codes, and --write-dockerignore."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from keelhaul.cli.context import command
from keelhaul.cli.output import Output
from keelhaul.context.walk import walk_context

TOKEN = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"


def tree(root: Path, files: Mapping[str, str | int]) -> Path:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            target.write_bytes(b"x" * content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def project(root: Path, dockerfile: str = "FROM python:3.12-slim\nCOPY src /app/src\n") -> Path:
    return tree(root, {"Dockerfile": dockerfile, "src/app.py": 300, ".git/objects/pack": 50_000,
                       "node_modules/x/i.js": 2_000, "debug.log": 10, "docs/manual.pdf": 9_000,
                       ".env": f"GITHUB_TOKEN={TOKEN}\n"})  # fmt: skip


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args), obj=Output(color=False),
                                standalone_mode=False, catch_exceptions=False)  # fmt: skip
    return result.return_value, result.output


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """Through the real entry point, for exit codes and error lines."""
    code = ("import sys, click\nfrom keelhaul.cli import app, context\n"
            "app.cli.add_command(context.command)\napp.main(sys.argv[1:])\n")  # fmt: skip
    return subprocess.run([sys.executable, "-c", code, "context", *args], capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_text_summary(tmp_path: Path) -> None:
    code, out = run(str(project(tmp_path)))
    assert code == 0  # COPY src takes no secret: no finding
    assert "sends 7 files" in out
    assert "no COPY or ADD uses" in out
    assert ".git/objects/pack" in out
    assert "Largest folders" in out
    assert "vcs .git/ sent" in out
    assert "dependencies node_modules/ sent" in out
    assert "secret .env" in out
    assert "ghp_" in out
    assert TOKEN not in out
    for line in (".git", "node_modules", "docs", "*.log", ".env*"):
        assert f"\n  {line} " in out


def test_json_shape(tmp_path: Path) -> None:
    code, out = run(str(project(tmp_path)), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["version"] == 1
    assert data["sent"]["files"] == 7
    assert data["sent"]["bytes"] == sum(f.size for f in walk_context(tmp_path).files)
    assert data["largest_files"][0] == {"path": ".git/objects/pack", "bytes": 50_000}
    dockerfile = (tmp_path / "Dockerfile").stat().st_size  # the build reads it: not unused
    assert data["unused"]["bytes"] == data["sent"]["bytes"] - 300 - dockerfile
    assert {f["path"] for f in data["vcs_and_dependency_folders"]} == {".git", "node_modules"}
    assert data["secrets"][0]["path"] == ".env"
    assert TOKEN not in out
    assert data["suggested_lines"][0] == {"line": ".git", "reason": "version control data",
                                          "files": 1, "bytes": 50_000}  # fmt: skip
    assert data["findings"]["findings"] == []
    assert data["unused_unknown"] == []


def test_findings_and_exit_one(tmp_path: Path) -> None:
    project(tmp_path, "FROM python:3.12-slim\nCOPY . /app\n")
    code, out = run(str(tmp_path))
    assert code == 1
    assert "KH230" in out
    assert "KH232" in out
    code, _ = run(str(tmp_path), "--fail-on", "none")
    assert code == 0
    code, out = run(str(tmp_path), "--format", "sarif")
    sarif = json.loads(out)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"KH230", "KH232"}
    code, out = run(str(tmp_path), "--format", "concise")
    assert "KH232" in out


def test_a_variable_source_makes_unused_unknown(tmp_path: Path) -> None:
    project(tmp_path, "FROM python:3.12-slim\nARG DIR=src\nCOPY $DIR /app\n")
    _code, out = run(str(tmp_path))
    assert "unused bytes: unknown" in out
    assert "$DIR" in out
    _, out = run(str(tmp_path), "--format", "json")
    lines = {s["line"] for s in json.loads(out)["suggested_lines"]}
    assert "docs" not in lines
    assert ".git" in lines


def test_no_dockerfile_walks_only(tmp_path: Path) -> None:
    tree(tmp_path, {"a": 5})
    code, out = run(str(tmp_path))
    assert code == 0
    assert "sends 1 files" in out
    assert "no Dockerfile" in out


def test_dash_f_and_its_own_ignore_file(tmp_path: Path) -> None:
    project(tmp_path)
    tree(tmp_path, {"build/app.Dockerfile": "FROM a\nCOPY src /s\n",
                    "build/app.Dockerfile.dockerignore": ".git\n"})  # fmt: skip
    _code, out = run(str(tmp_path), "-f", str(tmp_path / "build" / "app.Dockerfile"), "--format",
                    "json")  # fmt: skip
    data = json.loads(out)
    assert data["ignore_file"].endswith("app.Dockerfile.dockerignore")
    assert ".git" not in {f["path"] for f in data["vcs_and_dependency_folders"]}


@pytest.mark.parametrize(
    ("setup", "args", "says"),
    [
        ({}, ["{root}/missing"], "missing"),
        ({".dockerignore": "[a-\n"}, ["{root}"], ".dockerignore"),
        ({"Dockerfile": "FROM a\nRUN <<EOF\nx\n"}, ["{root}"], "Dockerfile:2"),
        ({}, ["{root}", "-f", "{root}/nope.Dockerfile"], "nope.Dockerfile"),
    ],
)
def test_bad_input_exits_two_with_one_line(
    tmp_path: Path, setup: dict[str, str], args: list[str], says: str
) -> None:
    tree(tmp_path, setup)
    done = run_process(*(a.format(root=tmp_path) for a in args))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert says in lines[0]
    assert lines[0].startswith("keelhaul: error:")


def test_write_dockerignore_is_idempotent_and_keeps_what_copy_needs(tmp_path: Path) -> None:
    project(tmp_path, "FROM a\nCOPY src /s\nCOPY docs/manual.pdf /m\nCOPY node_modules /n\n")
    before = {f.path for f in walk_context(tmp_path).files}
    _code, _ = run(str(tmp_path), "--write-dockerignore")
    text = (tmp_path / ".dockerignore").read_text(encoding="utf-8")
    assert ".git\n" in text
    assert ".env*\n" in text
    assert "*.log\n" in text
    assert "node_modules" not in text
    assert "docs" not in text
    after = {f.path for f in walk_context(tmp_path).files}
    for needed in ("src/app.py", "docs/manual.pdf", "node_modules/x/i.js"):
        assert needed in before
        assert needed in after
    run(str(tmp_path), "--write-dockerignore")
    assert (tmp_path / ".dockerignore").read_text(encoding="utf-8") == text


def test_write_dockerignore_adds_to_an_existing_file(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / ".dockerignore").write_text("# mine\ntmp", encoding="utf-8")
    run(str(tmp_path), "--write-dockerignore")
    text = (tmp_path / ".dockerignore").read_text(encoding="utf-8")
    assert text.startswith("# mine\ntmp\n.git\n")


def test_odd_names_are_printed_as_they_are(tmp_path: Path) -> None:
    tree(tmp_path, {"[red]x[/red]": 5, "a b/c": 1})
    _, out = run(str(tmp_path))
    assert "[red]x[/red]" in out
    assert "a b/" in out
