"""The .dockerignore fix: created or completed from what the context holds, never breaking a COPY."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NODE = (
    "FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\n"
    'COPY . .\nUSER node\nCMD ["node", "server.js"]\n'
)


def project(root: Path, dockerfile: str, files: dict[str, str]) -> Path:
    for name, text in {"Dockerfile": dockerfile, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def fix(root: Path, *args: str, unsafe: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "keelhaul", "--no-color", "fix", "--no-config"]
    cmd += ["--select", "KH230,KH231,KH232", *(["--unsafe-fixes"] if unsafe else []), *args]
    cmd += ["."]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)


CLUTTER = {
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/x/index.js": "\n",
    ".env": "TOKEN=abc\n",
    "npm-debug.log": "log\n",
    "package.json": "{}\n",
    "package-lock.json": "{}\n",
    "server.js": "console.log(1)\n",
}


def test_creates_a_dockerignore_from_what_the_context_holds(tmp_path: Path) -> None:
    root = project(tmp_path, NODE, CLUTTER)
    assert fix(root, "--diff").returncode == 1
    assert not (root / ".dockerignore").exists()  # --diff writes nothing
    assert fix(root).returncode == 0
    lines = (root / ".dockerignore").read_text().splitlines()
    assert set(lines) == {".git", "node_modules", ".env*", "*.log"}
    assert fix(root, "--check").returncode == 0  # idempotent: nothing left to do


def test_completes_an_existing_one_keeping_its_lines(tmp_path: Path) -> None:
    root = project(tmp_path, NODE, {**CLUTTER, ".dockerignore": "# mine\n*.md"})
    assert fix(root).returncode == 0
    text = (root / ".dockerignore").read_text()
    assert text.startswith("# mine\n*.md\n")
    assert ".git\n" in text


@pytest.mark.parametrize(
    ("dockerfile", "kept"),
    [
        # A COPY that names the log file needs it: the fix must not exclude it.
        (NODE.replace("COPY . .", "COPY npm-debug.log /tmp/\nCOPY . ."), "*.log"),
        # A RUN that calls git (version stamping) reads .git.
        (NODE.replace("USER node", "RUN git describe --tags > VERSION\nUSER node"), ".git"),
    ],
)
def test_never_excludes_what_the_build_needs(tmp_path: Path, dockerfile: str, kept: str) -> None:
    root = project(tmp_path, dockerfile, CLUTTER)
    fix(root)
    lines = (root / ".dockerignore").read_text().splitlines()
    assert kept not in lines


def test_leaving_out_git_is_unsafe(tmp_path: Path) -> None:
    """A build step keelhaul cannot see into (setuptools-scm, `git describe` in a Makefile)
    may read .git, the program a .env: a fix that leaves them out applies only with
    --unsafe-fixes, and -v says so."""
    root = project(tmp_path, NODE, CLUTTER)
    shown = fix(root, "-v", unsafe=False)
    assert shown.returncode == 0
    assert not (root / ".dockerignore").exists()
    assert "KH230 has an unsafe fix" in shown.stderr
    assert ".git leaves the build context" in shown.stderr
    # .env: a program may load it at run time (dotenv)
    env_only = {k: v for k, v in CLUTTER.items() if not k.startswith(".git/")}
    shown = fix(project(tmp_path / "env", NODE, env_only), "-v", unsafe=False)
    assert "a program that loads them at run time" in shown.stderr
    plain = {k: v for k, v in env_only.items() if k != ".env"}
    other = project(tmp_path / "other", NODE, plain)
    assert fix(other, unsafe=False).returncode == 0  # neither: the safe fix applies
    assert set((other / ".dockerignore").read_text().splitlines()) == {"node_modules", "*.log"}
