"""The unsafe fix of KH184: BuildKit cache mounts, the syntax directive, docker-clean."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.dockerfile.edits import split_lines
from keelhaul.dockerfile.scripts import script_texts
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.fix.fixing import fix_target
from tests.conftest import corpus_stats
from tests.corpus import corpus_bytes, corpus_files
from tests.fix.test_fixing import RULES, VOCABULARY, checker, fix

SYNTAX = "# syntax=docker/dockerfile:1\n"
PIP = "--mount=type=cache,target=/root/.cache/pip"
APT_LISTS = "--mount=type=cache,target=/var/lib/apt,sharing=locked"
APT_DEBS = "--mount=type=cache,target=/var/cache/apt,sharing=locked"
APK = "--mount=type=cache,target=/etc/apk/cache,sharing=locked"
CLEAN = "rm -f /etc/apt/apt.conf.d/docker-clean"
KEEP = (
    "echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > /etc/apt/apt.conf.d/keep-cache"
)


def cache_fix(src: str, syntax: bool = True) -> str:
    """KH184's fix, with the ``fix-syntax-directive`` setting on (``syntax``) or as default."""
    if not syntax:
        return fix(src, ("KH184",), unsafe=True)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / ".keelhaul.toml"
        config.write_text("[settings]\nfix-syntax-directive = true\n")
        finder = ConfigFinder(VOCABULARY, config_file=config, overrides=Overrides(("KH184",)))
        target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
        found = Checker(finder, VOCABULARY, RULES, shellcheck=None)
        return fix_target(found, target, src, True).after


def kh184(src: str) -> list[int]:
    """Lines of the KH184 findings in ``src``."""
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    result = checker(("KH184",)).check([target])
    return [f.location.line for f in result.all_findings if f.code == "KH184"]


