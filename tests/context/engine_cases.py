"""The .dockerignore cases proved against a real Docker Engine, and the code that asks it.

Each case is an ignore file and a small tree. The engine builds ``COPY . /ctx`` from it and
lists ``/ctx``; keelhaul's walk must list the same files and folders. The engine's answers are
recorded in ``data/dockerignore_engine.json`` so the table also runs without Docker.

Record again (needs the engine): ``.venv/bin/python -m tests.context.engine_cases``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from keelhaul.context.walk import sent_paths, walk_context

RECORDING = Path(__file__).parent / "data" / "dockerignore_engine.json"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "dockerignore"
#: The builder the recording comes from: BuildKit, the one that reads <name>.dockerignore.
BUILDER = "buildkit (DOCKER_BUILDKIT=1, docker 20.10 client and engine)"


@dataclass(frozen=True)
class Case:
    name: str
    ignore: str
    """The ignore file's text (None-like empty string: an empty file)."""
    tree: tuple[str, ...]
    """Files; a path ending in ``/`` is an empty folder."""
    dockerfile: str = "Dockerfile"
    """Where the Dockerfile is, relative to the context (``-f``)."""
    ignore_name: str = ".dockerignore"
    """Where the ignore file is written, relative to the context."""
    extra: dict[str, str] = field(default_factory=dict)
    """More files with given content (another ignore file...)."""
    current: tuple[str, ...] | None = None
    """Where current BuildKit (which keelhaul follows) sends something else than the recorded
    Docker 20.10 engine: what it sends. See :data:`VERSION_NOTES`."""


#: Why a case's engine answer and keelhaul's differ: Docker 20.10 predates two fixes.
VERSION_NOTES = {
    "reinclude-wildcard-exception": "fsutil before 2023 (Docker 20.10) skips an excluded "
    "folder unless an exception's text starts with the folder's path; current fsutil also "
    "enters it when an exception has a wildcard, so `!*/keep` brings a/keep back",
    "regexp-special-characters": "moby's fileutils before 22.06 escaped only `.` and `$`, so "
    "`a+b.txt` was the regexp a+b and matched aab.txt; current patternmatcher escapes "
    "`.+()|{}$` and the pattern is literal",
}


_LOGS = ("a.log", "x/b.log", "x/y/c.log", "keep.txt", "x/keep.txt")

