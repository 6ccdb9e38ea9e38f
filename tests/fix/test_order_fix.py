"""KH182's unsafe fix: copy the manifests, install, then copy the rest (dependency first)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.dockerfile.edits import split_lines
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding, Safety
from keelhaul.fix.fixing import FixOutcome, fix_target
from keelhaul.rules.dockerfile.build_cache._order_fixes import WHY_UNSAFE
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.selection import Vocabulary
from tests.conftest import corpus_stats
from tests.corpus import corpus_bytes, corpus_files
from tests.fix.test_fixing import fix as fix_with

RULES = dockerfile_rules()
VOCABULARY = Vocabulary(RULES)

NODE = "FROM node:20\nWORKDIR /app\n"
PY = "FROM python:3.12\nWORKDIR /app\n"


def checker(select: tuple[str, ...] = ("KH182",)) -> Checker:
    finder = ConfigFinder(VOCABULARY, isolated=True, overrides=Overrides(select=select))
    return Checker(finder, VOCABULARY, RULES, shellcheck=None)


def project(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# a file of the context\n")


def run_fix(src: str, root: Path | None, unsafe: bool = True) -> FixOutcome:
    """Fix ``src`` as the Dockerfile of ``root`` (its build context); None: context unknown."""
    if root is None:
        target = Target(Path("-"), "-", True, src.encode())
    else:
        target = Target(root / "Dockerfile", "Dockerfile", True, src.encode())
    return fix_target(checker(), target, src, unsafe)


def fixed(src: str, root: Path | None) -> str:
    outcome = run_fix(src, root)
    assert outcome.bug is None
    return outcome.after


def kh182(src: str, root: Path | None) -> list[Finding]:
    return [f for f in run_fix(src, root, unsafe=False).remaining if f.code == "KH182"]


# --------------------------------------------------------------------------- per ecosystem

CASES = [
    pytest.param(
        NODE + 'COPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n',
        ["package.json", "package-lock.json", "server.js", ".npmrc"],
        NODE + "COPY package.json package-lock.json .npmrc ./\nRUN npm ci\nCOPY . .\n"
        'CMD ["node", "server.js"]\n',
        id="npm",
    ),
    pytest.param(
        NODE + "COPY . .\nRUN yarn install --frozen-lockfile && yarn cache clean\n",
        ["package.json", "yarn.lock", ".yarnrc.yml", ".yarn/releases/yarn.cjs", "src/a.js"],
        NODE + "COPY package.json yarn.lock .yarnrc.yml ./\nCOPY .yarn ./.yarn/\n"
        "RUN yarn install --frozen-lockfile && yarn cache clean\nCOPY . .\n",
        id="yarn",
    ),
    pytest.param(
        NODE + "COPY . .\nRUN pnpm install --frozen-lockfile\n",
        ["package.json", "pnpm-lock.yaml", "index.js"],
        NODE + "COPY package.json pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile\n"
        "COPY . .\n",
        id="pnpm",
    ),
    pytest.param(
        PY + "COPY . .\nRUN pip install --no-cache-dir -r requirements.txt\n",
        None,  # context unknown: the file the install names
        PY + "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY . .\n",
        id="pip-r-no-context",
    ),
    pytest.param(
        PY + "COPY . .\nRUN pip install -r requirements.txt -c constraints.txt\n",
        ["requirements.txt", "requirements-base.txt", "constraints.txt", "app.py"],
        PY + "COPY requirements.txt constraints.txt requirements-base.txt ./\n"
        "RUN pip install -r requirements.txt -c constraints.txt\nCOPY . .\n",
        id="pip-r-siblings",
    ),
    pytest.param(
        PY + "COPY . .\nRUN python -m pip install -r requirements/prod.txt\n",
        ["requirements/prod.txt", "requirements/base.txt", "app.py"],
        PY + "COPY requirements/prod.txt requirements/base.txt ./requirements/\n"
        "RUN python -m pip install -r requirements/prod.txt\nCOPY . .\n",
        id="pip-r-folder",
    ),
    pytest.param(
        PY + "COPY . .\nRUN poetry install --no-root --no-interaction\n",
        ["pyproject.toml", "poetry.lock", "app.py"],
        PY + "COPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root --no-interaction\n"
        "COPY . .\n",
        id="poetry",
    ),
    pytest.param(
        PY + "COPY . .\nRUN uv sync --frozen --no-install-project\n",
        ["pyproject.toml", "uv.lock", ".python-version", "app.py"],
        PY + "COPY pyproject.toml uv.lock .python-version ./\n"
        "RUN uv sync --frozen --no-install-project\nCOPY . .\n",
        id="uv-sync",
    ),
    pytest.param(
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app\n",
        ["go.mod", "go.sum", "main.go"],
        "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
        "COPY . .\nRUN go build -o /app\n",
        id="go",
    ),
    pytest.param(
        "FROM ruby:3.3\nWORKDIR /app\nCOPY . .\nRUN bundle install --jobs 4\n",
        ["Gemfile", "Gemfile.lock", "app.rb"],
        "FROM ruby:3.3\nWORKDIR /app\nCOPY Gemfile Gemfile.lock ./\nRUN bundle install --jobs 4\n"
        "COPY . .\n",
        id="bundler",
    ),
    pytest.param(
        "FROM composer:2\nWORKDIR /app\nCOPY . /app/\n"
        "RUN composer install --no-dev --no-scripts --no-autoloader\n",
        ["composer.json", "composer.lock", "index.php"],
        "FROM composer:2\nWORKDIR /app\nCOPY composer.json composer.lock /app/\n"
        "RUN composer install --no-dev --no-scripts --no-autoloader\nCOPY . /app/\n",
        id="composer",
    ),
    pytest.param(  # the manifests were copied before the sources: only the RUN moves
        NODE + "COPY package.json package-lock.json ./\nCOPY . .\nRUN npm ci\n",
        ["package.json", "package-lock.json"],
        NODE + "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n",
        id="already-copied",
    ),
    pytest.param(  # a folder of the context: its manifests are below it
        NODE + "COPY web/ .\nRUN npm ci\n",
        ["web/package.json", "web/package-lock.json", "web/a.js"],
        NODE + "COPY web/package.json web/package-lock.json ./\nRUN npm ci\nCOPY web/ .\n",
        id="folder-source",
    ),
    pytest.param(  # cd into a subfolder; --chown kept; ADD becomes COPY for the manifests
        NODE + "ADD --chown=node . .\nRUN cd web && npm ci\n",
        ["web/package.json", "web/package-lock.json", "web/a.js"],
        NODE + "COPY --chown=node web/package.json web/package-lock.json ./web/\n"
        "RUN cd web && npm ci\nADD --chown=node . .\n",
        id="cd-subfolder",
    ),
    pytest.param(  # comments travel with what they describe; ENV and a tool RUN move along
        PY + "# the app\nCOPY . .\nENV PIP_NO_CACHE_DIR=1\nRUN pip install -U pip\n"
        "# dependencies\nRUN pip install -r requirements.txt\nEXPOSE 80\n",
        ["requirements.txt"],
        PY + "COPY requirements.txt .\nENV PIP_NO_CACHE_DIR=1\nRUN pip install -U pip\n"
        "# dependencies\nRUN pip install -r requirements.txt\n# the app\nCOPY . .\nEXPOSE 80\n",
        id="comments-env-tool-run",
    ),
    pytest.param(  # WORKDIR between: moves along, the COPY writes to an absolute path
        "FROM node:22\nCOPY . /app\nWORKDIR /app\n\nRUN npm ci --omit=dev\n\nCMD x\n",
        ["package.json", "package-lock.json"],
        "FROM node:22\nCOPY package.json package-lock.json /app/\nWORKDIR /app\n"
        "RUN npm ci --omit=dev\nCOPY . /app\n\nCMD x\n",
        id="workdir-between",
    ),
    pytest.param(  # only the ecosystem's files the context holds; ONBUILD-free lowercase
        "from node:20\nworkdir /app\ncopy . .\nrun npm install\n",
        ["package.json"],
        "from node:20\nworkdir /app\ncopy package.json .\nrun npm install\ncopy . .\n",
        id="lowercase-one-file",
    ),
]


@pytest.mark.parametrize(("src", "files", "expected"), CASES)
def test_reorders_dependency_first(
    tmp_path: Path, src: str, files: list[str] | None, expected: str
) -> None:
    root = None
    if files is not None:
        project(tmp_path, files)
        root = tmp_path
    fixes = [f.fix for f in kh182(src, root) if f.fix is not None]
    assert len(fixes) == 1
    assert fixes[0].safety is Safety.UNSAFE
    assert fixes[0].why_unsafe == WHY_UNSAFE
    after = fixed(src, root)
    assert after == expected
    assert not parse(after).errors
    assert kh182(after, root) == []  # quiet once reordered
    assert fixed(after, root) == after  # idempotent
    # nothing but the new COPY lines appears; every instruction is still there
    old = Counter(i.text.rstrip("\n") for i in parse(src).instructions)
    new = Counter(i.text.rstrip("\n") for i in parse(after).instructions)
    added = new - old
    assert old - new == Counter()
    assert all(text.upper().startswith("COPY ") for text in added)


def test_safe_fixes_only_leave_it_alone(tmp_path: Path) -> None:
    project(tmp_path, ["package.json", "package-lock.json"])
    src = NODE + "COPY . .\nRUN npm ci\n"
    outcome = run_fix(src, tmp_path, unsafe=False)
    assert outcome.after == src
    assert [f.code for f in outcome.unsafe_left] == ["KH182"]


# --------------------------------------------------------------------------- no fix

NO_FIX = [
    pytest.param(NODE + "COPY . .\nRUN npm ci\n", None, id="npm-context-unknown"),
    pytest.param(NODE + "COPY . .\nRUN npm ci\n", ["package-lock.json"], id="no-package-json"),
    pytest.param(
        "FROM rust:1\nCOPY . .\nRUN cargo fetch\n", ["Cargo.toml", "Cargo.lock"], id="cargo"
    ),
    pytest.param(PY + "COPY . .\nRUN poetry install\n", ["pyproject.toml"], id="poetry-root"),
    pytest.param(PY + "COPY . .\nRUN uv sync --frozen\n", ["pyproject.toml"], id="uv-project"),
    pytest.param(
        "FROM composer:2\nCOPY . .\nRUN composer install --no-dev\n",
        ["composer.json"],
        id="composer-scripts",
    ),
    pytest.param(
        "FROM ruby:3\nCOPY . .\nRUN bundle install\n", ["Gemfile", "x.gemspec"], id="gemspec"
    ),
    pytest.param(
        NODE + "COPY . .\nRUN pnpm i\n",
        ["package.json", "pnpm-workspace.yaml"],
        id="pnpm-workspace",
    ),
    pytest.param(
        "FROM golang:1\nCOPY . .\nRUN go mod download\n", ["go.mod", "go.work"], id="go-work"
    ),
    pytest.param(
        NODE + "COPY . .\nRUN npm ci && npm run build\n", ["package.json"], id="build-in-run"
    ),
    pytest.param(
        NODE + "COPY . .\nRUN ./prepare.sh\nRUN npm ci\n", ["package.json"], id="run-between"
    ),
    pytest.param(NODE + "COPY . .\nUSER node\nRUN npm ci\n", ["package.json"], id="user-between"),
    pytest.param(
        NODE + "COPY . .\nWORKDIR /app/web\nRUN npm ci\n",
        ["web/package.json"],
        id="workdir-moves-relative-copy",
    ),
    pytest.param(
        NODE + "COPY . .\nCOPY config/ ./\nRUN npm ci\n",
        ["package.json", "config/.npmrc"],
        id="copy-between-feeds-it",
    ),
    pytest.param(NODE + "COPY . .\nRUN <<EOF\nnpm ci\nEOF\n", ["package.json"], id="heredoc"),
    pytest.param(
        NODE + "COPY . .\nRUN --mount=type=bind,target=/ctx npm ci\n",
        ["package.json"],
        id="bind-mount",
    ),
    pytest.param(NODE + "ARG D=.\nCOPY . $D\nRUN npm ci\n", ["package.json"], id="variable"),
    pytest.param(
        NODE + 'COPY [".", "/my app/"]\nWORKDIR "/my app"\nRUN npm ci\n',
        ["package.json"],
        id="destination-with-space",
    ),
    pytest.param(
        NODE + "COPY . .\nRUN npm ci && rm -rf /app/tests\n", ["package.json"], id="rm-sources"
    ),
    pytest.param(
        PY + "COPY . .\nRUN pip install --no-index -f ./wheels -r requirements.txt\n",
        ["requirements.txt"],
        id="pip-local-wheels",
    ),
    pytest.param(
        PY + "COPY . .\nRUN pip install -r requirements.txt\n",
        ["app.py"],
        id="pip-file-missing",
    ),
    pytest.param(
        NODE + "COPY . .\nRUN npm ci > log.txt\n", ["package.json"], id="redirect-into-sources"
    ),
]


@pytest.mark.parametrize(("src", "files"), NO_FIX)
def test_no_fix_when_reordering_is_not_proven(
    tmp_path: Path, src: str, files: list[str] | None
) -> None:
    root = None
    if files is not None:
        project(tmp_path, files)
        root = tmp_path
    found = kh182(src, root)
    assert found, "KH182 should still report it"
    assert all(f.fix is None for f in found)
    assert fixed(src, root) == src


def test_a_dockerignored_manifest_is_not_copied(tmp_path: Path) -> None:
    project(tmp_path, ["package.json", "package-lock.json"])
    (tmp_path / ".dockerignore").write_text("package-lock.json\n")
    src = NODE + "COPY . .\nRUN npm install\n"
    assert fixed(src, tmp_path) == NODE + "COPY package.json .\nRUN npm install\nCOPY . .\n"


def test_the_description_says_kh170_makes_the_moved_install_npm_ci(tmp_path: Path) -> None:
    """The reorder copies package-lock.json by name, on which KH170 turns `npm install` into
    `npm ci`: KH182's description says so, so the two agree on what the file ends up with."""
    project(tmp_path, ["package.json", "package-lock.json"])
    src = NODE + "COPY . .\nRUN npm install\n"
    outcome = run_fix(src, tmp_path)
    (applied,) = outcome.applied
    assert applied.fix is not None
    assert applied.fix.description == (
        "copy package.json, package-lock.json first, run `npm install` before the sources are "
        "copied (with package-lock.json copied by name, KH170 makes it `npm ci`)"
    )
    together = fix_target(checker(("KH182", "KH170")), Target(tmp_path / "Dockerfile",
                          "Dockerfile", True, src.encode()), src, True)  # fmt: skip
    assert "RUN npm ci\n" in together.after
    # no lock file copied (ignored), or `npm ci` already: nothing to add
    (tmp_path / ".dockerignore").write_text("package-lock.json\n")
    (ignored,) = run_fix(src, tmp_path).applied
    assert ignored.fix is not None
    assert ignored.fix.description.endswith("before the sources are copied")
    (tmp_path / ".dockerignore").unlink()
    (already,) = run_fix(NODE + "COPY . .\nRUN npm ci\n", tmp_path).applied
    assert already.fix is not None
    assert already.fix.description.endswith("run `npm ci` before the sources are copied")