FIXED = [
    # pip: the flag right after RUN, the directive on top, the rest of the line as it was
    (
        "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
        f"{SYNTAX}FROM python:3.12-slim\nCOPY requirements.txt .\n"
        f"RUN {PIP} pip install -r requirements.txt\n",
    ),
    # instead of cleanup: --no-cache-dir would bypass the mounted cache
    (
        "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\n",
        f"{SYNTAX}FROM python:3.12-slim\nRUN {PIP} pip install flask==3.0.3\n",
    ),
    # ... alone on its continuation line: the line goes, the layout stays
    (
        "FROM python:3.12-slim\nRUN pip install \\\n    --no-cache-dir \\\n    flask==3.0.3\n",
        f"{SYNTAX}FROM python:3.12-slim\nRUN {PIP} pip install \\\n    flask==3.0.3\n",
    ),
    # ... first on its line: the indentation stays
    (
        "FROM python:3.12-slim\nRUN pip install \\\n    --no-cache-dir flask==3.0.3\n",
        f"{SYNTAX}FROM python:3.12-slim\nRUN {PIP} pip install \\\n    flask==3.0.3\n",
    ),
    # ... the last word of the instruction on its own line: kept (the RUN would end early)
    (
        "FROM python:3.12-slim\nRUN pip install flask==3.0.3 \\\n    --no-cache-dir\n",
        f"{SYNTAX}FROM python:3.12-slim\nRUN {PIP} pip install flask==3.0.3 \\\n"
        "    --no-cache-dir\n",
    ),
    # apt: both folders, one a line; docker-clean removed before the script; cleanup kept
    (
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl "
        "\\\n    && rm -rf /var/lib/apt/lists/*\n",
        f"{SYNTAX}FROM debian:12\nRUN {APT_LISTS} \\\n    {APT_DEBS} \\\n    {CLEAN}; "
        "apt-get update && apt-get install -y --no-install-recommends curl \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n",
    ),
    # `apt` also deletes downloaded debs unless told to keep them; `RUN \` layout kept
    (
        "FROM debian:12\nRUN \\\n\tapt update && apt install -y curl\n",
        f"{SYNTAX}FROM debian:12\nRUN {APT_LISTS} \\\n\t{APT_DEBS} \\\n\t{CLEAN}; {KEEP}; \\\n"
        "\tapt update && apt install -y curl\n",
    ),
    # docker-clean already gone in an earlier RUN: nothing to add
    (
        "FROM debian:12\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
        "RUN apt-get update && apt-get install -y curl\n",
        f"{SYNTAX}FROM debian:12\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
        f"RUN {APT_LISTS} \\\n    {APT_DEBS} \\\n    apt-get update && apt-get install -y curl\n",
    ),
    # an existing flag stays; the script prefix goes after it
    (
        "FROM debian:12\nRUN --mount=type=secret,id=tok apt-get update && apt-get install -y "
        "curl\n",
        f"{SYNTAX}FROM debian:12\nRUN {APT_LISTS} \\\n    {APT_DEBS} \\\n    "
        f"--mount=type=secret,id=tok {CLEAN}; apt-get update && apt-get install -y curl\n",
    ),
    # apk: --no-cache fetched a fresh index; --update-cache still does, into the mount
    (
        "FROM alpine:3.20\nRUN apk add --no-cache curl\n",
        f"{SYNTAX}FROM alpine:3.20\nRUN {APK} apk add --update-cache curl\n",
    ),
    (
        "FROM node:20-slim\nCOPY package*.json ./\nRUN npm ci\n",
        f"{SYNTAX}FROM node:20-slim\nCOPY package*.json ./\n"
        "RUN --mount=type=cache,target=/root/.npm npm ci\n",
    ),
    (
        "FROM node:20-slim\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n",
        f"{SYNTAX}FROM node:20-slim\nCOPY package.json yarn.lock ./\n"
        "RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install "
        "--frozen-lockfile\n",
    ),
    (
        "FROM golang:1.22\nCOPY . .\nRUN go build -o /app .\n",
        f"{SYNTAX}FROM golang:1.22\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build "
        "\\\n    --mount=type=cache,target=/go/pkg/mod \\\n    go build -o /app .\n",
    ),
    (
        "FROM rust:1.78\nCOPY . .\nRUN cargo build --release\n",
        f"{SYNTAX}FROM rust:1.78\nCOPY . .\n"
        "RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release\n",
    ),
    (
        "FROM maven:3-eclipse-temurin-21\nCOPY pom.xml .\nRUN mvn dependency:go-offline\n",
        f"{SYNTAX}FROM maven:3-eclipse-temurin-21\nCOPY pom.xml .\n"
        "RUN --mount=type=cache,target=/root/.m2 mvn dependency:go-offline\n",
    ),
    # keyword casing kept
    (
        "FROM python:3.12-slim\nrun pip install flask\n",
        f"{SYNTAX}FROM python:3.12-slim\nrun {PIP} pip install flask\n",
    ),
    # directives: an existing syntax directive is not duplicated
    (
        "# syntax=docker/dockerfile:1.7\nFROM python:3.12-slim\nRUN pip install flask\n",
        f"# syntax=docker/dockerfile:1.7\nFROM python:3.12-slim\nRUN {PIP} pip install flask\n",
    ),
    # ... `# escape=` leads the file: the syntax directive joins it on top
    (
        "# escape=`\nFROM alpine:3.20\nRUN apk add --no-cache `\n    curl\n",
        f"{SYNTAX}# escape=`\nFROM alpine:3.20\nRUN {APK} apk add --update-cache `\n    curl\n",
    ),
    # ... a comment first: directives must come first, so line 1 still
    (
        "# build me\nFROM python:3.12-slim\nRUN pip install flask\n",
        f"{SYNTAX}# build me\nFROM python:3.12-slim\nRUN {PIP} pip install flask\n",
    ),
    # CRLF and a byte-order mark
    (
        "\ufeffFROM python:3.12-slim\r\nRUN pip install --no-cache-dir \\\r\n    flask\r\n",
        f"\ufeff{SYNTAX[:-1]}\r\nFROM python:3.12-slim\r\nRUN {PIP} pip install \\\r\n"
        "    flask\r\n",
    ),
    # heredoc scripts: flags on the RUN line, the docker-clean command into the body
    (
        "FROM python:3.12-slim\nRUN <<EOF\npip install --no-cache-dir flask\nEOF\n",
        f"{SYNTAX}FROM python:3.12-slim\nRUN {PIP} <<EOF\npip install flask\nEOF\n",
    ),
    (
        "FROM debian:12\nRUN <<EOT bash\n    set -ex\n    apt-get update\n"
        "    apt-get install -y git\nEOT\n",
        f"{SYNTAX}FROM debian:12\nRUN {APT_LISTS} \\\n    {APT_DEBS} \\\n    <<EOT bash\n"
        f"    {CLEAN}\n    set -ex\n    apt-get update\n    apt-get install -y git\nEOT\n",
    ),
    (
        "FROM debian:12\nRUN <<EOF\n#!/bin/sh\napt-get update\napt-get install -y curl\nEOF\n",
        f"{SYNTAX}FROM debian:12\nRUN {APT_LISTS} \\\n    {APT_DEBS} \\\n    <<EOF\n#!/bin/sh\n"
        f"{CLEAN}\napt-get update\napt-get install -y curl\nEOF\n",
    ),
]


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_cache_mount_fix(src: str, expected: str) -> None:
    after = cache_fix(src)
    assert after == expected
    assert not parse(after).errors
    assert kh184(after) == []  # the rule is quiet after the fix
    assert cache_fix(after) == after  # idempotent


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_cache_mount_fix_adds_no_syntax_directive_by_default(src: str, expected: str) -> None:
    """`# syntax=` makes BuildKit pull a frontend image (an offline build breaks); the
    built-in frontend reads cache mounts, so the line comes only with the setting."""
    without = expected.replace(SYNTAX, "", 1).replace(SYNTAX[:-1] + "\r\n", "", 1)
    assert cache_fix(src, syntax=False) == without


