"""Base images, image references and multi-stage builds: KH101 and KH120-KH128.

Each table row is (Dockerfile, expected lines of the rule's findings): an empty list means the
rule must stay quiet, so every row can fail.
"""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.rule import REGISTRY
from keelhaul.rules.dockerfile.shared.images import (
    full_base,
    image_matches,
    image_ref,
    is_alpine,
    registry_matches,
)
from keelhaul.rules.dockerfile.shared.toolchain import is_build_tool
from keelhaul.rules.registry import DockerfileContext, findings_of
from tests.rules.tables import check_table, lines, run, table

DIGEST = "@sha256:" + "a" * 64
CMD = 'CMD ["/app"]\n'

# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("node", ("docker.io", "node", None, None)),
        ("node:20-slim", ("docker.io", "node", "20-slim", None)),
        ("library/node:20", ("docker.io", "node", "20", None)),
        ("docker.io/library/node:20", ("docker.io", "node", "20", None)),
        ("index.docker.io/bitnami/redis:7", ("docker.io", "bitnami/redis", "7", None)),
        ("localhost:5000/app", ("localhost:5000", "app", None, None)),
        ("gcr.io/distroless/static:nonroot", ("gcr.io", "distroless/static", "nonroot", None)),
        ("alpine@sha256:" + "a" * 64, ("docker.io", "alpine", None, "sha256:" + "a" * 64)),
        ("Registry.Example.com/app:1", ("registry.example.com", "app", "1", None)),
        ("registry-1.docker.io/library/node", ("docker.io", "node", None, None)),
        ("public.ecr.aws/docker/library/python:3.12", ("docker.io", "python", "3.12", None)),
        ("mirror.gcr.io/library/node:20", ("docker.io", "node", "20", None)),
    ],
)
def test_image_ref(ref: str, parts: tuple[str, str, str | None, str | None]) -> None:
    got = image_ref(ref)
    assert got is not None
    assert (got.registry, got.path, got.tag, got.digest) == parts


def test_registry_and_image_patterns() -> None:
    hub = image_ref("python:3.12-slim")
    assert hub is not None
    assert registry_matches(hub.registry, ["docker.io"])
    assert registry_matches(hub.registry, ["hub.docker.com"])
    assert not registry_matches(hub.registry, ["gcr.io"])
    assert registry_matches("eu.gcr.io", ["*.gcr.io"])
    assert image_matches(hub, ["python"])
    assert image_matches(hub, ["docker.io/library/python"])
    assert image_matches(hub, ["python:3.12-*"])
    assert not image_matches(hub, ["python:3.11-*"])
    assert not image_matches(hub, ["node"])
    distroless, quay = image_ref("gcr.io/distroless/static"), image_ref("quay.io/distroless/static")
    assert distroless is not None
    assert quay is not None
    assert image_matches(distroless, ["gcr.io/distroless/*"])
    assert not image_matches(quay, ["gcr.io/*"])


@pytest.mark.parametrize(
    ("ref", "alpine"),
    [
        ("alpine:3.20", True),
        ("python:3.12-alpine", True),
        ("node:20-alpine3.19", True),
        ("myorg/alpine", True),
        ("frolvlad/alpine-glibc", False),
        ("python:3.12-slim", False),
        ("debian:12", False),
    ],
)
def test_is_alpine(ref: str, alpine: bool) -> None:
    assert is_alpine(ref) is alpine


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("gcc", True), ("build-essential", True), ("libpq-dev", True), ("openssl-devel", True),
        ("openjdk-17-jdk", True), ("openjdk17", True), ("golang-1.21-go", True),
        ("dotnet-sdk-8.0", True), ("Development Tools", True), ("linux-headers", True),
        ("libpq5", False), ("openjdk-17-jre-headless", False), ("curl", False),
        ("udev", False), ("python3", False),
    ],
)  # fmt: skip
def test_is_build_tool(name: str, tool: bool) -> None:
    assert is_build_tool(name) is tool


# --------------------------------------------------------------------------- KH101


