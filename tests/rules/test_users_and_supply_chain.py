"""Precision of the users and supply-chain rules (issue 16): roles for KH109, a random
password for KH204, and the new rules KH220 (world-writable), KH221 (download without a
checksum) and KH222 (unpinned git clone). Every file here is a minimal one written for the
test, not a corpus file."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding
from keelhaul.rule import REGISTRY
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules

dockerfile_rules()


def found(src: str, code: str, name: str = "Dockerfile") -> list[Finding]:
    return check_dockerfile(parse(src, name), rules=[REGISTRY[code]])


def case(code: str, src: str, expected: list[int], name: str = "Dockerfile") -> object:
    return pytest.param(code, src, expected, name, id=f"{code}:{name}:{src[:70]}")


CASES = [
    # --- KH109: issue 16's list: export stages, SDK images, entrypoints that drop privileges
    case(
        "KH109",
        "FROM golang:1.23 AS build\nRUN go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\n",
        [],
    ),
    case(
        "KH109", "FROM mcr.microsoft.com/dotnet/sdk:8.0\nRUN dotnet tool install -g dotnet-ef\n", []
    ),
    case(
        "KH109",
        'FROM alpine:3.20\nRUN apk add su-exec\nENTRYPOINT ["su-exec", "app", "/app"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM debian:12\nENTRYPOINT ["setpriv", "--reuid=10001", "--regid=10001", "--init-groups", "/app"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM debian:12\nCOPY entrypoint.sh /\nRUN apt-get install -y gosu\nENTRYPOINT ["/entrypoint.sh"]\n',
        [],
    ),
    # --- KH109: issue 17: the images others build on get no USER (their children's RUNs
    # need root): docker-library/php's own Dockerfiles (they ship docker-php-ext-install), the
    # .NET runtime-deps and SDK images (no command), an artefact stage only copied out
    case(
        "KH109",
        "FROM debian:bookworm-slim\nRUN mkdir -p /var/www/html\nCOPY docker-php-source "
        "/usr/local/bin/\nRUN docker-php-source extract && make install\nCOPY docker-php-ext-* "
        'docker-php-entrypoint /usr/local/bin/\nENTRYPOINT ["docker-php-entrypoint"]\n'
        'WORKDIR /var/www/html\nEXPOSE 9000\nCMD ["php-fpm"]\n',
        [],
    ),
    case(  # php-fpm behind docker-php-entrypoint (exec "$@"): the master drops to www-data
        "KH109",
        "FROM debian:12\nCOPY docker-php-entrypoint /usr/local/bin/\nENTRYPOINT "
        '["docker-php-entrypoint"]\nCMD ["php-fpm"]\n',
        [],
    ),
    case(
        "KH109",
        "FROM debian:bookworm-slim\nENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080\nRUN groupadd "
        "--gid=$APP_UID app && useradd --uid=$APP_UID --gid=$APP_UID --create-home app\n",
        [],
    ),
    case(
        "KH109",
        "FROM golang:1.23 AS build\nRUN go build -o /out/app .\nFROM alpine:3.20 AS artifacts\n"
        "COPY --from=build /out/app /\n",
        [],
    ),
    case(  # a tool run on a bind-mounted output folder (docker run -v "$PWD/out:/out")
        "KH109",
        '# docker run --rm -v "$PWD/out:/out" gen\nFROM alpine:3.20\nRUN apk add pandoc\n'
        'WORKDIR /out\nENTRYPOINT ["pandoc"]\n',
        [],
    ),
    # --- KH109: images made to be built on, servers that drop privileges, tools, tests
    case("KH109", 'FROM debian:12\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node"]\n', []),
    case("KH109", 'FROM alpine:3.20\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["sh"]\n', []),
    case("KH109", 'FROM debian:12\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["/app/run"]\n', [1]),
    case("KH109", "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n", []),
    case(
        "KH109",
        'FROM debian:12\nRUN apt-get install -y nginx\nCMD ["nginx", "-g", "daemon off;"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM alpine:3.20\nENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["nginx", "-g", "daemon off;"]\n',
        [],
    ),
    case("KH109", "FROM php:8.3-apache\nCOPY . /var/www/html\n", []),
    case("KH109", "FROM redis:7\nCOPY run.sh /run.sh\nCMD /run.sh\n", [1]),
    case("KH109", "FROM docker:27-dind\nCOPY daemon.json /etc/docker/daemon.json\n", []),
    case("KH109", 'FROM debian:12\nCOPY buildkitd /usr/bin/\nENTRYPOINT ["buildkitd"]\n', []),
    case(
        "KH109",
        'FROM python:3.12 AS builder\nCOPY . /app\nCMD ["python", "/app/main.py"]\nFROM builder AS dev-envs\nRUN apt-get install -y git\n',
        [],
    ),
    case("KH109", 'FROM golang:1.23\nEXPOSE 8080\nENTRYPOINT ["air"]\n', [], "dev.Dockerfile"),
    case(
        "KH109",
        "FROM koalaman/shellcheck-alpine:v0.10.0\nRUN --mount=type=bind,target=. shellcheck *.sh\n",
        [],
    ),
    case("KH109", "FROM base AS validate\nRUN --mount=target=. shfmt -d .\n", []),
    case(
        "KH109",
        'FROM alpine:3.20\nEXPOSE 22\nENTRYPOINT ["/start.sh"]\nCMD ["/usr/sbin/sshd", "-D"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM ubuntu:24.04\nEXPOSE 3306\nENTRYPOINT ["/entrypoint.sh"]\nCMD ["mysqld"]\n',
        [],
    ),
    case(
        "KH109",
        '# docker run -v /tmp/.X11-unix:/tmp/.X11-unix -e DISPLAY app\nFROM debian:12\nRUN apt-get install -y gimp\nCMD ["gimp", "--no-splash"]\n',
        [],
    ),
    case(
        "KH109",
        '# docker run -e DISPLAY app\nFROM debian:12\nEXPOSE 8080\nCMD ["/app/server"]\n',
        [2],
    ),
    case(
        "KH109",
        'FROM alpine:3.20\nCOPY --from=b /out/transfer.sh /usr/bin/\nENTRYPOINT ["transfer.sh"]\nCMD ["--help"]\n',
        [],
    ),
    case(
        "KH109", 'FROM debian:12\nRUN apt-get install -y starttool\nENTRYPOINT ["starttool"]\n', []
    ),
    case("KH109", 'FROM debian:12\nCOPY start.sh /\nENTRYPOINT ["/start.sh"]\n', [1]),
    case(
        "KH109",
        'FROM alpine:3.20\nCOPY --from=b /out/nnp /usr/local/bin/nnp\nCMD ["/usr/local/bin/nnp"]\n',
        [1],
    ),
    case(
        "KH109",
        'FROM golang:1.23 AS b\nRUN git clone --branch v0.9.0 https://github.com/example/proxy /src && go build -C /src -o /out/proxy .\nFROM alpine:3.20\nCOPY --from=b /out/proxy /usr/bin/proxy\nENTRYPOINT ["proxy"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM golang:1.23 AS b\nCOPY . /src\nRUN go build -C /src -o /out/app .\nFROM alpine:3.20\nCOPY --from=b /out/app /usr/bin/app\nENTRYPOINT ["app"]\n',
        [4],
    ),
    case("KH109", 'FROM alpine:3.20\nRUN apk add --no-cache aws-cli\nENTRYPOINT ["aws"]\n', []),
    case(
        "KH109",
        'FROM alpine:3.20\nRUN apk add consul\nENTRYPOINT ["consul"]\nCMD ["--help"]\n',
        [],
    ),
    case(
        "KH109",
        'FROM ubuntu:24.04\nCOPY entrypoint.sh /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\nCMD ["ykman", "--help"]\n',
        [],
    ),
    case("KH109", 'FROM alpine:3.20\nRUN apk add --no-cache htop\nCMD ["htop"]\n', []),
    case("KH109", 'FROM debian:12\nENTRYPOINT ["bash"]\n', []),
    case(
        "KH109",
        'FROM alpine:3.20\nRUN apk add transmission-daemon\nEXPOSE 9091\nENTRYPOINT ["/usr/bin/transmission-daemon"]\n',
        [1],
    ),
    case(
        "KH109",
        'FROM python:3.12-slim\nRUN pip install gunicorn\nCMD ["gunicorn", "-b", "0.0.0.0:8080", "app:app"]\n',
        [1],
    ),
    # a program copied into a folder of commands and called by name, no port: a command-line
    # tool (trivy's and dockle's images), run with the caller's --user; a server name is not
    case(
        "KH109", 'FROM alpine:3.20\nCOPY mytool /usr/local/bin/mytool\nENTRYPOINT ["mytool"]\n', []
    ),
    case(
        "KH109",
        'FROM alpine:3.20\nCOPY api-server /usr/local/bin/\nENTRYPOINT ["api-server"]\n',
        [1],
    ),
    case(
        "KH109",
        'FROM alpine:3.20\nENTRYPOINT ["coredns", "-dns.port", "53", "--listen", ":53"]\n',
        [1],
    ),
    case(
        "KH109", 'FROM debian:12\nRUN apt-get install -y redis-server\nCMD ["redis-server"]\n', [1]
    ),
    case("KH109", 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n', [1]),
    case("KH109", 'FROM scratch\nCOPY app.wasm /app.wasm\nENTRYPOINT ["app.wasm"]\n', []),
    case("KH109", 'FROM debian:12\nCMD ["/run-tests.sh"]\n', [], "e2e/testdata/Dockerfile"),
    case("KH109", 'FROM node:20\nCMD ["npm", "test"]\n', [], "result/tests/Dockerfile"),
    case("KH109", 'FROM debian:12\nCMD ["sleep", "infinity"]\n', [1], "contest/Dockerfile"),
    # --- KH203: a development container's sudo is its convention
    case("KH203", "FROM debian:12\nRUN apt-get install -y sudo\n", [], ".devcontainer/Dockerfile"),
    case("KH203", "FROM golang:1.23\nRUN apt-get install -y sudo\n", [], "hack/develop/Dockerfile"),
    case(
        "KH203",
        'FROM debian:12\nRUN apt-get install -y sudo\nCMD ["/app"]\n',
        [2],
        "app/Dockerfile",
    ),
    case("KH220", "FROM golang:1.23\nRUN chmod -R 777 /go\n", [], "hack/develop/Dockerfile"),
    # --- KH204: a random password nobody knows only unlocks the account
    case(
        "KH204",
        'FROM alpine:3.20\nRUN useradd --password "$(head -c32 /dev/urandom | base64)" app\n',
        [],
    ),
    case("KH204", "FROM alpine:3.20\nRUN useradd -p $(openssl rand -base64 24) app\n", []),
    case("KH204", "FROM alpine:3.20\nRUN useradd -p '$6$salt$hash' app\n", [2]),
    # --- KH220 world-writable
    case("KH220", "FROM debian:12\nRUN chmod -R 777 /usr/bin\n", [2]),
    case("KH220", "FROM debian:12\nRUN chmod o+w /etc/app.conf\n", [2]),
    case("KH220", "FROM debian:12\nRUN chmod -R a+rwX /srv\n", [2]),
    case("KH220", "FROM debian:12\nRUN chmod 0666 /etc/app.conf\n", [2]),
    case("KH220", "FROM debian:12\nRUN mkdir -p -m 777 /data\n", [2]),
    case("KH220", "FROM debian:12\nCOPY --chmod=777 app /usr/local/bin/app\n", [2]),
    case("KH220", "FROM debian:12\nADD --chmod=0757 tool.sh /usr/local/bin/tool\n", [2]),
    case("KH220", "FROM debian:12\nRUN chmod 1777 /scratch\n", []),
    case("KH220", "FROM debian:12\nRUN chmod a+rwxt /scratch\n", []),
    case("KH220", "FROM debian:12\nRUN chmod 755 /usr/local/bin/app && chmod go-w /srv\n", []),
    case("KH220", "FROM debian:12\nRUN chmod +x /usr/local/bin/app && chmod -w /etc/x\n", []),
    case("KH220", "FROM debian:12\nCOPY --chmod=755 app /usr/local/bin/app\n", []),
    case(
        "KH220",
        'FROM debian:12 AS build\nRUN chmod 777 /out\nFROM debian:12\nCOPY --from=build /out/app /app\nCMD ["/app"]\n',
        [],
    ),
    case(
        "KH220",
        'FROM debian:12\nRUN d="$(mktemp -d)" && chmod 777 "$d" && cd "$d" && make && rm -rf "$d"\n',
        [],
    ),
    case("KH220", "FROM golang:1.23\nRUN chmod -R 777 /go\nEXPOSE 8080\n", [], "dev.Dockerfile"),
    # --- KH221 download-without-checksum
    case(
        "KH221",
        "FROM debian:12\nRUN wget -O /bin/curl https://example.com/curl && chmod +x /bin/curl\n",
        [2],
    ),
    case(
        "KH221",
        "FROM debian:12\nRUN curl -fsSL https://example.com/tool.tar.gz | tar -xz -C /usr/local/bin\n",
        [2],
    ),
    case(
        "KH221",
        "FROM debian:12\nRUN curl -fsSLo /tmp/x.deb https://example.com/x.deb && dpkg -i /tmp/x.deb\n",
        [2],
    ),
    case(
        "KH221",
        "FROM debian:12\nRUN curl -fsSLo /opt/tool https://example.com/tool && chmod 755 /opt/tool\n",
        [2],
    ),
    case(
        "KH221",
        'FROM debian:12\nRUN curl -fsSLo /tmp/t.tgz https://example.com/t.tgz \\\n && echo "abc  /tmp/t.tgz" | sha256sum -c - && tar -xzf /tmp/t.tgz -C /opt\n',
        [],
    ),
    case(
        "KH221",
        "FROM debian:12\nRUN wget -O t.tgz https://example.com/t.tgz && wget -O t.tgz.asc https://example.com/t.tgz.asc && gpg --batch --verify t.tgz.asc t.tgz && tar -xzf t.tgz\n",
        [],
    ),
    case("KH221", "FROM debian:12\nRUN curl -fsSL https://example.com/install.sh | sh\n", []),
    case(
        "KH221",
        "FROM debian:12\nRUN curl -fsSL https://example.com/key.gpg -o /usr/share/keyrings/x.gpg\n",
        [],
    ),
    case(
        "KH221",
        "FROM debian:12\nRUN curl -fsSL -o /tmp/data.json https://example.com/data.json\n",
        [],
    ),
    case(
        "KH221",
        'FROM debian:12\nARG DIND_COMMIT=0123\nRUN wget -O /usr/local/bin/dind "https://raw.githubusercontent.com/docker/docker/${DIND_COMMIT}/hack/dind" && chmod +x /usr/local/bin/dind\n',
        [],
    ),
    # --- KH222 git-clone-unpinned
    case("KH222", "FROM debian:12\nRUN git clone https://github.com/example/tool.git /src\n", [2]),
    case(
        "KH222",
        "FROM debian:12\nRUN git clone --depth 1 --branch main https://github.com/example/tool.git\n",
        [2],
    ),
    case(
        "KH222",
        "FROM debian:12\nRUN git clone --depth 1 --branch v1.2.3 https://github.com/example/tool.git\n",
        [],
    ),
    case(
        "KH222",
        'FROM debian:12\nARG VERSION=1.2.3\nRUN git clone -b "v$VERSION" https://github.com/example/tool.git\n',
        [],
    ),
    case(
        "KH222",
        "FROM debian:12\nRUN git clone https://github.com/example/tool.git /src && cd /src && git checkout 0123456789abcdef\n",
        [],
    ),
    case(
        "KH222",
        "FROM debian:12\nRUN git clone https://github.com/example/tool.git /src\nRUN git -C /src reset --hard 0123456789abcdef\n",
        [],
    ),
    case("KH222", "FROM debian:12\nRUN git config --global user.name x && git --version\n", []),
]


@pytest.mark.parametrize(("code", "src", "expected", "name"), CASES)
def test_rule_cases(code: str, src: str, expected: list[int], name: str) -> None:
    assert [f.location.line for f in found(src, code, name)] == expected


def test_root_user_message_says_what_is_assumed() -> None:
    (finding,) = found("FROM example.com/team/app-base:1\nCOPY app /app\n", "KH109")
    assert "runs as root unless team/app-base sets a user" in finding.message


def test_download_message_hides_credentials() -> None:
    src = "FROM debian:12\nRUN curl -o /usr/bin/t https://u:hunter2@example.com/t && chmod +x /usr/bin/t\n"
    (finding,) = found(src, "KH221")
    assert "hunter2" not in finding.message
    assert "://…@example.com" in finding.message


PORT_CASES = [
    case(
        "KH208",
        'FROM alpine:3.20\nEXPOSE 22\nENTRYPOINT ["/start.sh"]\nCMD ["/usr/sbin/sshd", "-D"]\n',
        [],
    ),
    case("KH208", 'FROM alpine:3.20\nEXPOSE 22\nCMD ["/usr/sbin/sshd", "-D", "-e"]\n', []),
    case("KH208", 'FROM alpine:3.20\nEXPOSE 22 8080\nCMD ["/app"]\n', [2]),
    case(
        "KH208",
        'FROM docker:27-dind\nEXPOSE 22\nENTRYPOINT ["/entrypoint.sh"]\n',
        [],
        "e2e/testdata/Dockerfile.ssh",
    ),
    case(
        "KH209", 'FROM alpine:3.20\nEXPOSE 2376\nENTRYPOINT ["dockerd-entrypoint.sh"]\nCMD []\n', []
    ),
    case(
        "KH209", 'FROM alpine:3.20\nEXPOSE 2375 2376\nENTRYPOINT ["dockerd-entrypoint.sh"]\n', [2]
    ),
    case("KH209", "FROM docker:27-dind\nEXPOSE 2375\n", [2]),
    case("KH209", 'FROM alpine:3.20\nEXPOSE 2376\nCMD ["/app"]\n', [2]),
]


@pytest.mark.parametrize(("code", "src", "expected", "name"), PORT_CASES)
def test_port_cases(code: str, src: str, expected: list[int], name: str) -> None:
    assert [f.location.line for f in found(src, code, name)] == expected


# KH109's message says what the fix does (issue 17 item 2), or why there is no fix, and what is
# assumed (issue 16 item 4).
@pytest.mark.parametrize(
    ("src", "says"),
    [
        pytest.param(
            'FROM node:20-slim\nCOPY . /app\nCMD ["node", "index.js"]\n',
            "end with USER 1000:1000 (node's user node, per nodejs/docker-node)",
            id="node-reuses-node",
        ),
        pytest.param(
            'FROM php:8.3-fpm\nCOPY . /var/www/html\nCMD ["php", "worker.php"]\n',
            "end with USER 33:33 (php's user www-data",
            id="php-fpm-www-data",
        ),
        pytest.param(
            'FROM php:8.3-fpm-alpine\nCOPY . /app\nCMD ["php", "worker.php"]\n',
            "end with USER 82:82",
            id="php-alpine-www-data-82",
        ),
        pytest.param(
            'FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY . /app\nENTRYPOINT ["dotnet", "a.dll"]\n',
            "end with USER 1654:1654",
            id="dotnet-8-app-uid",
        ),
        pytest.param(
            'FROM gcr.io/distroless/static-debian12\nCOPY app /\nCMD ["/app"]\n',
            "end with USER 65532:65532",
            id="distroless-nonroot",
        ),
        pytest.param(
            'FROM debian:12\nCOPY app /app/\nCMD ["/app/app"]\n',
            "create user app (10001) and end with USER 10001:10001",
            id="new-user",
        ),
        pytest.param(
            'FROM php:8.3-apache\nCOPY run.sh /\nCMD ["/run.sh"]\n',
            "no automatic fix: php:8.3-apache starts Apache as root, which then runs its "
            "workers as www-data",
            id="php-apache-why-no-fix",
        ),
        pytest.param(
            'FROM example.com/team/app:1\nCMD ["/srv/app"]\n',
            "runs as root unless team/app sets a user",
            id="unknown-base",
        ),
    ],
)
def test_root_user_message_matches_the_fix(src: str, says: str) -> None:
    (finding,) = found(src, "KH109")
    assert says in finding.message
    assert "10001" not in finding.message or "create user app" in finding.message


def test_root_user_numeric_only() -> None:
    """A user made without a UID gets no fix: USER is written with numbers (KH201)."""
    src = 'FROM debian:12\nRUN useradd web\nCOPY app /app/\nCMD ["/app/app"]\n'
    (finding,) = found(src, "KH109")
    assert "creates web without a UID" in finding.message


@pytest.mark.parametrize(
    "src",
    [
        # a desktop app: graphical libraries and no port
        pytest.param(
            "FROM debian:12\nRUN apt-get install -y libgtk-3-0 xauth\nCOPY app /opt/app\n"
            'ENTRYPOINT ["/opt/app"]\n',
            id="gui-libraries",
        ),
        # the file's usage comment runs it privileged: it works on the host
        pytest.param(
            '# docker run --rm --privileged -v /lib/modules:/lib/modules me/trace\nFROM debian:12\nCOPY t.sh /t.sh\nENTRYPOINT ["/t.sh"]\n',
            id="privileged-usage",
        ),
        # daemons that drop to their own user themselves (postfix's master, distccd)
        pytest.param(
            'FROM alpine:3.20\nRUN apk add --no-cache postfix\nCOPY boot /boot\nENTRYPOINT ["/boot"]\n',
            id="postfix",
        ),
        # the Docker CLI and no port: it drives the host's Docker through its socket
        pytest.param(
            'FROM alpine:3.20\nRUN apk add --no-cache docker-cli\nCOPY scan.sh /scan.sh\nENTRYPOINT ["/scan.sh"]\n',
            id="docker-cli",
        ),
        # a packaged program run with arguments that are not a server's
        pytest.param(
            'FROM alpine:3.20\nRUN apk add --no-cache emacs\nCMD ["/usr/bin/emacs", "-f", "tetris"]\n',
            id="packaged-program-with-arguments",
        ),
        # an upstream program fetched in a RUN, started with no port
        pytest.param(
            "FROM debian:12\nRUN git clone https://example.com/its.git /usr/src/its\n"
            'WORKDIR /usr/src/its\nENTRYPOINT ["./start"]\n',
            id="fetched-upstream-program",
        ),
        # an entrypoint script in the build context that switches user
        pytest.param("entrypoint-in-context", id="entrypoint-drops-in-context"),
    ],
)
def test_root_user_quiet_where_root_is_chosen_elsewhere(src: str, tmp_path: Path) -> None:
    if src == "entrypoint-in-context":
        (tmp_path / "entrypoint.sh").write_text('#!/bin/sh\nexec gosu web "$@"\n')
        src = ("FROM debian:12\nRUN useradd -u 1001 web\nCOPY entrypoint.sh /usr/local/bin/\n"
               'ENTRYPOINT ["entrypoint.sh"]\nCMD ["web-server"]\n')  # fmt: skip
        assert _kh109_in(tmp_path, src) == []
        return
    assert found(src, "KH109") == []


def _kh109_in(folder: Path, src: str) -> list[Finding]:
    from keelhaul.checking import Target
    from tests.fix.test_fixing import checker

    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(src)
    result = checker(("KH109",)).check([Target(dockerfile, str(dockerfile), True)])
    return [f for f in result.all_findings if f.code == "KH109"]


def test_root_user_entrypoint_unseen_is_info(tmp_path: Path) -> None:
    """A created user and an entrypoint script keelhaul cannot read: the official images'
    pattern (the script switches user) is assumed, at info, and the message says so."""
    src = ("FROM debian:12\nRUN useradd -u 1001 web\nCOPY entrypoint.sh /usr/local/bin/\n"
           'ENTRYPOINT ["entrypoint.sh"]\nCMD ["web-server"]\n')  # fmt: skip
    (finding,) = _kh109_in(tmp_path, src)
    assert finding.severity.value == "info"
    assert "unless entrypoint.sh" in finding.message
    assert "USER 1001" in finding.message
    (tmp_path / "entrypoint.sh").write_text('#!/bin/sh\nexec "$@"\n')
    (finding,) = _kh109_in(tmp_path, src)
    assert finding.severity.value == "warning"


def test_root_user_unknown_base_without_command_is_info() -> None:
    (finding,) = found("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY nginx.conf /etc/nginx/\n", "KH109")
    assert finding.severity.value == "info"
    assert "build argument" in finding.message
