"""Issue 16, base images and multi-stage rules: roles (an SDK or a base image is not an
application with build tools), base-image advice that names tags that exist, and the new
checks on FROM (minimal files written for the test)."""

from __future__ import annotations

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
