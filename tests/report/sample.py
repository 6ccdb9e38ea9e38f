"""Reports to render in the format tests: real findings, hostile text, parse errors, nothing."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Category, Finding, Location, Origin, Severity
from keelhaul.report import BrokenFile, Report, rule_infos
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules

CWD = Path("/work/project")
DOCS = "https://example.org/keelhaul/docs/rules.md"
RULES = rule_infos(dockerfile_rules(), DOCS)

SOURCE = (
    "FROM golang:1.22 AS build\n"
    "RUN go build -o /app .\n"
    "FROM node\n"
    "RUN apt-get update && apt-get install -y curl\n"
    "ENV API_TOKEN=s3cr3tvalue1234567890\n"
    "CMD node server.js\n"
)
PATH = "app/Dockerfile"

#: Everything a formatter must escape or survive.
HOSTILE_MESSAGE = (
    "quote \" apostrophe ' <tag> & &amp; 100% done\nnext line\r\n"
    ":: comma, colon: \x1b[31mred\x1b[0m nul\x00 bell\x07 byte\udcff end"
)
HOSTILE_PATH = 'we ird/dir,with:colon%25/Docker<file>&"q"\udcff'


def real_findings() -> list[Finding]:
    return check_dockerfile(parse(SOURCE, PATH))


def sample_report(**changes: object) -> Report:
    """Real findings on one file, a clean file and a file that does not parse."""
    fields: dict[str, object] = {
        "findings": real_findings(),
        "files": [PATH, "clean/Dockerfile", "broken/Dockerfile"],
        "broken": [BrokenFile("broken/Dockerfile", "unknown instruction: FORM", 2, 1)],
        "rules": RULES,
        "sources": {PATH: SOURCE, "broken/Dockerfile": "FROM alpine\nFORM x\n"},
        "cwd": CWD,
        "information_uri": "https://example.org/keelhaul",
    }
    fields.update(changes)
    return Report(**fields)  # type: ignore[arg-type]


def finding(
    message: str = "something is wrong",
    path: str = PATH,
    line: int = 1,
    column: int = 1,
    end_line: int | None = None,
    end_column: int | None = None,
    code: str = "KH999",
    severity: Severity = Severity.WARNING,
    category: Category = Category.SECURITY,
    stage: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        name="made-up-rule",
        severity=severity,
        category=category,
        location=Location(path, line, column, end_line, end_column),
        message=message,
        stage=stage,
    )


def hostile_report() -> Report:
    """Messages, paths, stages and errors full of characters that break naive output."""
    return Report(
        findings=[
            finding(HOSTILE_MESSAGE, path=HOSTILE_PATH, stage='st"<a>&ge\n'),
            finding(HOSTILE_MESSAGE, path=HOSTILE_PATH, line=2, end_line=3, end_column=4),
        ],
        files=[HOSTILE_PATH, "ok/Dockerfile"],
        broken=[BrokenFile('bad,<&>"%\n.Dockerfile', HOSTILE_MESSAGE, None, None)],
        sources={HOSTILE_PATH: "FROM x\x1b\udcff\nRUN \x00a\nb\n"},
        cwd=CWD,
    )


def empty_report() -> Report:
    return Report(findings=[], files=["a/Dockerfile", "b/Dockerfile"], rules=RULES, cwd=CWD)


IMAGE = "docker-archive:app.tar"


def image_report() -> Report:
    """Findings on an image: two in a layer (one of the base's, one of the image's own), one
    in several layers from the base, one on the config with no layer nor origin."""
    from keelhaul.image import checks

    found = [
        checks.finding("package-cache-shipped", IMAGE, "apt lists: 40.0 MB", 1,
                       "/var/lib/apt/lists", Origin.BASE),
        checks.finding("vcs-folder-shipped", IMAGE, ".git: 2.0 MB", 2, "/app/.git",
                       Origin.OWN),
        checks.finding("setuid-file", IMAGE, "3 setuid/setgid files: /usr/bin/su",
                       origin=Origin.BASE),
        checks.finding("image-runs-as-root", IMAGE, "the image runs as root"),
    ]  # fmt: skip
    return Report(findings=found, files=[IMAGE], rules=checks.rule_infos(), cwd=CWD)


def all_reports() -> dict[str, Report]:
    return {
        "sample": sample_report(),
        "image": image_report(),
        "hostile": hostile_report(),
        "empty": empty_report(),
        "nothing": Report(findings=[]),
        "no-cwd": sample_report(cwd=None, information_uri=None, rules={}),
        "absolute": sample_report(
            findings=[finding(path="/elsewhere/Dockerfile"), finding(path=f"{CWD}/in/Dockerfile")]
        ),
    }


# The format checks jsonschema lacks without extra packages (SARIF uses "uri" and
# "uri-reference"): ASCII only, no spaces or characters RFC 3986 excludes, valid %-escapes.
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", value)) and _is_uri_reference(value)


def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or _URI_CHARS.fullmatch(value) is not None


@functools.cache
def format_checker() -> Any:
    """jsonschema's format checker with ``uri`` and ``uri-reference`` (jsonschema is imported
    on first use: it takes seconds, and collection should not pay for it)."""
    from jsonschema import FormatChecker  # type: ignore[import-untyped]

    checker = FormatChecker()
    checker.checks("uri")(_is_uri)
    checker.checks("uri-reference")(_is_uri_reference)
    return checker