NOT_FIXED = [
    # a non-root user: its home folder and uid are not known
    "FROM python:3.12-slim\nUSER app\nRUN pip install flask\n",
    "FROM python:3.12-slim\nUSER 1000\nRUN pip install flask\n",
    # ONBUILD runs in another build
    "FROM python:3.12-slim\nONBUILD RUN pip install flask\n",
    # the apt prefix has no place: the heredoc is data, not the script
    "FROM debian:12\nRUN cat > /x <<EOF && apt-get update && apt-get install -y curl\nhi\nEOF\n",
    # ... a quoted flag: where its words end is not where the spaces are
    'FROM debian:12\nRUN --mount=type=secret,id=x,target="/a b" apt-get update && '
    "apt-get install -y curl\n",
    # ... a flag on a later line: the script does not start on the first line
    "FROM debian:12\nRUN --network=default \\\n  --mount=type=secret,id=t \\\n"
    "  apt-get update && apt-get install -y curl\n",
]


@pytest.mark.parametrize("src", NOT_FIXED)
def test_no_fix_when_not_exact(src: str) -> None:
    assert cache_fix(src) == src


def test_a_root_user_named_explicitly_is_fixed() -> None:
    src = "FROM python:3.12-slim\nUSER app\nUSER root\nRUN pip install flask\n"
    assert f"RUN {PIP} pip install flask" in cache_fix(src)


def test_fix_is_unsafe_and_says_why() -> None:
    src = "FROM python:3.12-slim\nRUN pip install x\n"
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    (finding,) = checker(("KH184",)).check([target]).all_findings
    assert finding.fix is not None
    assert finding.fix.safety is Safety.UNSAFE
    assert "BuildKit" in finding.fix.why_unsafe
    assert fix(src, ("KH184",), unsafe=False) == src  # not without --unsafe-fixes


