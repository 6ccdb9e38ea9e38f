"""Reading a build context from disk: which ignore file applies, what the listing holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext, find_ignore_file
from keelhaul.context.dockerignore import DockerIgnoreError
from keelhaul.context.notable import NotableKind
from keelhaul.errors import FileMissing

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEdummy\n-----END RSA PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIDdummy\n-----END CERTIFICATE-----\n"


def make(root: Path, files: dict[str, str]) -> Path:
    """Files (path -> content; a path ending in ``/`` is an empty folder) under ``root``."""
    for name, content in files.items():
        target = root / name
        if name.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return root


# --- which ignore file ----------------------------------------------------------------------


def test_no_ignore_file(tmp_path: Path) -> None:
    make(tmp_path, {"Dockerfile": "FROM scratch\n", "app.py": ""})
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    assert context.ignore_file is None
    assert context.dockerignore is None
    assert not context.has_patterns
    assert context.ignore_name == ".dockerignore"
    assert not context.excludes("app.py")


def test_context_ignore_file(tmp_path: Path) -> None:
    make(tmp_path, {"Dockerfile": "", ".dockerignore": "*.log\n", "a.log": "x"})
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    assert context.ignore_file == tmp_path / ".dockerignore"
    assert context.has_patterns
    assert context.excludes("a.log")
    entry = context.entry("a.log")
    assert entry is not None
    assert not entry.sent


def test_dockerfile_specific_ignore_file_wins_even_when_empty(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".dockerignore": "*.log\n",
            "docker/app.Dockerfile": "FROM scratch\n",
            "docker/app.Dockerfile.dockerignore": "# nothing ignored\n",
        },
    )
    dockerfile = tmp_path / "docker" / "app.Dockerfile"
    context = BuildContext.read(tmp_path, dockerfile)
    assert context.ignore_file == tmp_path / "docker" / "app.Dockerfile.dockerignore"
    assert context.ignore_name == "app.Dockerfile.dockerignore"
    assert context.dockerignore is not None
    assert not context.has_patterns
    # From stdin there is no Dockerfile name: the context's file applies.
    assert find_ignore_file(tmp_path, None) == tmp_path / ".dockerignore"


def test_ignore_file_of_another_dockerfile_does_not_apply(tmp_path: Path) -> None:
    make(tmp_path, {"Dockerfile": "", "other.Dockerfile.dockerignore": "*\n"})
    assert find_ignore_file(tmp_path, tmp_path / "Dockerfile") is None


def test_bad_ignore_file_is_a_located_error(tmp_path: Path) -> None:
    make(tmp_path, {".dockerignore": "ok\n[oops\n"})
    with pytest.raises(DockerIgnoreError) as caught:
        BuildContext.read(tmp_path, None)
    assert caught.value.position.line == 2
    assert str(tmp_path / ".dockerignore") in str(caught.value)


def test_missing_context_folder(tmp_path: Path) -> None:
    with pytest.raises(FileMissing):
        BuildContext.read(tmp_path / "nope", None)


# --- the listing ----------------------------------------------------------------------------


def test_listing_is_breadth_first_and_sorted(tmp_path: Path) -> None:
    make(tmp_path, {"b/inner.txt": "1", "a.txt": "12", "c/": ""})
    context = BuildContext.read(tmp_path, None)
    assert [e.path for e in context.entries] == ["a.txt", "b", "c", "b/inner.txt"]
    assert [e.size for e in context.entries] == [2, 0, 0, 1]
    assert context.complete


def test_heavy_and_excluded_folders_are_not_entered(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".dockerignore": "build\n",
            ".git/HEAD": "ref: x\n",
            "node_modules/left-pad/index.js": "",
            "venv/pyvenv.cfg": "home = /usr\n",
            "venv/lib/x.py": "",
            "build/out.bin": "",
            "src/main.py": "",
        },
    )
    context = BuildContext.read(tmp_path, None)
    paths = [e.path for e in context.entries]
    assert paths == [".dockerignore", ".git", "build", "node_modules", "src", "venv", "src/main.py"]
    kinds = {e.path: e.kind for e in context.notable}
    assert kinds == {
        ".git": NotableKind.VCS,
        "build": NotableKind.BUILD_OUTPUT,
        "node_modules": NotableKind.NODE_MODULES,
        "venv": NotableKind.VIRTUALENV,
    }
    build = context.entry("build")
    assert build is not None
    assert not build.sent


def test_exception_keeps_an_excluded_folder_walked(tmp_path: Path) -> None:
    make(tmp_path, {".dockerignore": "docs\n!docs/README.md\n", "docs/README.md": "", "docs/x": ""})
    context = BuildContext.read(tmp_path, None)
    sent = {e.path: e.sent for e in context.entries}
    assert sent == {".dockerignore": True, "docs": False, "docs/README.md": True, "docs/x": False}


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        (".env", "SECRET=1\n", NotableKind.ENV_FILE),
        (".env", "", None),  # empty: nothing to leak
        (".env.production", "A=1\n", NotableKind.ENV_FILE),
        ("prod.env", "A=1\n", NotableKind.ENV_FILE),
        (".env.example", "A=\n", None),
        (".env.sample", "A=\n", None),
        ("server.key", PRIVATE_KEY, NotableKind.PRIVATE_KEY),
        ("server.pem", PRIVATE_KEY, NotableKind.PRIVATE_KEY),
        ("ca.pem", CERTIFICATE, None),
        ("gpg.key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", None),
        ("signing.key", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n", NotableKind.PRIVATE_KEY),
        ("id_ed25519", "anything", NotableKind.PRIVATE_KEY),
        ("id_ed25519.pub", "ssh-ed25519 AAAA", None),
        ("bundle.p12", "binary", NotableKind.PRIVATE_KEY),
        (".npmrc", "//registry.npmjs.org/:_authToken=abc\n", NotableKind.CREDENTIALS),
        (".npmrc", "registry=https://registry.npmjs.org/\n", None),
        (".pypirc", "[pypi]\nusername = me\npassword = x\n", NotableKind.CREDENTIALS),
        (".git-credentials", "https://me:tok@github.com\n", NotableKind.CREDENTIALS),
        ("app.log", "x", NotableKind.LOG),
        ("app.log.1", "x", NotableKind.LOG),
        ("npm-debug.log", "x", NotableKind.LOG),
        ("catalog.py", "x", None),
        (".coverage", "x", NotableKind.COVERAGE),
        (".git", "gitdir: ../.git/worktrees/x\n", NotableKind.VCS),
    ],
)
def test_notable_files(tmp_path: Path, name: str, content: str, kind: NotableKind | None) -> None:
    make(tmp_path, {name: content})
    entry = BuildContext.read(tmp_path, None).entry(name)
    assert entry is not None
    assert entry.kind is kind


def test_notable_secrets_below_the_top(tmp_path: Path) -> None:
    make(tmp_path, {"config/.env": "A=1\n", "deploy/certs/tls.key": PRIVATE_KEY})
    context = BuildContext.read(tmp_path, None)
    secret = {e.path for e in context.notable if e.kind is not None and e.kind.is_secret}
    assert secret == {"config/.env", "deploy/certs/tls.key"}


def test_bounds(tmp_path: Path) -> None:
    make(tmp_path, {f"f{i:03}": "" for i in range(50)} | {"a/b/c/d/e/deep.txt": ""})
    small = BuildContext.read(tmp_path, None, max_entries=10)
    assert len(small.entries) == 10
    assert not small.complete
    shallow = BuildContext.read(tmp_path, None, max_depth=2)
    assert shallow.entry("a/b") is not None
    assert shallow.entry("a/b/c") is None
    assert not shallow.complete
    whole = BuildContext.read(tmp_path, None)
    assert whole.entry("a/b/c/d") is not None  # four levels by default


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    make(tmp_path, {"real/file": ""})
    os.symlink(tmp_path / "real", tmp_path / "link")
    context = BuildContext.read(tmp_path, None)
    link = context.entry("link")
    assert link is not None
    assert not link.is_dir
    assert context.entry("link/file") is None
