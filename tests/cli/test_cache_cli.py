"""``keelhaul cache`` as a user meets it: --changed, --git, formats, errors."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from keelhaul.cli import cache
from keelhaul.cli.app import cli, main
from tests.cache.gitrepo import Repo

NODE = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
CMD ["node", "dist/index.js"]
"""
MULTI = """\
FROM golang:1.22 AS build
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /app .
FROM alpine:3.20 AS debug
RUN apk add --no-cache curl
FROM alpine:3.20
COPY --from=build /app /app
"""

if "cache" not in cli.commands:  # until the lead registers it in cli/app.py
    cli.add_command(cache.command)


@dataclass
class Result:
    code: int
    out: str
    err: str


class Run(Protocol):
    def __call__(self, *args: str, cwd: Path | None = None, stdin: str | None = None) -> Result: ...


@pytest.fixture
def keelhaul(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Run:
    def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> Result:
        monkeypatch.chdir(cwd or tmp_path)
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exc:
            main(["--no-color", "cache", *args])
        captured = capsys.readouterr()
        code = exc.value.code
        return Result(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def node_context(folder: Path) -> None:
    write(
        folder,
        {
            "Dockerfile": NODE,
            "package.json": "{}\n",
            "package-lock.json": "{}\n",
            "src/index.js": "1\n",
            ".dockerignore": "*.md\n",
        },
    )


# --- --changed ------------------------------------------------------------------------------


def test_changed_text_flags_expensive_steps(keelhaul: Run, tmp_path: Path) -> None:
    node_context(tmp_path)
    result = keelhaul("--changed", "src/index.js")
    assert result.code == 0, result.err
    assert "stage 0: rebuilds from line 3 (src/index.js changed)" in result.out
    assert "RUN npm ci   EXPENSIVE: dependency install: npm ci" in result.out
    assert "2 expensive step(s) rebuild: lines 4, 5" in result.out


def test_changed_ignored_file(keelhaul: Run, tmp_path: Path) -> None:
    node_context(tmp_path)
    result = keelhaul("--changed", "README.md")
    assert "1 left out by the ignore file" in result.out
    assert "nothing rebuilds" in result.out


def test_changed_json_shape(keelhaul: Run, tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": MULTI, "main.go": "x\n", "go.mod": "m\n", "go.sum": ""})
    result = keelhaul("--changed", "main.go", "--format", "json")
    data = json.loads(result.out)
    stages = {s["stage"]: s for s in data["stages"]}
    assert stages["build"]["first_miss"]["line"] == 4
    assert [r["line"] for r in stages["build"]["rebuilds"]] == [4, 5]
    assert stages["build"]["rebuilds"][1]["expensive"] == "compile: go build"
    assert stages["debug"]["built"] is False
    assert stages["2"]["first_miss"]["reason"] == "stage build rebuilt"
    assert data["changed"] == ["main.go"]
    assert data["expensive_rebuilds"] == 1


def test_changed_from_stdin_and_subfolder(keelhaul: Run, tmp_path: Path) -> None:
    write(tmp_path / "svc", {"Dockerfile": MULTI, "go.mod": "m\n"})
    result = keelhaul("svc", "--changed-from", "-", "--format", "json", stdin="go.mod\n\n")
    data = json.loads(result.out)
    assert [r["line"] for r in data["stages"][0]["rebuilds"]] == [2, 3, 4, 5]


def test_changed_path_from_cwd_is_made_context_relative(keelhaul: Run, tmp_path: Path) -> None:
    write(tmp_path / "svc", {"Dockerfile": MULTI, "go.mod": "m\n"})
    result = keelhaul("svc", "--changed", "svc/go.mod", "--format", "json")
    assert json.loads(result.out)["changed"] == ["go.mod"]


def test_changed_arg_and_target(keelhaul: Run, tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM a AS one\nARG V=1\nRUN make\nFROM b\nRUN x\n"})
    result = keelhaul("--changed-arg", "V", "--target", "one", "--format", "json")
    data = json.loads(result.out)
    assert [r["line"] for r in data["stages"][0]["rebuilds"]] == [3]
    assert data["stages"][1]["built"] is False


# --- --git ----------------------------------------------------------------------------------


def _history(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit(
        {
            "web/Dockerfile": NODE,
            "web/package.json": "{}\n",
            "web/package-lock.json": "{}\n",
            "web/src/index.js": "0\n",
            "web/.dockerignore": "*.md\n",
        }
    )
    for i in range(3):
        repo.commit({"web/src/index.js": f"{i + 1}\n"})
    repo.commit({"web/package.json": '{"a": 1}\n'})
    repo.commit({"api/main.go": "x\n"})
    return repo


def test_git_markdown_table(keelhaul: Run, tmp_path: Path) -> None:
    repo = _history(tmp_path / "repo")
    result = keelhaul("web", "--git", "HEAD~5..HEAD", "--format", "markdown", cwd=repo.root)
    assert result.code == 0, result.err
    assert (
        "| Line | Stage | Instruction | Rebuilt now | After dependency-first reorder |"
        in result.out
    )
    assert (
        "| 4 | 0 | `RUN npm ci` **dependency install: npm ci** | 4 of 5 (80%) | 1 of 5 (20%) |"
        in result.out
    )
    assert "`COPY package.json package-lock.json ./` (added by the reorder)" in result.out


def test_git_text_and_estimate(keelhaul: Run, tmp_path: Path) -> None:
    repo = _history(tmp_path / "repo")
    result = keelhaul("--git", "HEAD~5..HEAD", "--step-seconds", "4=60", cwd=repo.root / "web")
    assert "estimated rebuild time: 4m 00s now, 1m 00s after the reorder" in result.out
    assert "RUN npm ci  [dependency install: npm ci]" in result.out


def test_git_json_and_last(keelhaul: Run, tmp_path: Path) -> None:
    repo = _history(tmp_path / "repo")
    result = keelhaul("web", "--last", "2", "--format", "json", cwd=repo.root)
    data = json.loads(result.out)
    assert data["commits"] == 2
    row = next(r for r in data["instructions"] if r["instruction"] == "RUN npm ci")
    assert (row["rebuilt"], row["of"], row["rebuilt_after_reorder"]) == (1, 2, 1)
    assert [c["rebuilt_lines"] for c in data["per_commit"]] == [[3, 4, 5], []]


# --- commits before the Dockerfile, rates out of fewer commits ----------------------------

PRE_ONE = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
PRE_TWO = PRE_ONE + "RUN npm run build\n"


def _predating_history(root: Path) -> Repo:
    """3 commits without a Dockerfile, then 3 with PRE_ONE, then 2 with PRE_TWO."""
    repo = Repo(root)
    for i in range(3):
        repo.commit({"notes.txt": f"{i}\n"})
    repo.commit({"Dockerfile": PRE_ONE, "package.json": "{}\n", "index.js": "0\n"})
    for i in range(2):
        repo.commit({"index.js": f"{i + 1}\n"})
    repo.commit({"Dockerfile": PRE_TWO})
    repo.commit({"index.js": "9\n"})
    return repo


def test_text_says_the_early_commits_predate_the_dockerfile(keelhaul: Run, tmp_path: Path) -> None:
    repo = _predating_history(tmp_path / "repo")
    result = keelhaul("--last", "100", cwd=repo.root)
    headline = result.out.splitlines()[0]
    assert headline == ("Dockerfile: 5 commit(s) of HEAD, last 100 replayed (3 earlier "
                        "commit(s) predate the Dockerfile: left out)")  # fmt: skip


def test_json_leaves_the_early_commits_out_of_the_count(keelhaul: Run, tmp_path: Path) -> None:
    repo = _predating_history(tmp_path / "repo")
    data = json.loads(keelhaul("--last", "100", "--format", "json", cwd=repo.root).out)
    assert (data["commits"], data["replayed"], data["predate_dockerfile"]) == (5, 5, 3)
    assert {r["of"] for r in data["instructions"] if r["line"] in (1, 4)} == {5}


def test_fewer_commits_in_a_rate_are_explained(keelhaul: Run, tmp_path: Path) -> None:
    repo = _predating_history(tmp_path / "repo")
    result = keelhaul("--last", "100", cwd=repo.root)
    assert "2 of 2 (100%)" in result.out  # RUN npm run build, beside rates "of 5"
    note = next(line for line in result.out.splitlines() if "fewer than the 5" in line)
    assert "line 5 RUN npm run build, 2 commit(s)" in note


def test_a_deleted_dockerfile_is_skipped_not_predating(keelhaul: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit({"Dockerfile": PRE_ONE, "package.json": "{}\n"})
    repo.commit({"Dockerfile": None})
    repo.commit({"Dockerfile": PRE_ONE})
    data = json.loads(keelhaul("--last", "100", "--format", "json", cwd=repo.root).out)
    assert (data["commits"], data["replayed"], data["predate_dockerfile"]) == (3, 2, 0)
    assert data["per_commit"][1]["note"] == "no Dockerfile at this commit"


# --- errors: one line, exit 2 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("plain", ("--git", "HEAD~3..HEAD"), "not a git repository"),
        ("repo", ("--git", "HEAD~99..HEAD"), "git log:"),
        ("repo", ("-f", "nope/Dockerfile", "--changed", "x"), "no such file"),
        ("broken", ("--changed", "x"), "Dockerfile:2"),
        ("repo", ("--changed", "x", "--git", "HEAD"), "cannot be used together"),
        ("repo", (), "give --changed"),
        ("repo", ("--changed", "x", "--target", "nope"), "--target nope"),
        ("repo", ("--git", "HEAD", "--step-seconds", "four"), "LINE=SECONDS"),
    ],
)
def test_errors(
    keelhaul: Run, tmp_path: Path, setup: str, args: tuple[str, ...], message: str
) -> None:
    if setup == "repo":
        _history(tmp_path)
        cwd = tmp_path / "web"
    else:
        cwd = tmp_path
        write(tmp_path, {"Dockerfile": "FROM a\nENV x\n" if setup == "broken" else NODE})
    result = keelhaul(*args, cwd=cwd)
    assert result.code == 2, result
    assert message in result.err
    if "Usage:" not in result.err:  # click adds usage lines to its own errors
        assert result.err.strip().count("\n") == 0, result.err