def test_two_runs_get_one_directive() -> None:
    src = "FROM python:3.12-slim\nRUN pip install flask\nRUN pip install gunicorn\n"
    after = cache_fix(src)
    assert after.count("# syntax=") == 1
    assert after.count(PIP) == 2


def test_docker_clean_is_removed_once_per_stage_chain() -> None:
    src = (
        "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
        "RUN apt-get update && apt-get install -y git\n"
    )
    assert cache_fix(src).count(CLEAN) == 1


def argvs(src: str) -> list[list[str]]:
    """The commands of every RUN, in order."""
    out: list[list[str]] = []
    for inst in parse(src).instructions:
        if inst.name == "RUN":
            for text in script_texts(inst):
                out += [list(c.argv) for c in parse_shell(text).commands]
    return out


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_commands_are_kept(src: str, expected: str) -> None:
    """The scripts run the same commands, minus the options that bypass the cache and plus
    the docker-clean removal."""
    dropped = {"--no-cache-dir", "--no-cache", "--update-cache"}
    added = {tuple(parse_shell(CLEAN).commands[0].argv), tuple(parse_shell(KEEP).commands[0].argv)}

    def kept(text: str) -> list[list[str]]:
        return [[w for w in a if w not in dropped] for a in argvs(text) if tuple(a) not in added]

    assert kept(cache_fix(src)) == kept(src)
    assert len(argvs(cache_fix(src))) - len(argvs(src)) == expected.count(CLEAN) - src.count(
        CLEAN
    ) + expected.count(KEEP)


def test_composes_with_safe_fixes_and_the_base_fix() -> None:
    src = (
        "FROM python:3.12\nMAINTAINER Jane\nENV APP /srv/app\nCOPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
        'CMD ["python", "app.py"]\n'
    )
    after = fix(src, ("KH111", "KH112", "KH120", "KH184"), unsafe=True)
    # KH120 on a python image that pip-installs: the wheels conversion, cache mounts on both
    assert after == (
        "FROM python:3.12 AS build\nENV APP=/srv/app\nCOPY requirements.txt .\n"
        f"RUN {PIP} pip wheel --wheel-dir=/wheels -r requirements.txt\n"
        'FROM python:3.12-slim\nLABEL org.opencontainers.image.authors="Jane"\n'
        f"ENV APP=/srv/app\nRUN {PIP} --mount=type=bind,from=build,source=/wheels,"
        "target=/wheels pip install --no-index /wheels/*.whl\nCOPY . .\n"
        'CMD ["python", "app.py"]\n'
    )
    assert fix(after, ("KH111", "KH112", "KH120", "KH184"), unsafe=True) == after


