"""Stage roles: what each stage of a Dockerfile is for (minimal files written for the test)."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.rules.dockerfile.shared.roles import Role, StageRole, stage_role
from keelhaul.rules.registry import DockerfileContext


def role_of(text: str, name: str = "Dockerfile", stage: int | None = None) -> tuple[Role, bool]:
    ctx = DockerfileContext.of(parse(text, name))
    chosen = None if stage is None else ctx.build.stages[stage]
    found = stage_role(ctx, chosen)
    return found.role, found.drops_privileges


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ('FROM debian:12\nCMD ["sleep", "infinity"]\n', Role.RUNS),
        ('FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n', Role.RUNS),
        ("FROM python:3.12-slim\nCMD python /app/main.py\n", Role.RUNS),
        ("FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n", Role.RUNS),
        ("FROM php:8.3-apache\nCOPY . /var/www/html\n", Role.RUNS),
        ("FROM php:8.3-cli\nRUN docker-php-ext-install pdo\n", Role.BASE),
        ("FROM example.com/team/app-base:1\nCOPY app /app\n", Role.RUNS),
        ('FROM debian:12\nRUN apt-get update\nCMD ["python3"]\n', Role.BASE),
        ('FROM debian:12\nCMD ["bash"]\n', Role.BASE),
        ('FROM php:8.3-apache\nCMD ["php", "-a"]\n', Role.BASE),
        ("FROM golang:1.22\nRUN go install example.com/tool@v1.2.3\n", Role.BASE),
        ("FROM node:22\nONBUILD COPY . /app\nCMD node /app\n", Role.BASE),
        (
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM scratch\n"
            "COPY --from=build /out/app /app\n",
            Role.EXPORT,
        ),
        ('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n', Role.RUNS),
    ],
)
def test_target_roles(text: str, role: Role) -> None:
    assert role_of(text)[0] is role


def test_build_stages_and_names() -> None:
    text = 'FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12\nCOPY --from=build /app /app\nCMD ["/app"]\n'
    assert role_of(text, stage=0)[0] is Role.BUILD
    assert role_of(text)[0] is Role.RUNS
    assert role_of('FROM debian:12\nCMD ["/usr/bin/tool"]\n', "sdk.Dockerfile")[0] is Role.BASE
    assert role_of('FROM debian:12\nCMD ["/usr/bin/tool"]\n', "Dockerfile.base")[0] is Role.BASE


def test_privilege_drop() -> None:
    text = (
        "FROM debian:12\nRUN apt-get update && apt-get install -y gosu\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["postgres"]\n'
    )
    assert role_of(text) == (Role.RUNS, True)


def _role(text: str, name: str = "Dockerfile") -> StageRole:
    return stage_role(DockerfileContext.of(parse(text, name)))


@pytest.mark.parametrize(
    ("text", "name", "role"),
    [
        (
            'FROM debian:12\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node"]\n',
            "Dockerfile",
            Role.BASE,
        ),
        ('FROM debian:12\nENTRYPOINT ["zsh"]\n', "Dockerfile", Role.BASE),
        ('FROM alpine:3.20\nENTRYPOINT ["aws"]\n', "Dockerfile", Role.TOOL),
        ('FROM alpine:3.20\nENTRYPOINT ["vault"]\nCMD ["--help"]\n', "Dockerfile", Role.TOOL),
        ('FROM alpine:3.20\nENTRYPOINT ["vault"]\nEXPOSE 8200\n', "Dockerfile", Role.RUNS),
        ('FROM alpine:3.20\nCOPY app /usr/bin/app\nENTRYPOINT ["app"]\n', "Dockerfile", Role.RUNS),
        ('FROM alpine:3.20\nENTRYPOINT ["python", "tool.py"]\n', "Dockerfile", Role.RUNS),
        ('FROM alpine:3.20\nRUN apk add htop\nCMD ["htop"]\n', "Dockerfile", Role.TOOL),
        ('FROM alpine:3.20\nCMD ["x"]\n', "Dockerfile", Role.RUNS),
        ('FROM alpine:3.20\nCMD ["mysqld"]\n', "Dockerfile", Role.RUNS),
        ('FROM debian:12\nCMD ["/run-tests.sh"]\n', "e2e/testdata/Dockerfile", Role.TEST),
        ('FROM debian:12\nCMD ["/app"]\n', "dev.Dockerfile", Role.BASE),
        ("FROM debian:12 AS dev-envs\nRUN apt-get install -y git\n", "Dockerfile", Role.BASE),
        ("FROM alpine:3.20\nRUN --mount=type=bind,target=. ./check.sh\n", "Dockerfile", Role.BUILD),
        ("FROM app AS upload-artifact\nRUN ./upload.sh\n", "Dockerfile", Role.BUILD),
    ],
)
def test_more_roles(text: str, name: str, role: Role) -> None:
    assert _role(text, name).role is role


def test_servers_that_drop_privileges_and_programs_that_need_root() -> None:
    nginx = _role(
        'FROM debian:12\nENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["nginx", "-g", "daemon off;"]\n'
    )
    assert nginx.drops_privileges
    assert _role("FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n").drops_privileges
    assert not _role('FROM redis:7\nCMD ["/run.sh"]\n').drops_privileges
    assert _role("FROM docker:27-dind\n").needs_root
    assert _role('FROM debian:12\nENTRYPOINT ["buildkitd"]\n').needs_root


@pytest.mark.parametrize(
    ("text", "ships"),
    [
        ('FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n', True),
        # no CMD over a language image: an application whose command `docker run` gives
        ("FROM python:3.12-slim\nRUN pip install flask==3.0.3\n", True),
        # no CMD over a toolchain, no sources taken in: the compiler is the image's purpose
        ("FROM buildpack-deps:bookworm-scm\nRUN apt-get update && apt-get install -y gcc\n", False),
        ("FROM golang:1.22-alpine\nRUN apk add --no-cache git\n", False),
        # ...the same toolchain taking the build context in builds an application
        ("FROM golang:1.22\nCOPY . .\nRUN go build -o /app .\n", True),
        ("FROM golang:1.22\nRUN --mount=type=bind,target=. go build -o /app .\n", True),
        # a prompt CMD behind an entrypoint script (the official node image)
        ('FROM debian:12-slim\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node"]\n', False),
        ("FROM node:22\nONBUILD COPY . /app\n", False),
        (
            "FROM golang:1.22 AS b\nRUN go build -o /o/app .\nFROM scratch\nCOPY --from=b /o /\n",
            False,
        ),
    ],
)
def test_ships_as_application(text: str, ships: bool) -> None:
    from keelhaul.rules.dockerfile.shared.roles import ships_as_application

    assert ships_as_application(DockerfileContext.of(parse(text))) is ships
