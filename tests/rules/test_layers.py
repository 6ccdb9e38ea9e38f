"""Layer structure and build-cache rules: KH180-KH191.

Each table row is (Dockerfile, expected lines of the rule's findings): an empty list means the
rule must stay quiet, so every row can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.edits import apply_edits
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.rule import REGISTRY
from keelhaul.rules.engine import check_dockerfile
from keelhaul.rules.registry import DockerfileContext, fixes_wanted
from tests.rules.tables import check_table, messages, run, table

D = "FROM debian:12\n"
A = "FROM alpine:3.20\n"
N = "FROM node:20-slim\nWORKDIR /app\n"

# --------------------------------------------------------------------------- KH180


@table(
    "KH180",
    [
        (D + "RUN mkdir /a\nRUN chown 1 /a\n", [3]),
        (D + "RUN mkdir /a\n# why\n\nRUN chown 1 /a\n", [5]),  # comments do not break it
        (D + "RUN mkdir /a\nRUN chown 1 /a\nRUN chmod 700 /a\n", [3]),  # one finding per group
        (D + "RUN mkdir /a\nENV X=1\nRUN chown 1 /a\n", []),
        (D + "RUN mkdir /a\nEXPOSE 80\nLABEL a=b\nRUN chown 1 /a\n", [5]),  # metadata only
        (D + "RUN mkdir /a\nVOLUME /a\nRUN chown 1 /a\n", []),  # VOLUME changes what sticks
        (D + 'RUN mkdir /a\nSHELL ["/bin/bash", "-c"]\nRUN chown 1 /a\n', []),
        (D + "RUN mkdir /a\nWORKDIR /a\nRUN touch x\n", []),
        (D + "RUN mkdir /a\nUSER 1\nRUN touch /a/x\n", []),
        (D + "RUN mkdir /a\nCOPY x /a/\nRUN touch /a/x\n", []),
        (D + "RUN --mount=type=cache,target=/root/.cache pip install x\nRUN mkdir /a\n", []),
        (D + "RUN --mount=type=secret,id=a a.sh\nRUN --mount=type=secret,id=a b.sh\n", [3]),
        (D + "RUN --mount=type=secret,id=a a.sh\nRUN --mount=type=secret,id=b b.sh\n", []),
        (D + 'RUN ["a"]\nRUN ["b"]\n', []),  # exec form: maybe no shell to merge into
        # each RUN already chains several commands: a deliberate split
        (D + "RUN apt-get update && apt-get install -y a\nRUN curl -o x y && tar xf x\n", []),
        (D + "RUN apt-get update && apt-get install -y a\nRUN pip install b\n", [3]),
        (D + "RUN curl -fsSL https://x/y.tgz | tar -xz\nRUN a && b\n", [3]),  # a pipe is 1 step
        (D + "RUN <<EOF\nset -e\nmkdir /a\nEOF\nRUN chown 1 /a\n", [6]),
        (D + "RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN chown 1 /a\n", []),
        (D + "ONBUILD RUN a\nONBUILD RUN b\n", []),
        (D + "RUN a\nONBUILD RUN b\n", []),
        # a builder stage: layers there cost nothing in the image and help the cache
        ("FROM golang:1.22 AS build\nRUN a\nRUN b\nFROM scratch\nCOPY --from=build /x /x\n", []),
        ("FROM debian:12 AS base\nRUN a\nRUN b\nFROM base\nCMD x\n", [3]),  # base ships
    ],
)
def test_mergeable_runs(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_mergeable_runs_names_every_line() -> None:
    found = run("KH180", D + "RUN a\n# c\nRUN b\nRUN c\n")
    assert len(found) == 1
    assert "lines 2, 4 and 5" in found[0].message
    assert "2 layers fewer" in found[0].message
    moved = run("KH180", D + "RUN a\nEXPOSE 80\nRUN b\nCMD x\n")[0].message
    assert "the EXPOSE between them can move after it" in moved


# --------------------------------------------------------------------------- KH181

DL = "RUN curl -fsSLo /tmp/a.tgz https://example.com/a.tgz\n"


@table(
    "KH181",
    [
        (D + DL + "RUN rm /tmp/a.tgz\n", [3]),
        (D + DL + "RUN rm -f /tmp/*.tgz\n", [3]),  # a glob that matches the name
        (D + DL + "RUN rm -rf /tmp/*\n", [3]),
        (D + DL + "RUN rm -f /tmp/*.zip\n", []),  # a glob that does not
        (D + DL + "RUN rm -rf /tmp/.cache\n", []),
        (
            D
            + "RUN curl -fsSLo /tmp/a.tgz https://x/a.tgz && tar -xzf /tmp/a.tgz && rm /tmp/a.tgz\n",
            [],
        ),
        (D + "WORKDIR /src\nRUN wget -q https://x/a/go.tgz\nRUN rm go.tgz\n", [4]),
        (D + "WORKDIR /src\nRUN wget -q https://x/a/go.tgz\nWORKDIR /\nRUN rm go.tgz\n", []),
        (D + "WORKDIR /src\nRUN wget -q https://x/a/go.tgz\nWORKDIR /\nRUN rm src/go.tgz\n", [5]),
        (D + "RUN cd /opt && wget -q https://x/a/go.tgz\nRUN rm /opt/go.tgz\n", [3]),
        (D + "RUN wget -q https://x/a/go.tgz\nRUN rm go.tgz\n", [3]),  # same unknown WORKDIR
        (D + "RUN wget -q https://x/a/go.tgz\nRUN rm /go.tgz\n", []),  # base WORKDIR unknown
        (D + "ARG V=1.2\nRUN curl -o /tmp/x-$V.tgz https://x\nRUN rm /tmp/x-1.2.tgz\n", [4]),
        (D + "ARG V\nRUN curl -o /tmp/x-$V.tgz https://x\nRUN rm /tmp/x-1.2.tgz\n", []),
        (D + "RUN curl -o /tmp/x.tgz https://x\nRUN rm /tmp/$NAME\n", []),  # unknown: no guess
        (
            D + "COPY app.jar /tmp/\nRUN java -jar /tmp/app.jar --install\nRUN rm /tmp/app.jar\n",
            [4],
        ),
        (D + "COPY app.jar /tmp/app.jar\nRUN rm /tmp/app.jar\n", [3]),
        (D + "COPY --from=build /out/lib.so /opt/\nRUN rm -f /opt/lib.so\n", [3]),
        (D + "COPY *.jar /tmp/\nRUN rm /tmp/app.jar\n", []),  # a glob source: names unknown
        (D + "COPY a.tgz /tmp/\nRUN tar -xzf /tmp/a.tgz -C /opt && rm /tmp/a.tgz\n", []),  # KH157
        (D + "ADD a.tgz /opt/\nRUN rm -rf /opt/a.tgz\n", []),  # ADD unpacked it: never written
        (D + "ADD https://x/a.tgz /tmp/\nRUN tar -xzf /tmp/a.tgz && rm /tmp/a.tgz\n", [3]),
        (D + "RUN git clone --depth 1 https://github.com/a/b.git /src/b\nRUN rm -rf /src/b\n", [3]),
        (D + "RUN git clone https://github.com/a/b.git\nRUN make -C b && rm -rf b\n", [3]),
        (D + DL + "RUN false || rm /tmp/a.tgz\n", []),  # only when something failed
        # only the layers that ship count
        (
            "FROM debian:12 AS b\n" + DL + "RUN rm /tmp/a.tgz\nFROM scratch\nCOPY --from=b /x /x\n",
            [],
        ),
        ("FROM debian:12 AS b\n" + DL + "FROM b\nRUN rm /tmp/a.tgz\n", [4]),
        (D + DL + "ONBUILD RUN rm /tmp/a.tgz\n", []),
        (D + "RUN <<EOF\ncurl -o /tmp/a.tgz https://x\nEOF\nRUN rm /tmp/a.tgz\n", [5]),
    ],
)
def test_file_removed_later(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_file_removed_later_names_path_and_lines() -> None:
    found = run("KH181", D + "WORKDIR /src\nRUN wget -q https://x/go.tgz\nRUN rm -f go.tgz\n")
    assert len(found) == 1
    message = found[0].message
    assert "/src/go.tgz" in message
    assert "line 3" in message
    assert (found[0].location.line, found[0].location.column) == (4, 11)
    copy = run("KH181", D + "COPY --from=b /x/lib.so /opt/\nRUN rm /opt/lib.so\n")[0].message
    assert "--mount=type=bind,from=b,source=/x/lib.so,target=/opt/lib.so" in copy


def test_file_removed_later_inside_copied_folder_needs_the_context(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text("x", encoding="utf-8")
    (tmp_path / "app.py").write_text("x", encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("", encoding="utf-8")
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    src = D + "COPY . /app\nRUN rm -rf /app/tests\nRUN rm -rf /app/build\n"
    assert [f.location.line for f in run("KH181", src, context=context)] == [3]
    assert "tests" in run("KH181", src, context=context)[0].message
    assert run("KH181", src) == []  # without the context nobody knows who made /app/tests


# --------------------------------------------------------------------------- KH182

PKG = "COPY package.json package-lock.json ./\n"


@table(
    "KH182",
    [
        (N + "COPY . .\nRUN npm ci\n", [4]),
        (N + PKG + "RUN npm ci\nCOPY . .\nRUN npm run build\n", []),
        (N + PKG + "RUN npm ci\nCOPY . .\nRUN npm ci\n", []),  # installed before: fine
        (N + PKG + "COPY . .\nRUN npm ci\n", [5]),  # manifests copied, install too late
        (N + "COPY src ./src\nCOPY package*.json ./\nRUN npm ci\n", []),  # feeds it (workspace)
        (N + "COPY src ./src\nRUN npm ci\n", [4]),
        (N + "ADD . /app\nRUN yarn install --frozen-lockfile\n", [4]),
        (N + "COPY . .\nRUN npm install -g pnpm\n", [4]),  # a tool: move it up
        (N + "COPY --from=build /app/dist ./dist\nRUN npm ci\n", []),  # not from the context
        (N + "COPY nginx.conf /etc/nginx/\nRUN npm ci\n", []),  # a config file, not sources
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY app.py requirements.txt ./\n"
            "RUN pip install -r requirements.txt\n",
            [4],
        ),
        (
            "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
            "COPY . .\n",
            [],
        ),
        ("FROM python:3.12\nCOPY . .\nRUN pip install .\n", []),  # the project: needs it all
        ("FROM python:3.12\nCOPY . .\nRUN poetry install --no-root\n", [3]),
        ("FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build\n", [4]),
        ("FROM golang:1.22\nCOPY . .\nRUN go build -o /app\n", []),  # KH183's, and go is left
        ("FROM debian:12\nCOPY . /src\nRUN apt-get update && apt-get install -y gcc\n", [3]),
        ("FROM debian:12\nCOPY . /src\nRUN apt-get install -y /src/x.deb\n", []),  # feeds it
        ("FROM ruby:3.3\nCOPY . .\nRUN bundle install\n", [3]),
        ("FROM composer:2\nCOPY . .\nRUN composer install --no-dev\n", [3]),
        ("FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet restore\n", [3]),
        # another stage's COPY does not count: only the stage's own
        ("FROM node:20 AS src\nCOPY . /app\nFROM src\nRUN npm ci\n", []),
        (N + "ONBUILD COPY . .\nONBUILD RUN npm ci\n", []),
        (N + "COPY . .\nRUN <<EOF\nset -e\nnpm ci\nEOF\n", [6]),
        # one finding per ecosystem; a tool install and a manifest install are apart
        (N + "COPY . .\nRUN npm ci\nRUN npm ci --omit=dev\n", [4]),
        (N + "COPY . .\nRUN yarn global add @vue/cli\nRUN yarn install\n", [4, 5]),
    ],
)
def test_sources_before_install(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_sources_before_install_names_the_manifests() -> None:
    assert "package.json and yarn.lock" in messages("KH182", N + "COPY . .\nRUN yarn\n")
    assert "package.json and pnpm-lock.yaml" in messages("KH182", N + "COPY . .\nRUN pnpm i\n")
    text = messages("KH182", "FROM python:3\nCOPY . .\nRUN pip install -r req/base.txt\n")
    assert "copy base.txt first" in text
    assert "line 2" in text
    assert "go.mod and go.sum" in messages("KH182", "FROM golang\nCOPY . .\nRUN go mod download\n")
    assert "Gemfile and Gemfile.lock" in messages("KH182", "FROM ruby\nCOPY . .\nRUN bundle\n")
    tool = messages("KH182", "FROM debian\nCOPY . .\nRUN apt-get install -y gcc\n")
    assert "needs none of those files" in tool
    assert "above line 2" in tool


# --------------------------------------------------------------------------- KH183


@table(
    "KH183",
    [
        ("FROM maven:3\nCOPY . .\nRUN mvn -B package\n", [3]),
        (
            "FROM maven:3\nCOPY pom.xml .\nRUN mvn dependency:go-offline\nCOPY src ./src\n"
            "RUN mvn package\n",
            [],
        ),
        ("FROM maven:3\nCOPY . .\nRUN --mount=type=cache,target=/root/.m2 mvn package\n", []),
        ("FROM gradle:8\nCOPY . .\nRUN gradle build\n", [3]),
        ("FROM gradle:8\nRUN ./gradlew downloadRepos\nCOPY . .\nRUN ./gradlew build\n", []),
        ("FROM rust:1\nCOPY . .\nRUN cargo build --release\n", [3]),
        (
            "FROM rust:1\nCOPY . .\nRUN --mount=type=cache,target=/usr/local/cargo/registry/index "
            "cargo build --release\n",
            [],
        ),
        ("FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet publish -c Release\n", [3]),
        # dotnet restore after the COPY is sources-before-install's; no second finding here
        (
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet restore\n"
            "RUN dotnet publish\n",
            [],
        ),
        ("FROM golang:1.22\nCOPY . .\nRUN go build -o /app\n", []),
    ],
)
def test_build_fetches_dependencies(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_build_fetches_dependencies_message() -> None:
    text = messages("KH183", "FROM maven:3\nCOPY . .\nRUN mvn -B package\n")
    assert "pom.xml" in text
    assert "mvn dependency:go-offline" in text
    assert "/root/.m2" in text


# --------------------------------------------------------------------------- KH184


@table(
    "KH184",
    [
        ("FROM python:3.12\nRUN pip install flask\n", [2]),
        (
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
            [],
        ),
        ("FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install flask\n", []),
        (
            "FROM python:3.12\nENV PIP_CACHE_DIR=/pipcache\n"
            "RUN --mount=type=cache,target=/pipcache pip install flask\n",
            [],
        ),
        ("FROM python:3.12\nRUN --mount=type=tmpfs,target=/root/.cache/pip pip install x\n", []),
        (D + "RUN apt-get update && apt-get install -y --no-install-recommends curl\n", [2]),
        (
            D + "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked "
            "--mount=type=cache,target=/var/lib/apt,sharing=locked "
            "apt-get update && apt-get install -y curl\n",
            [],
        ),
        (N + "RUN npm ci\n", [3]),
        (N + "RUN --mount=type=cache,target=/root/.npm npm ci\n", []),
        ("FROM golang:1.22\nRUN go build ./...\n", [2]),
        (
            "FROM golang:1.22\nRUN --mount=type=cache,target=/root/.cache/go-build "
            "--mount=type=cache,target=/go/pkg/mod go build ./...\n",
            [],
        ),
        ("FROM maven:3\nRUN mvn package\n", [2]),
        (D + "RUN echo hi\n", []),
        (D + "ONBUILD RUN pip install x\n", []),
    ],
)
def test_missing_cache_mount(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_missing_cache_mount_gives_the_exact_flags() -> None:
    apt = messages("KH184", D + "RUN apt-get update && apt-get install -y curl "
                   "&& rm -rf /var/lib/apt/lists/*\n")  # fmt: skip
    assert "--mount=type=cache,target=/var/cache/apt,sharing=locked" in apt
    assert "--mount=type=cache,target=/var/lib/apt,sharing=locked" in apt
    assert "docker-clean" in apt
    assert "rm /var/lib/apt/lists/*" in apt
    pip = messages("KH184", "FROM python:3\nRUN pip install --no-cache-dir x\n")
    assert "RUN --mount=type=cache,target=/root/.cache/pip" in pip
    assert "--no-cache-dir" in pip
    user = messages("KH184", "FROM python:3\nUSER app\nRUN pip install --user x\n")
    assert "target=/home/app/.cache/pip,uid=<uid of app>" in user
    go = messages("KH184", "FROM golang:1.22\nENV GOMODCACHE=/cache/mod\nRUN go mod download\n")
    assert "target=/cache/mod" in go
    assert "go-build" not in go


def test_missing_cache_mount_is_off_by_default() -> None:
    assert REGISTRY["KH184"].default_on is False
    codes = {f.code for f in check_dockerfile(parse("FROM python:3\nRUN pip install x\n"))}
    assert "KH184" not in codes


# --------------------------------------------------------------------------- KH185

CURL = "curl -fsSL https://x/key.asc"


@table(
    "KH185",
    [
        (D + f"RUN {CURL} | tee /k.asc\n", [2]),
        (D + f"RUN {CURL} | sh\n", [2]),
        (D + f"RUN set -o pipefail && {CURL} | sh\n", []),
        (D + f"RUN set -euo pipefail; {CURL} | sh\n", []),
        (D + f'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN {CURL} | sh\n', []),
        (D + f'SHELL ["/bin/bash", "-euxo", "pipefail", "-c"]\nRUN {CURL} | sh\n', []),
        (D + f'SHELL ["/bin/bash", "-c"]\nRUN {CURL} | sh\n', [3]),
        (D + f'SHELL ["pwsh", "-Command"]\nRUN {CURL} | sh\n', []),
        ("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN a | b\n", []),
        (D + f"RUN {CURL} | tar -xz -C /opt\n", []),  # tar fails on a cut-short input anyway
        (D + f"RUN {CURL} | gpg --dearmor -o /k.gpg\n", []),
        (D + 'RUN echo "$KEY" | base64 -d > /k\n', []),  # echo does not fail
        (D + "RUN find / -name x | xargs rm\n", []),  # local listing and filters
        (D + f"RUN {CURL} | sh || true\n", []),  # the failure is swallowed on purpose anyway
        (D + f"RUN {CURL} | sh; echo done\n", []),  # no set -e: the status decides nothing
        (D + f"RUN set -e; {CURL} | sh; echo done\n", [2]),
        (D + f"RUN if {CURL} | grep -q x; then y; fi\n", []),
        (D + f'RUN X="$({CURL} | sh)"\n', []),
        (D + f"RUN bash -c '{CURL} | sh'\n", []),  # its own shell: not ours to read
        (D + f"RUN <<EOF\nset -e\n{CURL} | sh\necho ok\nEOF\n", [4]),  # the heredoc line
        (D + f'RUN ["sh", "-c", "{CURL} | sh"]\n', []),
        (
            'FROM debian:12 AS a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
            f"FROM a\nRUN {CURL} | sh\n",
            [],
        ),
    ],
)
def test_pipe_without_pipefail(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_pipefail_advice_depends_on_the_shell() -> None:
    debian = messages("KH185", D + f"RUN {CURL} | sh\n")
    assert 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]' in debian
    alpine = messages("KH185", A + f"RUN {CURL} | sh\n")
    assert "set -o pipefail &&" in alpine
    assert "`curl | sh`" in alpine
    assert "when `curl` fails" in alpine


# --------------------------------------------------------------------------- KH186


@table(
    "KH186",
    [
        (D + "RUN cd /app && make\n", [2]),
        (D + "RUN set -e; cd /app && make\n", [2]),
        (D + "RUN cd app && make\n", [2]),
        (D + "WORKDIR /app\nRUN cd /app && make\n", [3]),  # already there
        (D + "WORKDIR /app\nRUN cd . && make\n", [3]),
        (D + "RUN git clone x /src && cd /src && make\n", []),  # not the first command
        (D + "RUN cd /tmp && curl -O x && tar xf x\n", []),  # a scratch folder
        (D + "RUN cd /usr/src/x && make && make install && cd / && rm -rf /usr/src/x\n", []),
        (D + "RUN cd /usr/src/x && make install && rm -rf /usr/src/x\n", []),
        (D + "RUN cd $HOME && make\n", []),
        (D + "RUN cd ~ && make\n", []),
        (D + "RUN cd /app\n", []),  # nothing after it (pointless, but not this rule's)
        (D + "RUN (cd /app && make)\n", []),
        (D + "RUN cd /app; make\n", []),  # `;`: a failed cd would not stop make; rare, left
    ],
)
def test_cd_instead_of_workdir(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH187


@table(
    "KH187",
    [
        (D + "RUN wget -q -O /a https://x/a\nRUN curl -fsSLo /b https://x/b\n", [3]),
        (D + "RUN wget -q -O /a https://x/a && curl -fsSLo /b https://x/b\n", [2]),
        (D + "RUN curl -fsSLo /a https://x/a\nRUN curl -fsSLo /b https://x/b\n", []),
        # a builder stage's tools do not ship
        (
            "FROM debian:12 AS b\nRUN wget -q https://x/a\nFROM debian:12\n"
            "RUN curl -fsSLo /b https://x/b\n",
            [],
        ),
        (
            "FROM debian:12 AS b\nRUN wget -q https://x/a\nFROM b\n"
            "RUN curl -fsSLo /b https://x/b\n",
            [4],
        ),
    ],
)
def test_curl_and_wget(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_curl_and_wget_suggests_dropping_the_installed_tool() -> None:
    text = messages(
        "KH187",
        D + "RUN curl -fsSLo /a https://x/a\nRUN apt-get install -y wget && wget -q https://x/b\n",
    )
    assert "use curl here too" in text
    assert "drop wget from the install on line 3" in text


# --------------------------------------------------------------------------- KH188


@table(
    "KH188",
    [
        (D + "RUN wget https://x/go.tgz\n", [2]),
        (D + "RUN wget -O /tmp/go.tgz https://x/go.tgz\n", [2]),
        (D + "RUN wget -q https://x/go.tgz\n", []),
        (D + "RUN wget -qO- https://x/go.tgz | tar -xz\n", []),
        (D + "RUN wget -nv https://x/go.tgz\n", []),
        (D + "RUN wget --progress=dot:giga https://x/go.tgz\n", []),
        (D + "RUN wget -o /dev/null https://x/go.tgz\n", []),
        (D + "RUN wget https://x/KEYS.asc\n", []),  # a small file
        (A + "RUN wget https://x/go.tgz\n", []),  # busybox wget
        (A + "RUN apk add --no-cache wget && wget https://x/go.tgz\n", [2]),  # GNU wget there
        (D + "ENV WGETRC=/etc/wgetrc.quiet\nRUN wget https://x/go.tgz\n", []),
        (D + "RUN echo 'progress = dot:giga' >> /etc/wgetrc\nRUN wget https://x/go.tgz\n", []),
        (D + "RUN curl -o /x https://x/go.tgz\n", []),
    ],
)
def test_wget_progress(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH189


@table(
    "KH189",
    [
        (D + "RUN vim /etc/hosts\n", [2]),
        (D + "RUN apt-get install -y vim\n", []),  # installing it is not running it
        (D + "RUN shutdown -h now\n", [2]),
        (D + "RUN ps aux\n", [2]),
        (D + "RUN ps aux | grep x | awk '{print $2}' | xargs kill\n", [2]),  # ps as data; kill
        (D + "RUN nginx & sleep 1; ps aux | grep nginx | awk '{print $2}' | xargs kill\n", []),
        (D + "RUN free -m\n", [2]),
        (D + "RUN mount -t tmpfs none /mnt\n", [2]),
        (D + "RUN --security=insecure mount -t tmpfs none /mnt\n", []),
        (D + "RUN ssh git@example.com\n", [2]),
        (D + "RUN --mount=type=ssh ssh -T git@github.com || true\n", []),
        (D + "RUN systemctl start nginx\n", [2]),
        (D + "RUN systemctl enable nginx\n", []),
        (D + "RUN apt-get install -y nginx && service nginx start\n", [2]),
        (D + "RUN service mysql start && mysql < /init.sql && service mysql stop\n", []),
        (D + "RUN /etc/init.d/postgresql start\n", [2]),
        (D + "RUN kill 1\n", [2]),
        (D + "RUN daemon & sleep 5; kill $!\n", []),
        (D + "RUN service x start && y && pkill x\n", []),
    ],
)
def test_pointless_command(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH190


@table(
    "KH190",
    [
        (D + "RUN useradd -u 1000000 app\n", [2]),
        (D + "RUN useradd --uid=1000000 app\n", [2]),
        (D + "RUN useradd -mu1000000 app\n", [2]),
        (D + "RUN useradd -l -u 1000000 app\n", []),
        (D + "RUN useradd -lu 1000000 app\n", []),
        (D + "RUN useradd --no-log-init --uid 1000000 app\n", []),
        (D + "RUN useradd -u 10001 app\n", []),  # about 3 MB: below the limit
        (D + "ARG UID=1000000\nRUN useradd -u $UID app\n", [3]),
        (D + "ARG UID\nRUN useradd -u $UID app\n", []),  # unknown until the build
        (D + "RUN U=2000000 && useradd -u $U app\n", [2]),
        (A + "RUN apk add shadow && useradd -u 1000000 app\n", []),  # no lastlog on Alpine
        (D + "RUN adduser --uid 1000000 app\n", []),
    ],
)
def test_useradd_high_uid(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_useradd_limit_is_a_setting() -> None:
    src = D + "RUN useradd -u 20000 app\n"
    assert run("KH190", src) == []
    found = run("KH190", src, settings={"useradd-uid-limit": 10000})
    assert len(found) == 1
    assert "6 MB" in found[0].message


# --------------------------------------------------------------------------- KH191


@table(
    "KH191",
    [
        (N + "COPY . .\nRUN chown -R node:node /app\n", [4]),
        (N + "COPY . .\nRUN chown -R node:node .\n", [4]),
        (N + "COPY . .\nRUN chmod -R g=u /app/dist\n", [4]),  # below the copied folder
        (N + "COPY --chown=node:node . .\n", []),
        (N + "COPY . .\nRUN chown node:node /app\n", []),  # not recursive: the folder only
        (N + "RUN mkdir /data && chown -R node /data\n", []),
        (
            D + "COPY --from=build /out/server /usr/local/bin/server\n"
            "RUN chmod +x /usr/local/bin/server\n",
            [3],
        ),
        (D + "COPY run.sh /run.sh\nRUN chmod +x /run.sh\n", []),  # a small script
        (D + "COPY etc /etc/nginx\nRUN chown -R root:root /etc/nginx\n", [3]),  # a folder
        (D + "COPY --from=build /target/ /\nRUN mkdir -p /go && chmod -R 777 /go\n", []),
        (
            "FROM debian:12 AS b\nCOPY . /app\nRUN chown -R 1 /app\nFROM scratch\n"
            "COPY --from=b /app /app\n",
            [],
        ),
    ],
)
def test_chown_after_copy(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_chown_after_copy_suggests_the_copy_flag() -> None:
    text = messages("KH191", N + "COPY . .\nRUN chown -R node:node /app\n")
    assert "`COPY --chown=node:node`" in text
    assert "line 3" in text
    text = messages("KH191", D + "COPY --from=b /s /usr/bin/s\nRUN chmod 0755 /usr/bin/s\n")
    assert "`COPY --chmod=0755`" in text


def test_chown_after_copy_reads_the_context(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"\0" * 1_200_000)
    (tmp_path / "small.sh").write_text("echo\n", encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("", encoding="utf-8")
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    src = D + "COPY big.bin small.sh /opt/\nRUN chmod 600 /opt/big.bin /opt/small.sh\n"
    found = run("KH191", src, context=context)
    assert [f.location.line for f in found] == [3]
    assert "big.bin" in found[0].message


def _kh191_fixed(src: str) -> str | None:
    """The Dockerfile after KH191's fix, or None when the finding has no fix."""
    with fixes_wanted(True):
        hits = list(REGISTRY["KH191"].check(DockerfileContext.of(parse(src))))
    assert len(hits) == 1, hits
    fix = hits[0].fix
    if fix is None:
        return None
    assert fix.safety is Safety.UNSAFE
    assert "already in it" in fix.why_unsafe
    return apply_edits(src, fix.edits)