@pytest.mark.corpus
@pytest.mark.corpus_fixes
def test_corpus_cache_and_base_fixes() -> None:
    """With every rule selected and unsafe fixes on: the fixes parse, fixing twice equals
    fixing once, KH184 and KH120 are quiet where they offered a fix, untouched lines stay."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    stats = corpus_stats("dockerfiles fixed (unsafe, KH184+KH120)")
    check = checker(("KH184", "KH120", "KH111", "KH112"))
    for path in files:
        data = corpus_bytes(path)
        text = data.decode("utf-8", "surrogateescape")
        once = fix_target(check, Target(Path("Dockerfile"), "Dockerfile", True, data), text, True)
        if once.broken is not None:
            continue
        assert once.bug is None, (path, once.bug)
        stats["files"] += 1
        if not once.changed:
            continue
        stats["changed"] += 1
        for finding in once.applied:
            stats[finding.code] += 1
        assert not parse(once.after).errors, path
        assert not [f for f in once.remaining if f.code in ("KH184", "KH120") and f.fix], path
        encoded = once.after.encode("utf-8", "surrogateescape")
        again = Target(Path("Dockerfile"), "Dockerfile", True, encoded)
        assert fix_target(check, again, once.after, True).after == once.after, path
        # lines that changed belong to the instructions the fixes are about
        fixed = {"RUN", "FROM", "MAINTAINER", "ENV", "LABEL"}
        owner = {n: i.name for i in parse(text).instructions
                 for n in range(i.start_line, i.end_line + 1)}  # fmt: skip
        after_lines = set(split_lines(once.after)[1])
        for number, line in enumerate(split_lines(text)[1], 1):
            if line.strip() and line not in after_lines:
                assert owner.get(number) in fixed, (path, number)


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_buildkit_reads_the_fix(src: str, expected: str) -> None:
    """BuildKit's own parser sees the same instructions, the RUNs with the new mounts."""
    oracle = pytest.importorskip("dockerfile")
    before = oracle.parse_string(src.lstrip("\ufeff"))
    after = oracle.parse_string(expected.lstrip("\ufeff"))
    assert [c.cmd for c in before] == [c.cmd for c in after]
    mounts = [f for c in after for f in c.flags if "type=cache" in f]
    assert mounts
    assert all(f in expected for f in mounts)


# --------------------------------------------------------------------------- a real build


@pytest.mark.docker
def test_cache_mount_fix_builds_with_buildkit_runs_the_same(
    buildkit_docker: str, python_standins: tuple[str, str], tmp_path: Path
) -> None:
    """KH184's result builds with BuildKit, runs the same, is no bigger, and keeps pip's
    cache out of the image."""
    import os
    import subprocess
    import uuid

    from tests.fix.test_multistage_python import GREET_C, SETUP

    full, _slim = python_standins
    src = (
        f"FROM {full}\nWORKDIR /app\nCOPY native/ native/\n"
        "RUN pip install --no-cache-dir ./native\nCOPY app.py .\n"
        'CMD ["python", "app.py"]\n'
    )
    after = fix(src, ("KH184",), unsafe=True)
    assert "# syntax" not in after, after
    assert f"RUN {PIP} pip install ./native\n" in after, after
    (tmp_path / "native").mkdir()
    (tmp_path / "native" / "setup.py").write_text(SETUP)
    (tmp_path / "native" / "greet.c").write_text(GREET_C)
    (tmp_path / "app.py").write_text("import greet\nprint(greet.hello())\n")
    # no `# syntax=` (it would make BuildKit fetch docker/dockerfile:1 from Docker Hub, which
    # this machine cannot reach): the engine's built-in frontend reads the mounts without it.
    texts = {"before": src, "after": after}
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    run_id = uuid.uuid4().hex[:12]
    tags: list[str] = []

    def build(name: str) -> None:
        (tmp_path / f"{name}.Dockerfile").write_text(texts[name])
        tags.append(f"keelhaul-test/cache-fix:{run_id}-{name}")
        done = subprocess.run(
            [buildkit_docker, "build", "--progress", "plain", "--network", "none", "-f",
             str(tmp_path / f"{name}.Dockerfile"), "-t", tags[-1], str(tmp_path)],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    try:
        outputs, sizes = {}, {}
        for name in texts:
            build(name)
            ran = subprocess.run(["docker", "run", "--rm", "--network", "none", tags[-1]],
                                 capture_output=True, text=True, check=False)  # fmt: skip
            outputs[name] = ran.stdout
            size = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}",
                                   tags[-1]], capture_output=True, text=True, check=True)  # fmt: skip
            sizes[name] = int(size.stdout.strip())
        assert outputs["before"] == outputs["after"] == "hello from C\n"
        assert sizes["after"] <= sizes["before"], sizes
        # pip's cache went to the mount, not into the image
        listed = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", tags[-1], "sh", "-c",
             "find /root/.cache/pip -type f 2>/dev/null | wc -l"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert listed.stdout.strip() == "0"
    finally:
        for tag in tags:
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
