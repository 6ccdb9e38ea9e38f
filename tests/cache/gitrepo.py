"""Git repositories the cache tests build: commits with known changed files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.environ.get("HOME", "/nonexistent"),
}


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.count = 0

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.root), "-c", "commit.gpgsign=false", *args],
            capture_output=True,
            text=True,
            env=_ENV,
            check=True,
        )
        return done.stdout

    def commit(self, files: dict[str, str | None], message: str | None = None) -> str:
        """Write (or, for None, delete) ``files`` and commit them."""
        for name, text in files.items():
            path = self.root / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.count += 1
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message or f"commit {self.count}")
        return self.git("rev-parse", "HEAD").strip()
