"""Replaying git repositories the tests create: exact rebuild rates before and after the
dependency-first reorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.cache.expensive import expensive_steps
from keelhaul.cache.history import GitError, Replay, layout, read_blobs, read_log, replay
from keelhaul.cache.keys import CacheModel
from keelhaul.cache.rates import Rates, rates
from keelhaul.cache.reorder import reordered
from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse

from .gitrepo import Repo

NODE = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
CMD ["node", "dist/index.js"]
"""


def node_app(repo: Repo, folder: str = "") -> None:
    prefix = f"{folder}/" if folder else ""
    repo.commit(
        {
            f"{prefix}Dockerfile": NODE,
            f"{prefix}package.json": '{"name": "x"}\n',
            f"{prefix}package-lock.json": "{}\n",
            f"{prefix}src/index.js": "1\n",
            f"{prefix}.dockerignore": "node_modules\n*.md\n",
        }
    )


def replayed(
    root: Path, rev_range: str, folder: str = "", last: int | None = None
) -> tuple[Replay, Rates]:
    context = root / folder if folder else root
    dockerfile = context / "Dockerfile"
    place = layout(context, dockerfile)
    build_context = BuildContext.read(context, dockerfile)

    def reorder(text: str) -> str | None:
        return reordered(text, build_context)

    history = replay(place, rev_range, last, {}, None, reorder)
    assert history.final_text is not None
    final_tree = parse(history.final_text)
    final = CacheModel.of(final_tree)
    fixed = CacheModel.of(parse(history.final_reordered)) if history.final_reordered else None
    return history, rates(history, final, fixed, expensive_steps(final_tree))


def table(result: Rates) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """Instruction -> ((rebuilt, of) now, (rebuilt, of) after the reorder)."""
    return {
        r.text: ((r.now.rebuilt, r.now.present), (r.after.rebuilt, r.after.present))
        for r in result.rows
    }


@pytest.mark.parametrize("folder", ["", "services/web"])
def test_rates_before_and_after_reorder(tmp_path: Path, folder: str) -> None:
    repo = Repo(tmp_path / "repo")
    node_app(repo, folder)
    prefix = f"{folder}/" if folder else ""
    for i in range(6):
        repo.commit({f"{prefix}src/index.js": f"{i}\n"})  # 6 source changes
    repo.commit({f"{prefix}package.json": '{"name": "y"}\n'})  # 1 manifest change
    repo.commit({f"{prefix}README.md": "docs\n"})  # ignored by .dockerignore
    repo.commit({"elsewhere/notes.txt": "x\n"})  # outside the context (or in it, at the root)
    _, result = replayed(repo.root, "HEAD~9..HEAD", folder)
    rows = table(result)
    # at the root, elsewhere/notes.txt is inside the context: COPY . . takes it
    outside = 0 if folder else 1
    assert rows["RUN npm ci"] == ((7 + outside, 9), (1, 9))
    assert rows["RUN npm run build"] == ((7 + outside, 9), (7 + outside, 9))
    assert rows["COPY package.json package-lock.json ./"] == ((0, 0), (1, 9))
    assert rows["FROM node:20"] == ((0, 9), (0, 9))
    assert result.commits == 9
    assert result.replayed == 9
    assert result.reorder
    npm_ci = next(r for r in result.rows if r.text == "RUN npm ci")
    assert npm_ci.line == 4
    assert npm_ci.after_line == 4
    assert npm_ci.expensive == "dependency install: npm ci"


