"""Package-manager hygiene rules: KH102-KH107 and KH160-KH179.

Each table row is (Dockerfile, expected lines of the rule's findings): an empty list means the
rule must stay quiet, so every row can fail.
"""

from __future__ import annotations

import pytest

from keelhaul.rule import REGISTRY
from tests.rules.tables import check_table, lines, run, table

D = "FROM debian:12\n"
A = "FROM alpine:3.20\n"
R = "FROM rockylinux:9\n"
S = "FROM opensuse/leap:15.6\n"
N = "FROM node:20-slim\nWORKDIR /app\n"
LISTS = "rm -rf /var/lib/apt/lists/*"

# --------------------------------------------------------------------------- KH102


@table(
    "KH102",
    [
        (D + "RUN apt-get update\nRUN apt-get install -y curl\n", [2]),
        (D + "RUN apt-get update && apt-get install -y curl\n", []),
        (D + "RUN apt-get install -y curl && apt-get update\n", [2]),  # update after install
        (A + "RUN apk update\nRUN apk add curl\n", [2]),
        (A + "RUN apk update && apk add curl\n", []),
        (R + "RUN dnf makecache\nRUN dnf install -y httpd\n", [2]),
        (R + "RUN yum makecache && yum install -y httpd\n", []),
        (S + "RUN zypper refresh\n", [2]),
        (D + "RUN set -e; apt-get update; apt-get install -y curl\n", []),
        (D + "ONBUILD RUN apt-get update\n", [2]),
        (D + "RUN <<EOF\napt-get update\nEOF\n", [3]),  # the heredoc line
    ],
)
def test_package_update_alone(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH103, KH104


@table(
    "KH103",
    [
        (D + "RUN apt-get install -y curl\n", [2]),
        (D + "RUN apt-get install -y --no-install-recommends curl\n", []),
        (D + "RUN apt-get -o APT::Install-Recommends=false install -y curl\n", []),
        (D + "RUN apt-get build-dep -y nginx\n", []),
        (D + "RUN dpkg -i /tmp/x.deb || apt-get -yf install\n", [2]),  # the missing deps
        (D + "RUN apt-get install -y $PKGS\n", [2]),
        # configured earlier in the stage
        (
            D + "RUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/no-rec\n"
            "RUN apt-get install -y curl\n",
            [],
        ),
        (D + "COPY 99norecommends /etc/apt/apt.conf.d/\nRUN apt-get install -y curl\n", []),
        # the option on an earlier command configures nothing
        (
            D + "RUN apt-get install -y --no-install-recommends a\nRUN apt-get install -y b\n",
            [3],
        ),
        # a builder stage never ships
        (D.replace("\n", " AS build\n") + "RUN apt-get install -y gcc\nFROM scratch\n", []),
        (D.replace("\n", " AS base\n") + "RUN apt-get install -y gcc\nFROM base\n", [2]),
    ],
)
def test_apt_no_install_recommends(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH104",
    [
        (D + "RUN apt-get install curl\n", [2]),
        (D + "RUN apt-get install -y curl\n", []),
        (D + "RUN apt-get -qq install curl\n", []),  # -qq implies -y
        (D + "RUN yes | apt-get install curl\n", []),
        (D + "RUN apt-get install -s curl\n", []),  # a simulation asks nothing
        (D + "RUN apt-get install curl || true\n", [2]),
        (
            D + "RUN echo 'APT::Get::Assume-Yes \"true\";' > /etc/apt/apt.conf.d/90yes\n"
            "RUN apt-get install curl\n",
            [],
        ),
        (D.replace("\n", " AS b\n") + "RUN apt-get install gcc\nFROM scratch\n", [2]),
        (D + "ONBUILD RUN apt-get remove curl\n", [2]),
        (D + "RUN apt-get --assume-yes install a\nRUN apt-get install b\n", [3]),
    ],
)
def test_apt_missing_yes(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH105-KH107


@table(
    "KH105",
    [
        (D + "RUN apt-get update && apt-get install -y curl\n", [2]),
        (D + f"RUN apt-get update && apt-get install -y curl && {LISTS}\n", []),
        (D + f"RUN set -eux; apt-get update; apt-get install -y curl; {LISTS}\n", []),
        (D + "RUN apt-get update && apt-get install -y curl && apt-get clean\n", [2]),
        (D + "RUN apt-get update && apt-get install -y curl && apt-get distclean\n", []),
        (D + f"RUN {LISTS} && apt-get update && apt-get install -y curl\n", [2]),  # order
        (D + f"RUN apt-get update && apt-get install -y curl || {LISTS}\n", [2]),  # on failure
        (D + f"RUN apt-get update && apt-get install -y curl && {LISTS} || true\n", []),
        (D + "RUN find /var/lib/apt/lists -type f -delete\n", []),
        (
            D + "RUN apt-get update && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists\n",
            [],
        ),
        (D + "RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update\n", []),
        (D + "RUN --mount=type=cache,target=/var/lib/apt apt-get update\n", []),
        (D + "RUN --mount=type=tmpfs,target=/var/lib/apt/lists apt-get update\n", []),
        (D + "RUN --mount=type=cache,target=/var/cache/apt apt-get update\n", [2]),
        (D + "RUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n", [3]),
        (D + f"RUN <<EOF\napt-get update\napt-get install -y curl\n{LISTS}\nEOF\n", []),
        (D + "RUN add-apt-repository -y ppa:x/y && apt-get install -y z\n", [2]),
        (D + "RUN add-apt-repository -n ppa:x/y\n", []),
        (D + "ONBUILD RUN apt-get update && apt-get install -y curl\n", [2]),
        # only shipped stages
        (
            D.replace("\n", " AS b\n") + "RUN apt-get update\nFROM scratch\nCOPY --from=b /x /x\n",
            [],
        ),
        (D.replace("\n", " AS b\n") + "RUN apt-get update\nFROM scratch\nCOPY --from=b / /\n", [2]),
        (D.replace("\n", " AS b\n") + "RUN apt-get update\nFROM scratch\nCOPY --from=b . /\n", []),
        # docker-clean switched off: archives must go too
        (
            D + "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
            f"RUN apt-get update && apt-get install -y curl && {LISTS}\n",
            [3],
        ),
        (
            D + "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
            f"RUN apt-get update && apt-get install -y curl && apt-get clean && {LISTS}\n",
            [],
        ),
        (
            D + "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
            "RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,"
            "target=/var/lib/apt apt-get update && apt-get install -y curl\n",
            [],
        ),
    ],
)
def test_apt_lists_not_removed(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH106",
    [
        (A + "RUN apk add curl\n", [2]),
        (A + "RUN apk add --no-cache curl\n", []),
        (A + "RUN apk --no-cache add curl\n", []),
        (A + "RUN apk add curl && rm -rf /var/cache/apk/*\n", []),
        (A + "RUN apk update && apk add --no-cache curl\n", [2]),  # the update keeps the index
        (A + "RUN apk add --no-network --virtual .rundeps $deps\n", []),
        (A + "RUN --mount=type=cache,target=/var/cache/apk apk add curl\n", []),
        (A + "RUN --mount=type=cache,target=/etc/apk/cache apk add curl\n", []),
        (A.replace("\n", " AS b\n") + "RUN apk add gcc\nFROM scratch\n", []),
    ],
)
def test_apk_no_cache(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


P = "FROM python:3.12-slim\n"


@table(
    "KH107",
    [
        (P + "RUN pip install flask\n", [2]),
        (P + "RUN pip install --no-cache-dir flask\n", []),
        (P + "ENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n", []),
        (P + "ARG PIP_NO_CACHE_DIR=1\nRUN pip install flask\n", []),
        (P + "RUN PIP_NO_CACHE_DIR=1 pip install flask\n", []),
        (P + "RUN pip install flask && pip cache purge\n", []),
        (P + "RUN pip install flask && rm -rf /root/.cache\n", []),
        (P + "RUN pip install flask && rm -rf ~/.cache/pip\n", []),
        (P + "ENV PIP_CACHE_DIR=/pipcache\nRUN pip install flask && rm -rf /pipcache\n", []),
        (P + "RUN pip install --cache-dir /tmp/pc flask && rm -rf /tmp/*\n", []),
        (P + "RUN --mount=type=cache,target=/root/.cache/pip pip install flask\n", []),
        (P + "RUN --mount=type=cache,target=/root/.cache pip install -r r.txt\n", []),
        (P + "USER app\nRUN --mount=type=cache,target=/home/app/.cache/pip pip install x\n", []),
        (P + "RUN python3 -m pip install -r requirements.txt\n", [2]),
        (P + "ONBUILD RUN pip install -r requirements.txt\n", [2]),
        (P.replace("\n", " AS b\n") + "RUN pip wheel -w /w x\nFROM python:3.12-slim\n", []),
    ],
)
def test_pip_cache_kept(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH160-KH163


@table(
    "KH160",
    [
        (R + "RUN dnf install -y httpd\n", [2]),
        (R + "RUN dnf install -y httpd && dnf clean all\n", []),
        (R + "RUN yum install -y httpd && yum clean all\n", []),
        (R + "RUN yum install -y httpd && rm -rf /var/cache/yum\n", []),
        (R + "RUN dnf install -y httpd && rm -rf /var/cache/dnf/*\n", []),
        (R + "RUN dnf clean all && dnf install -y httpd\n", [2]),  # clean before install
        (R + "RUN dnf install -y httpd && dnf clean packages\n", [2]),  # metadata stays
        (R + "RUN dnf install -y --setopt=keepcache=0 httpd\n", [2]),
        (R + "RUN microdnf install -y shadow-utils && microdnf clean all\n", []),
        (R + "RUN tdnf install -y shadow-utils\n", [2]),
        (R + "RUN --mount=type=cache,target=/var/cache/dnf dnf install -y httpd\n", []),
        (R + "RUN dnf --installroot /out install -y httpd\n", []),
        (R + "RUN dnf makecache\n", [2]),
        (R.replace("\n", " AS b\n") + "RUN dnf install -y gcc\nFROM scratch\n", []),
    ],
)
def test_yum_dnf_cache_kept(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH161",
    [
        (S + "RUN zypper -n install curl\n", [2]),
        (S + "RUN zypper -n install curl && zypper clean --all\n", []),
        (S + "RUN zypper -n in curl && zypper cc -a\n", []),
        (S + "RUN zypper -n in curl && rm -rf /var/cache/zypp/*\n", []),
        (S + "RUN zypper clean -a && zypper -n in curl\n", [2]),
        (S + "RUN --mount=type=cache,target=/var/cache/zypp zypper -n in curl\n", []),
    ],
)
def test_zypper_cache_kept(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH162",
    [
        (N + "RUN yarn install --frozen-lockfile\n", [3]),
        (N + "RUN yarn\n", [3]),  # a bare yarn installs
        (N + "RUN yarn --version\n", []),
        (N + "RUN yarn install && yarn cache clean\n", []),
        (N + "RUN yarn install && rm -rf /usr/local/share/.cache/yarn\n", []),
        (N + "RUN yarn install --cache-folder /tmp/yc && rm -rf /tmp/yc\n", []),
        (N + "RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install\n", []),
        (N + "RUN yarn global add pm2@5\n", [3]),
        (N + "RUN yarn build\n", []),
    ],
)
def test_yarn_cache_kept(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


G = "FROM golang:1.23\nWORKDIR /src\nCOPY . .\n"
RUST = "FROM rust:1.81\nWORKDIR /src\nCOPY . .\n"


@table(
    "KH163",
    [
        (N + "RUN npm ci --omit=dev\n", [3]),
        (N + "RUN npm ci --omit=dev && npm cache clean --force\n", []),
        (N + "RUN npm ci --omit=dev && rm -rf /root/.npm\n", []),
        (N + "RUN npm ci --omit=dev && rm -rf ~/.npm/_cacache\n", []),
        (N + "RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev\n", []),
        (N + "ENV npm_config_cache=/tmp/npm\nRUN npm ci && rm -rf /tmp/npm\n", []),
        (N + "RUN npm install -g pm2@5\n", [3]),
        (N + "RUN npm run build\n", []),
        (G + "RUN go build -o /app .\n", [4]),
        (G + "RUN go build -o /app . && go clean -cache -modcache\n", []),
        (G + "RUN go build -o /app . && go clean -cache\n", [4]),  # the module cache stays
        (G + "RUN go build -o /app . && rm -rf /root/.cache/go-build /go/pkg/mod\n", []),
        (
            G + "RUN --mount=type=cache,target=/root/.cache/go-build "
            "--mount=type=cache,target=/go/pkg/mod go build -o /app .\n",
            [],
        ),
        (G + "RUN go mod download\nRUN go build -o /app . && go clean -cache\n", [4]),
        (
            G.replace(" /src", " /src\nENV GOFLAGS=-mod=vendor") + "RUN go build -o /a . "
            "&& go clean -cache\n",
            [],
        ),
        (G.replace("1.23\n", "1.23 AS build\n") + "RUN go build -o /a .\nFROM scratch\n", []),
        (RUST + "RUN cargo build --release\n", [4]),
        (RUST + "RUN cargo build --release && rm -rf /usr/local/cargo/registry\n", []),
        (RUST + "RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build\n", []),
        ("FROM php:8.3\nRUN composer install --no-dev\n", [2]),
        ("FROM php:8.3\nRUN composer install --no-dev && composer clear-cache\n", []),
        ("FROM php:8.3\nRUN composer install --no-dev --no-cache\n", []),
        ("FROM ruby:3.3\nRUN bundle install\n", [2]),
        ("FROM ruby:3.3\nRUN bundle install && rm -rf /usr/local/bundle/cache\n", []),
        ("FROM ruby:3.3\nRUN gem install rake -v 13 && rm -rf $GEM_HOME/cache/*.gem\n", []),
        ("FROM node:20\nRUN pnpm install --frozen-lockfile --prod\n", []),  # hard links
    ],
)
def test_package_cache_kept(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_go_caches_are_named_together() -> None:
    (found,) = run("KH163", G + "RUN go build -o /app .\n")
    assert "/root" not in found.message
    assert "~/.cache/go-build" in found.message
    assert "/go/pkg/mod" in found.message
    assert "go clean -cache -modcache" in found.message


# --------------------------------------------------------------------------- KH164


@table(
    "KH164",
    [
        (D + "RUN apt-get update && apt-get install -y curl\nRUN " + LISTS + "\n", [3]),
        (
            D
            + "RUN apt-get update && apt-get install -y curl && "
            + LISTS
            + "\nRUN "
            + LISTS
            + "\n",
            [],
        ),
        # the later RUN cleans its own update: needed there
        (
            D + "RUN apt-get update\nRUN apt-get update && apt-get install -y x && " + LISTS + "\n",
            [],
        ),
        (P + "RUN pip install -r r.txt\nRUN rm -rf /root/.cache\n", [3]),
        (P + "RUN pip install --no-cache-dir -r r.txt\nRUN rm -rf /root/.cache\n", []),
        (R + "RUN dnf install -y httpd\nRUN dnf clean all\n", [3]),
        (N + "RUN npm ci\nCOPY . .\nRUN npm cache clean --force\n", [5]),
        # across a FROM of an earlier stage
        (
            D.replace("\n", " AS base\n") + "RUN apt-get update\nFROM base\nRUN " + LISTS + "\n",
            [4],
        ),
        (D.replace("\n", " AS b\n") + "RUN apt-get update\nRUN " + LISTS + "\nFROM scratch\n", []),
        (
            D
            + "RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update\nRUN "
            + LISTS
            + "\n",
            [],
        ),
    ],
)
def test_cache_removed_later(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


def test_cache_removed_later_names_both_lines() -> None:
    (found,) = run("KH164", D + "RUN apt-get update && apt-get install -y curl\nRUN " + LISTS)
    assert "line 2" in found.message
    assert "rm -rf /var/lib/apt/lists/*" in found.message
    assert (found.location.line, found.location.column) == (3, 5)


# --------------------------------------------------------------------------- KH165, KH166


@table(
    "KH165",
    [
        (R + "RUN dnf install httpd\n", [2]),
        (R + "RUN dnf install -y httpd\n", []),
        (R + "RUN dnf --assumeyes install httpd\n", []),
        (R + "RUN yum -y install httpd\n", []),
        (R + "RUN yum install httpd || true\n", [2]),
        (R + "RUN yum update\n", [2]),
        (R + "RUN yum makecache && yum clean all\n", []),
        (R + "RUN microdnf install shadow-utils\n", [2]),
        (R + "RUN dnf module enable nodejs:20\n", [2]),
        (R + "RUN dnf group install 'Development Tools'\n", [2]),
        (R + "RUN echo y | dnf remove httpd\n", []),
        (R + "RUN echo assumeyes=1 >> /etc/dnf/dnf.conf\nRUN dnf install httpd\n", []),
        (R + "ONBUILD RUN dnf install httpd\n", [2]),
    ],
)
def test_yum_dnf_missing_yes(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH166",
    [
        (S + "RUN zypper install curl\n", [2]),
        (S + "RUN zypper -n install curl\n", []),
        (S + "RUN zypper --non-interactive in curl\n", []),
        (S + "RUN zypper in -y curl\n", []),
        (S + "RUN zypper install -n curl\n", [2]),  # after the subcommand -n is --name
        (S + "RUN zypper refresh\n", []),
        (S + "RUN zypper rm vim\n", [2]),
        (S + "RUN zypper -n dup\n", []),
    ],
)
def test_zypper_non_interactive(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH167-KH169


@table(
    "KH167",
    [
        (D + "RUN apt-get update && apt-get upgrade -y\n", [2]),
        (D + "RUN apt-get update && apt-get -y dist-upgrade\n", [2]),
        (D + "RUN apt-get update && apt-get install -y --only-upgrade openssl\n", []),
        (A + "RUN apk upgrade --no-cache\n", [2]),
        (A + "RUN apk upgrade --no-cache openssl\n", []),  # one named package
        (R + "RUN dnf upgrade -y\n", [2]),
        (R + "RUN yum update -y openssl\n", []),
        (S + "RUN zypper -n update\n", [2]),
        (S + "RUN zypper -n dup\n", []),  # KH168's
        (D.replace("\n", " AS b\n") + "RUN apt-get upgrade -y\nFROM scratch\n", []),
    ],
)
def test_system_upgrade(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH168",
    [
        (S + "RUN zypper -n dup\n", [2]),
        (S + "RUN zypper --non-interactive dist-upgrade\n", [2]),
        (S + "RUN zypper -n update\n", []),
        (S.replace("\n", " AS b\n") + "RUN zypper -n dup\nFROM scratch\n", [2]),
    ],
)
def test_zypper_dist_upgrade(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH169",
    [
        (D + "RUN apt update && apt install -y curl\n", [2, 2]),
        (D + "RUN apt-get update && apt-get install -y curl\n", []),
        (D + "RUN apt-cache policy curl && apt-key list\n", []),
        (D + "RUN <<EOF\napt-get update\napt install -y x\nEOF\n", [4]),
        (D + "ONBUILD RUN apt install -y x\n", [2]),
    ],
)
def test_apt_in_script(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH170, KH171


@table(
    "KH170",
    [
        (N + "COPY package.json package-lock.json ./\nRUN npm install\n", [4]),
        (N + "COPY package*.json ./\nRUN npm install --omit=dev\n", [4]),
        (N + "COPY package.json package-lock.json ./\nRUN npm ci\n", []),
        (N + "COPY package.json ./\nRUN npm install\n", []),  # no lock to enforce
        (N + "COPY . .\nRUN npm install\n", []),  # cannot tell
        (N + "COPY *.json ./\nRUN npm install\n", []),  # not meant for the lock
        (N + "COPY package.json package-lock.json ./\nRUN npm install -g pm2@5\n", []),
        (N + "COPY package.json yarn.lock ./\nRUN yarn install\n", [4]),
        (N + "COPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n", []),
        (N + "COPY package.json yarn.lock ./\nRUN yarn --immutable\n", []),
        (N + "ENV CI=true\nCOPY package.json yarn.lock ./\nRUN yarn install\n", []),
        (N + "COPY package.json pnpm-lock.yaml ./\nRUN pnpm install\n", [4]),
        (N + "COPY pnpm-lock.yaml ./\nRUN pnpm fetch\nRUN pnpm install --offline\n", []),
        # the lock came in through the stage this one is built FROM
        (
            N.replace("\n", " AS deps\n", 1) + "COPY package-lock.json package.json ./\n"
            "FROM deps\nRUN npm install\n",
            [5],
        ),
    ],
)
def test_lockfile_not_enforced(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH171",
    [
        (N + "RUN npm ci\n", [3]),
        (N + "RUN npm ci --omit=dev\n", []),
        (N + "RUN npm ci --only=production\n", []),
        (N + "RUN npm install --production\n", []),
        (N + "ENV NODE_ENV=production\nRUN npm ci\n", []),
        (N + "RUN NODE_ENV=production npm ci\n", []),
        (N + "RUN npm ci && npm run build && npm prune --omit=dev\n", []),
        (N + "RUN npm ci && npm run build\nRUN npm prune --omit=dev\n", [3]),  # too late
        (N + "RUN yarn install --frozen-lockfile\n", [3]),
        (N + "RUN yarn install --frozen-lockfile --production\n", []),
        (N + "RUN pnpm install --prod\n", []),
        (N + "RUN npm install -g pm2@5\n", []),
        (
            N.replace("slim\n", "slim AS build\n") + "RUN npm ci && npm run build\n"
            "FROM node:20-slim\nCOPY --from=build /app/dist /app\n",
            [],
        ),
    ],
)
def test_dev_dependencies_shipped(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- KH172-KH179


@table(
    "KH172",
    [
        (D + "RUN apt-get install -y curl\n", [2]),
        (D + "RUN apt-get install -y curl=7.88.1-10\n", []),
        (D + "RUN apt-get install -y 'curl=7.88*'\n", []),
        (D + "RUN apt-get install -y curl=$CURL_VERSION\n", []),
        (D + "RUN apt-get install -y $PACKAGES\n", []),  # a build arg may pin them
        (D + "RUN deps='curl=1 git' && apt-get install -y $deps\n", [2]),
        (D + "RUN deps='curl=1 git=2'; apt-get install -y $deps\n", []),
        (D + "ENV DEPS='curl git'\nRUN apt-get install -y ${DEPS}\n", [3]),
        (D + "RUN deps='curl git' set -x && apt-get install -y $deps\n", [2]),
        (D + "RUN deps='curl git' echo x && apt-get install -y $deps\n", []),  # not kept
        (D + "RUN apt-get install -y ./local.deb\n", []),
        (D + "RUN apt-get install -y --only-upgrade openssl\n", []),
        (D + "RUN apt-get build-dep -y nginx\n", []),
        (D + "RUN apt-get install -y \\\n    curl=1 \\\n    git\n", [4]),  # points at git
        (D + "ONBUILD RUN apt-get install -y curl\n", [2]),
    ],
)
def test_apt_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH173",
    [
        (P + "RUN pip install flask\n", [2]),
        (P + "RUN pip install flask==3.0.3\n", []),
        (P + "RUN pip install 'flask>=3,<4'\n", []),
        (P + "RUN pip install -r requirements.txt\n", []),
        (P + "RUN pip install -r requirements.txt gunicorn\n", [2]),
        (P + "RUN pip install -c constraints.txt flask\n", []),
        (P + "ENV PIP_CONSTRAINT=/c.txt\nRUN pip install flask\n", []),
        (P + "RUN pip install .\n", []),
        (P + "RUN pip install -e '.[dev]'\n", []),
        (P + "RUN pip install '.[test]'\n", []),
        (P + "RUN pip install /wheels/*.whl\n", []),
        (P + "RUN pip install git+https://github.com/x/y@v1.0\n", []),
        (P + "RUN pip install --no-index --find-links /wheels flask\n", []),
        (P + "RUN pip install --upgrade pip\n", [2]),
        (P + "RUN uv pip install --system flask\n", [2]),
        (P + "RUN uv sync --frozen\n", []),
    ],
)
def test_pip_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH174",
    [
        (N + "RUN npm install -g pm2\n", [3]),
        (N + "RUN npm install -g pm2@5.4.2\n", []),
        (N + "RUN npm install -g npm@latest\n", [3]),
        (N + "RUN npm install -g @angular/cli@17\n", []),
        (N + "RUN npm install -g @angular/cli\n", [3]),
        (N + "RUN npm install\n", []),
        (N + "RUN npm install ./local-pkg\n", []),
        (N + "RUN npm install https://example.com/x.tgz\n", []),
        (N + "RUN yarn global add pm2\n", [3]),
        (N + "RUN pnpm add -g pm2@5\n", []),
    ],
)
def test_npm_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH175",
    [
        (A + "RUN apk add --no-cache curl\n", [2]),
        (A + "RUN apk add --no-cache curl=8.9.1-r0\n", []),
        (A + "RUN apk add --no-cache 'curl~8.9'\n", []),
        (A + "RUN apk add --no-cache --virtual .build-deps gcc=13.2.1-r0\n", []),
        (A + "RUN apk add --no-cache /tmp/x.apk\n", []),
        (A + "RUN apk del curl\n", []),
    ],
)
def test_apk_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH176",
    [
        ("FROM ruby:3.3\nRUN gem install bundler\n", [2]),
        ("FROM ruby:3.3\nRUN gem install bundler -v 2.5.18\n", []),
        ("FROM ruby:3.3\nRUN gem install bundler:2.5.18\n", []),
        ("FROM ruby:3.3\nRUN gem install --version '~> 2.5' bundler\n", []),
        ("FROM ruby:3.3\nRUN gem install ./x.gem\n", []),
        ("FROM ruby:3.3\nRUN gem update --system\n", []),
    ],
)
def test_gem_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH177",
    [
        (R + "RUN dnf install -y httpd\n", [2]),
        (R + "RUN dnf install -y httpd-2.4.62\n", []),
        (R + "RUN dnf install -y nodejs-16.20.2-1.module+el8\n", []),
        (R + "RUN dnf install -y java-11-openjdk\n", [2]),  # a name, not a version
        (R + "RUN dnf install -y @development-tools\n", []),
        (R + "RUN dnf module install -y nodejs:20\n", []),
        (R + "RUN dnf install -y 'dnf-command(config-manager)'\n", []),
        (R + "RUN yum localinstall -y /tmp/x.rpm\n", []),
        (R + "RUN microdnf install -y shadow-utils\n", [2]),
    ],
)
def test_yum_dnf_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH178",
    [
        (S + "RUN zypper -n install curl\n", [2]),
        (S + "RUN zypper -n install 'curl=8.6.0'\n", []),
        (S + "RUN zypper -n install 'curl>=8'\n", []),
        (S + "RUN zypper -n install /tmp/x.rpm\n", []),
    ],
)
def test_zypper_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


@table(
    "KH179",
    [
        (G + "RUN go install golang.org/x/tools/gopls@latest\n", [4]),
        (G + "RUN go install golang.org/x/tools/gopls@v0.16.2\n", []),
        (G + "RUN go install github.com/x/y@master\n", [4]),
        (G + "RUN go install ./cmd/app\n", []),
        (G + "RUN go install github.com/x/y/cmd/tool\n", []),  # inside the module: go.mod pins
        (G + "RUN go get github.com/x/y\n", [4]),
        (G + "RUN go get github.com/x/y@v1.2.3\n", []),
        (G + "RUN go get -d -v ./...\n", []),
        (G + "RUN go get -u ./...\n", [4]),
        (G + "RUN go run github.com/x/y@latest -flag\n", [4]),
        (G + "RUN go run ./cmd/gen\n", []),
        (G + "RUN go build -o /app .\n", []),
    ],
)
def test_go_unpinned(code: str, src: str, expected: list[int]) -> None:
    check_table(code, src, expected)


# --------------------------------------------------------------------------- messages, spans


def test_messages_name_the_packages_and_manager() -> None:
    (apt,) = run("KH172", D + "RUN apt-get install -y curl=1 git wget\n")
    assert "git, wget" in apt.message
    assert "curl" not in apt.message
    (dnf,) = run("KH160", R + "RUN dnf install -y httpd\n")
    assert "dnf clean all" in dnf.message
    assert "/var/cache/dnf" in dnf.message
    (yum,) = run("KH160", R + "RUN yum install -y httpd\n")
    assert "yum clean all" in yum.message
    assert "/var/cache/yum" in yum.message
    (pip,) = run("KH107", P + "ENV PIP_CACHE_DIR=/pc\nRUN pip install x\n")
    assert "/pc" in pip.message


def test_spans_point_at_the_command_on_its_line() -> None:
    src = (
        D + "RUN --mount=type=cache,target=/root/.cache/apt \\\n"
        "    apt-get update \\\n"
        "    && apt-get install curl\n"
    )
    (yes,) = run("KH104", src)
    loc = yes.location
    assert (loc.line, loc.column, loc.end_column) == (4, 8, 23)  # `apt-get install`
    (lists,) = run("KH105", src)
    assert (lists.location.line, lists.location.column) == (3, 5)


def test_span_of_a_repeated_word_is_the_right_one() -> None:
    src = D + "RUN apt-get install -y curl=1 && apt-get install -y curl\n"
    (found,) = run("KH172", src)
    assert found.location.column == src.splitlines()[1].rindex("curl") + 1


def test_span_inside_a_heredoc() -> None:
    src = D + "RUN <<EOF\nset -e\napt-get install curl\nEOF\n"
    (found,) = run("KH104", src)
    assert (found.location.line, found.location.column) == (4, 1)


def test_onbuild_span_skips_both_keywords() -> None:
    src = D + "ONBUILD RUN apt-get install curl\n"
    (found,) = run("KH104", src)
    assert found.location.column == src.splitlines()[1].index("apt-get") + 1


def test_rules_of_this_family_are_registered_once() -> None:
    codes = {f"KH{n}" for n in (102, 103, 104, 105, 106, 107, *range(160, 180))}
    assert codes <= set(REGISTRY)


def test_messages_show_the_command_as_written() -> None:
    (pip,) = run("KH107", P + "RUN python3 -m pip install -r r.txt\n")
    assert pip.message.startswith("`python3 -m pip install`")
    (gem,) = run("KH163", D + "RUN gem install rake -v 13\n")
    assert "$GEM_HOME/cache" in gem.message
    (ruby,) = run("KH163", "FROM ruby:3.3\nRUN gem install rake -v 13\n")
    assert "/usr/local/bundle/cache" in ruby.message


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        # the heredoc is data written to a file: nothing runs
        (D + "RUN cat > /setup.sh <<EOF\napt-get install foo\nEOF\n", []),
        (D + "RUN python3 <<EOF\nimport os\nEOF\n", []),
        (D + "RUN <<EOF\n#!/usr/bin/env python3\nprint('apt-get install x')\nEOF\n", []),
        # a shell reads the heredoc: it runs
        (D + "RUN bash -e <<EOF\napt-get install a\nEOF\n", [3]),
        (D + "RUN <<EOF\n#!/bin/bash\napt-get install a\nEOF\n", [4]),
        (D + "RUN bash <<EOF && apt-get install b\necho\nEOF\n", [2]),
        (D + "RUN <<-EOF\n\tapt-get install a\n\tEOF\n", [3]),
    ],
)
def test_heredocs_run_as_buildkit_runs_them(src: str, expected: list[int]) -> None:
    assert lines("KH104", src) == expected
