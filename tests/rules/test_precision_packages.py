"""Issue 16, the packages, caches, build-cache, context and structure rules: what the judged
corpus showed wrong or noisy, each as a minimal Dockerfile."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from tests.fix.test_fixing import fix
from tests.rules.tables import check_table, lines, messages, run, table

# --------------------------------------------------------------------------- KH182 data flow

PHP = (
    "FROM debian:bookworm-slim\n"
    "COPY docker-php-source /usr/local/bin/\n"
    "RUN set -eux; \\\n"
    "    apt-get update; \\\n"
    "    apt-get install -y --no-install-recommends libxml2-dev; \\\n"
    "    docker-php-source extract; \\\n"
    "    cd /usr/src/php && ./configure && make install; \\\n"
    "    docker-php-source delete; \\\n"
    "    apt-get purge -y libxml2-dev; rm -rf /var/lib/apt/lists/*\n"
)


@table(
    "KH182",
    [
        # the RUN calls the program the COPY put on the PATH: the install stays with it
        (PHP, []),
        # it runs a script the whole context brought into /
        ("FROM alpine:3.20\nCOPY . /\nRUN apk add --no-cache bash && /build.sh\n", []),
        # it builds from the folder the COPY filled (a variable after the folder)
        (
            "FROM debian:bookworm-slim\nCOPY ./ /modules/\n"
            "RUN apt-get install -y --no-install-recommends make "
            "&& make -C /modules/$MODULE\n",
            [],
        ),
        # it runs a copied file by a relative path from the WORKDIR
        (
            "FROM node:20-slim\nWORKDIR /app\nCOPY ./extra/ ./extra/\n"
            "RUN apt-get install -y --no-install-recommends curl && node ./extra/build.js\n",
            [],
        ),
        # it reads a file a later COPY (still above the RUN) wrote
        (
            "FROM alpine:3.20\nCOPY etc /etc\nCOPY bin/${TARGETARCH}/server /\n"
            "RUN apk add --no-cache libcap && setcap cap_net_bind_service=+ep /server\n",
            [],
        ),
        # an install that reads nothing the COPY brought is still reported
        ("FROM alpine:3.20\nWORKDIR /app\nCOPY . .\nRUN apk add --no-cache curl\n", [4]),
        # a package name with a slash is no copied path
        ("FROM node:20\nWORKDIR /p\nCOPY . .\nRUN yarn global add @vue/cli\n", [4]),
        # a word under a shared folder the context filled is not enough: only what it runs
        (
            "FROM alpine:3.20\nCOPY . /\nRUN apk add curl && rm -rf /var/cache/apk/*\n",
            [3],
        ),
    ],
)
def test_sources_before_install_follows_the_data(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_sources_before_install_hint_names_only_manifests() -> None:
    src = (
        "FROM mcr.microsoft.com/dotnet/sdk:8.0\nARG TARGETARCH\nWORKDIR /src\nCOPY . .\n"
        "RUN dotnet restore -r linux-$TARGETARCH\n"
    )
    text = messages("KH182", src)
    assert "linux-$TARGETARCH" not in text
    assert "*.csproj" in text
    # pip's -r still names the requirements file
    pip = messages("KH182", "FROM python:3.12\nCOPY . .\nRUN pip install -r req/base.txt\n")
    assert "copy base.txt first" in pip


# --------------------------------------------------------------------------- KH183 cargo-chef

CHEF = (
    "FROM rust:1.80 AS chef\nRUN cargo install cargo-chef --locked --version 0.1.68\n"
    "WORKDIR /app\n"
    "FROM chef AS planner\nCOPY . .\nRUN cargo chef prepare --recipe-path recipe.json\n"
    "FROM chef AS builder\nCOPY --from=planner /app/recipe.json recipe.json\n"
    "RUN cargo chef cook --release --recipe-path recipe.json\nCOPY . .\n"
    "RUN cargo build --release\n"
    "FROM debian:bookworm-slim\nCOPY --from=builder /app/target/release/app /usr/local/bin/\n"
    'USER 1000\nCMD ["app"]\n'
)


@pytest.mark.parametrize("code", ["KH182", "KH183"])
def test_cargo_chef_is_the_caching_pattern(code: str) -> None:
    assert lines(code, CHEF) == []


def test_cargo_build_without_chef_is_still_reported() -> None:
    src = "FROM rust:1.80 AS build\nWORKDIR /app\nCOPY . .\nRUN cargo build --release\n"
    assert lines("KH183", src) == [4]


# --------------------------------------------------------------------------- KH107 abbreviations


@table(
    "KH107",
    [
        ("FROM python:3.12-slim\nRUN pip install --no-cache flask==3.0.3\n", []),
        ("FROM python:3.12-slim\nRUN pip install --no-ca flask==3.0.3\n", []),
        ("FROM python:3.12-slim\nRUN pip3 install --no-cache-di flask==3.0.3\n", []),
        # `--no-c` is ambiguous for pip (--no-clean, --no-color, --no-compile)
        ("FROM python:3.12-slim\nRUN pip install --no-c flask==3.0.3\n", [2]),
        ("FROM python:3.12-slim\nRUN pip install flask==3.0.3\n", [2]),
    ],
)
def test_pip_cache_kept_reads_abbreviations(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_pip_fix_never_writes_both_flags() -> None:
    src = "FROM python:3.12-slim\nRUN pip install --no-cache flask==3.0.3\n"
    assert fix(src, ("KH107",)) == src
    fixed = fix("FROM python:3.12-slim\nRUN pip install flask==3.0.3\n", ("KH107",))
    assert fixed.count("--no-cache") == 1


def test_cache_mount_fix_drops_the_abbreviation_too() -> None:
    src = "FROM python:3.12-slim\nRUN pip install --no-cache flask==3.0.3\n"
    fixed = fix(src, ("KH184",), unsafe=True)
    assert "--mount=type=cache,target=/root/.cache/pip pip install flask" in fixed
    assert "--no-cache" not in fixed


# --------------------------------------------------------------------------- KH171 roles

NPM = "WORKDIR /w\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n"


@table(
    "KH171",
    [
        # a Cypress test-runner image runs its devDependencies
        ("FROM cypress/base:20.11.0\n" + NPM + 'CMD ["npx", "cypress", "run"]\n', []),
        ("FROM node:20-slim\n" + NPM + 'CMD ["npx", "cypress", "run"]\n', []),
        ("FROM node:20-slim\n" + NPM + 'CMD ["npm", "test"]\n', []),
        # a protoc tool image
        ("FROM node:20-slim\n" + NPM + 'ENTRYPOINT ["grpc_tools_node_protoc"]\n', []),
        ("FROM node:20-slim\n" + NPM + "ENTRYPOINT protoc --js_out=. x.proto\n", []),
        # an application still gets the advice
        ("FROM node:20-slim\n" + NPM + 'CMD ["node", "server.js"]\n', [4]),
    ],
)
def test_dev_dependencies_follow_what_the_image_runs(
    code: str, src: str, expected: list[int]
) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH163 go mod download

GO_DEV = (
    "FROM golang:1.23\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
    'COPY . .\nENTRYPOINT ["air", "-c", ".air.toml"]\n'
)


def test_go_mod_download_in_a_dev_image_is_quiet() -> None:
    assert lines("KH163", GO_DEV) == []


def test_go_mod_download_advice_does_not_undo_it() -> None:
    src = GO_DEV.replace('ENTRYPOINT ["air", "-c", ".air.toml"]', "RUN go build -o /app .")
    text = messages("KH163", src)
    assert "`go clean -modcache`" not in text.split("would undo")[0]
    assert "earlier stage" in text
    assert "mount a cache" in text


# --------------------------------------------------------------------------- KH103 simulate


@table(
    "KH103",
    [
        (
            "FROM debian:bookworm-slim\nRUN apt-get update && "
            "if apt-get install -s foo > /dev/null 2>&1; then "
            "apt-get install -y --no-install-recommends foo; fi\n",
            [],
        ),
        ("FROM debian:bookworm-slim\nRUN apt-get install --dry-run foo\n", []),
        ("FROM debian:bookworm-slim\nRUN apt-get install -y foo\n", [2]),
    ],
)
def test_apt_simulation_installs_nothing(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH230 context


def _context(tmp_path: Path, files: dict[str, str]) -> BuildContext:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return BuildContext.read(tmp_path, tmp_path / "Dockerfile")


SRC = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"


def test_no_dockerignore_is_quiet_in_a_folder_of_dockerfiles(tmp_path: Path) -> None:
    files = {"Dockerfile": SRC, "api.Dockerfile": SRC, "Dockerfile.dev": SRC}
    assert run("KH230", SRC, context=_context(tmp_path, files)) == []


def test_no_dockerignore_still_speaks_for_a_real_context(tmp_path: Path) -> None:
    files = {"Dockerfile": SRC, "app.py": "print(1)\n"}
    assert [f.location.line for f in run("KH230", SRC, context=_context(tmp_path, files))] == [3]


# --------------------------------------------------------------------------- KH113 advice


def test_shell_form_with_variables_is_told_to_exec() -> None:
    src = 'FROM python:3.12-slim\nENTRYPOINT locust --host="http://${HOST}" 2>&1\n'
    text = messages("KH113", src)
    assert "exec" in text
    assert "JSON form [" not in text
    plain = messages("KH113", "FROM openjdk:21\nCMD java -jar /app.jar\n")
    assert 'JSON form ["program", "arg"]' in plain


# --------------------------------------------------------------------------- KH150 severity


def test_copy_relative_without_workdir_is_information() -> None:
    found = run("KH150", "FROM python:3.12-slim\nCOPY requirements.txt .\n")
    assert [f.severity.value for f in found] == ["info"]


# --------------------------------------------------------------------------- KH145 data stages


@table(
    "KH145",
    [
        # a macOS SDK image read as files: no builder runs darwin
        (
            "FROM --platform=darwin/arm64 example/osxcross:26 AS osxcross\n"
            "FROM scratch\nCOPY --from=osxcross /osxsdk /sdk/\n",
            [],
        ),
        # a linux stage fixed to one platform is still reported
        ("FROM --platform=linux/amd64 node:20-slim\nCOPY . /app\n", [1]),
    ],
)
def test_constant_platform_for_a_data_image(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- caching patterns

PATTERNS = [
    "FROM golang:1.23 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
    "COPY . .\nRUN go build -o /app .\n",
    "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY pom.xml .\n"
    "RUN mvn -B dependency:go-offline\nCOPY src ./src\nRUN mvn -B package\n",
    CHEF,
    PHP,
]


@pytest.mark.parametrize("code", ["KH182", "KH183"])
@pytest.mark.parametrize("src", PATTERNS, ids=["go-mod", "go-offline", "cargo-chef", "php"])
def test_known_caching_patterns_are_quiet(code: str, src: str) -> None:
    assert lines(code, src) == []