PHP = "FROM php:8.2-apache\n"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (  # the php-apache classic: the RUN goes, the COPY sets the owner
            PHP + "COPY . /var/www/html/\nRUN chown -R www-data:www-data /var/www/html\n"
            "EXPOSE 80\n",
            PHP + "COPY --chown=www-data:www-data . /var/www/html/\nEXPOSE 80\n",
        ),
        (  # instructions that write no files may stand between; a relative path resolves
            N + "COPY . .\nENV NODE_ENV=production\nRUN chown -R 1000:1000 .\n",
            N + "COPY --chown=1000:1000 . .\nENV NODE_ENV=production\n",
        ),
        (  # a single file, not recursive
            D + "COPY --from=build /out/app /usr/local/bin/app\nRUN chown app /usr/local/bin/app\n",
            D + "COPY --chown=app --from=build /out/app /usr/local/bin/app\n",
        ),
    ],
)
def test_chown_after_copy_fix_moves_the_owner_onto_the_copy(src: str, expected: str) -> None:
    assert _kh191_fixed(src) == expected


@pytest.mark.parametrize(
    "src",
    [
        PHP + "COPY . /var/www/html/\nRUN chown -R www-data /var/www/html && a2enmod rewrite\n",
        PHP + "COPY . /var/www/html/\nRUN chmod -R 755 /var/www/html\n",  # --chmod: BuildKit
        PHP + "COPY . /var/www/html/\nRUN chown -R www-data /var/www\n",  # more than it copied
        PHP + "COPY . /var/www/html/\nRUN chown -R www-data /var/www/html/public\n",  # less
        PHP + "COPY . /var/www/html/\nRUN mkdir x\nRUN chown -R www-data /var/www/html\n",
        PHP + "COPY . /var/www/html/\nRUN chown -R $OWNER /var/www/html\n",
        PHP + "USER www-data\nCOPY . /var/www/html/\nRUN chown -R www-data /var/www/html\n",
        PHP + "COPY . /var/www/html/\nRUN --mount=type=cache,target=/c chown -R 1 /var/www/html\n",
        PHP + "COPY --chown=1 . /var/www/html/\nRUN chown -R 2 /var/www/html\n",
        PHP + "COPY . /var/www/html/\nRUN chown -R 1 /var/www/html /tmp\n",
    ],
)
def test_chown_after_copy_fix_only_when_it_means_the_same(src: str) -> None:
    assert _kh191_fixed(src) is None