# --------------------------------------------------------------------------- layout


def test_crlf_file_keeps_its_line_breaks(tmp_path: Path) -> None:
    project(tmp_path, ["go.mod", "go.sum"])
    src = "FROM golang:1\r\nWORKDIR /src\r\nCOPY . .\r\nRUN go mod download\r\nRUN go build\r\n"
    after = fixed(src, tmp_path)
    assert after == (
        "FROM golang:1\r\nWORKDIR /src\r\nCOPY go.mod go.sum ./\r\nRUN go mod download\r\n"
        "COPY . .\r\nRUN go build\r\n"
    )


def test_last_line_without_break_and_continuations(tmp_path: Path) -> None:
    project(tmp_path, ["requirements.txt"])
    src = PY + "COPY . .\nRUN pip install \\\n      -r requirements.txt"
    after = fixed(src, tmp_path)
    assert after == (
        PY + "COPY requirements.txt .\nRUN pip install \\\n      -r requirements.txt\nCOPY . .\n"
    )


def test_two_ecosystems_after_one_copy_are_both_reordered(tmp_path: Path) -> None:
    project(tmp_path, ["package.json", "package-lock.json", "requirements.txt"])
    src = NODE + "COPY . .\nRUN npm ci\nRUN pip install -r requirements.txt\n"
    after = fixed(src, tmp_path)
    assert after == (
        NODE + "COPY package.json package-lock.json ./\nRUN npm ci\n"
        "COPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n"
    )


