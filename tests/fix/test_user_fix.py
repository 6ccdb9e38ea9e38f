"""The unsafe fix of KH109 (root-user): a non-root user made the distribution's way, USER at
the end of the final stage, --chown on the COPYs into the app's folders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.checking import Target
from keelhaul.dockerfile.edits import split_lines
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding, Safety
from keelhaul.fix.fixing import fix_target
from keelhaul.rules.dockerfile.users_and_privileges._user_fixes import (
    Family,
    NoFix,
    family,
    needs_chown,
)
from tests.conftest import corpus_stats
from tests.corpus import CORPUS, corpus_bytes, corpus_files
from tests.fix.test_fixing import checker, fix
from tests.judged import fix_verdicts

DEBIAN_RUN = (
    "RUN groupadd --system --gid 10001 app && \\\n"
    "    useradd --system --uid 10001 --gid app --no-create-home --no-log-init app\n"
)
ALPINE_RUN = "RUN addgroup -S -g 10001 app && \\\n    adduser -S -D -H -u 10001 -G app app\n"


def owning(run: str, paths: str, user: str = "10001:10001") -> str:
    """``run`` (DEBIAN_RUN, ALPINE_RUN) that also gives ``paths`` (the app writes them) to
    ``user``."""
    return run[:-1] + f" && \\\n    mkdir -p {paths} && \\\n    chown {user} {paths}\n"


def kh109(src: str) -> list[Finding]:
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    return [f for f in checker(("KH109",)).check([target]).all_findings if f.code == "KH109"]


def fixed(src: str) -> str:
    return fix(src, ("KH109",), unsafe=True)


FIXED = [
    pytest.param(  # Debian family: the RUN before the first COPY that needs --chown
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r "
        'requirements.txt\nCOPY . .\nEXPOSE 8000\nCMD ["python", "app.py"]\n',
        "FROM python:3.12-slim\nWORKDIR /app\n"
        + owning(DEBIAN_RUN, "/app")
        + "COPY --chown=10001:10001 "
        "requirements.txt .\nRUN pip install -r requirements.txt\nCOPY --chown=10001:10001 . "
        '.\nUSER 10001:10001\nEXPOSE 8000\nCMD ["python", "app.py"]\n',
        id="debian",
    ),
    pytest.param(  # a binary into /usr/local/bin keeps root's ownership; the user is
        # created before the COPY, so a new binary does not re-run that RUN
        'FROM alpine:3.20\nCOPY app /usr/local/bin/app\nCMD ["app"]\n',
        "FROM alpine:3.20\n"
        + ALPINE_RUN
        + 'COPY app /usr/local/bin/app\nUSER 10001:10001\nCMD ["app"]\n',
        id="alpine",
    ),
    pytest.param(
        'FROM python:3.12-alpine\nCOPY . /srv/app\nCMD ["python", "/srv/app/main.py"]\n',
        "FROM python:3.12-alpine\n" + ALPINE_RUN + "COPY --chown=10001:10001 . /srv/app\n"
        'USER 10001:10001\nCMD ["python", "/srv/app/main.py"]\n',
        id="alpine-language-image",
    ),
    pytest.param(
        'FROM busybox:1.36\nCOPY run.sh /app/\nCMD ["sh", "/app/run.sh"]\n',
        "FROM busybox:1.36\n" + ALPINE_RUN + "COPY --chown=10001:10001 run.sh /app/\n"
        'USER 10001:10001\nCMD ["sh", "/app/run.sh"]\n',
        id="busybox",
    ),
    pytest.param(  # RHEL family: shadow-utils' useradd, as on Debian
        'FROM rockylinux:9\nRUN dnf install -y python3\nCMD ["python3", "-m", "http.server"]\n',
        "FROM rockylinux:9\nRUN dnf install -y python3\n"
        + DEBIAN_RUN
        + 'USER 10001:10001\nCMD ["python3", "-m", "http.server"]\n',
        id="rhel",
    ),
    pytest.param(  # ubi-minimal gets useradd only from shadow-utils: create after that RUN
        "FROM registry.access.redhat.com/ubi9/ubi-minimal\nCOPY app /app/\nRUN microdnf "
        'install -y shadow-utils\nCMD ["/app/app"]\n',
        "FROM registry.access.redhat.com/ubi9/ubi-minimal\nCOPY --chown=10001:10001 app "
        "/app/\nRUN microdnf install -y shadow-utils\n"
        + DEBIAN_RUN
        + 'USER 10001:10001\nCMD ["/app/app"]\n',
        id="ubi-minimal-with-shadow-utils",
    ),
    pytest.param(  # distroless: no RUN possible, nonroot exists
        "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\nENTRYPOINT "
        '["/app"]\n',
        "FROM gcr.io/distroless/static-debian12\nCOPY --chown=65532:65532 --from=build "
        '/out/app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n',
        id="distroless",
    ),
    pytest.param(  # scratch: a numeric user needs no /etc/passwd; no line break at the end
        'FROM scratch\nCOPY app /usr/local/bin/app\nENTRYPOINT ["app"]',
        'FROM scratch\nCOPY app /usr/local/bin/app\nUSER 65532:65532\nENTRYPOINT ["app"]',
        id="scratch",
    ),
    pytest.param(  # the node image's own user; /usr/src/app is the app's folder (issue 17)
        'FROM node:20-slim\nWORKDIR /usr/src/app\nCOPY . .\nCMD ["node", "index.js"]\n',
        "FROM node:20-slim\nWORKDIR /usr/src/app\nCOPY --chown=1000:1000 . .\nRUN mkdir -p "
        "/usr/src/app && \\\n    chown 1000:1000 /usr/src/app\nUSER 1000:1000"
        '\nCMD ["node", "index.js"]\n',
        id="node",
    ),
    pytest.param(  # the user exists in the stage the final one is built FROM
        'FROM debian:12 AS base\nRUN useradd -u 1001 web\nFROM base\nCOPY . /srv/\nCMD ["x"]\n',
        "FROM debian:12 AS base\nRUN useradd -u 1001 web\nFROM base\nCOPY --chown=1001 . "
        '/srv/\nUSER 1001\nCMD ["x"]\n',
        id="user-from-parent-stage",
    ),
    pytest.param(
        "FROM debian:12\nRUN groupadd -g 10001 app && useradd -u 10001 -g app app\n"
        'COPY x /app/\nCMD ["x"]\n',
        "FROM debian:12\nRUN groupadd -g 10001 app && useradd -u 10001 -g app app\nCOPY "
        '--chown=10001:10001 x /app/\nUSER 10001:10001\nCMD ["x"]\n',
        id="user-created-not-used",
    ),
    pytest.param(  # USER root after the last RUN is replaced; CRLF and lower case kept
        "from debian:12\r\nrun apt-get update\r\nuser root\r\n",
        "from debian:12\r\nrun apt-get update\r\n"
        + DEBIAN_RUN.replace("RUN", "run").replace("\n", "\r\n")
        + "user 10001:10001\r\n",
        id="user-root-replaced-crlf",
    ),
    pytest.param(  # USER root before a RUN stays: that RUN needs it
        "FROM debian:12\nUSER root\nRUN echo hi\nCOPY a /app/\n",
        "FROM debian:12\nUSER root\nRUN echo hi\n" + DEBIAN_RUN + "COPY --chown=10001:10001 a "
        "/app/\nUSER 10001:10001\n",
        id="user-root-before-run",
    ),
    pytest.param(  # back to the user set before USER root, in numbers when documented
        "FROM node:20\nUSER node\nCOPY a /app/\nUSER root\nRUN apt-get update\n",
        "FROM node:20\nUSER node\nCOPY --chown=1000:1000 a /app/\nUSER root\nRUN apt-get "
        "update\nUSER 1000:1000\n",
        id="earlier-user",
    ),
    pytest.param(
        "FROM debian:12 AS b\nUSER nobody\nFROM b\nUSER root\n",
        "FROM debian:12 AS b\nUSER nobody\nFROM b\nUSER 65534:65534\n",
        id="earlier-user-in-parent-stage",
    ),
    pytest.param(  # the base's own user, overridden by USER root
        "FROM jenkins/jenkins:lts\nUSER root\nRUN apt-get update\n",
        "FROM jenkins/jenkins:lts\nUSER root\nRUN apt-get update\nUSER 1000:1000\n",
        id="base-default-user",
    ),
    pytest.param(
        "FROM gcr.io/distroless/static:nonroot\nUSER root\n",
        "FROM gcr.io/distroless/static:nonroot\nUSER 65532:65532\n",
        id="distroless-user-root",
    ),
    pytest.param(  # new lines go above the comment of the instruction they precede
        'FROM debian:12\nRUN echo hi\n# start it\nCMD ["x"]\n',
        "FROM debian:12\nRUN echo hi\n" + DEBIAN_RUN + 'USER 10001:10001\n# start it\nCMD ["x"]\n',
        id="comment-kept-with-cmd",
    ),
    pytest.param(
        '# escape=`\nFROM debian:12\nRUN echo hi\nCMD ["x"]\n',
        "# escape=`\nFROM debian:12\nRUN echo hi\n"
        + DEBIAN_RUN.replace("\\\n", "`\n")
        + 'USER 10001:10001\nCMD ["x"]\n',
        id="escape-backtick",
    ),
    pytest.param(
        '  FROM debian:12\n  RUN echo\n  CMD ["x"]\n',
        "  FROM debian:12\n  RUN echo\n  RUN groupadd --system --gid 10001 app && \\\n      "
        "useradd --system --uid 10001 --gid app --no-create-home --no-log-init app\n  USER "
        '10001:10001\n  CMD ["x"]\n',
        id="indented",
    ),
    pytest.param(  # multi-stage: only the final stage changes
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app\n"
        'FROM debian:12-slim\nCOPY --from=build /out/app /usr/local/bin/app\nENTRYPOINT ["app"]\n',
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app\n"
        "FROM debian:12-slim\n"
        + DEBIAN_RUN
        + 'COPY --from=build /out/app /usr/local/bin/app\nUSER 10001:10001\nENTRYPOINT ["app"]\n',
        id="multi-stage",
    ),
    pytest.param(  # the continuation layout of a COPY is kept
        'FROM debian:12\nCOPY \\\n  a b \\\n  /app/\nCMD ["x"]\n',
        "FROM debian:12\n" + DEBIAN_RUN + "COPY --chown=10001:10001 \\\n  a b \\\n  /app/\n"
        'USER 10001:10001\nCMD ["x"]\n',
        id="copy-continuation",
    ),
    pytest.param(  # node: the base's user; the WORKDIR, a VOLUME and a data folder are its
        "FROM node:20-slim\nWORKDIR /srv/app\nCOPY . .\nRUN mkdir -p /var/lib/shop\n"
        'VOLUME /data\nCMD ["node", "index.js"]\n',
        "FROM node:20-slim\nWORKDIR /srv/app\nCOPY --chown=1000:1000 . .\nRUN mkdir -p "
        "/var/lib/shop\nRUN mkdir -p /data /var/lib/shop /srv/app && \\\n    chown 1000:1000 "
        '/data /var/lib/shop /srv/app\nUSER 1000:1000\nVOLUME /data\nCMD ["node", "index.js"]\n',
        id="node-owns-written-paths",
    ),
    pytest.param(  # a php CLI app runs as the image's www-data (33), which owns its uploads
        "FROM php:8.3-cli\nCOPY . /var/www/html\nRUN mkdir -p /var/www/html/uploads\n"
        'CMD ["php", "/var/www/html/worker.php"]\n',
        "FROM php:8.3-cli\nCOPY --chown=33:33 . /var/www/html\nRUN mkdir -p "
        "/var/www/html/uploads\nRUN mkdir -p /var/www/html/uploads && \\\n    chown 33:33 "
        '/var/www/html/uploads\nUSER 33:33\nCMD ["php", "/var/www/html/worker.php"]\n',
        id="php-cli-www-data",
    ),
    pytest.param(  # the folder the command is told to keep its data in is the user's too
        'FROM python:3.12-alpine\nRUN pip install x\nENTRYPOINT ["python", "-m", "x"]\n'
        'CMD ["--data_dir", "/data", "--config=/etc/x.conf"]\n',
        "FROM python:3.12-alpine\nRUN pip install x\n"
        + owning(ALPINE_RUN, "/data")
        + 'USER 10001:10001\nENTRYPOINT ["python", "-m", "x"]\n'
        'CMD ["--data_dir", "/data", "--config=/etc/x.conf"]\n',
        id="data-dir-argument",
    ),
    pytest.param(  # pip's redis is a client library, not the redis server (a service)
        "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install redis\nCOPY w.py .\n"
        'CMD ["python", "w.py"]\n',
        "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install redis\n"
        + owning(DEBIAN_RUN, "/app")
        + 'COPY --chown=10001:10001 w.py .\nUSER 10001:10001\nCMD ["python", "w.py"]\n',
        id="pip-client-is-no-service",
    ),
    pytest.param(  # .NET before 8 has no app user; its images are Debian's
        "FROM mcr.microsoft.com/dotnet/runtime:7.0\nWORKDIR /app\nCOPY out .\n"
        'ENTRYPOINT ["dotnet", "w.dll"]\n',
        "FROM mcr.microsoft.com/dotnet/runtime:7.0\nWORKDIR /app\n"
        + owning(DEBIAN_RUN, "/app")
        + 'COPY --chown=10001:10001 out .\nUSER 10001:10001\nENTRYPOINT ["dotnet", "w.dll"]\n',
        id="dotnet-7-debian",
    ),
    pytest.param(  # the image's own binary is copied before the WORKDIR is known: no --chown
        "FROM eclipse-temurin:21-jre\nCOPY app.jar /opt/app/app.jar\nWORKDIR /opt/app\n"
        'CMD ["java", "-jar", "app.jar"]\n',
        "FROM eclipse-temurin:21-jre\nCOPY app.jar /opt/app/app.jar\nWORKDIR /opt/app\n"
        + owning(DEBIAN_RUN, "/opt/app")
        + 'USER 10001:10001\nCMD ["java", "-jar", "app.jar"]\n',
        id="workdir-after-copy",
    ),
    pytest.param(  # the name the file gives the test base image
        'FROM keelhaul-test/debian:bookworm\nCOPY app.sh /app/\nCMD ["sh", "/app/app.sh"]\n',
        "FROM keelhaul-test/debian:bookworm\n" + DEBIAN_RUN + "COPY --chown=10001:10001 "
        'app.sh /app/\nUSER 10001:10001\nCMD ["sh", "/app/app.sh"]\n',
        id="debian-by-name",
    ),
]


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_user_fix(src: str, expected: str) -> None:
    assert fixed(src) == expected


@pytest.mark.parametrize(("src", "expected"), FIXED)
def test_user_fix_is_idempotent_and_quiets_kh109(src: str, expected: str) -> None:
    after = fixed(src)
    assert not parse(after).errors
    resolve(parse(after))
    assert kh109(after) == []  # so no second fix
    assert fixed(after) == after


def test_fix_is_one_unsafe_fix_with_several_edits() -> None:
    src = 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n'
    (finding,) = kh109(src)
    assert finding.fix is not None
    assert finding.fix.safety is Safety.UNSAFE
    assert "UID 10001" in finding.fix.why_unsafe
    assert len(finding.fix.edits) == 3  # --chown on the COPY, the RUN above it, the USER
    assert "groupadd" in finding.fix.description
    assert fix(src, ("KH109",), unsafe=False) == src  # unsafe: only with --unsafe-fixes


NOT_FIXED = [
    # tools missing from the base
    pytest.param('FROM registry.access.redhat.com/ubi9/ubi-minimal\nCMD ["x"]\n', id="ubi-min"),
    pytest.param('FROM registry.access.redhat.com/ubi9/ubi-micro\nCMD ["x"]\n', id="ubi-micro"),
    pytest.param('FROM fedora:40\nRUN dnf install -y python3\nCMD ["x"]\n', id="fedora"),
    pytest.param('FROM amazonlinux:2023\nCMD ["x"]\n', id="amazonlinux"),
    pytest.param('FROM rockylinux:9-minimal\nCMD ["x"]\n', id="el-minimal"),
    pytest.param('FROM openjdk:21\nCMD ["java"]\n', id="openjdk-on-oraclelinux"),
    # bases keelhaul cannot place
    pytest.param('FROM example.com/team/base:1\nCMD ["x"]\n', id="unknown-base"),
    # services that start as root on purpose (and do not drop privileges themselves)
    pytest.param('FROM redis:7\nCOPY run.sh /run.sh\nCMD ["/run.sh"]\n', id="redis-own-cmd"),
    # where the app or the user could not work
    pytest.param('FROM debian:12\nWORKDIR /root/app\nCOPY . .\nCMD ["x"]\n', id="under-root"),
    pytest.param('FROM debian:12\nSHELL ["pwsh", "-c"]\nRUN echo\nCMD ["x"]\n', id="pwsh"),
    pytest.param('FROM debian:12\nCOPY passwd /etc/passwd\nCMD ["x"]\n', id="own-passwd"),
    pytest.param('FROM debian:12\nRUN groupadd app\nCMD ["x"]\n', id="name-taken"),
    pytest.param('FROM debian:12\nCMD ["x"]\nENV A=b \\\n', id="continuation-at-eof"),
    # distroless has no shell to give a VOLUME to nonroot: the finding says so, no fix
    pytest.param(
        'FROM gcr.io/distroless/static-debian12\nCOPY app /app\nVOLUME /data\nCMD ["/app"]\n',
        id="distroless-volume",
    ),
    # slapd starts as root and drops to openldap itself (slapd -u)
    pytest.param(
        "FROM debian:12\nRUN apt-get update && apt-get install -y slapd\nCOPY start.sh /\n"
        'ENTRYPOINT ["/start.sh"]\n',
        id="slapd",
    ),
    # .NET on CBL-Mariner: keelhaul does not know its user tools
    pytest.param(
        'FROM mcr.microsoft.com/dotnet/runtime:7.0-cbl-mariner2.0\nCOPY a /a\nCMD ["/a"]\n',
        id="dotnet-mariner",
    ),
    # a user made without a UID: USER is written in numbers only (KH201), so no fix
    pytest.param(
        "FROM debian:12\nCOPY x /app/\nRUN adduser --disabled-password --gecos '' web\n"
        'COPY y /app/\nCMD ["x"]\n',
        id="named-user",
    ),
]


@pytest.mark.parametrize(
    "src",
    [
        pytest.param('FROM debian:12\nONBUILD COPY . /app\nCMD ["x"]\n', id="onbuild"),
        pytest.param('FROM debian:12\nCMD ["bash"]\n', id="shell-cmd"),
        pytest.param("FROM debian:12\nENV A=b \\\n", id="no-cmd-over-a-distribution"),
        # servers whose master drops its workers to nginx or www-data (issue 16)
        pytest.param("FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n", id="nginx"),
        pytest.param("FROM php:8.3-apache\nCOPY . /var/www/html\n", id="php-apache"),
        pytest.param(
            'FROM debian:12\nRUN apt-get install -y nginx\nCMD ["nginx"]\n', id="nginx-pkg"
        ),
        # images for development (issue 16)
        pytest.param('FROM debian:12 AS dev\nCMD ["x"]\n', id="dev-target"),
    ],
)
def test_images_made_to_be_built_on_are_not_reported(src: str) -> None:
    """A USER there would break every image built FROM it (its apt-get, its COPYs)."""
    assert kh109(src) == []
    assert fixed(src) == src


@pytest.mark.parametrize("src", NOT_FIXED)
def test_no_fix_when_unsure(src: str) -> None:
    findings = kh109(src)
    assert findings, "KH109 should still report it"
    assert all(f.fix is None for f in findings)
    assert fixed(src) == src


@pytest.mark.parametrize(
    ("reference", "installed", "expected"),
    [
        ("debian:12-slim", set(), Family.DEBIAN),
        ("ubuntu:24.04", set(), Family.DEBIAN),
        ("python:3.12", set(), Family.DEBIAN),
        ("eclipse-temurin:21-jre", set(), Family.DEBIAN),
        ("node:20-alpine", set(), Family.ALPINE),
        ("public.ecr.aws/docker/library/alpine:3.20", set(), Family.ALPINE),
        ("quay.io/centos/centos:stream9", set(), Family.RHEL),
        ("registry.access.redhat.com/ubi9/ubi", set(), Family.RHEL),
        ("registry.access.redhat.com/ubi9/ubi-minimal", {"shadow-utils"}, Family.RHEL),
        ("amazonlinux:2023", {"shadow-utils"}, Family.RHEL),
        ("eclipse-temurin:21-jre-ubi9-minimal", set(), None),
        ("amazoncorretto:21", set(), None),
        ("postgres:16", set(), None),
    ],
)
def test_family(reference: str, installed: set[str], expected: Family | None) -> None:
    found = family(reference, installed)
    if expected is None:
        assert isinstance(found, NoFix)
        assert found.reason
    else:
        assert found is expected


@pytest.mark.parametrize(
    ("destination", "workdir", "expected"),
    [
        ("/app", "/", True),
        ("/app/static", "%wd0", True),
        ("/srv/site", "/", True),
        ("/usr/src/app", "/usr/src/app", True),
        ("/opt/service/conf", "/opt/service", True),  # the WORKDIR
        ("/opt/service", "/", False),  # not the WORKDIR, not an app folder
        ("/usr/local/bin/app", "/app", False),
        ("/etc/app.conf", "/app", False),
        ("/usr/share/nginx/html", "/usr/share/nginx/html", False),  # a system WORKDIR
        ("/data", "%wd0", False),  # the base decides the WORKDIR
    ],
)
def test_chown_heuristic(destination: str, workdir: str, expected: bool) -> None:
    assert needs_chown(destination, workdir) is expected


def test_composes_with_safe_fixes() -> None:
    src = (
        "FROM python:3.12-slim\nMAINTAINER Jane\nENV APP_HOME /app\nWORKDIR /app\n"
        'COPY . .\nCMD ["python", "app.py"]\n'
    )
    after = fix(src, None, unsafe=True)
    assert 'LABEL org.opencontainers.image.authors="Jane"' in after
    assert "ENV APP_HOME=/app" in after
    assert "COPY --chown=10001:10001 . ." in after
    assert "USER 10001:10001\n" in after
    assert not parse(after).errors
    assert fix(after, None, unsafe=True) == after
    # Without --unsafe-fixes the safe fixes apply and the user is left alone.
    safe = fix(src, None, unsafe=False)
    assert "LABEL" in safe
    assert "USER" not in safe


def test_untouched_lines_stay() -> None:
    src = (
        "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\n\n# build it\nRUN go build "
        "-o /out/app\n\nFROM alpine:3.20\n# the binary\nCOPY --from=build /out/app /usr/bin/app"
        '\n\nENTRYPOINT ["app"]\n'
    )
    after = fixed(src)
    assert set(src.splitlines()) <= set(after.splitlines())


MESSAGES = [
    pytest.param(  # a new user: the message names the RUN, the paths and the USER it writes
        'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nVOLUME /data\nCMD ["python", "a.py"]\n',
        "create user app (10001), give it /data, /app and end with USER 10001:10001",
        id="created",
    ),
    pytest.param(  # the base's user, by number (not "USER 10001:10001", not "USER node")
        'FROM node:20-slim\nWORKDIR /srv/app\nCOPY . .\nCMD ["node", "a.js"]\n',
        "end with USER 1000:1000 (node's user node, per nodejs/docker-node); give /srv/app to it",
        id="node",
    ),
    pytest.param(
        "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY out /app\n"
        'ENTRYPOINT ["dotnet", "/app/a.dll"]\n',
        "end with USER 1654:1654 (dotnet/aspnet's user app ($APP_UID), per dotnet/dotnet-docker)",
        id="dotnet-8",
    ),
    pytest.param(
        'FROM gcr.io/distroless/static-debian12\nWORKDIR /app\nCOPY a .\nCMD ["/app/a"]\n',
        "end with USER 65532:65532 (distroless/static-debian12's user nonroot, per "
        "GoogleContainerTools/distroless) (/app stays root's: the image has no shell to chown it)",
        id="distroless",
    ),
    pytest.param(  # no fix: the message says why, and names no USER the fix would write
        'FROM alpine:3.20\nVOLUME /data\nRUN mkdir -p /data\nCMD ["x"]\n',
        "switch to an unprivileged user with a numeric USER (no automatic fix: the app writes "
        "/data, which a VOLUME declares before a RUN could give it to the user (a change after "
        "VOLUME is discarded))",
        id="no-fix-says-why",
    ),
    pytest.param(  # a port below 1024: said, not hidden
        'FROM python:3.12-slim\nCOPY a.py /srv/\nEXPOSE 80\nCMD ["python", "/srv/a.py"]\n',
        "create user app (10001) and end with USER 10001:10001; it listens on 80, which a "
        "non-root user may bind under Docker (unprivileged ports since Engine 20.10) but not "
        "where the runtime keeps ports below 1024 privileged",
        id="low-port",
    ),
]


@pytest.mark.parametrize(("src", "advice"), MESSAGES)
def test_message_names_what_the_fix_writes(src: str, advice: str) -> None:
    """Issue 17: the message said "USER 10001:10001" while the fix wrote 1000:1000. Both now
    come from one plan; the USER and the paths in the message are those in the fix."""
    (finding,) = kh109(src)
    assert finding.message.endswith(advice), finding.message
    if finding.fix is None:
        assert "no automatic fix" in finding.message
        return
    written = "".join(edit.text for edit in finding.fix.edits)
    user = advice.split("USER ", 1)[1].split()[0].rstrip(";")
    assert f"USER {user}" in written
    assert "USER 10001" not in written or user.startswith("10001")


@pytest.mark.corpus
def test_corpus_messages_name_what_the_fix_writes() -> None:
    """On every corpus Dockerfile KH109 reports: the USER the message names is the one the fix
    writes, and a finding with no fix says so."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    check = checker(("KH109",))
    targets = [Target(Path(str(p)), str(p), True, corpus_bytes(p)) for p in files]
    seen = 0
    for finding in check.check(targets).all_findings:
        if finding.code != "KH109":
            continue
        seen += 1
        said = re.search(r"end with USER (\S+)", finding.message)
        if finding.fix is None:
            assert said is None, finding.message
            assert "no automatic fix" in finding.message, finding.message
            continue
        written = re.search(r"USER (\S+)", "".join(e.text for e in finding.fix.edits))
        assert said is not None, finding.message
        assert written is not None, finding.message
        assert said.group(1).rstrip(";") == written.group(1), finding.location.path
    assert seen > 50


