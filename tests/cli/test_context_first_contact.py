"""`keelhaul context` on small projects a newcomer has: a private key a COPY brings in is a
finding with the advice that helps (not a .dockerignore line the writer then refuses); the
Dockerfile is not unused context; no empty headings or doubled .env lines; a final newline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_context_cli import run, tree

KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "-----END OPENSSH PRIVATE KEY-----\n")  # fmt: skip
COPIES_KEY = "FROM alpine:3.20\nCOPY id_rsa /root/.ssh/id_rsa\nCOPY app.py /app/\n"


def key_project(root: Path) -> Path:
    return tree(root, {"Dockerfile": COPIES_KEY, "id_rsa": KEY, "app.py": "print(1)\n"})


def test_copied_private_key_fails(tmp_path: Path) -> None:
    code, _out = run(str(key_project(tmp_path)))
    assert code == 1


def test_copied_private_key_is_a_finding(tmp_path: Path) -> None:
    _code, out = run(str(key_project(tmp_path)), "--format", "json")
    codes = [f["code"] for f in json.loads(out)["findings"]["findings"]]
    assert codes == ["KH205"]


def test_copied_private_key_gets_the_build_secret_advice(tmp_path: Path) -> None:
    _code, out = run(str(key_project(tmp_path)))
    assert "do not copy a private key into the image" in out
    assert "RUN --mount=type=secret" in out


def test_copied_private_key_gets_no_dockerignore_line(tmp_path: Path) -> None:
    _code, out = run(str(key_project(tmp_path)), "--format", "json")
    data = json.loads(out)
    assert [s["line"] for s in data["suggested_lines"]] == []
    assert data["secrets"][0]["copied"] == {"instruction": "COPY", "line": 2, "stage": "0"}


def test_dockerfile_is_not_unused(tmp_path: Path) -> None:
    tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\nCOPY app.py /app/\n", "app.py": "x\n",
                    ".dockerignore": "*.md\n", "notes.txt": "n\n"})  # fmt: skip
    _code, out = run(str(tmp_path), "--format", "json")
    assert json.loads(out)["unused"]["paths"] == ["notes.txt"]


def test_no_empty_largest_folders_heading(tmp_path: Path) -> None:
    tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\nCOPY app.py /app/\n", "app.py": "x\n"})
    _code, out = run(str(tmp_path))
    assert "Largest folders" not in out


def test_one_line_for_env_files_at_every_depth(tmp_path: Path) -> None:
    tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\nCOPY app.py /app/\n", "app.py": "x\n",
                    ".env": "A=1\n", "sub/.env": "B=2\n"})  # fmt: skip
    _code, out = run(str(tmp_path), "--format", "json")
    lines = [s["line"] for s in json.loads(out)["suggested_lines"]]
    assert lines.count("**/.env*") == 1
    assert ".env*" not in lines


def test_text_report_ends_with_a_newline(tmp_path: Path) -> None:
    _code, out = run(str(key_project(tmp_path)))
    assert out.endswith("\n")