def test_dockerfile_change_rebuilds_from_first_changed_instruction(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    repo.commit({"Dockerfile": NODE.replace("npm run build", "npm run build:prod")})
    repo.commit({"Dockerfile": NODE.replace("npm run build", "npm run build:prod") + "LABEL x=1\n"})
    history, result = replayed(repo.root, "HEAD~2..HEAD")
    first, second = history.commits
    assert first.now is not None
    assert second.now is not None
    # The Dockerfile is in the context: COPY . . sees it change as a file too.
    assert [s.line for s in first.now.rebuilt_steps] == [3, 4, 5]
    assert "Dockerfile changed" in first.note
    rows = table(result)
    assert rows["RUN npm run build:prod"][0] == (2, 2)


def test_dockerfile_change_when_ignored(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    repo.commit({".dockerignore": "node_modules\n*.md\nDockerfile\n.dockerignore\n"})
    repo.commit({"Dockerfile": NODE.replace("npm run build", "npm run build:prod")})
    history, _ = replayed(repo.root, "HEAD~1..HEAD")
    (only,) = history.commits
    assert only.now is not None
    assert [s.line for s in only.now.rebuilt_steps] == [5]


def test_ignore_file_change_counts_files_it_lets_in(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    repo.commit({"README.md": "docs\n"})
    repo.commit({".dockerignore": "node_modules\n"})  # README.md is now sent
    history, _ = replayed(repo.root, "HEAD~2..HEAD")
    readme, ignore = history.commits
    assert readme.now is not None
    assert readme.now.rebuilt_steps == []
    assert ignore.now is not None
    assert ignore.now.change.files >= {"README.md", ".dockerignore"}
    assert "ignore file changed" in ignore.note


def test_commit_before_the_dockerfile_predates_it(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit({"README": "x\n"})
    node_app(repo)
    history, result = replayed(repo.root, "HEAD")
    assert next(c.note for c in history.commits) == "predates the Dockerfile"
    assert (result.commits, result.predating, result.replayed) == (1, 1, 1)
    # the first build has a cold cache: everything runs
    assert table(result)["RUN npm ci"][0] == (1, 1)


def test_last_n_commits(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    for i in range(5):
        repo.commit({"src/index.js": f"{i}\n"})
    history, result = replayed(repo.root, "HEAD", last=3)
    assert len(history.commits) == 3
    assert table(result)["RUN npm ci"][0] == (3, 3)


def test_merge_commits_compare_with_first_parent(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"src/index.js": "feature\n"})
    repo.commit({"README.md": "feature docs\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"docs.md": "main\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
    log = read_log(repo.root, "HEAD~2..HEAD", None)
    assert [c.subject for c in log] == ["commit 4", "merge"]
    assert log[1].files == ("README.md", "src/index.js")


def test_read_blobs_missing_and_present(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    sha = repo.commit({"a.txt": "hello\n"})
    blobs = read_blobs(repo.root, [f"{sha}:a.txt", f"{sha}:nope", f"{sha}:"])
    assert blobs == {f"{sha}:a.txt": "hello\n", f"{sha}:nope": None, f"{sha}:": None}


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="rev-parse"):
        layout(tmp_path, tmp_path / "Dockerfile")


def test_bad_range(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    node_app(repo)
    with pytest.raises(GitError, match="git log"):
        read_log(repo.root, "HEAD~40..HEAD", None)
    with pytest.raises(GitError, match="not a revision range"):
        read_log(repo.root, "--all", None)


@pytest.mark.parametrize(
    "ignore",
    [
        "node_modules\n*.md\n",
        "docs/\n!docs/keep.md\n",
        "*\n!src\n!package.json\n",
        "**/*.log\n!important/**\n",
        "a/b\n!a/b/c/*.txt\n",
        "dist\n!dist/**/*.map\n",
    ],
)
def test_folder_cached_verdicts_agree_with_dockerignore(ignore: str) -> None:
    from keelhaul.cache.history import _Sent
    from keelhaul.context.dockerignore import DockerIgnore

    patterns = DockerIgnore.parse(ignore)
    paths = [
        "README.md", "docs/keep.md", "docs/other.md", "docs/sub/keep.md", "src/a.js",
        "node_modules/x/index.js", "package.json", "important/x.log", "deep/er/x.log",
        "a/b/c/d.txt", "a/b/c/e.md", "a/b/x.txt", "a/c.txt", "dist/app.js", "dist/js/app.js.map",
    ]  # fmt: skip
    sent = _Sent(patterns)
    assert [sent(p) for p in paths] == [not patterns.excludes(p) for p in paths]