def test_each_stage_on_its_own(tmp_path: Path) -> None:
    project(tmp_path, ["go.mod", "go.sum", "package.json"])
    src = (
        "FROM golang:1 AS api\nWORKDIR /src\nCOPY . .\nRUN go mod download\n"
        "FROM node:20 AS web\nWORKDIR /web\nCOPY . .\nRUN npm install\n"
    )
    assert fixed(src, tmp_path) == (
        "FROM golang:1 AS api\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
        "COPY . .\nFROM node:20 AS web\nWORKDIR /web\nCOPY package.json .\nRUN npm install\n"
        "COPY . .\n"
    )


def test_composes_with_safe_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ENV moved along is also rewritten by KH112, MAINTAINER by KH111, in one run."""
    monkeypatch.chdir(tmp_path)  # the helper's Dockerfile lives in the working directory
    project(tmp_path, ["requirements.txt"])
    src = (
        PY
        + "MAINTAINER Jane\nCOPY . .\nENV PIP_NO_CACHE_DIR 1\nRUN pip install -r requirements.txt\n"
    )
    after = fix_with(src, ("KH111", "KH112", "KH182"), unsafe=True)
    assert after == (
        PY + 'LABEL org.opencontainers.image.authors="Jane"\nCOPY requirements.txt .\n'
        "ENV PIP_NO_CACHE_DIR=1\nRUN pip install -r requirements.txt\nCOPY . .\n"
    )
    assert fix_with(after, ("KH111", "KH112", "KH182"), unsafe=True) == after
    # without --unsafe-fixes only the safe ones apply
    safe = fix_with(src, ("KH111", "KH112", "KH182"))
    assert "ENV PIP_NO_CACHE_DIR=1\nRUN pip install" in safe
    assert safe.index("COPY . .") < safe.index("RUN pip")


# --------------------------------------------------------------------------- corpus

MANIFESTS = [
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "requirements.txt",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "go.mod",
    "go.sum",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
]


@pytest.mark.corpus
def test_corpus_reordering_parses_is_idempotent_and_quiets_the_rule(tmp_path: Path) -> None:
    """Every corpus Dockerfile, with a context holding every ecosystem's manifests."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    project(tmp_path, MANIFESTS)
    stats = corpus_stats("dockerfiles reordered (KH182 unsafe fix, manifests in context)")
    for path in files:
        text = corpus_bytes(path).decode("utf-8", "surrogateescape")
        once = run_fix(text, tmp_path)
        if once.broken is not None:
            continue
        stats["files"] += 1
        assert once.bug is None, (path, once.bug)
        if not once.changed:
            continue
        stats["changed"] += 1
        stats["fixes"] += len(once.applied)
        assert not parse(once.after).errors, path
        assert run_fix(once.after, tmp_path).after == once.after, path
        left = [
            f for f in kh182(once.after, tmp_path) if f.stage in {a.stage for a in once.applied}
        ]
        assert all(f.fix is None for f in left), path
        # every line of the original is still there (moved, not rewritten)
        after_lines = Counter(split_lines(once.after)[1])
        for line in split_lines(text)[1]:
            if line.strip():
                assert after_lines[line.rstrip("\n") + "\n"] or after_lines[line], (path, line)


