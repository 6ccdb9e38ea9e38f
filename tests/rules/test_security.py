"""Security rules: users, secrets, ports, supply chain (KH108-KH110, KH200-KH212)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding
from keelhaul.rule import REGISTRY
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules
from tests.corpus import CORPUS, parsed_dockerfiles

dockerfile_rules()


def found(src: str, code: str, context: BuildContext | None = None) -> list[Finding]:
    return check_dockerfile(parse(src, "Dockerfile"), rules=[REGISTRY[code]],
                            build_context=context)  # fmt: skip


def lines(src: str, code: str) -> list[int]:
    return [f.location.line for f in found(src, code)]


def case(code: str, src: str, expected: list[int]) -> object:
    return pytest.param(code, src, expected, id=f"{code}:{src[:60]}")


CASES = [
    # --- KH109 root-user
    case("KH109", "FROM debian:12\nCMD x\n", [1]),
    case("KH109", "FROM debian:12\nUSER app\nUSER root\n", [3]),
    case("KH109", "FROM debian:12\nUSER root\nUSER 10001\n", []),
    case("KH109", "FROM debian:12\nUSER root:root\n", [2]),
    case("KH109", "FROM debian:12\nUSER 0:0\n", [2]),
    case("KH109", "FROM debian:12\nUSER 000\n", [2]),
    case("KH109", "FROM debian:12\nARG RUNAS=root\nUSER $RUNAS\n", [3]),
    case("KH109", "FROM debian:12\nARG RUNAS=app\nUSER ${RUNAS}\n", []),
    case("KH109", "FROM debian:12\nARG RUNAS\nUSER $RUNAS\n", []),  # unknown: a build arg
    case("KH109", "FROM debian:12\nUSER 10001\nONBUILD USER root\n", []),
    case("KH109", "FROM debian:12 AS base\nUSER 10001\nFROM base\nCMD x\n", []),
    case("KH109", "FROM debian:12 AS base\nUSER root\nFROM base\nCMD x\n", [2]),
    case("KH109", "FROM debian:12 AS build\nUSER 10001\nFROM debian:12\nCMD x\n", [3]),
    case("KH109", "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /\n", []),
    case("KH109", "FROM gcr.io/distroless/static-debian12\nCOPY app /\n", [1]),
    case("KH109", "FROM cgr.dev/chainguard/python:latest\n", []),
    case("KH109", "FROM nginxinc/nginx-unprivileged:1.27\n", []),
    case("KH109", "FROM gcr.io/distroless/static:nonroot\nUSER root\n", [2]),
    case("KH109", 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n', [1]),
    # an export stage (FROM scratch, nothing runs it) and base images meant to be built on
    case("KH109", "FROM scratch\nCOPY app /app\n", []),
    case("KH109", 'FROM debian:12\nRUN apt-get update\nCMD ["bash"]\n', []),
    case("KH109", "FROM python:3.12\nONBUILD COPY . /app\nCMD python /app\n", []),
    case("KH109", "FROM golang:1.22\nRUN go install example.com/tool@v1\n", []),
    case("KH109", 'FROM debian:12\nRUN apt-get install -y gosu\nENTRYPOINT ["entry.sh"]\n', []),
    case("KH109", 'FROM alpine:3.20\nENTRYPOINT ["su-exec", "app", "server"]\n', []),
    case("KH109", "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n", []),
    # --- KH200 user-not-created
    case("KH200", "FROM python:3.12-slim\nUSER app\n", [2]),
    case("KH200", "FROM python:3.12-slim\nRUN useradd app\nUSER app\n", []),
    case(
        "KH200",
        "FROM alpine:3.20\nRUN addgroup -S app && adduser -S -G app app\nUSER app:app\n",
        [],
    ),
    case("KH200", "FROM python:3.12-slim\nRUN useradd app\nUSER app:staff\n", []),
    case("KH200", "FROM python:3.12-slim\nRUN useradd app\nUSER app:web\n", [3]),
    case("KH200", "FROM python:3.12 AS build\nRUN useradd app\nFROM python:3.12\nUSER app\n", [4]),
    case("KH200", "FROM python:3.12 AS base\nRUN useradd app\nFROM base\nUSER app\n", []),
    case("KH200", "FROM node:22\nUSER node\n", []),
    case("KH200", "FROM nginx:1.27\nUSER nginx\n", []),
    case("KH200", "FROM postgres:17\nUSER postgres\n", []),
    case("KH200", "FROM debian:12\nUSER nobody\n", []),
    case("KH200", "FROM debian:12\nUSER www-data\n", []),
    case("KH200", "FROM gcr.io/distroless/base-debian12\nUSER nonroot:nonroot\n", []),
    case("KH200", "FROM debian:12\nUSER 10001:10001\n", []),
    case("KH200", "FROM mycorp/base:1\nUSER app\n", []),  # unknown base: may have it
    case("KH200", "FROM scratch\nUSER nobody\n", [2]),
    case("KH200", "FROM scratch\nUSER 65534\n", []),
    case("KH200", "FROM scratch\nCOPY --from=b /etc/passwd /etc/passwd\nUSER nobody\n", []),
    case("KH200", "FROM debian:12\nRUN ./setup-users.sh\nUSER app\n", []),
    case(
        "KH200",
        "FROM debian:12\nRUN echo 'app:x:10001:10001::/app:/bin/sh' >> /etc/passwd\nUSER app\n",
        [],
    ),
    case("KH200", "FROM debian:12\nCOPY --chown=app:app . /app\nUSER app\n", []),
    case("KH200", "FROM debian:12\nRUN chown -R app /srv\nUSER app\n", []),
    case("KH200", "FROM debian:12\nRUN apt-get install -y redis-server\nUSER redis\n", []),
    case("KH200", "FROM debian:12\nARG NAME=svc\nUSER $NAME\n", [3]),
    # --- KH201 user-not-numeric
    case("KH201", "FROM debian:12\nRUN useradd -u 10001 app\nUSER app\n", [3]),
    case("KH201", "FROM debian:12\nUSER 10001:10001\n", []),
    case("KH201", "FROM debian:12\nUSER root\n", []),
    case("KH201", "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nUSER ContainerUser\n", []),
    # --- KH202 sudo-used
    case("KH202", "FROM debian:12\nRUN sudo apt-get update\n", [2]),
    case("KH202", "FROM debian:12\nRUN echo a && \\\n  sudo -u app make install\n", [3]),
    case("KH202", "FROM debian:12\nRUN <<EOF\nset -e\nsudo ls\nEOF\n", [4]),
    case("KH202", "FROM debian:12\nONBUILD RUN sudo make\n", [2]),
    case("KH202", "FROM debian:12\nRUN doas apk add x\n", [2]),
    case("KH202", "FROM debian:12\nRUN apt-get install -y sudo && usermod -aG sudo app\n", []),
    case("KH202", "FROM debian:12\nRUN command -v sudo || echo 'no sudo here'\n", []),
    case("KH202", "FROM debian:12 AS unused\nRUN sudo ls\nFROM debian:12\nCMD x\n", []),
    # --- KH203 sudo-installed
    case("KH203", "FROM debian:12\nRUN apt-get install -y --no-install-recommends sudo\n", [2]),
    case("KH203", "FROM alpine:3.20\nRUN apk add --no-cache doas\n", [2]),
    case("KH203", "FROM debian:12 AS build\nRUN apt-get install -y sudo\nFROM debian:12\n", []),
    case("KH203", "FROM debian:12\nRUN apt-get remove -y sudo\n", []),
    # --- KH204 password-set
    case("KH204", "FROM debian:12\nRUN echo 'root:Docker!' | chpasswd\n", [2]),
    case("KH204", 'FROM debian:12\nRUN echo "app:$PASS" | chpasswd\n', [2]),
    case("KH204", "FROM centos:7\nRUN echo hunter2 | passwd --stdin root\n", [2]),
    case("KH204", "FROM debian:12\nRUN passwd -d root\n", [2]),
    case("KH204", "FROM debian:12\nRUN useradd -p '$6$abc$def' app\n", [2]),
    case("KH204", "FROM debian:12\nRUN useradd -p '*' app && passwd -l app\n", []),
    case("KH204", "FROM debian:12\nRUN adduser --disabled-password --gecos '' app\n", []),
    # --- KH206 hardcoded-secret
    case("KH206", "FROM alpine\nRUN curl -u admin:hunter2hunter2 https://x.example/a\n", [2]),
    case("KH206", 'FROM alpine\nRUN curl -u "$USER:$PASSWORD" https://x.example/a\n', []),
    case("KH206", "FROM alpine\nRUN docker login -u me -p s3cr3tpw registry.example.com\n", [2]),
    case(
        "KH206", "FROM alpine\nRUN docker login -u me --password-stdin reg < /run/secrets/p\n", []
    ),
    case("KH206", "FROM alpine\nRUN echo 'DB_PASSWORD=hunter2hunter2' >> /app/.env\n", [2]),
    case("KH206", "FROM alpine\nRUN DB_PASSWORD=hunter2hunter2 ./migrate\n", [2]),
    case(
        "KH206",
        "FROM alpine\nRUN key='B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8'; "
        'gpg --recv-keys "$key"\n',
        [],
    ),
    case("KH206", 'FROM alpine\nLABEL token="' + "ghp_" + "Zq8" * 12 + '"\n', [2]),
    case(
        "KH206",
        "FROM alpine\nCOPY <<EOF /root/.ssh/id_rsa\n-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEow\n-----END RSA PRIVATE KEY-----\nEOF\n",
        [3],
    ),
    case("KH206", "FROM alpine\nRUN aws configure set aws_secret_access_key abcDEF123\n", [2]),
    case(
        "KH206", "FROM alpine\nRUN npm config set //registry.npmjs.org/:_authToken abc123def\n", [2]
    ),
    # --- KH207 privileged-port
    case("KH207", "FROM nginx:1.27\nUSER nginx\nEXPOSE 80 8080\n", [3]),
    case("KH207", "FROM nginx:1.27\nEXPOSE 80\n", []),  # runs as root: binds any port
    case("KH207", "FROM nginx:1.27\nUSER 101\nEXPOSE 8080\n", []),
    case("KH207", "FROM debian:12\nUSER 10001\nEXPOSE 1000-1100/tcp\n", [3]),
    case("KH207", "FROM debian:12\nARG PORT=443\nUSER 10001\nEXPOSE $PORT\n", [4]),
    case("KH207", "FROM debian:12\nUSER 10001\nEXPOSE $PORT\n", []),
    case("KH207", "FROM gcr.io/distroless/static:nonroot\nEXPOSE 443\n", [2]),
    case(
        "KH207",
        "FROM debian:12\nRUN setcap cap_net_bind_service=+ep /usr/bin/srv\nUSER 10001\nEXPOSE 80\n",
        [],
    ),
    case("KH207", "FROM debian:12 AS b\nUSER 1\nEXPOSE 80\nFROM debian:12\nUSER 2\n", []),
    # --- KH208 ssh-port-exposed
    case("KH208", "FROM debian:12\nEXPOSE 8080 22\n", [2]),
    case("KH208", "FROM debian:12\nEXPOSE 22/tcp\n", [2]),
    case("KH208", "FROM debian:12\nEXPOSE 20-30\n", [2]),
    case("KH208", "FROM debian:12\nEXPOSE 2222 220\n", []),
    case("KH208", "FROM debian:12\nARG SSH=22\nEXPOSE ${SSH}\n", [3]),
    case("KH208", "FROM debian:12 AS b\nEXPOSE 22\nFROM debian:12\nEXPOSE 80\n", []),
    # --- KH209 docker-api-port-exposed
    # docker:dind is the daemon: its TLS port 2376 is its job, 2375 (no TLS) is reported
    case("KH209", "FROM docker:27-dind\nEXPOSE 2375 2376\n", [2]),
    case("KH209", "FROM docker:27-dind\nEXPOSE 23750\n", []),
    # --- KH210 add-url-without-checksum
    case("KH210", "FROM alpine\nADD https://example.com/a.tar.gz /tmp/\n", [2]),
    case(
        "KH210",
        "FROM alpine\nADD --checksum=sha256:" + "a" * 64 + " https://example.com/a.tar.gz /tmp/\n",
        [],
    ),
    case("KH210", "FROM alpine\nADD https://github.com/moby/buildkit.git#v0.10.1 /src\n", [2]),
    case(
        "KH210", "FROM alpine\nADD https://github.com/moby/buildkit.git#" + "0" * 40 + " /src\n", []
    ),
    case("KH210", "FROM alpine\nADD git@github.com:moby/buildkit.git /src\n", [2]),
    case(
        "KH210",
        "FROM alpine\nADD https://x.example/a.tgz /a.tgz\nADD https://x.example/a.asc "
        "/a.asc\nRUN gpg --batch --verify /a.asc /a.tgz\n",
        [],
    ),
    case("KH210", "FROM alpine\nADD app.tar.gz /srv/\n", []),
    # --- KH108 download-piped-to-shell
    case("KH108", "FROM a\nRUN curl -fsSL https://x.example/i.sh | sh\n", [2]),
    case("KH108", "FROM a\nRUN wget -qO- https://x.example/i.sh | bash\n", [2]),
    case("KH108", "FROM a\nRUN curl -fsSL https://x.example/i.sh | sudo -E bash -\n", [2]),
    case("KH108", "FROM a\nRUN bash <(curl -s https://x.example/i.sh)\n", [2]),
    case("KH108", 'FROM a\nRUN sh -c "$(curl -fsSL https://x.example/i.sh)"\n', [2]),
    case("KH108", 'FROM a\nRUN ruby -e "$(curl -fsSL https://x.example/install)"\n', [2]),
    case("KH108", "FROM a\nRUN curl -fsSL https://bootstrap.pypa.io/get-pip.py | python3 -\n", [2]),
    case(
        "KH108",
        'FROM a\nRUN python3 -c "import urllib.request as u; '
        "exec(u.urlopen('https://x.example/i.py').read())\"\n",
        [2],
    ),
    case(
        "KH108",
        "FROM a\nRUN iex ((New-Object Net.WebClient).DownloadString("
        "'https://chocolatey.org/install.ps1'))\n",
        [2],
    ),
    case(
        "KH108",
        "FROM a\nRUN curl -fsSLo /tmp/i.sh https://x.example/i.sh "
        "&& sha256sum -c i.sha256 && sh /tmp/i.sh\n",
        [],
    ),
    case("KH108", "FROM a\nRUN curl -fsSL https://x.example/a.tgz | tar -xz\n", []),
    case("KH108", "FROM a\nONBUILD RUN curl https://install.meteor.com/ | sh\n", [2]),
]


@pytest.mark.parametrize(("code", "src", "expected"), CASES)
def test_rule_cases(code: str, src: str, expected: list[int]) -> None:
    assert lines(src, code) == expected


# --- KH110 secret-in-env ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM a\nENV DB_PASSWORD=hunter2hunter2\n", [2]),
        ("FROM a\nENV DB_PASSWORD hunter2hunter2\n", [2]),
        ("FROM a\nARG API_KEY=abcdef123456\n", [2]),
        ("FROM a\nENV CONFIG=" + "AKIA" + "Z7Q2M4N6P8R1T3V5" + "\n", [2]),
        ("FROM a\nENV LICENSE_KEY lgNvGyhnUKpa5PJi\n", [2]),
        ("FROM a\nONBUILD ENV DB_PASSWORD=hunter2hunter2\n", [2]),
        ("FROM a\nARG GITHUB_TOKEN\nRUN make\n", [2]),
        ("FROM a\nARG GITHUB_TOKEN\n", []),  # no RUN records it
        ("FROM a AS build\nARG GITHUB_TOKEN\nRUN make\nFROM a\nCOPY --from=build /x /x\n", []),
        ("FROM a\nARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\n", [3]),
        ("FROM python:3.12\nENV GPG_KEY A035C8C19219BA821ECEA86B64E628F8D684696D\n", []),
        ("FROM python:3.12\nARG GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\n", []),
        ("FROM a\nENV GPG_KEYS B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8 "
         "5E7A3D76F8C1F0A0A3FAEE9C77CAB4B0D6B4F04A\n", []),
        ("FROM a\nENV PASSWORD_FILE=/run/secrets/pw TOKEN_URL=https://auth.example\n", []),
        ("FROM a\nENV API_KEY_FILE=/run/secrets/api\n", []),
        ("FROM a\nENV DB_PASSWORD=${DB_PASSWORD}\n", []),
        ("FROM a\nENV DB_PASSWORD=\"\"\n", []),
        ("FROM a\nENV PUBLIC_KEY=ssh-ed25519AAAAC3Nza\n", []),
        ("FROM a\nARG AWS_SECRET_ACCESS_KEY=FAKE_TO_GENERATE_WARNING_OUTPUT\n", []),
        ("FROM a\nENV SECRET_KEY_BASE_DUMMY=1\n", []),
        ("FROM a\nENV TOKENIZERS_PARALLELISM=false\n", []),
    ],
)  # fmt: skip
def test_secret_in_env(src: str, expected: list[int]) -> None:
    assert lines(src, "KH110") == expected


def test_secret_in_env_points_at_the_name() -> None:
    [hit] = found("FROM a\nENV E=1 PASSWORD=hunter2hunter2\n", "KH110")
    assert (hit.location.line, hit.location.column, hit.location.end_column) == (2, 9, 17)


# --- KH205 secret-file-copied -------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM a\nCOPY .env /app/\n", [2]),
        ("FROM a\nCOPY id_rsa /root/.ssh/id_rsa\n", [2]),
        ("FROM a\nCOPY deploy_key /root/.ssh/id_ed25519\n", [2]),
        ("FROM a\nCOPY keys/ /root/.ssh/\n", [2]),
        ("FROM a\nADD certs/server.key /etc/ssl/private/\n", [2]),
        ("FROM a\nCOPY .npmrc package.json ./\n", [2]),
        ("FROM a\nCOPY .aws/credentials /root/.aws/credentials\n", [2]),
        ("FROM a\nCOPY kubeconfig /root/.kube/config\n", [2]),
        ("FROM a\nCOPY .ssh /root/.ssh\n", [2]),
        ("FROM a\nCOPY client.p12 /certs/\n", [2]),
        ("FROM a\nCOPY .env.example /app/.env\n", []),
        ("FROM a\nCOPY cert.pem /etc/ssl/certs/\n", []),
        ("FROM a\nCOPY id_rsa.pub /root/.ssh/authorized_keys\n", []),
        ("FROM a\nCOPY --from=build /root/.npmrc /tmp/\n", []),
        ("FROM a\nCOPY known_hosts /root/.ssh/known_hosts\n", []),
        ("FROM a\nCOPY ssh/known_hosts ssh/config /root/.ssh/\n", []),
        ("FROM a\nCOPY deploy /root/.ssh/\n", [2]),
        ("FROM a AS unused\nCOPY .env /app/\nFROM a\nCMD x\n", []),
        ("FROM a\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n", []),
    ],
)
def test_secret_file_copied(src: str, expected: list[int]) -> None:
    assert lines(src, "KH205") == expected


def test_secret_file_copied_reads_the_context(tmp_path: Path) -> None:
    (tmp_path / ".npmrc").write_text("registry=https://npm.example.com/\n")
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    (tmp_path / "tls.pem").write_text("-----BEGIN " + "PRIVATE KEY-----\nMIIE\n")
    (tmp_path / ".dockerignore").write_text(".env\n")
    (tmp_path / ".env").write_text("A=1\n")
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    src = "FROM a\nCOPY .npmrc ./\nCOPY cert.pem /c/\nCOPY tls.pem /c/\nCOPY .env ./\n"
    assert [f.location.line for f in found(src, "KH205", context)] == [4]


# --- KH211 / KH212 bypasses ---------------------------------------------------------------

TLS_CASES = [
    ("RUN curl -k https://x.example/a -o a", 2),
    ("RUN curl -fsSLk https://x.example/a -o a", 2),
    ("RUN curl --insecure https://x.example/a -o a", 2),
    ("RUN wget --no-check-certificate https://x.example/a", 2),
    ("RUN pip install --trusted-host pypi.org flask", 2),
    ("RUN python3 -m pip install --trusted-host pypi.org flask", 2),
    ("RUN pip config set global.trusted-host pypi.org", 2),
    ("ENV PYTHONHTTPSVERIFY=0", 2),
    ("ENV NODE_TLS_REJECT_UNAUTHORIZED 0", 2),
    ("ARG NODE_TLS_REJECT_UNAUTHORIZED=0", 2),
    ("RUN NODE_TLS_REJECT_UNAUTHORIZED=0 npm ci", 2),
    ("RUN export NODE_TLS_REJECT_UNAUTHORIZED=0 && npm ci", 2),
    ("ENV NPM_CONFIG_STRICT_SSL=false", 2),
    ("ENV npm_config_strict_ssl=false", 2),
    ("RUN npm config set strict-ssl false", 2),
    ("RUN yarn config set strict-ssl false", 2),
    ("RUN npm install --strict-ssl=false", 2),
    ("ENV GIT_SSL_NO_VERIFY=1", 2),
    ("ENV GIT_SSL_NO_VERIFY=false", 2),  # git turns checks off whatever the value
    ("RUN git config --global http.sslVerify false", 2),
    ("RUN git -c http.sslVerify=false clone https://x.example/r.git", 2),
    ("RUN yum-config-manager --save --setopt=sslverify=0", 2),
    ("RUN dnf install -y --setopt=sslverify=false tool", 2),
    ("RUN echo 'sslverify=0' >> /etc/yum.conf", 2),
    ("ENV PIP_TRUSTED_HOST=pypi.org", 2),
    ("ENV GOINSECURE=example.com", 2),
    ("RUN conda config --set ssl_verify false", 2),
    ("RUN composer config -g secure-http false", 2),
    ("RUN helm repo add x https://x.example --insecure-skip-tls-verify", 2),
    ("RUN skopeo copy --src-tls-verify=false docker://a docker://b", 2),
    ("RUN apt-get -o Acquire::https::Verify-Peer=false update", 2),
]
TLS_QUIET = [
    "RUN curl -fsSL https://x.example/a -o a",
    "RUN curl -Hk: https://x.example/a",  # k is the header's value
    "ENV NODE_TLS_REJECT_UNAUTHORIZED=1",
    "ENV ASDFNODE_TLS_REJECT_UNAUTHORIZED=0",
    "ENV NPM_CONFIG_STRICT_SSL=true",
    "RUN unset GIT_SSL_NO_VERIFY",
    "RUN git config --global http.sslVerify true",
    "RUN echo PIP_TRUSTED_HOST | pip install checkov",
    "RUN sed -i 's/sslverify=0/sslverify=1/' /etc/yum.conf",
    "ARG NODE_TLS_REJECT_UNAUTHORIZED",
]
SIGNATURE_CASES = [
    ("RUN apk add --allow-untrusted --repository https://x.example/alpine tool", 2),
    ("RUN apt-get install -y --allow-unauthenticated tool", 2),
    ("RUN apt-get install -y --force-yes tool", 2),
    ("RUN apt-get -o APT::Get::AllowUnauthenticated=true install -y tool", 2),
    ("RUN echo 'deb [trusted=yes] http://x.example/debian stable main' > /etc/apt/s.list", 2),
    ("RUN yum install -y --nogpgcheck tool", 2),
    ("RUN dnf install -y --setopt=gpgcheck=0 tool", 2),
    ("RUN rpm -ivh --nosignature https://x.example/tool.rpm", 2),
    ("RUN zypper --no-gpg-checks install -y tool", 2),
    ("ENV GOSUMDB=off", 2),
]
SIGNATURE_QUIET = [
    "RUN apk add --no-cache tool",
    "RUN apk index --allow-untrusted -o /tmp/APKINDEX.tar.gz /tmp/*.apk",
    "RUN apk add --allow-untrusted /tmp/packages/tool.apk",
    "RUN echo 'deb [ trusted=yes ] file:///tmp/repo ./' > /etc/apt/sources.list.d/temp.list",
    "RUN rpm -qp --nosignature tool.rpm",
    "RUN yum install -y tool",
    "RUN sed -i 's/gpgcheck=0/gpgcheck=1/' /etc/yum.repos.d/x.repo",
]


@pytest.mark.parametrize(("line", "expected"), TLS_CASES)
def test_tls_verification_disabled(line: str, expected: int) -> None:
    assert lines(f"FROM a\n{line}\n", "KH211") == [expected]
    assert lines(f"FROM a\n{line}\n", "KH212") == []


@pytest.mark.parametrize("line", TLS_QUIET)
def test_tls_verification_quiet(line: str) -> None:
    assert lines(f"FROM a\n{line}\n", "KH211") == []


@pytest.mark.parametrize(("line", "expected"), SIGNATURE_CASES)
def test_signature_check_disabled(line: str, expected: int) -> None:
    assert lines(f"FROM a\n{line}\n", "KH212") == [expected]


@pytest.mark.parametrize("line", SIGNATURE_QUIET)
def test_signature_check_quiet(line: str) -> None:
    assert lines(f"FROM a\n{line}\n", "KH212") == []


def test_bypass_in_a_written_repo_file() -> None:
    src = "FROM fedora:40\nRUN cat <<EOF > /etc/yum.repos.d/x.repo\n[x]\ngpgcheck=0\nEOF\n"
    assert lines(src, "KH212") == [4]
    copy = "FROM fedora:40\nCOPY <<EOF /etc/yum.repos.d/x.repo\n[x]\nsslverify=0\nEOF\n"
    assert lines(copy, "KH211") == [4]


def test_bypass_spans_point_at_the_switch() -> None:
    [hit] = found("FROM a\nRUN apt-get update && \\\n    curl -k https://x.example/a\n", "KH211")
    assert (hit.location.line, hit.location.column, hit.location.end_column) == (3, 10, 12)
    assert "curl -k" in hit.message


def test_bypass_in_unused_stage_is_quiet() -> None:
    src = "FROM a AS old\nRUN curl -k https://x.example\nFROM a\nCMD x\n"
    assert lines(src, "KH211") == []


# --- messages never show a secret ---------------------------------------------------------

SECRETS = {
    "github": "ghp_" + "Zq8" * 12,
    "aws": "AKIA" + "Z7Q2M4N6P8R1T3V5",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "password": "hunter2hunter2hunter2",
    "url": "s3cr3t-Passw0rd-xyz",
    "curl": "curlpass-0123456789",
    "login": "loginpass-0123456789",
    "chpasswd": "RootPass-0123456789",
}
LEAKY = (
    "FROM debian:12\n"
    f"ARG GITHUB_TOKEN={SECRETS['github']}\n"
    f"ENV AWS_ACCESS_KEY_ID={SECRETS['aws']} DB_PASSWORD={SECRETS['password']}\n"
    f"LABEL stripe={SECRETS['stripe']}\n"
    f"RUN git clone https://ci:{SECRETS['url']}@git.example.com/app.git\n"
    f"RUN curl -u admin:{SECRETS['curl']} https://x.example/\n"
    f"RUN docker login -u me -p {SECRETS['login']} registry.example.com\n"
    f"RUN echo 'root:{SECRETS['chpasswd']}' | chpasswd\n"
    f"RUN echo 'export API_TOKEN={SECRETS['github']}' >> /etc/profile\n"
    "COPY .env id_rsa /app/\n"
)


def test_no_message_shows_a_secret() -> None:
    findings = check_dockerfile(parse(LEAKY, "Dockerfile"), rules=dockerfile_rules())
    codes = {f.code for f in findings}
    assert {"KH110", "KH204", "KH205", "KH206"} <= codes
    for finding in findings:
        for secret in SECRETS.values():
            assert secret not in finding.message, (finding.code, finding.message)
            assert secret[4:12] not in finding.message, (finding.code, finding.message)


def test_every_secret_of_the_leaky_file_is_reported() -> None:
    findings = check_dockerfile(parse(LEAKY, "Dockerfile"), rules=dockerfile_rules())
    by_line: dict[int, set[str]] = {}
    for f in findings:
        by_line.setdefault(f.location.line, set()).add(f.code)
    expected = {2: "KH110", 3: "KH110", 4: "KH206", 5: "KH206", 6: "KH206", 7: "KH206",
                8: "KH204", 9: "KH206", 10: "KH205"}  # fmt: skip
    for line, code in expected.items():
        assert code in by_line[line], (line, by_line.get(line))


# --- the corpus ----------------------------------------------------------------------------

CHECKOV = CORPUS / "dockerfiles" / "bridgecrewio+checkov"
CHECKOV_CODES = {
    "EnvGitSslNoVerify": "KH211",
    "EnvNodeTlsRejectUnauthorized": "KH211",
    "EnvNpmConfigStrictSsl": "KH211",
    "EnvPipTrustedHost": "KH211",
    "EnvPythonHttpsVerify": "KH211",
    "ExposePort22": "KH208",
}


def _checkov_fixtures() -> list[Path]:
    return sorted(p for p in CHECKOV.glob("*") if any(k in p.name for k in CHECKOV_CODES))


@pytest.mark.corpus
@pytest.mark.parametrize("path", _checkov_fixtures(), ids=lambda p: p.name[-60:])
def test_checkov_fixtures(path: Path) -> None:
    """Checkov's own pass files are quiet and its fail files flagged, by the same rule."""
    code = next(c for k, c in CHECKOV_CODES.items() if k in path.name)
    hits = lines(path.read_text(encoding="utf-8"), code)
    if "__pass__" in path.name or "success" in path.name:
        assert hits == []
    else:
        assert hits


@pytest.mark.corpus
def test_official_gpg_keys_stay_quiet() -> None:
    rules = [REGISTRY[c] for c in ("KH110", "KH206")]
    with_keys = 0
    for file in parsed_dockerfiles():
        path, data, tree = file.path, file.data, file.tree
        if b"GPG_KEY" not in data and b"key=" not in data:
            continue
        with_keys += 1
        for finding in check_dockerfile(tree, rules=rules):
            line = data.decode("utf-8", "replace").splitlines()[finding.location.line - 1]
            assert "GPG" not in line, (path, finding.message)
            assert "key=" not in line, (path, finding.message)
    assert with_keys > 20