CASES: tuple[Case, ...] = (
    Case("double-star-suffix", "**/*.log\n", _LOGS),
    Case("star-top-level-only", "*.log\n", _LOGS),
    Case("star-dir-star", "*/*.log\n", _LOGS),
    Case("exception-last-wins", "*.md\n!README.md\n",
         ("README.md", "CHANGES.md", "docs/x.md", "docs/README.md")),
    Case("exception-then-exclude", "!README.md\n*.md\n", ("README.md", "CHANGES.md", "a.txt")),
    Case("reinclude-under-excluded-folder", "docs\n!docs/keep.md\n",
         ("docs/a.md", "docs/keep.md", "docs/sub/b.md", "other.txt")),
    Case("reinclude-wildcard-exception", "*\n!*/keep\n",
         ("a/keep", "a/other", "keep", "b/c/keep", "b/keep"),
         current=("a/keep", "b/keep", "a/", "b/")),
    Case("exception-cannot-reach-skipped-folder", "a\n!keep\n", ("a/keep", "keep", "b/keep")),
    Case("reinclude-deep-exception", "*\n!src/app/main.go\n",
         ("src/app/main.go", "src/app/other.go", "src/lib.go", "README.md")),
    Case("exclude-again-inside-exception", "dir\n!dir/sub\ndir/sub/*.tmp\n",
         ("dir/a", "dir/sub/b", "dir/sub/c.tmp", "dir/sub/deeper/d.tmp")),
    Case("leading-slash-and-dot-slash", "/build\n./dist\n",
         ("build/x", "dist/y", "sub/build/z", "sub/dist/w", "buildx")),
    Case("trailing-and-leading-spaces", "secret.txt   \n  spaced.txt\n",
         ("secret.txt", "spaced.txt", "other.txt")),
    Case("comments", "# comment\n#not-a-pattern\n  # indented\n",
         ("#not-a-pattern", "# indented", "comment", "a.txt")),
    Case("character-classes", "[a-c].txt\n[^z]z.txt\n[!x]y.txt\n",
         ("a.txt", "d.txt", "zz.txt", "az.txt", "xy.txt", "!y.txt", "zy.txt")),
    Case("question-mark", "file?.txt\n", ("file1.txt", "file12.txt", "sub/file2.txt", "file.txt")),
    Case("escapes", "\\*.txt\n\\[x\\]\nq\\?\n", ("*.txt", "a.txt", "[x]", "x", "q?", "qa")),
    Case("folder-pattern", "logs/\n", ("logs/a", "logs/b/c", "mylogs/d", "sub/logs/e")),
    Case("dockerfile-and-ignore-file-excluded", "Dockerfile\n.dockerignore\n", ("a.txt",)),
    Case("empty-lines", "\n\n   \nfoo\n\n\n", ("foo", "bar")),
    Case("dot-dot-cleaned", "a/../b\nc/d/..\n../e\n", ("a/z", "b/x", "c/y", "e", "d")),
    Case("double-star-middle", "a/**/z\n", ("a/z", "a/b/z", "a/b/c/z", "a/zz", "az", "b/a/z")),
    Case("trailing-double-star", "a/**\n", ("a/x", "a/b/y", "ab/c")),
    Case("trailing-star", "a/*\n", ("a/x", "a/b/y", "ab/c")),
    Case("everything-but-src", "*\n!src\n", ("src/a", "src/b/c", "other", ".hidden")),
    Case("double-star-everything", "**\n!src/**\n", ("src/a", "src/b/c", "other", "x/src/d")),
    Case("double-star-name", "**/node_modules\n",
         ("node_modules/x", "a/node_modules/y", "a/b/node_modules/z", "node_modules_x/k")),
    Case("regexp-special-characters", "a+b.txt\n(x).txt\n{y}.txt\n$z\nd.t\n",
         ("a+b.txt", "aab.txt", "(x).txt", "x.txt", "{y}.txt", "$z", "d.t", "dxt"),
         current=(".dockerignore", "Dockerfile", "aab.txt", "dxt", "x.txt")),
    Case("space-after-bang", "*.txt\n! keep.txt\n", ("keep.txt", "drop.txt")),
    Case("crlf-lines", "a.txt\r\nb.txt\r\n", ("a.txt", "b.txt", "c.txt")),
    Case("star-matches-dot-files", "*\n!x\n", (".env", ".git/HEAD", "x", "y")),
    Case("byte-order-mark", "\ufeffbom.txt\n", ("bom.txt", "other.txt")),
    Case("names-with-spaces", "my file.txt\n", ("my file.txt", "myfile.txt")),
    Case("empty-folders", "gone\n", ("empty/", "gone/", "full/x")),
    Case("nested-empty-folder-excluded", "a/b\n", ("a/b/", "a/c/", "a/d")),
    Case("exception-folder-with-trailing-slash", "*\n!keep/\n", ("keep/x", "keep/y/z", "drop/x")),
    Case("negated-star-star", "**/*.txt\n!**/keep.txt\n",
         ("a.txt", "keep.txt", "d/b.txt", "d/keep.txt", "d/e/keep.txt")),
    Case("no-patterns", "# only a comment\n", ("a", "b/c")),
    Case("dockerfile-specific-ignore-wins", "b.txt\n",
         ("a.txt", "b.txt", "sub/c.txt"), dockerfile="sub/app.Dockerfile",
         ignore_name=".dockerignore", extra={"sub/app.Dockerfile.dockerignore": "a.txt\n"}),
    Case("dockerfile-specific-ignore-empty", "b.txt\n", ("a.txt", "b.txt"),
         dockerfile="sub/app.Dockerfile", extra={"sub/app.Dockerfile.dockerignore": ""}),
)  # fmt: skip


# --- the corpus: every real .dockerignore over one shared tree ------------------------------

_GLOB_PART = re.compile(r"\[\^?([^\]]*)\]")


def _literal(pattern: str) -> str:
    """A path a pattern talks about: wildcards filled in with plain letters."""
    text = pattern.lstrip("!").strip()
    text = text.lstrip("/").removeprefix("./").rstrip("/")
    text = text.replace("**/", "").replace("/**", "/deep").replace("**", "all")
    text = _GLOB_PART.sub(lambda m: m.group(1)[:1] or "c", text)
    return text.replace("*", "x").replace("?", "q").replace("\\", "")


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def corpus_tree(files: list[Path]) -> tuple[str, ...]:
    """One tree holding what every corpus pattern names, at the top and one folder down."""
    paths: set[str] = {"README.md", "main.go", "src/app.py", "src/deep/x.log",
                       ".git/HEAD", "node_modules/pkg/index.js", "a.log", "sub/b.log"}  # fmt: skip
    for each in files:
        for line in each.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            literal = _literal(line)
            if not literal or literal in (".", ".."):
                continue
            # the ignore file itself is a file at the top: only nested copies become folders
            tops = () if literal in (".dockerignore", "listing.Dockerfile") else (literal,)
            for base in (*tops, f"nested/{literal}"):
                paths.add(f"{base}/inner.txt")
                paths.add(f"{base}/deeper/file.txt")
                paths.add(f"{base}.txt")
    # a path is a folder when anything lies below it; drop files that clash with folders
    folders = {p.rsplit("/", i)[0] for p in paths for i in range(1, p.count("/") + 1)}
    return tuple(sorted(p for p in paths if p not in folders))