@table(
    "KH101",
    [
        ("FROM node:latest\n", [1]),
        ("FROM node\n", [1]),
        ("ARG BASE=alpine\nFROM $BASE\n", [2]),  # resolved from the ARG default
        ("ARG TAG=latest\nFROM alpine:${TAG}\n", [2]),
        ("ARG BASE\nFROM $BASE\n", []),  # no default: nothing to judge
        ("ARG REPO\nFROM ${REPO}/alpine\n", []),
        ("ARG TAG\nFROM alpine:${TAG}\n", []),
        ("FROM node:20\n", []),
        ("FROM node:lts\n", [1]),  # a release channel: the next LTS major
        ("FROM alpine:edge\n", [1]),
        ("FROM example/app:master\n", [1]),  # a branch
        ("FROM example/app:master-4f2a9c1\n", []),  # a commit on it
        ("FROM debian:stable-slim\n", []),  # a variant of a channel: not judged here
        ("FROM node" + DIGEST + "\n", []),
        ("FROM scratch\n", []),
        ("FROM alpine:3.20 AS base\nFROM base\n", []),  # an earlier stage
        ("FROM localhost:5000/app:1.0\n", []),  # a registry port is not a tag
        ("FROM localhost:5000/app\n", [1]),
        ("FROM --platform=$BUILDPLATFORM golang AS build\n", [1]),
    ],
)
def test_mutable_base_tag(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH120


@table(
    "KH120",
    [
        ("FROM node:20\n" + CMD, [1]),
        ("FROM node\n" + CMD, [1]),
        ("FROM python:3.12-bookworm\n" + CMD, [1]),
        ("FROM golang:1.22-alpine\n" + CMD, [1]),  # a toolchain whatever the tag
        ("FROM eclipse-temurin:21\n" + CMD, [1]),  # a JDK
        ("FROM eclipse-temurin:21-jdk-alpine\n" + CMD, [1]),
        ("FROM maven:3.9-eclipse-temurin-21\n" + CMD, [1]),
        ("FROM rust:1.79-slim\n" + CMD, [1]),
        ("FROM php:8.3-cli\n" + CMD, [1]),
        ("FROM php:8.3-apache\n" + CMD, []),  # no smaller apache variant exists
        ("FROM mcr.microsoft.com/dotnet/sdk:8.0\n" + CMD, [1]),
        ("FROM buildpack-deps:bookworm\n" + CMD, [1]),
        ("ARG NODE=20\nFROM node:${NODE}\n" + CMD, [2]),  # resolved from the ARG default
        # the final stage built FROM an earlier stage: its base image counts, found there
        ("FROM python:3.12 AS base\nRUN pip install flask\nFROM base\n" + CMD, [1]),
        ("FROM node:20-slim\n" + CMD, []),
        ("FROM node:20-alpine\n" + CMD, []),
        ("FROM python:3.12-slim-bookworm\n" + CMD, []),
        ("FROM eclipse-temurin:21-jre\n" + CMD, []),
        ("FROM buildpack-deps:bookworm-curl\n" + CMD, []),
        ("FROM php:8.3-fpm-alpine\n" + CMD, []),
        ("FROM mcr.microsoft.com/dotnet/aspnet:8.0\n" + CMD, []),
        # builder stages may use anything
        ("FROM golang:1.22 AS build\nRUN go build -o /app\nFROM scratch\n"
         "COPY --from=build /app /app\n" + CMD, []),
        ("FROM scratch\nCOPY app /app\n" + CMD, []),
        ("ARG BASE\nFROM $BASE\n" + CMD, []),
        ("FROM mcr.microsoft.com/windows/servercore:ltsc2022\n" + CMD, []),
        # a development target, and images made to be built upon
        ("FROM node:20 AS dev\n" + CMD, []),
        ("FROM python:3.12\nCMD [\"python3\"]\n", []),
        ("FROM node:20\nONBUILD COPY . /app\n", []),
    ],
)  # fmt: skip
def test_full_base_image(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_full_base_image_names_the_smaller_variant() -> None:
    (found,) = run("KH120", "FROM node:20\n" + CMD)
    assert "node:20-slim" in found.message
    assert "node:20-alpine" in found.message
    assert "gcr.io/distroless/nodejs20-debian12" in found.message
    assert "MB" in found.message
    (go,) = run("KH120", "FROM golang:1.22\n" + CMD)
    assert "scratch" in go.message
    assert "distroless/static" in go.message
    (jdk,) = run("KH120", "FROM eclipse-temurin:17\n" + CMD)
    assert "eclipse-temurin:17-jre" in jdk.message
    (mvn,) = run("KH120", "FROM maven:3.9-eclipse-temurin-21\n" + CMD)
    assert "eclipse-temurin:21-jre" in mvn.message
    (py,) = run("KH120", "FROM python:3.12\n" + CMD)
    assert "python:3.12-slim" in py.message
    (lts,) = run("KH120", "FROM node:lts\n" + CMD)
    assert "node:lts-slim" in lts.message
    assert "distroless" not in lts.message


@pytest.mark.parametrize(
    "path", [".devcontainer/Dockerfile", "Dockerfile.dev", "dev.Dockerfile", "Dockerfile.build"]
)
def test_development_images_are_not_checked(path: str) -> None:
    assert run("KH120", "FROM node:20\n" + CMD, path=path) == []
    assert run("KH120", "FROM node:20\n" + CMD, path="Dockerfile.prod") != []


def test_full_base_table_is_not_fooled_by_lookalikes() -> None:
    assert full_base("myorg/node:20") is None  # not the official image
    assert full_base("golang:1.22") is not None


# --------------------------------------------------------------------------- KH121


@table(
    "KH121",
    [
        ("FROM ubuntu:22.04\n" + CMD, [1]),
        ("FROM debian:12\n" + CMD, [1]),
        ("FROM debian\n" + CMD, [1]),
        ("FROM centos:7\n" + CMD, [1]),
        ("FROM rockylinux:9\n" + CMD, [1]),
        ("FROM registry.access.redhat.com/ubi9/ubi\n" + CMD, [1]),
        ("FROM debian:12-slim\n" + CMD, []),
        ("FROM rockylinux:9-minimal\n" + CMD, []),
        ("FROM registry.access.redhat.com/ubi9/ubi-minimal\n" + CMD, []),
        ("FROM alpine:3.20\n" + CMD, []),
        ("FROM ubuntu:22.04 AS build\nRUN make\nFROM gcr.io/distroless/cc-debian12\n" + CMD, []),
        ("FROM ubuntu:22.04\nCMD [\"bash\"]\n", []),  # a base for other images
    ],
)  # fmt: skip
def test_general_purpose_base_image(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_general_purpose_base_image_messages() -> None:
    (debian,) = run("KH121", "FROM debian:bookworm\n" + CMD)
    assert "debian:bookworm-slim" in debian.message
    (centos,) = run("KH121", "FROM centos:7\n" + CMD)
    assert "end-of-life" in centos.message
    (rocky,) = run("KH121", "FROM rockylinux:9\n" + CMD)
    assert "rockylinux:9-minimal" in rocky.message


# --------------------------------------------------------------------------- KH122

PY_ALPINE = "FROM python:3.12-alpine\n"


@table(
    "KH122",
    [
        (PY_ALPINE + "RUN pip install --no-cache-dir numpy==2.0.0\n", [2]),
        (PY_ALPINE + "RUN pip install pandas scipy\n", [2]),
        (PY_ALPINE + "RUN python -m pip install torch\n", [2]),
        (PY_ALPINE + "RUN uv pip install --system grpcio\n", [2]),
        ("FROM alpine:3.20\nRUN apk add --no-cache py3-pip && pip install lxml\n", [2]),
        # a builder stage on Alpine counts too: that is where the slow build happens
        ("FROM python:3.12-alpine AS build\nRUN pip wheel numpy\nRUN pip install cryptography\n"
         "FROM python:3.12-slim\n", [2, 3]),
        # inherited: a stage built FROM an Alpine stage is Alpine
        ("FROM python:3.12-alpine AS base\nFROM base\nRUN pip install orjson\n", [3]),
        ("ARG V=3.12\nFROM python:${V}-alpine\nRUN pip install pillow\n", [3]),
        (PY_ALPINE + "RUN pip install flask requests\n", []),  # pure Python
        (PY_ALPINE + "RUN pip install psycopg2\n", []),  # no wheel anywhere: not musl's fault
        (PY_ALPINE + "RUN pip install -r requirements.txt\n", []),  # cannot see inside
        ("FROM python:3.12-slim\nRUN pip install numpy\n", []),
        ("FROM alpine:3.20\nRUN apk add --no-cache py3-numpy\n", []),  # Alpine's own build
        # glibc programs
        ("FROM alpine:3.20\nRUN curl -fsSLO https://github.com/x/y/releases/download/v1/"
         "y-x86_64-unknown-linux-gnu.tar.gz\n", [2]),
        ("FROM alpine:3.20\nRUN wget https://nodejs.org/dist/v20.15.1/"
         "node-v20.15.1-linux-x64.tar.xz\n", [2]),
        ("FROM alpine:3.20\nRUN curl -fsSL https://awscli.amazonaws.com/"
         "awscli-exe-linux-x86_64.zip -o a.zip\n", [2]),
        ("FROM alpine:3.20\nADD https://repo.anaconda.com/miniconda/"
         "Miniconda3-latest-Linux-x86_64.sh /tmp/\n", [2]),
        ("FROM alpine:3.20\nRUN curl -fsSLO https://github.com/x/y/releases/download/v1/"
         "y-x86_64-unknown-linux-musl.tar.gz\n", []),
        ("FROM alpine:3.20\nRUN curl -fsSLO https://unofficial-builds.nodejs.org/download/"
         "release/v20.15.1/node-v20.15.1-linux-x64-musl.tar.xz\n", []),
        ("FROM debian:12-slim\nRUN curl -fsSLO https://github.com/x/y/releases/download/v1/"
         "y-x86_64-unknown-linux-gnu.tar.gz\n", []),
        # the shim alone is a symptom, not the signal
        ("FROM alpine:3.20\nRUN apk add --no-cache gcompat libc6-compat\n", []),
        ("FROM alpine:3.20\nRUN cp /usr/lib/x86_64-linux-gnu/libfoo.so /opt/\n", []),
    ],
)  # fmt: skip
def test_alpine_musl_mismatch(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_alpine_musl_messages() -> None:
    (wheels,) = run("KH122", PY_ALPINE + "RUN apk add --no-cache build-base && pip install "
                    "numpy pandas\n")  # fmt: skip
    assert "numpy, pandas" in wheels.message
    assert "python:3.12-slim" in wheels.message
    assert "installs compilers" in wheels.message
    (virtual,) = run("KH122", PY_ALPINE + "RUN apk add --virtual .d gcc musl-dev && pip install "
                     "orjson && apk del .d\n")  # fmt: skip
    assert "installs compilers" in virtual.message
    assert (wheels.location.line, wheels.location.column) == (2, 50)  # at "numpy"
    (twice,) = run("KH122", PY_ALPINE + "RUN pip install 'numpy>=1.26' lxml NumPy[extra]\n")
    assert "numpy, lxml on Alpine" in twice.message
    (torch,) = run("KH122", PY_ALPINE + "RUN pip install torch\n")
    assert "no musl wheels" in torch.message
    (shim,) = run("KH122", "FROM alpine:3.20\nRUN apk add --no-cache gcompat && curl -fsSLO "
                  "https://example.com/tool-aarch64-linux-gnu.tar.gz\n")  # fmt: skip
    assert "gcompat" in shim.message
    assert "partial shim" in shim.message
    assert "debian:12-slim" in shim.message


# --------------------------------------------------------------------------- KH123


@table(
    "KH123",
    [
        ("FROM python:3.12-slim\n", [1]),
        ("ARG PY=3.12\nFROM python:${PY}-slim\n", [2]),  # resolved from the ARG default
        ("FROM golang:1.22 AS build\nFROM gcr.io/distroless/static-debian12" + DIGEST + "\n",
         [1]),  # builders count: they make the bytes
        ("FROM alpine" + DIGEST + "\nCOPY --from=busybox:1.36 /bin/busybox /bin/\n", [2]),
        ("FROM alpine" + DIGEST + "\nRUN --mount=from=busybox:1.36,target=/b true\n", [2]),
        ("FROM python:3.12-slim" + DIGEST + "\n", []),
        ("FROM python:3.12-slim@sha256:" + "b" * 64 + " AS base\nFROM base\n", []),
        ("FROM scratch\n", []),
        ("ARG BASE\nFROM $BASE\n", []),
        ("ARG TAG\nFROM alpine:${TAG}\n", []),  # the tag is a build arg's: unknown
        # BuildKit expands no variable in --from: not an image reference keelhaul can judge
        ("FROM alpine" + DIGEST + "\nARG V=1.36\nCOPY --from=busybox:${V} /bin/sh /sh\n", []),
        ("FROM node:latest\n", []),  # KH101's
        ("FROM node\n", []),
        ("FROM alpine" + DIGEST + " AS a\nFROM alpine" + DIGEST + "\nCOPY --from=a /x /x\n",
         []),  # a stage, not an image
    ],
)  # fmt: skip
def test_base_without_digest(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_base_without_digest_is_info_and_located() -> None:
    (found,) = run("KH123", "FROM --platform=linux/amd64 python:3.12-slim AS app\n")
    assert found.severity.value == "info"
    assert (found.location.column, found.location.end_column) == (29, 45)
    assert "python:3.12-slim@sha256:" in found.message


# --------------------------------------------------------------------------- KH124

SLIM = "FROM python:3.12-slim\n"
APT = "apt-get update && apt-get install -y --no-install-recommends"
APP_CMD = 'CMD ["/usr/local/bin/app"]\n'


@table(
    "KH124",
    # an application image (a command-less image that builds nothing is a toolbox)
    [(src + APP_CMD, found) for src, found in [
        (SLIM + f"RUN {APT} gcc libpq-dev\n", [2]),
        (SLIM + f"RUN {APT} build-essential\n", [2]),
        ("FROM alpine:3.20\nRUN apk add --no-cache build-base python3-dev\n", [2]),
        ("FROM rockylinux:9\nRUN dnf install -y gcc-c++ make\n", [2]),
        ("FROM rockylinux:9\nRUN yum groupinstall -y 'Development Tools'\n", [2]),
        ("FROM debian:12-slim\nRUN " + APT + " openjdk-17-jdk-headless\n", [2]),
        (SLIM + "RUN buildDeps='gcc make' && " + APT + " $buildDeps\n", [2]),
        # removed only in a later RUN: the bytes stay in the first layer
        (SLIM + f"RUN {APT} gcc\nRUN pip install x\nRUN apt-get purge -y gcc\n", [2]),
        # removed in the same RUN
        ("FROM alpine:3.20\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev "
         "&& pip install x && apk del .build-deps\n", []),
        (SLIM + f"RUN {APT} gcc libpq-dev && pip install psycopg2 && apt-get purge -y "
         "--auto-remove gcc libpq-dev\n", []),
        (SLIM + "RUN buildDeps='gcc make' && " + APT + " $buildDeps && make && "
         "apt-get purge -y --auto-remove $buildDeps\n", []),
        (SLIM + "RUN savedAptMark=\"$(apt-mark showmanual)\" && " + APT + " gcc && "
         "apt-mark auto '.*' > /dev/null && apt-mark manual $savedAptMark && "
         "apt-get purge -y --auto-remove\n", []),
        (SLIM + f"RUN {APT} libpq5 curl\n", []),  # runtime libraries
        (SLIM + f"RUN {APT} git\n", []),  # git alone is often a runtime need
        # only the final stage: builders are for tools
        (f"FROM python:3.12-slim AS build\nRUN {APT} gcc\nFROM python:3.12-slim\n", []),
        (f"FROM python:3.12-slim AS dev\nRUN {APT} gcc\n", []),
        (SLIM + f"ONBUILD RUN {APT} gcc\n", []),
    ]],
)  # fmt: skip
def test_build_tools_in_final_stage(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_build_tools_messages() -> None:
    (found,) = run("KH124", SLIM + f"RUN {APT} gcc libpq-dev git\n" + APP_CMD)
    assert "gcc, libpq-dev, git" in found.message
    assert (found.location.line, found.location.column) == (2, len(f"RUN {APT} ") + 1)
    (later,) = run("KH124", SLIM + f"RUN {APT} gcc\nRUN apt-get purge -y gcc\n" + APP_CMD)
    assert "line 3" in later.message


# --------------------------------------------------------------------------- KH125


@table(
    "KH125",
    [
        ("FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n", [4]),
        ("FROM node:20-slim\nCOPY . .\nRUN npm ci && npm run build\n", [3]),
        ("FROM node:20-slim\nCOPY . .\nRUN yarn install --frozen-lockfile && yarn build\n", [3]),
        ("FROM node:20-slim\nCOPY . .\nRUN npx tsc -p .\n", [3]),
        ("FROM node:20-slim\nCOPY . .\nRUN npx vite build\n", [3]),
        ("FROM maven:3.9-eclipse-temurin-21\nCOPY . .\nRUN mvn -B package\n", [3]),
        ("FROM rust:1.79\nCOPY . .\nRUN cargo build --release\n", [3]),
        ("FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet publish -c Release\n",
         [3]),
        ("FROM gcc:14\nCOPY . .\nRUN make\nRUN make install\n", [3]),  # one per stage
        # a BuildKit bind mount: no COPY, but the toolchain still ships
        ("FROM golang:1.22\nRUN --mount=type=bind,target=. go build -o /app .\n", [2]),
        # built in a builder stage
        ("FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /app .\n"
         "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\n", []),
        ("FROM golang:1.22\nRUN go install golang.org/x/tools/gopls@v0.16.0\n", []),  # a tool
        ("FROM node:20-slim\nRUN npm ci && npm run start\n", []),
        ("FROM node:20-slim\nRUN make --version\n", []),
        # a build whose tools are installed and removed in the same RUN leaves nothing
        ("FROM alpine:3.20\nRUN apk add --no-cache --virtual .build-deps gcc make musl-dev "
         "&& ./configure && make && make install && apk del .build-deps\n", []),
        ("FROM golang:1.22 AS test\nRUN go build ./...\n", []),  # a development target
    ],
)  # fmt: skip
def test_build_in_final_stage(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_build_in_final_stage_message() -> None:
    (found,) = run("KH125", "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n")
    assert "`go build`" in found.message
    assert "COPY . ." in found.message
    assert "line 3" in found.message
    assert "distroless/static" in found.message
    assert (found.location.line, found.location.column) == (4, 5)


# --------------------------------------------------------------------------- KH126


@table(
    "KH126",
    [
        # a forgotten COPY --from
        ("FROM golang:1.22 AS builder\nRUN go build -o /app\nFROM scratch\nCOPY app /app\n", [1]),
        ("FROM node:20 AS deps\nRUN npm ci\nFROM node:20-slim\nCOPY . .\n", [1]),
        # an unnamed stage cannot be a --target
        ("FROM alpine:3.20\nRUN echo\nFROM alpine:3.20\n", [1]),
        # a stage only an unused stage uses
        ("FROM alpine:3.20 AS base\nFROM base AS build\nFROM alpine:3.20\n", [1, 2]),
        ("FROM golang:1.22 AS builder\nRUN go build -o /app\nFROM scratch\n"
         "COPY --from=builder /app /app\n", []),
        ("FROM golang:1.22 AS builder\nFROM builder AS final\n", []),
        ("FROM alpine:3.20\nFROM scratch\nCOPY --from=0 /bin/sh /sh\n", []),  # by index
        ("FROM alpine:3.20 AS tools\nFROM scratch\nRUN --mount=from=tools,target=/t true\n",
         []),
        # named stages nothing uses may be --target targets: dev, test...
        ("FROM node:20 AS dev\nCMD npm run dev\nFROM node:20-slim AS prod\nCMD node .\n", []),
        ("FROM golang:1.22 AS base\nFROM base AS test\nRUN go test ./...\n"
         "FROM base AS build\nRUN go build\nFROM scratch\nCOPY --from=build /app /app\n", []),
        # ARG-resolved stage names
        ("ARG V=a\nFROM alpine:3.20 AS stage-a\nFROM alpine:3.20 AS stage-b\n"
         "FROM stage-${V}\n", []),
        ("FROM alpine:3.20\n", []),
    ],
)  # fmt: skip
def test_unused_stage(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH127


@table(
    "KH127",
    [
        ("FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /app .\nFROM build\n" + CMD,
         [4]),
        (f"FROM python:3.12-slim AS build\nRUN {APT} gcc\nFROM build AS final\n" + CMD, [3]),
        # through a chain of stages
        ("FROM node:20-slim AS deps\nRUN npm ci\nFROM deps AS build\nRUN npm run build\n"
         "FROM build AS runtime\n" + CMD, [5]),
        (f"FROM python:3.12-slim AS base\nRUN {APT} libpq5\nFROM base\n" + CMD, []),
        ("FROM golang:1.22 AS build\nRUN go build -o /app .\n"
         "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\n" + CMD, []),
        ("FROM alpine:3.20 AS build\nRUN apk add --no-cache --virtual .d gcc && make && "
         "apk del .d\nFROM build\n" + CMD, []),  # cleaned up in the same RUN
        ("FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM build AS dev\n" + CMD, []),
    ],
)  # fmt: skip
def test_final_stage_from_builder(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_final_stage_from_builder_message() -> None:
    (found,) = run("KH127", "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM build\n")
    assert "stage 'build'" in found.message
    assert "`go build`" in found.message
    assert "COPY --from=build" in found.message
    assert (found.location.line, found.location.column) == (3, 6)


# --------------------------------------------------------------------------- KH128

TRUSTED = {"trusted-registries": ["registry.example.com", "docker.io"]}
ALLOWED = {"allowed-base-images": ["python", "gcr.io/distroless/*", "node:20-*"]}


@pytest.mark.parametrize(
    ("src", "settings", "expected"),
    [
        ("FROM quay.io/x/y:1\n", TRUSTED, [1]),
        ("FROM registry.example.com/base:1\nFROM python:3.12\n", TRUSTED, []),
        ("FROM docker.io/library/python:3.12\n", {"trusted-registries": ["hub.docker.com"]}, []),
        ("FROM eu.gcr.io/p/app:1\n", {"trusted-registries": ["*.gcr.io"]}, []),
        ("FROM gcr.io/p/app:1\n", {"trusted-registries": ["*.gcr.io"]}, [1]),
        ("FROM python:3.12\n", {"trusted-registries": ["registry.example.com"]}, [1]),
        ("FROM alpine:3.20\nCOPY --from=quay.io/x/y:1 /a /a\n", TRUSTED, [2]),
        ("ARG REG=quay.io\nFROM ${REG}/x/y:1\n", TRUSTED, [2]),  # resolved from the default
        ("ARG BASE\nFROM ${BASE}\n", TRUSTED, []),  # unknown until build time
        ("FROM quay.io/x/y:1 AS a\nFROM a\nFROM scratch\n", TRUSTED, [1]),  # stages: once
        ("FROM python:3.12\nFROM gcr.io/distroless/python3\nFROM node:20-slim\n", ALLOWED, []),
        ("FROM ruby:3.3\nFROM node:18-slim\n", ALLOWED, [1, 2]),
        # both settings: an image must pass both
        ("FROM quay.io/python:3.12\n", {**TRUSTED, **ALLOWED}, [1]),
        ("FROM quay.io/x/y:1\n", {}, []),  # quiet unless configured
        ("FROM quay.io/x/y:1\n", {"trusted-registries": []}, []),
        ("FROM quay.io/x/y:1\n", {"trusted-registries": ["quay.io"]}, []),
    ],
)
def test_untrusted_base_image(src: str, settings: dict[str, object], expected: list[int]) -> None:
    found = run("KH128", src, settings)
    assert [f.location.line for f in found] == expected, [f.message for f in found]


def test_untrusted_base_image_message() -> None:
    (found,) = run("KH128", "FROM quay.io/x/y:1\n", {**TRUSTED, **ALLOWED})
    assert "quay.io" in found.message
    assert "trusted-registries" in found.message
    assert "allowed-base-images" in found.message
    assert found.severity.value == "error"
    assert REGISTRY["KH128"].related["hadolint"] == ("DL3026",)


# --------------------------------------------------------------------------- --target


def codes_for_target(src: str, target: str) -> dict[str, list[int]]:
    """Findings of the base-image rules when the build is resolved for ``--target``."""
    tree = parse(src)
    ctx = DockerfileContext(tree, resolve(tree, None, target))
    out: dict[str, list[int]] = {}
    for code in ("KH120", "KH124", "KH125", "KH126", "KH127"):
        for finding in findings_of(REGISTRY[code], ctx):
            out.setdefault(code, []).append(finding.location.line)
    return out


MULTI = (
    "FROM golang:1.22 AS build\nRUN go build -o /app .\n"  # 1-2
    "FROM gcr.io/distroless/static-debian12 AS prod\nCOPY --from=build /app /app\n"  # 3-4
    "FROM build AS debug\nRUN apt-get update && apt-get install -y gdb\n"  # 5-6
)


def test_target_is_the_final_stage() -> None:
    # building prod: nothing ships a toolchain, and debug (a named leaf) may be a target
    assert codes_for_target(MULTI, "prod") == {}
    # the default target is the last stage, a development target: not checked either
    assert codes_for_target(MULTI, "debug") == {}
    src = MULTI.replace("AS debug", "AS release")
    # a command-less golang image that takes no sources in is a tool image, not an app
    assert codes_for_target(src, "release") == {"KH127": [5]}
    src += 'CMD ["/app"]\n'
    assert codes_for_target(src, "release") == {"KH120": [1], "KH127": [5]}
    assert codes_for_target(src, "prod") == {}


def test_platform_flags_do_not_matter() -> None:
    src = (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build -o /app .\n"
        "FROM --platform=$TARGETPLATFORM node:20\nCOPY --from=build /app /app\n" + CMD
    )
    assert lines("KH120", src) == [3]
    assert lines("KH126", src) == []
    assert lines("KH125", src) == []
