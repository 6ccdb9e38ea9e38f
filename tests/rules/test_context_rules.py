"""The build-context rules (KH230-KH233) on Dockerfiles with real contexts in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules

CODES = ("KH230", "KH231", "KH232", "KH233")
RULES = [r for r in dockerfile_rules() if r.code in CODES]
PRIVATE_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEdummy\n-----END EC PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIDdummy\n-----END CERTIFICATE-----\n"
APP = {"app.py": "print('hi')\n", "requirements.txt": "flask\n"}


def lint(root: Path, dockerfile: str, files: dict[str, str]) -> list[Finding]:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            (root / name).mkdir(exist_ok=True)
        else:
            (root / name).write_text(content, encoding="utf-8")
    (root / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    context = BuildContext.read(root, root / "Dockerfile")
    return check_dockerfile(parse(dockerfile), rules=RULES, build_context=context)


def found(root: Path, dockerfile: str, files: dict[str, str]) -> list[tuple[str, int]]:
    return [(f.code, f.location.line) for f in lint(root, dockerfile, files)]


PY = "FROM python:3.12-slim\nWORKDIR /app\n"
NODE = "FROM node:22-slim\nWORKDIR /app\n"

CASES = [
    # KH230: the whole context, no .dockerignore.
    ("copy dot", PY + "COPY . .\n", APP, [("KH230", 3)]),
    ("add dot", PY + "ADD . /app\n", APP, [("KH230", 3)]),
    ("copy star", PY + "COPY * /app/\n", APP, [("KH230", 3)]),
    ("copy dot slash", PY + "COPY ./ /app/\n", APP, [("KH230", 3)]),
    ("json form", PY + 'COPY [".", "/app"]\n', APP, [("KH230", 3)]),
    ("only comments", PY + "COPY . .\n", APP | {".dockerignore": "# todo\n"}, [("KH230", 3)]),
    ("named files", PY + "COPY app.py requirements.txt ./\n", APP, []),
    ("a folder", PY + "COPY src/ ./src/\n", APP | {"src/x.py": ""}, []),
    ("from a stage", "FROM alpine:3.20 AS b\nRUN touch /x\n" + PY + "COPY --from=b / /\n", APP, []),
    ("unused stage", "FROM alpine:3.20 AS unused\nCOPY . .\n" + PY + "COPY app.py .\n", APP, []),
    ("onbuild", PY + "ONBUILD COPY . .\n", APP, []),
    ("heredoc", PY + "COPY <<EOF /app/x\n.\nEOF\n", APP, []),
    ("with patterns", PY + "COPY . .\n", APP | {".dockerignore": ".git\n"}, []),
    # KH231: clutter the .dockerignore lets through.
    ("git sent", PY + "COPY . .\n", APP | {".dockerignore": "*.md\n", ".git/HEAD": "x"},
     [("KH231", 3)]),
    ("git ignored", PY + "COPY . .\n", APP | {".dockerignore": ".git\n", ".git/HEAD": "x"}, []),
    ("git ignored anywhere", PY + "COPY . .\n",
     APP | {".dockerignore": "**/.git\n", ".git/HEAD": "x"}, []),
    ("git excluded by the COPY", PY + "COPY --exclude=.git . .\n",
     APP | {".dockerignore": "*.md\n", ".git/HEAD": "x"}, []),
    ("git not copied", PY + "COPY app.py .\n", APP | {".dockerignore": "*.md\n", ".git/HEAD": "x"},
     []),
    ("nested log", PY + "COPY . .\n", APP | {".dockerignore": "*.log\n", "logs/app.log": "x"},
     [("KH231", 3)]),
    ("log ignored everywhere", PY + "COPY . .\n",
     APP | {".dockerignore": "**/*.log\n", "logs/app.log": "x"}, []),
    ("host venv", PY + "COPY . .\n",
     APP | {".dockerignore": ".git\n", ".venv/pyvenv.cfg": "home=/usr\n"}, [("KH231", 3)]),
    ("node_modules, no install", NODE + "COPY . .\nCMD [\"node\", \"s.js\"]\n",
     {".dockerignore": ".git\n", "node_modules/x/i.js": "", "s.js": ""}, []),
    ("node_modules and npm ci", NODE + "COPY . .\nRUN npm ci\n",
     {".dockerignore": ".git\n", "node_modules/x/i.js": "", "package.json": "{}"},
     [("KH231", 3)]),
    ("node_modules to come", NODE + "COPY . .\nRUN npm ci\n",
     {".dockerignore": ".git\n", "package.json": "{}"}, [("KH231", 3)]),
    ("node_modules ignored", NODE + "COPY . .\nRUN npm ci\n",
     {".dockerignore": "node_modules\n", "package.json": "{}"}, []),
    ("dist with a build", NODE + "COPY . .\nRUN npm ci && npm run build\n",
     {".dockerignore": "node_modules\n", "package.json": "{}", "dist/main.js": ""},
     [("KH231", 3)]),
    ("dist without a build", NODE + "COPY . .\nRUN npm ci\n",
     {".dockerignore": "node_modules\n", "package.json": "{}", "dist/main.js": ""}, []),
    ("build folder of a go project", "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build\n",
     {".dockerignore": ".git\n", "build/package.sh": "", "main.go": ""}, []),
    ("target with cargo", "FROM rust:1.80\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\n",
     {".dockerignore": ".git\n", "target/release/x": "", "Cargo.toml": ""}, [("KH231", 3)]),
    ("coverage", PY + "COPY . .\n", APP | {".dockerignore": ".git\n", "htmlcov/index.html": ""},
     [("KH231", 3)]),
    # KH232: secrets carried by a COPY of the context or of a folder.
    ("env sent", PY + "COPY . .\n", APP | {".dockerignore": ".git\n", ".env": "A=1\n"},
     [("KH232", 3)]),
    ("env ignored", PY + "COPY . .\n", APP | {".dockerignore": ".env*\n", ".env": "A=1\n"}, []),
    ("env template", PY + "COPY . .\n", APP | {".dockerignore": ".git\n", ".env.example": "A=\n"},
     []),
    ("no ignore file and an env", PY + "COPY . .\n", APP | {".env": "A=1\n"},
     [("KH230", 3), ("KH232", 3)]),
    ("key in a copied folder", PY + "COPY app.py ./\nCOPY deploy/ ./deploy/\n",
     APP | {"deploy/tls.key": PRIVATE_KEY, "deploy/run.sh": ""}, [("KH232", 4)]),
    ("certificate in a copied folder", PY + "COPY deploy/ ./deploy/\n",
     APP | {"deploy/ca.pem": CERTIFICATE}, []),
    ("key in another folder", PY + "COPY src/ ./src/\n",
     APP | {"deploy/tls.key": PRIVATE_KEY, "src/x.py": ""}, []),
    ("key excluded by the COPY", PY + "COPY --exclude=*.key deploy/ ./deploy/\n",
     APP | {"deploy/tls.key": PRIVATE_KEY}, []),
    ("builder stage also counts", "FROM python:3.12 AS build\nCOPY . /src\nRUN make\n"
     "FROM python:3.12-slim\nCOPY --from=build /src/dist /app\n",
     APP | {".dockerignore": ".git\n", ".env": "A=1\n"}, [("KH232", 2)]),
    # KH233: a source the .dockerignore excludes.
    ("excluded file", PY + "COPY config.json app.py ./\n",
     APP | {".dockerignore": "config.json\n", "config.json": "{}"}, [("KH233", 3)]),
    ("pattern takes it", NODE + "COPY package.json ./\n",
     {".dockerignore": "*.json\n", "package.json": "{}"}, [("KH233", 3)]),
    ("folder above excluded", PY + "COPY conf/app.ini ./\n",
     APP | {".dockerignore": "conf\n", "conf/app.ini": ""}, [("KH233", 3)]),
    ("leading slash source", PY + "COPY /config.json ./\n",
     APP | {".dockerignore": "config.json\n"}, [("KH233", 3)]),
    ("everything excluded", PY + "COPY . .\n", APP | {".dockerignore": "*\n"}, [("KH233", 3)]),
    ("dot files only", PY + "COPY . .\n", APP | {".dockerignore": ".*\n"}, []),
    ("exception brings it back", PY + "COPY app.py ./\n", APP | {".dockerignore": "*\n!app.py\n"},
     []),
    ("exceptions, still excluded", PY + "COPY config.json app.py ./\n",
     APP | {".dockerignore": "*\n!app.py\n", "config.json": "{}"}, [("KH233", 3)]),
    ("exception below a folder", PY + "COPY src ./src\n",
     APP | {".dockerignore": "src\n!src/main.py\n", "src/main.py": ""}, []),
    ("everything but the Dockerfile", PY + "COPY ./Dockerfile .\n",
     {".dockerignore": "**\n!Dockerfile\n"}, []),
    ("dot with exceptions", PY + "COPY . .\n", {".dockerignore": "**\n!Dockerfile\n"}, []),
    ("from a stage is not the context", "FROM scratch AS base\nCOPY Dockerfile /foobar\n"
     "FROM base\nCOPY --from=base /foobar /Dockerfile\n", {".dockerignore": "foobar\n"}, []),
    ("variable source", PY + "ARG CONF=config.json\nCOPY $CONF ./\n",
     APP | {".dockerignore": "config.json\n"}, []),
    ("remote source", PY + "ADD https://example.com/config.json ./\n",
     APP | {".dockerignore": "config.json\n"}, []),
    ("glob source, BuildKit's literal match", NODE + "COPY package*.json ./\n",
     {".dockerignore": "*.json\n"}, [("KH233", 3)]),
    ("glob source, another name", NODE + "COPY package*.json ./\n",
     {".dockerignore": "package-lock.json\n"}, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("dockerfile", "files", "expected"),
    [pytest.param(d, f, e, id=name) for name, d, f, e in CASES],
)
def test_context_rules(
    tmp_path: Path, dockerfile: str, files: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    assert found(tmp_path, dockerfile, files) == expected


def test_quiet_without_a_context() -> None:
    src = PY + "COPY . .\nCOPY config.json ./\n"
    assert check_dockerfile(parse(src), rules=RULES) == []


def test_buildkit_copy_ignored_file_cases(tmp_path: Path) -> None:
    """BuildKit's own test: both sources named, Copy and Add, with its line numbers."""
    src = "\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n"
    findings = lint(tmp_path, src, {".dockerignore": "\nDockerfile\n"})
    assert [(f.code, f.location.line) for f in findings] == [("KH233", 3), ("KH233", 4)]
    assert "COPY source Dockerfile is excluded by .dockerignore (line 2: Dockerfile)" in (
        findings[0].message
    )
    assert findings[1].message.startswith("ADD source Dockerfile")