# --------------------------------------------------------------------------- a real build


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


#: A Go toolchain image made from this machine's own `go` binary: no registry, no network;
#: GOPROXY=off proves `go mod download` fetches nothing from outside.
GO_TOOL = (
    "ARG BASE\nFROM ${BASE}\nCOPY go /usr/local/go/bin/go\n"
    "ENV GOROOT=/usr/local/go PATH=/usr/local/go/bin:$PATH GOPROXY=off GOFLAGS=-mod=mod "
    "GOTOOLCHAIN=local\n"
)
GO_PROJECT = (
    'ARG BASE\nFROM ${BASE}\nWORKDIR /src\nCOPY . .\nRUN go mod download\nCMD ["cat", "main.go"]\n'
)


def _step_cached(output: str, step: str) -> bool:
    """Whether the builder reused its cache for the step starting with ``step`` (the legacy
    builder's `Using cache`, or BuildKit's `CACHED`)."""
    for part in re.split(r"^Step \d+/\d+ : ", output, flags=re.M)[1:]:
        if part.startswith(step):
            return "Using cache" in part
    found = re.search(rf"^#(\d+) \[[^\]]*\] {re.escape(step)}", output, flags=re.M)
    assert found is not None, f"no step {step!r} in the build output:\n{output}"
    return re.search(rf"^#{found.group(1)} CACHED", output, flags=re.M) is not None


