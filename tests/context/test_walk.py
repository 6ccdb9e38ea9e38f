"""The full context walk and what a Dockerfile uses of it, on real temporary trees."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from keelhaul.context.dockerignore import DockerIgnoreError
from keelhaul.context.usage import ContextUse, context_use, glob_regex, suggest_lines, unused_files
from keelhaul.context.walk import FolderKind, walk_context
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import FileMissing


def tree(root: Path, files: Mapping[str, str | int]) -> Path:
    """Files with text, or with that many bytes."""
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            target.write_bytes(b"x" * content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def uses(text: str) -> ContextUse:
    return context_use(resolve(parse(text.encode(), "Dockerfile")))


def test_counts_files_bytes_and_folders(tmp_path: Path) -> None:
    tree(tmp_path, {"a.txt": 10, "src/b.py": 20, "src/deep/c.py": 30, ".dockerignore": "x\n"})
    walk = walk_context(tmp_path)
    assert sorted(f.path for f in walk.files) == [".dockerignore", "a.txt", "src/b.py",
                                                  "src/deep/c.py"]  # fmt: skip
    assert walk.total_bytes == 62
    assert walk.folders == {"src", "src/deep"}
    assert walk.largest_files(1)[0].path == "src/deep/c.py"
    assert walk.largest_folders(2) == [("src", 50), ("src/deep", 30)]
    assert walk.top_level()[0] == ("src/", 2, 50)


def test_excluded_folders_are_not_entered(tmp_path: Path) -> None:
    tree(tmp_path, {".dockerignore": "build\n*.log\n", "build/x/y": 5, "a.log": 3, "b": 1})
    walk = walk_context(tmp_path)
    assert [f.path for f in walk.files] == [".dockerignore", "b"]
    assert walk.skipped_folders == 1


def test_exception_reaches_into_an_excluded_folder(tmp_path: Path) -> None:
    tree(tmp_path, {".dockerignore": "docs\n!docs/keep.md\n", "docs/a.md": 1, "docs/keep.md": 1})
    walk = walk_context(tmp_path)
    assert [f.path for f in walk.files] == [".dockerignore", "docs/keep.md"]
    assert walk.folders == {"docs"}


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    tree(tmp_path, {".dockerignore": "a\n", "sub/app.Dockerfile": "FROM scratch\n",
                    "sub/app.Dockerfile.dockerignore": "b\n", "a": 1, "b": 1})  # fmt: skip
    walk = walk_context(tmp_path, tmp_path / "sub" / "app.Dockerfile")
    paths = {f.path for f in walk.files}
    assert "a" in paths
    assert "b" not in paths
    assert walk.ignore_file == tmp_path / "sub" / "app.Dockerfile.dockerignore"


def test_vcs_and_dependency_folders(tmp_path: Path) -> None:
    tree(tmp_path, {".git/HEAD": 4, "node_modules/x/i.js": 10, "web/node_modules/y.js": 2,
                    "vendor/m.go": 3, "target/app": 6, "pkg/__pycache__/m.pyc": 7,
                    "env/pyvenv.cfg": "home=/usr\n", "env/lib/site.py": 1,
                    "src/main.py": 1})  # fmt: skip
    walk = walk_context(tmp_path)
    found = {(f.path, f.kind, f.files, f.size) for f in walk.notable_folders}
    assert found == {
        (".git", FolderKind.VCS, 1, 4),
        ("node_modules", FolderKind.DEPENDENCIES, 1, 10),
        ("web/node_modules", FolderKind.DEPENDENCIES, 1, 2),
        ("vendor", FolderKind.DEPENDENCIES, 1, 3),
        ("target", FolderKind.BUILD_OUTPUT, 1, 6),
        ("pkg/__pycache__", FolderKind.BUILD_OUTPUT, 1, 7),
        ("env", FolderKind.DEPENDENCIES, 2, 11),
    }


def test_an_ignored_dependency_folder_is_not_reported(tmp_path: Path) -> None:
    tree(tmp_path, {".dockerignore": "node_modules\n", "node_modules/x.js": 5, "a": 1})
    assert walk_context(tmp_path).notable_folders == []


def test_secrets_are_found_and_redacted(tmp_path: Path) -> None:
    token = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
    tree(tmp_path, {".env": f"GITHUB_TOKEN={token}\n", ".env.example": "TOKEN=\n",
                    "certs/server.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n",
                    "certs/server-key.pem": "-----BEGIN PRIVATE KEY-----\nMIIE\n",
                    "empty.env": ""})  # fmt: skip
    walk = walk_context(tmp_path)
    by_path = {s.path: s for s in walk.secrets}
    assert set(by_path) == {".env", "certs/server-key.pem"}
    shown = " ".join(by_path[".env"].matches)
    assert "ghp_" in shown
    assert token not in shown
    assert by_path["certs/server-key.pem"].kind == "private-key"


def test_missing_folder_and_bad_ignore_file(tmp_path: Path) -> None:
    with pytest.raises(FileMissing):
        walk_context(tmp_path / "nope")
    tree(tmp_path, {".dockerignore": "[a-\n"})
    with pytest.raises(DockerIgnoreError):
        walk_context(tmp_path)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "a.py", True),
        ("*.py", "d/a.py", False),
        ("src/*.py", "src/a.py", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[^a-c]x", "dx", True),
        ("[^a-c]x", "ax", False),
        ("\\*", "*", True),
        ("a.b", "axb", False),
    ],
)
def test_copy_sources_match_like_filepath_match(pattern: str, path: str, matches: bool) -> None:
    assert (glob_regex(pattern).match(path) is not None) is matches


FILES = {"src/a.py": 10, "src/b/c.py": 10, "docs/x.md": 100, "req.txt": 1, "conf/app.ini": 5,
         "Dockerfile": 1}  # fmt: skip


@pytest.mark.parametrize(
    ("dockerfile", "unused"),
    [
        ("FROM a\nCOPY . /app\n", []),
        ("FROM a\nCOPY * /app\n", []),
        ("FROM a\nCOPY src /app/src\n", ["Dockerfile", "conf/app.ini", "docs/x.md", "req.txt"]),
        ("FROM a\nCOPY ./src/ req.txt /app/\n", ["Dockerfile", "conf/app.ini", "docs/x.md"]),
        ("FROM a\nCOPY *.txt /app/\nCOPY c* /c/\n", ["Dockerfile", "docs/x.md", "src/a.py",
                                                       "src/b/c.py"]),
        ("FROM a AS b\nCOPY docs /d\nFROM c\nCOPY --from=b /d /d\nCOPY src/b /s\n",
         ["Dockerfile", "conf/app.ini", "req.txt", "src/a.py"]),
        ("FROM a\nRUN --mount=type=bind,source=conf,target=/c true\nCOPY src /s\n",
         ["Dockerfile", "docs/x.md", "req.txt"]),
        ("FROM a\nRUN --mount=type=bind,target=/c true\n", []),
        ("FROM a\nADD https://example.com/x /x\nCOPY <<EOF /y\nhi\nEOF\n",
         ["Dockerfile", "conf/app.ini", "docs/x.md", "req.txt", "src/a.py", "src/b/c.py"]),
        ("FROM a\nONBUILD COPY src /s\n",
         ["Dockerfile", "conf/app.ini", "docs/x.md", "req.txt"]),
    ],
)  # fmt: skip
def test_unused_files(tmp_path: Path, dockerfile: str, unused: list[str]) -> None:
    walk = walk_context(tree(tmp_path, FILES))
    found = unused_files(walk, uses(dockerfile))
    assert found is not None
    assert sorted(f.path for f in found) == unused


def test_a_variable_source_makes_unused_unknown(tmp_path: Path) -> None:
    walk = walk_context(tree(tmp_path, FILES))
    use = uses("FROM a\nARG SRC=src\nCOPY $SRC /app\n")
    assert unused_files(walk, use) is None
    assert "$SRC" in use.unknown[0]


def test_suggestions_name_the_bytes_they_save(tmp_path: Path) -> None:
    tree(tmp_path, {".git/objects/p": 1000, "node_modules/a.js": 500, "web/node_modules/b.js": 50,
                    "debug.log": 7, ".env": "A=b\n", "src/a.py": 3, "docs/x.md": 20})  # fmt: skip
    walk = walk_context(tmp_path)
    use = uses("FROM a\nCOPY src /s\n")
    got = {s.line: s.saves for s in suggest_lines(walk, use, unused_files(walk, use))}
    assert got == {".git": 1000, "**/node_modules": 550, "docs": 20, "*.log": 7, ".env*": 4}


def test_a_folder_copy_needs_is_not_suggested_for_vcs(tmp_path: Path) -> None:
    tree(tmp_path, {".git/HEAD": 10, "a": 1})
    walk = walk_context(tmp_path)
    use = uses("FROM a\nCOPY .git /g\nCOPY a /a\n")
    assert [s.line for s in suggest_lines(walk, use, unused_files(walk, use))] == []


def test_the_prefilter_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keelhaul.context.dockerignore import DockerIgnore
    from tests.context.engine_cases import all_cases, keelhaul_listing, materialise

    cases = all_cases()
    fast = []
    for i, case in enumerate(cases):
        materialise(case, tmp_path / str(i))
        fast.append(keelhaul_listing(case, tmp_path / str(i)))
    monkeypatch.setattr(DockerIgnore, "_cannot_match", lambda self, path: False)
    for i, case in enumerate(cases):
        assert keelhaul_listing(case, tmp_path / str(i)) == fast[i], case.name


@pytest.mark.parametrize(
    ("pattern", "name", "possible"),
    [("*.log", "a.log", True), ("*.log", "a.txt", False), ("[Tt]humbs.db", "thumbs.db", True),
     ("a\\*b", "a*b", True), ("a\\*b", "axb", False), ("x\\d", "x1", True), ("q?", "qz", True),
     ("[\\]x]y", "]y", True)],
)  # fmt: skip
def test_the_prefilter_lets_through_every_possible_name(
    pattern: str, name: str, possible: bool
) -> None:
    import re

    from keelhaul.context.dockerignore import _loose_regexp

    assert (re.fullmatch(_loose_regexp(pattern), name) is not None) is possible