@pytest.mark.corpus
def test_judged_fixes_still_do_what_was_judged() -> None:
    """tests/data/judged/fixes/KH109.tsv: 32 corpus files whose fix diff was read as their
    maintainer would. Each still gets a fix, or still gets none, as when it was judged (a
    change means judging it again); the ones judged wrong are at most the one recorded."""
    if not corpus_files("dockerfiles"):
        pytest.skip("no corpus")
    rows = fix_verdicts("KH109")
    check = checker(("KH109",))
    changed = []
    for row in rows:
        data = (CORPUS / row.path).read_bytes()
        found = [f for f in check.check([Target(Path(row.path), row.path, True, data)]).all_findings
                 if f.code == "KH109"]  # fmt: skip
        offered = any(f.fix is not None for f in found)
        if offered != row.offered:
            changed.append(f"{row.path}: now {'fix' if offered else 'none'}")
    assert changed == [], changed
    assert len(rows) >= 30
    assert sum(r.verdict == "wrong" for r in rows) <= 1


@pytest.mark.corpus
def test_corpus_user_fix_is_idempotent_and_local() -> None:
    """On every corpus Dockerfile: the fix parses, quiets KH109, is idempotent, and lines it
    does not touch stay."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    stats = corpus_stats("dockerfiles fixed (unsafe, KH109 user)")
    check = checker(("KH109",))
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
        stats["fixed"] += 1
        assert not parse(once.after).errors, path
        assert not [f for f in once.remaining if f.code == "KH109"], path  # quiet after
        after = once.after.encode("utf-8", "surrogateescape")
        again = fix_target(check, Target(Path("Dockerfile"), "Dockerfile", True, after),
                           once.after, True)  # fmt: skip
        assert again.after == once.after, path
        assert not again.applied, path
        touched = {n for f in once.applied if f.fix for e in f.fix.edits
                   for n in range(e.start_line, e.end_line + 1)}  # fmt: skip
        after_lines = set(split_lines(once.after)[1])
        for number, line in enumerate(split_lines(text)[1], 1):
            if number not in touched and line.strip():
                assert line in after_lines, (path, number)


# --------------------------------------------------------------------------------------------
# with a real Docker Engine

APP = 'id -u\ntouch state && echo "app ran"\n'


def _build(folder: Path, tag: str) -> None:
    done = subprocess.run(
        ["docker", "build", "--network", "host", "-q", "-t", tag, str(folder)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _run(tag: str) -> str:
    done = subprocess.run(
        ["docker", "run", "--rm", tag], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.docker
def test_user_fix_builds_and_runs_as_10001(docker_engine: str, tmp_path: Path) -> None:
    # The shared base image is imported from a debootstrap folder made by `mktemp -d`, so its
    # / is mode 0700 and no other user may run anything in it. Copied into scratch, the tree
    # gets an ordinary / (0755); the name keeps its last part, `debian`, as a distribution.
    base = "keelhaul-test-user-fix/debian:open-root"
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "Dockerfile").write_text(
        f"FROM scratch\nCOPY --from={docker_engine} / /\n"
    )
    _build(tmp_path / "base", base)

    work = tmp_path / "app"
    work.mkdir()
    (work / "app.sh").write_text(APP)
    dockerfile = work / "Dockerfile"
    # the app writes into its WORKDIR: the fix gives it to the new user in the same RUN
    dockerfile.write_text(f'FROM {base}\nWORKDIR /app\nCOPY app.sh .\nCMD ["sh", "app.sh"]\n')
    tags = ("keelhaul-test-user-fix/app:before", "keelhaul-test-user-fix/app:after")
    try:
        _build(work, tags[0])
        assert _run(tags[0]).split() == ["0", "app", "ran"]
        done = subprocess.run(
            [sys.executable, "-m", "keelhaul", "--no-color", "fix", "--no-config",
             "--unsafe-fixes", "--select", "KH109", str(dockerfile)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "USER 10001:10001" in dockerfile.read_text()
        _build(work, tags[1])
        assert _run(tags[1]).split() == ["10001", "app", "ran"]
        _reuses_the_base_user(tmp_path, base)
    finally:
        subprocess.run(["docker", "rmi", "-f", *tags, base], capture_output=True, check=False)


NODE_APP = "id -u\nstat -c %u /app/app.sh\n"


def _reuses_the_base_user(tmp_path: Path, base: str) -> None:
    """The same base tagged with the official node image's name, so keelhaul's table applies:
    the fix reuses node's user by number (1000:1000, no passwd entry needed), creates no user,
    and gives the app's files to it. Reusing the base keeps this cheap: one COPY layer."""
    node = "node:keelhaul-nonroot-test"
    subprocess.run(["docker", "tag", base, node], capture_output=True, check=True)
    work = tmp_path / "node-app"
    work.mkdir()
    (work / "app.sh").write_text(NODE_APP)
    dockerfile = work / "Dockerfile"
    dockerfile.write_text(f'FROM {node}\nCOPY app.sh /app/\nCMD ["sh", "/app/app.sh"]\n')
    tag = "keelhaul-test-nonroot/app:after"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "keelhaul", "--no-color", "fix", "--no-config",
             "--unsafe-fixes", "--select", "KH109", str(dockerfile)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert dockerfile.read_text() == (
            f"FROM {node}\nCOPY --chown=1000:1000 app.sh /app/\nUSER 1000:1000\n"
            'CMD ["sh", "/app/app.sh"]\n'
        )
        _build(work, tag)
        assert _run(tag).split() == ["1000", "1000"]
    finally:
        subprocess.run(["docker", "rmi", "-f", tag, node], capture_output=True, check=False)