@pytest.mark.docker
def test_reordered_install_is_reused_after_a_source_edit(
    docker_engine: str, tmp_path: Path
) -> None:
    """Build, edit a source file, build again: the `go mod download` layer re-runs before the
    fix and comes from the cache after it; both images run the same."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("no `go` binary on this machine to make an offline Go image from")
    run_id = uuid.uuid4().hex[:12]
    tags: list[str] = []

    def build(folder: Path, base: str) -> str:
        tags.append(f"keelhaul-test/order-fix:{run_id}-{len(tags)}")
        built = _docker("build", "--network", "host", "--build-arg", f"BASE={base}",
                        "-t", tags[-1], str(folder))  # fmt: skip
        assert built.returncode == 0, built.stdout + built.stderr
        return built.stdout + built.stderr

    tool = tmp_path / "tool"
    tool.mkdir()
    shutil.copy(os.path.realpath(go), tool / "go")
    (tool / "Dockerfile").write_text(GO_TOOL)
    try:
        build(tool, docker_engine)
        base = tags[-1]
        results: dict[str, tuple[bool, str]] = {}
        for name in ("before", "after"):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "go.mod").write_text("module example.com/hello\n\ngo 1.19\n")
            main = f'package main\n\n// {run_id}\nfunc main() {{ println("hello") }}\n'
            (folder / "main.go").write_text(main)
            (folder / "Dockerfile").write_text(GO_PROJECT)
            if name == "after":
                done = subprocess.run(
                    [sys.executable, "-m", "keelhaul", "fix", "--no-config", "--unsafe-fixes",
                     "--select", "KH182", str(folder)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                text = (folder / "Dockerfile").read_text()
                assert "COPY go.mod .\nRUN go mod download\nCOPY . .\n" in text, text
            build(folder, base)
            (folder / "main.go").write_text(main + "// edited\n")  # a source file changes
            output = build(folder, base)
            ran = _docker("run", "--rm", "--network", "none", tags[-1])
            assert ran.returncode == 0, ran.stderr
            results[name] = (_step_cached(output, "RUN go mod download"), ran.stdout)
        assert results["before"][0] is False  # the edit re-ran the install
        assert results["after"][0] is True  # reordered: the install layer is reused
        assert results["after"][1] == results["before"][1]
    finally:
        for tag in reversed(tags):
            _docker("rmi", "-f", tag)
