"""Finding Dockerfiles: names, .gitignore (nested, negated, inherited), named paths, speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from keelhaul.dockerfile.discover import discover, find_dockerfiles, is_dockerfile_name, walk
from keelhaul.errors import FileMissing


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dockerfile", True),
        ("dockerfile", True),
        ("Containerfile", True),
        ("api.Dockerfile", True),
        ("api.dockerfile", True),
        ("Dockerfile.dev", True),
        ("Dockerfile.alpine", True),
        ("Dockerfile-dev", True),
        ("build_Dockerfile", True),
        ("Containerfile.fedora", True),
        ("Dockerfile.dockerignore", False),
        ("api.Dockerfile.dockerignore", False),
        ("Dockerfile.j2", False),
        ("Dockerfile.tmpl", False),
        ("Dockerfile.md", False),
        ("dockerfile_test.go", False),
        ("dockerfile-parser.js", False),
        ("Dockerfile.orig", False),
        ("Dockerfile~", False),
        ("Dockerfiles", False),
        ("README", False),
        ("docker-compose.yml", False),
    ],
)
def test_names(name: str, expected: bool) -> None:
    assert is_dockerfile_name(name) is expected


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("FROM scratch\n" if "ignore" not in name and "exclude" not in name else "")


def found(root: Path, *paths: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in find_dockerfiles(paths or (root,))]


def test_gitignore_nested_negated_and_info_exclude(tmp_path: Path) -> None:
    make(
        tmp_path,
        ".git/HEAD",
        "Dockerfile",
        "build/Dockerfile",
        "logs/app/Dockerfile",
        "svc/Dockerfile",
        "svc/Dockerfile.local",
        "svc/keep/Dockerfile.local",
        "svc/gen/Dockerfile",
        "svc/deep/gen/Dockerfile",
        "private/Dockerfile",
        "node_modules/pkg/Dockerfile",
        ".venv/Dockerfile",
        ".devcontainer/Dockerfile",
    )
    (tmp_path / ".gitignore").write_text("build/\n/logs\n*.local\n!**/keep/*.local\n")
    (tmp_path / "svc" / ".gitignore").write_text("# generated\ngen/\n")
    (tmp_path / ".git" / "info").mkdir()
    (tmp_path / ".git" / "info" / "exclude").write_text("private/\n")
    (tmp_path / ".git" / "Dockerfile").write_text("FROM a\n")
    assert found(tmp_path) == [
        ".devcontainer/Dockerfile",
        "Dockerfile",
        "svc/Dockerfile",
        "svc/keep/Dockerfile.local",
    ]


def test_deeper_gitignore_reincludes(tmp_path: Path) -> None:
    make(tmp_path, ".git/HEAD", "a/Dockerfile.x", "a/b/Dockerfile.x")
    (tmp_path / ".gitignore").write_text("Dockerfile.x\n")
    (tmp_path / "a" / "b" / ".gitignore").write_text("!Dockerfile.x\n")
    assert found(tmp_path) == ["a/b/Dockerfile.x"]


def test_walking_a_subfolder_inherits_the_repository_rules(tmp_path: Path) -> None:
    make(tmp_path, ".git/HEAD", "svc/Dockerfile", "svc/tmp/Dockerfile", "svc/out/Dockerfile")
    (tmp_path / ".gitignore").write_text("svc/tmp/\nout\n")
    assert found(tmp_path, tmp_path / "svc") == ["svc/Dockerfile"]


def test_named_paths_are_taken_even_when_ignored(tmp_path: Path) -> None:
    make(tmp_path, ".git/HEAD", "build/Dockerfile", "build/sub/Dockerfile", "x/Dockerfile.local")
    (tmp_path / ".gitignore").write_text("build/\n*.local\n")
    assert found(tmp_path) == []
    assert found(tmp_path, tmp_path / "build") == ["build/Dockerfile", "build/sub/Dockerfile"]
    assert found(tmp_path, tmp_path / "x" / "Dockerfile.local") == ["x/Dockerfile.local"]
    named = discover([tmp_path / "x" / "Dockerfile.local", tmp_path / "build"])
    assert [f.named for f in named] == [True, False, False]


def test_gitignore_counts_outside_a_repository(tmp_path: Path) -> None:
    make(tmp_path, "a/Dockerfile", "b/Dockerfile")
    (tmp_path / ".gitignore").write_text("b/\n")
    assert found(tmp_path) == ["a/Dockerfile"]
    assert [p.name for p in walk(tmp_path, gitignore=False)] == ["Dockerfile", "Dockerfile"]


def test_each_file_once_and_missing_paths(tmp_path: Path) -> None:
    make(tmp_path, "Dockerfile")
    assert found(tmp_path, tmp_path, tmp_path / "Dockerfile", tmp_path) == ["Dockerfile"]
    with pytest.raises(FileMissing):
        find_dockerfiles([tmp_path / "nope"])


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    make(tmp_path, "real/Dockerfile")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "loop").symlink_to(tmp_path)
    assert found(tmp_path) == ["real/Dockerfile"]


def test_relative_paths_stay_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, "svc/Dockerfile")
    monkeypatch.chdir(tmp_path)
    assert find_dockerfiles([Path(".")]) == [Path("svc/Dockerfile")]
    assert find_dockerfiles([Path("svc")]) == [Path("svc/Dockerfile")]


def test_thousands_of_files_quickly_and_ignored_folders_pruned(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("vendor/\n*.tmp\n")
    for i in range(1500):
        folder = tmp_path / f"svc{i // 50}" / f"app{i}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text("FROM a\n")
        (folder / "main.go").write_text("package main\n")
    heavy = tmp_path / "vendor" / "deep"
    heavy.mkdir(parents=True)
    for i in range(3000):
        (heavy / f"f{i}").write_text("")
    start = time.process_time()
    paths = find_dockerfiles([tmp_path])
    elapsed = time.process_time() - start
    assert len(paths) == 1500
    assert elapsed < 2.0, f"{elapsed:.2f}s for 1500 Dockerfiles"


GIT_PATTERNS = {
    ".gitignore": "build/\n/logs\n*.local\n!**/keep/*.local\ndocs/**/Dockerfile\n"
    "a/**/b/\n\\#odd\n*.Dockerfile\n!api.Dockerfile\n[Tt]mp*/\n",
    "svc/.gitignore": "gen/\n/Dockerfile.x\n!build/\n",
    "svc/keep/.gitignore": "*\n!*.local\n!.gitignore\n",
}
GIT_FILES = (
    "Dockerfile",
    "build/Dockerfile",
    "logs/Dockerfile",
    "svc/logs/Dockerfile",
    "svc/Dockerfile.x",
    "svc/sub/Dockerfile.x",
    "svc/gen/Dockerfile",
    "svc/build/Dockerfile",
    "svc/keep/Dockerfile.local",
    "svc/keep/Dockerfile",
    "x/Dockerfile.local",
    "docs/Dockerfile",
    "docs/a/b/Dockerfile",
    "a/b/Dockerfile",
    "a/x/y/b/Dockerfile",
    "a/x/Dockerfile",
    "#odd/Dockerfile",
    "web.Dockerfile",
    "api.Dockerfile",
    "tmp1/Dockerfile",
    "Tmp2/Dockerfile",
    "tmpfile/Dockerfile.tmpx",
)


def test_agrees_with_git(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("no git")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    make(tmp_path, *GIT_FILES)
    for name, text in GIT_PATTERNS.items():
        (tmp_path / name).write_text(text)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.split("\n")
    expected = sorted(p for p in listed if p and is_dockerfile_name(Path(p).name))
    assert sorted(found(tmp_path)) == expected
    assert "svc/keep/Dockerfile.local" in expected  # the table exercises re-inclusion
    assert len(expected) == 7, expected