def test_messages_name_the_paths_and_the_fix(tmp_path: Path) -> None:
    files = APP | {
        ".dockerignore": "*.md\n",
        ".git/HEAD": "x",
        "logs/a.log": "x",
        "logs/b.log": "x",
        ".env.local": "A=1\n",
        "certs/tls.key": PRIVATE_KEY,
    }
    findings = {f.code: f for f in lint(tmp_path, PY + "COPY --chown=1 . .\n", files)}
    clutter = findings["KH231"].message
    assert ".git/" in clutter
    assert "logs/a.log" in clutter
    assert "add .git, **/*.log to .dockerignore" in clutter
    secret = findings["KH232"].message
    assert ".env.local and certs/tls.key" in secret
    assert ".env*, certs/tls.key" in secret
    assert "A=1" not in secret  # never the content
    loc = findings["KH232"].location
    assert (loc.line, loc.column, loc.end_column) == (3, 16, 17)  # the "." source, not a flag


def test_missing_dockerignore_mentions_what_is_there(tmp_path: Path) -> None:
    files = APP | {".git/HEAD": "x", "node_modules/x/index.js": ""}
    (finding,) = [f for f in lint(tmp_path, PY + "COPY . .\n", files) if f.code == "KH230"]
    assert "there is no .dockerignore" in finding.message
    assert ".git/ and node_modules/" in finding.message


def test_dockerfile_specific_ignore_file_is_named(tmp_path: Path) -> None:
    files = APP | {
        ".dockerignore": "*.md\n",
        "Dockerfile.dockerignore": "config.json\n",
        "config.json": "{}",
    }
    findings = lint(tmp_path, PY + "COPY config.json ./\n", files)
    assert [f.code for f in findings] == ["KH233"]
    assert "excluded by Dockerfile.dockerignore" in findings[0].message