def corpus_cases() -> list[Case]:
    files = corpus_files()
    tree = corpus_tree(files)
    if not files:
        return []
    # "Dockerfile" is a folder of the tree (patterns name it): the build file goes elsewhere
    name = "listing.Dockerfile"
    cases = [Case("corpus-tree", "", tree, dockerfile=name)]  # what nothing leaves out
    return cases + [
        Case(f"corpus:{p.relative_to(CORPUS)}", p.read_text(encoding="utf-8"), tree, name)
        for p in files
    ]


def all_cases() -> list[Case]:
    return [*CASES, *corpus_cases()]


# --- building a case on disk, and asking keelhaul and the engine ----------------------------


def materialise(case: Case, root: Path) -> None:
    for path in case.tree:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"{path}\n", encoding="utf-8")
    dockerfile = root / case.dockerfile
    dockerfile.parent.mkdir(parents=True, exist_ok=True)
    dockerfile.write_text("FROM scratch\nCOPY . /ctx\n", encoding="utf-8")
    (root / case.ignore_name).write_text(case.ignore, encoding="utf-8")
    for path, text in case.extra.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


def keelhaul_listing(case: Case, root: Path) -> list[str]:
    walk = walk_context(root, root / case.dockerfile)
    return list(sent_paths(walk))


#: Only the context, on an empty base: exported to the host and listed there. (A shell stage
#: to run `find` in would cost a whole copy of a base image per case with the vfs driver.)
_LISTER = "FROM scratch\nCOPY . /ctx\n"


def engine_listing(case: Case, root: Path, base: str, docker: str = "/usr/bin/docker") -> list[str]:
    """What BuildKit copies for ``COPY . /ctx``: built, exported, listed; no image kept.
    (``base`` is unused since the export needs no shell; kept for the callers.)"""
    materialise(case, root)
    dockerfile = root / case.dockerfile
    dockerfile.write_text(_LISTER, encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="kh-engine-") as out:
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        done = subprocess.run(
            [docker, "build", "--network", "host", "-q", "-f", str(dockerfile),
             "-o", f"type=local,dest={out}", str(root)],
            capture_output=True, text=True, env=env, check=False, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{case.name}: docker build failed:\n{done.stderr[-2000:]}")
        ctx = Path(out, "ctx")
        files: list[str] = []
        folders: list[str] = []
        for path in ctx.rglob("*") if ctx.is_dir() else ():
            rel = path.relative_to(ctx).as_posix()
            if path.is_dir() and not path.is_symlink():
                folders.append(rel + "/")
            else:
                files.append(rel)
    return sorted(files) + sorted(folders)


def load_recording() -> dict[str, list[str]]:
    """Case name -> the engine's listing (corpus cases are stored as what they leave out)."""
    data = json.loads(RECORDING.read_text(encoding="utf-8"))
    cases: dict[str, list[str]] = {}
    tree = data["cases"].get("corpus-tree", [])
    for name, listing in data["cases"].items():
        if isinstance(listing, dict):
            gone = set(listing["left_out_of_corpus_tree"])
            listing = [p for p in tree if p not in gone]
        cases[name] = listing
    return cases


def _compact(cases: dict[str, list[str]]) -> dict[str, object]:
    tree = cases.get("corpus-tree", [])
    out: dict[str, object] = {}
    for name, listing in cases.items():
        if name.startswith("corpus:") and set(listing) <= set(tree):
            kept = set(listing)
            out[name] = {"left_out_of_corpus_tree": [p for p in tree if p not in kept]}
        else:
            out[name] = listing
    return out


def record(base: str) -> None:
    cases: dict[str, list[str]] = {}
    for case in all_cases():
        with tempfile.TemporaryDirectory(prefix="kh-case-") as tmp:
            cases[case.name] = engine_listing(case, Path(tmp), base)
        print(case.name, len(cases[case.name]), file=sys.stderr)
    data = {"builder": BUILDER, "base": base, "cases": _compact(cases)}
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    record(sys.argv[1] if len(sys.argv) > 1 else "keelhaul-test/debian:bookworm")
