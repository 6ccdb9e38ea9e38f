"""Issue 16, base images and multi-stage rules: roles (an SDK or a base image is not an
application with build tools), base-image advice that names tags that exist, and the new
checks on FROM (minimal files written for the test)."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.rule import REGISTRY
from tests.rules.tables import lines, run

CMD = 'CMD ["/app"]\n'

# ------------------------------------------------------------------ roles (item 4)

GOLANG_SDK = (
    "FROM buildpack-deps:bookworm-scm\nENV GOLANG_VERSION=1.22.5\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends g++ gcc libc6-dev "
    "make pkg-config && rm -rf /var/lib/apt/lists/*\nCOPY --from=build /usr/local/go "
    "/usr/local/go\nWORKDIR /go\n"
)


def test_sdk_image_is_not_an_app_with_build_tools() -> None:
    # the golang image itself: gcc is there for cgo; it sets no CMD over a toolchain base
    assert lines("KH124", GOLANG_SDK) == []
    # the same packages in an image that runs an application are reported
    assert lines("KH124", GOLANG_SDK + CMD) == [3]


def test_base_images_are_not_judged_as_applications() -> None:
    onbuild = "FROM node:20\nRUN apt-get update && apt-get install -y gcc\nONBUILD COPY . /app\n"
    assert lines("KH124", onbuild) == []
    assert lines("KH120", onbuild) == []
    prompt = 'FROM golang:1.22\nRUN go install example.com/tool@v1.2.3\nCMD ["bash"]\n'
    assert lines("KH120", prompt) == []
    # a file named as a builder image
    builder = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y gcc make\n"
    assert [f.code for f in run("KH124", builder, path="kernel-builder.Dockerfile")] == []
    # a tool image with no CMD over a toolchain, no sources copied in
    assert lines("KH120", "FROM golang:1.22-alpine\nRUN apk add --no-cache git\n") == []
    # ...but the same base taking the build context in is an application being built
    src = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
    assert lines("KH125", src) == [4]
    assert lines("KH120", src) == [1]


def test_export_stage_is_not_checked() -> None:
    src = "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\n"
    assert lines("KH125", src) == []


# ------------------------------------------------------------------ advice that exists (item 6)


def test_php_apache_is_not_told_to_use_fpm() -> None:
    src = "FROM php:8.3-apache\nCOPY . /var/www/html/\n"
    assert lines("KH120", src) == []  # no smaller apache variant exists; fpm needs a server
    assert lines("KH120", "FROM php:apache\nCOPY . /var/www/html/\n") == []
    (fpm,) = run("KH120", "FROM php:8.3-fpm\nCOPY . /var/www/html/\n")
    assert "php:8.3-fpm-alpine" in fpm.message
    (cli,) = run("KH120", 'FROM php:8.3-cli\nCOPY . /app\nCMD ["php", "/app/run.php"]\n')
    assert "php:8.3-cli-alpine" in cli.message
    assert "fpm" not in cli.message


def test_dotnet_sdk_advice_uses_the_runtime_version() -> None:
    src = (
        'FROM mcr.microsoft.com/dotnet/sdk:10.0.400\nCOPY . /app\nCMD ["dotnet", "/app/app.dll"]\n'
    )
    (found,) = run("KH120", src)
    assert "aspnet:10.0.400" not in found.message  # an SDK version, no runtime has it
    assert "mcr.microsoft.com/dotnet/aspnet:10.0 " in found.message
    assert "aspnet:10.0-noble-chiseled" in found.message
    src = src.replace("sdk:10.0.400", "sdk:6.0.428-jammy")
    (old,) = run("KH120", src)
    assert "aspnet:6.0 " in old.message
    assert "6.0-jammy-chiseled" in old.message


# ------------------------------------------------------------------ new rules (item 7)

HEX = "0123456789abcdef" * 4


def test_invalid_base_reference() -> None:
    (found,) = run("KH129", f'FROM alpine:sha256:{HEX}\nCMD ["sh"]\n')
    assert found.severity.value == "error"
    assert f"alpine@sha256:{HEX}" in found.message
    assert lines("KH129", "FROM Alpine:3.20\n") == [1]
    for quiet in (f"FROM alpine@sha256:{HEX}\n", f"FROM alpine:3.20@sha256:{HEX}\n",
                  "FROM scratch\n", "FROM alpine:3.20 AS a\nFROM a\n",
                  "ARG TAG\nFROM alpine:$TAG\n"):  # fmt: skip
        assert lines("KH129", quiet) == [], quiet


def test_end_of_life_base(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from keelhaul.rules.dockerfile.shared import end_of_life

    monkeypatch.setattr(end_of_life, "TODAY", dt.date(2025, 1, 1))
    app = 'COPY . /app\nCMD ["/app/run"]\n'
    for base in ("node:16", "python:3.7-slim", "debian:buster", "alpine:3.12",
                 "golang:1.20-buster", "python:3.12-alpine3.16", "debian:10-slim", "python:2"):  # fmt: skip
        (found,) = run("KH119", f"FROM {base}\n{app}")
        assert "end-of-life since" in found.message, base
    for base in ("node:22", "python:3.12-slim", "debian:bookworm", "alpine:3.21",
                 "example.com/node:16", "node:lts"):  # fmt: skip
        assert lines("KH119", f"FROM {base}\n{app}") == [], base
    # a build stage's base ships nothing
    assert lines("KH119", f"FROM node:16 AS build\nRUN true\nFROM node:22\n{app}") == []
    (node,) = run("KH119", f"FROM node:16\n{app}")
    assert "Node.js 16" in node.message
    assert "supported release: Node.js 24" in node.message  # the newest long-term release


def test_shell_in_distroless() -> None:
    base = "FROM gcr.io/distroless/static-debian12\n"
    assert lines("KH117", base + "RUN mkdir /data\n") == [2]
    assert lines("KH117", base + "HEALTHCHECK CMD curl -f http://localhost/ || exit 1\n") == [2]
    assert lines("KH117", base + 'HEALTHCHECK CMD ["wget", "-q", "http://localhost/"]\n') == [2]
    assert lines("KH117", base + 'HEALTHCHECK CMD ["/app", "health"]\n') == []
    assert lines("KH117", base + 'RUN ["/app", "init"]\n') == []
    assert lines("KH117", "FROM gcr.io/distroless/static:debug\nRUN mkdir /data\n") == []
    assert lines("KH117", "FROM gcr.io/distroless/base AS r\nFROM r\nRUN ls\n") == [3]
    assert lines("KH117", "FROM mcr.microsoft.com/dotnet/aspnet:8.0-noble-chiseled\nRUN ls\n") == [
        2
    ]


def _kh113_fix(src: str) -> str | None:
    from keelhaul.dockerfile.edits import apply_edits
    from keelhaul.rules.registry import DockerfileContext, fixes_wanted

    with fixes_wanted(True):
        (hit,) = REGISTRY["KH113"].check(DockerfileContext.of(parse(src)))
    assert "no /bin/sh" in hit.message or "distroless" not in src
    return None if hit.fix is None else apply_edits(src, hit.fix.edits)


def test_exec_form_fix_respects_the_distroless_entrypoint() -> None:
    node = "FROM gcr.io/distroless/nodejs22-debian12\nCOPY . /app\n"
    assert _kh113_fix(node + "CMD node /app/app.js\n") == node + 'CMD ["/app/app.js"]\n'
    assert _kh113_fix(node + "CMD ./server\n") is None  # node would run ./server as a script
    java = "FROM gcr.io/distroless/java17-debian12\n"
    assert _kh113_fix(java + "CMD java -jar app.jar\n") == java + 'CMD ["app.jar"]\n'
    static = "FROM gcr.io/distroless/static-debian12\n"
    assert (
        _kh113_fix(static + "CMD /app --port 8080\n") == static + 'CMD ["/app", "--port", "8080"]\n'
    )
    assert _kh113_fix("FROM node:22\nCMD node app.js\n") == 'FROM node:22\nCMD ["node", "app.js"]\n'


def test_end_of_life_skips_images_made_to_be_built_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from keelhaul.rules.dockerfile.shared import end_of_life

    monkeypatch.setattr(end_of_life, "TODAY", dt.date(2027, 1, 1))
    # the official node image's bullseye variant: published on purpose, extended by users
    variant = 'FROM debian:bullseye-slim\nENV NODE_VERSION=22.0.0\nCMD ["node"]\n'
    assert lines("KH119", variant) == []
    assert lines("KH119", "FROM node:16\nONBUILD COPY . /app\n") == []
    assert lines("KH119", "FROM node:16 AS dev\nCMD node app.js\n") == []  # a dev target
    # a tool image run with a command is still reported
    assert lines("KH119", 'FROM python:3.4-alpine\nCMD ["/bin/sh", "-c"]\n') == [1]
    assert lines("KH119", 'FROM debian:bullseye-slim\nCMD ["/usr/bin/app"]\n') == [1]


def test_invalid_default_base_is_information() -> None:
    # a build arg required on purpose (passed by the project's Makefile): true, not a gate
    (found,) = run("KH143", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    assert found.severity.value == "info"


def test_mutable_distroless_tag_asks_for_a_digest() -> None:
    (found,) = run("KH101", 'FROM gcr.io/distroless/static\nCOPY app /app\nCMD ["/app"]\n')
    assert "pin it by digest" in found.message
    (plain,) = run("KH101", 'FROM alpine\nCMD ["sh"]\n')
    assert "digest" not in plain.message


def test_issue_example_distroless_nodejs22() -> None:
    src = "FROM gcr.io/distroless/nodejs22\nCOPY . /app\nCMD node /app/server.js\n"
    assert _kh113_fix(src) == src.replace("CMD node /app/server.js", 'CMD ["/app/server.js"]')
    assert lines("KH117", src + "HEALTHCHECK CMD curl -f http://localhost:3000/\n") == [4]


def test_toolbox_image_is_not_an_app_with_build_tools() -> None:
    # no command, nothing copied in, nothing built: people `docker run` it with make or gcc
    toolbox = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y gcc libc6-dev\n"
    assert lines("KH124", toolbox) == []
    assert lines("KH124", "FROM alpine:3.20\nRUN apk add bash make\nWORKDIR /workdir\n") == []
    # the same with an application's command, sources, or a pip install: reported
    assert lines("KH124", toolbox + 'CMD ["/app"]\n') == [2]
    assert lines("KH124", toolbox + "COPY . /src\n") == [2]
    assert lines("KH124", toolbox.replace("libc6-dev", "libc6-dev && pip install x")) == [2]


def test_mutable_tag_in_a_stage_that_only_moves_files() -> None:
    shuffle = (
        "FROM alpine AS release\nCOPY --from=bin /out /work\nRUN mkdir -p /dist && cp /work/* /dist\n"
        "FROM scratch\nCOPY --from=release /dist /\n"
    )
    assert lines("KH101", shuffle) == []
    # installing or fetching in that stage makes the base's version matter
    assert lines("KH101", shuffle.replace("mkdir", "apk add --no-cache git && mkdir")) == [1]
    assert lines("KH101", shuffle.replace("mkdir", "wget -q https://example.com/x && mkdir")) == [1]
    # a stage with no RUN: its files are what later stages copy
    assert lines("KH101", "FROM tonistiigi/xx AS xx\nFROM alpine:3.20\nCOPY --from=xx / /\n") == [1]
    # the final stage is always checked
    assert lines("KH101", "FROM alpine\nRUN mkdir /data\n") == [1]
