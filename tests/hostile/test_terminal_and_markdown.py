"""Issue 23 item 12: file names in layers and advisory ids reach ``image``, ``vulns`` and the
Action's Markdown job summary as text: no terminal escape sequence, no rich markup, no
Markdown link or image."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
from pathlib import Path

import pytest
from markdown_it import MarkdownIt  # rich's own dependency

from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.report import Report, render
from keelhaul.rule import Rule

#: Erase the line, move up, and a hyperlink: what a hostile name would do to a terminal.
ESCAPES = "\x1b[2K\x1b[1A\x1b]8;;https://evil.example/\x07"
MARKUP = "[red on red]hidden[/red on red]"
MARKDOWN = "![pixel](https://tracker.example/p.png)[click](https://evil.example/)"
HOSTILE = f"opt/{ESCAPES}{MARKUP}{MARKDOWN}.bin"


def links(markdown: str) -> list[str]:
    """The addresses of the links and images GitHub would render in ``markdown``."""
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    found = re.findall(r'(?:href|src)="([^"]*)"', rendered)
    return [html.unescape(urllib.parse.unquote(link)) for link in found]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args], cwd=cwd, capture_output=True, text=True,
        check=False, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


def docker_archive(folder: Path) -> Path:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        for name, blob in ((HOSTILE, b"k" * (3 << 20)), (f"root/{ESCAPES}{MARKDOWN}/id_rsa", key)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    data = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    config = {"architecture": "amd64", "os": "linux", "config": {"User": "app"},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]},
              "history": [{"created_by": f"/bin/sh -c echo {ESCAPES}{MARKUP}"}]}  # fmt: skip
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": ["t/t:1"], "Layers": ["l/layer.tar"]}]
    path = folder / "image.tar"
    with tarfile.open(path, "w") as tar:
        for name, blob in [("manifest.json", json.dumps(manifest).encode()),
                           (config_name, config_bytes), ("l/layer.tar", data)]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def test_image_text_shows_hostile_names_as_text(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path)
    done = run(tmp_path, "image", f"docker-archive:{archive}", "--no-config")
    assert done.returncode in (0, 1), done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "\\x1b[2K" in done.stdout  # shown escaped, not dropped: the reader sees it
    assert MARKUP in done.stdout  # markup printed as written, not applied


def test_image_markdown_has_no_link_or_image(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path)
    done = run(tmp_path, "image", f"docker-archive:{archive}", "--no-config", "--format",
               "markdown")  # fmt: skip
    assert "id\\_rsa" in done.stdout
    assert "\x1b" not in done.stdout
    assert links(done.stdout) == []


ADVISORY = f"GHSA-{ESCAPES}x{MARKDOWN}"


def test_markdown_escapes_advisory_ids_and_their_links() -> None:
    finding = Finding(ADVISORY, ADVISORY, Severity.ERROR, Category.SECURITY,
                      Location(f"lib/{MARKDOWN}`|`", 1), f"jinja2 2.7.1: {ADVISORY}")  # fmt: skip
    rule = Rule(ADVISORY, ADVISORY, Severity.ERROR, Category.SECURITY, "s", "",
                help_uri=f"https://osv.dev/vulnerability/{ADVISORY}")  # fmt: skip
    text = render("markdown", Report([finding], files=[finding.location.path],
                                     rules={ADVISORY: rule}))  # fmt: skip
    assert "\x1b" not in text
    assert links(text) == [f"https://osv.dev/vulnerability/{ADVISORY}"]
    table = [line for line in text.splitlines() if line.startswith("| 🔴")]
    assert len(table) == 1
    assert table[0].count(" | ") == 3  # four cells: nothing split or joined them
    # the one link is the rule's, its text escaped and its address percent-encoded
    assert table[0].count("](<https://osv.dev/vulnerability/") == 1


def test_text_report_escapes_codes_and_names() -> None:
    finding = Finding(ADVISORY, ADVISORY, Severity.ERROR, Category.SECURITY,
                      Location("(image)", 1), "m")  # fmt: skip
    for fmt in ("text", "concise"):
        assert "\x1b" not in render(fmt, Report([finding], files=["(image)"]))


def test_vulns_table_escapes_advisory_ids(tmp_path: Path) -> None:
    osv = tmp_path / "osv"
    osv.mkdir()
    record = {"id": ADVISORY, "modified": "2024-01-01T00:00:00Z", "summary": MARKUP,
              "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
                            "ranges": [{"type": "ECOSYSTEM",
                                        "events": [{"introduced": "0"}, {"fixed": "2.10"}]}]}]}  # fmt: skip
    (osv / "a.json").write_text(json.dumps(record))
    db = tmp_path / "osv.sqlite3"
    imported = run(tmp_path, "db", "import", "--db", str(db), str(osv))
    if imported.returncode != 0:
        pytest.skip(f"db import refused the record: {imported.stderr.strip()}")
    meta = tmp_path / "root/usr/local/lib/python3.11/site-packages/Jinja2-2.7.1.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Name: Jinja2\nVersion: 2.7.1\n")
    for fmt in ("table", "text", "markdown"):
        done = run(tmp_path, "vulns", "--db", str(db), str(tmp_path / "root"), "--format", fmt)
        assert done.returncode in (0, 1), done.stderr
        assert "GHSA-" in done.stdout
        assert "\x1b" not in done.stdout + done.stderr
        if fmt == "markdown":
            assert all(link.startswith("https://osv.dev/") for link in links(done.stdout))
