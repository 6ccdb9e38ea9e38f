"""Fixes of the package-manager rules: each fix before and after, the cases left alone, fixes
composing on one RUN, idempotence, and the shell commands proved unchanged but for the fix."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from keelhaul.dockerfile.scripts import script_texts
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from tests.fix.test_fixing import fix
from tests.rules.tables import run

PACKAGES = ("KH102", "KH103", "KH104", "KH105", "KH106", "KH107", "KH170", "KH165", "KH160",
            "KH166", "KH161")  # fmt: skip
D = "FROM debian:12\n"
A = "FROM alpine:3.20\n"
R = "FROM rockylinux:9\n"
S = "FROM opensuse/leap:15.6\n"
LISTS = "rm -rf /var/lib/apt/lists/*"

# (codes, before, after)
FIXED = [
    # KH104: -y right after the subcommand, on its line
    ("KH104", D + "RUN apt-get install curl\n", D + "RUN apt-get install -y curl\n"),
    ("KH104", D + "RUN apt -q remove curl\n", D + "RUN apt -q remove -y curl\n"),
    ("KH104", D + "RUN sudo -E apt-get upgrade\n", D + "RUN sudo -E apt-get upgrade -y\n"),
    ("KH104", D + "RUN apt-get install $PKGS\n", D + "RUN apt-get install -y $PKGS\n"),
    ("KH104", D + "RUN apt-get install \\\n  curl\n", D + "RUN apt-get install -y \\\n  curl\n"),
    ("KH104", D + "RUN apt-get update && \\\n    apt-get install curl\n",
     D + "RUN apt-get update && \\\n    apt-get install -y curl\n"),
    # KH103: after a -y that follows install, so KH103 and KH104 agree in either order
    ("KH103", D + "RUN apt-get install -y curl\n",
     D + "RUN apt-get install -y --no-install-recommends ca-certificates curl\n"),
    ("KH103", D + "RUN apt-get -y install curl\n",
     D + "RUN apt-get -y install --no-install-recommends ca-certificates curl\n"),
    ("KH103", D + "RUN apt-get install curl -y\n",
     D + "RUN apt-get install --no-install-recommends ca-certificates curl -y\n"),
    # KH105: `&& rm -rf /var/lib/apt/lists/*` ends the chain, in the RUN's own layout
    ("KH105", D + "RUN apt-get update && apt-get install -y curl\n",
     D + f"RUN apt-get update && apt-get install -y curl && {LISTS}\n"),
    ("KH105", D + "RUN apt-get update && \\\n    apt-get install -y curl\n",
     D + f"RUN apt-get update && \\\n    apt-get install -y curl && \\\n    {LISTS}\n"),
    ("KH105", D + "RUN apt-get update \\\n  && apt-get install -y \\\n      curl\n",
     D + f"RUN apt-get update \\\n  && apt-get install -y \\\n      curl \\\n  && {LISTS}\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y \\\n\t\tcurl \\\n\t\tvim\n",
     D + f"RUN apt-get update && apt-get install -y \\\n\t\tcurl \\\n\t\tvim && \\\n\t\t{LISTS}\n"),
    ("KH105", D + "RUN apt-get update && \\\n    # a comment\n    apt-get install -y curl\n",
     D + f"RUN apt-get update && \\\n    # a comment\n    apt-get install -y curl && \\\n"
     f"    {LISTS}\n"),
    ("KH105", D + "RUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n",
     D + f"RUN <<EOF\napt-get update\napt-get install -y curl && {LISTS}\nEOF\n"),
    ("KH105", D + "RUN if [ -n \"$X\" ]; then apt-get update; fi\n",
     D + f"RUN if [ -n \"$X\" ]; then apt-get update; fi && {LISTS}\n"),
    ("KH105", D + "ONBUILD RUN apt-get update && apt-get install -y curl\n",
     D + f"ONBUILD RUN apt-get update && apt-get install -y curl && {LISTS}\n"),
    ("KH105", "# escape=`\n" + D + "RUN apt-get update && `\n    apt-get install -y curl\n",
     "# escape=`\n" + D + f"RUN apt-get update && `\n    apt-get install -y curl && `\n    {LISTS}\n"),
    ("KH105", D + "RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y curl\n",
     D + f"RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y curl && {LISTS}\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl", D + f"RUN apt-get update && apt-get install -y curl && {LISTS}"),
    ("KH105", D + "  run apt-get update && apt-get install -y curl\n",
     D + f"  run apt-get update && apt-get install -y curl && {LISTS}\n"),
    ("KH105", D + "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
     f"RUN apt-get update && apt-get install -y curl && {LISTS}\n",
     D + "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
     f"RUN apt-get update && apt-get install -y curl && {LISTS} && apt-get clean\n"),
    # KH102: a lone update merged into the next RUN (both edits in one fix)
    ("KH102", D + "RUN apt-get update\nRUN apt-get install -y curl\n",
     D + "RUN apt-get update && \\\n    apt-get install -y curl\n"),
    ("KH102", D + "# refresh\nRUN apt-get update -q\nRUN DEBIAN_FRONTEND=noninteractive apt-get install -y curl\n",
     D + "# refresh\nRUN apt-get update -q && \\\n    DEBIAN_FRONTEND=noninteractive apt-get install -y curl\n"),
    ("KH102", D + "RUN apt-get update\nRUN apt-get install -y \\\n        curl vim\n",
     D + "RUN apt-get update && \\\n    apt-get install -y \\\n        curl vim\n"),
    ("KH102", D + "RUN apt-get update\nRUN apt-get install -y curl \\\n && apt-get clean\n",
     D + "RUN apt-get update \\\n && apt-get install -y curl \\\n && apt-get clean\n"),
    ("KH102", D + "RUN apt-get update\nRUN \\\n  apt-get install -y curl\n",
     D + "RUN \\\n  apt-get update && \\\n  apt-get install -y curl\n"),
    ("KH102", D + "RUN apt-get update\nRUN apt-get update && apt-get install -y curl\n",
     D + "RUN apt-get update && apt-get install -y curl\n"),  # the lone one only deleted
    ("KH102", R + "RUN dnf makecache\nRUN dnf install -y httpd\n",
     R + "RUN dnf makecache && \\\n    dnf install -y httpd\n"),
    ("KH102", D + "ONBUILD RUN apt-get update\nONBUILD RUN apt-get install -y curl\n",
     D + "ONBUILD RUN apt-get update && \\\n    apt-get install -y curl\n"),
    ("KH102", D.replace("\n", "\r\n") + "RUN apt-get update\r\nRUN apt-get install -y curl\r\n",
     D.replace("\n", "\r\n") + "RUN apt-get update && \\\r\n    apt-get install -y curl\r\n"),
    ("KH102", A + "RUN apk update\nRUN apk add curl\n", A + "RUN apk add --no-cache curl\n"),
    # KH106: --no-cache; an apk update before the adds dropped
    ("KH106", A + "RUN apk add curl\n", A + "RUN apk add --no-cache curl\n"),
    ("KH106", A + "RUN apk --update add curl\n", A + "RUN apk --update add --no-cache curl\n"),
    ("KH106", A + "RUN apk update && apk add curl\n", A + "RUN apk add --no-cache curl\n"),
    ("KH106", A + "RUN set -x; apk update; apk upgrade; apk add curl\n",
     A + "RUN set -x; apk upgrade --no-cache; apk add --no-cache curl\n"),
    ("KH106", A + "RUN apk update && \\\n    apk add curl\n", A + "RUN \\\n    apk add --no-cache curl\n"),
    ("KH106", A + "RUN set -x && \\\n    apk update && \\\n    apk add curl\n",
     A + "RUN set -x && \\\n    apk add --no-cache curl\n"),
    ("KH106", A + "RUN set -x \\\n && apk update \\\n && apk add curl\n",
     A + "RUN set -x \\\n && apk add --no-cache curl\n"),
    ("KH106", A + "RUN apk update \\\n && apk add curl\n", A + "RUN \\\n apk add --no-cache curl\n"),
    ("KH106", A + "RUN <<EOF\napk update\napk add git\nEOF\n", A + "RUN <<EOF\napk add --no-cache git\nEOF\n"),
    # KH107
    ("KH107", "FROM python:3.12\nRUN pip install flask\n",
     "FROM python:3.12\nRUN pip install --no-cache-dir flask\n"),
    ("KH107", "FROM python:3.12\nRUN python3 -m pip install -r requirements.txt\n",
     "FROM python:3.12\nRUN python3 -m pip install --no-cache-dir -r requirements.txt\n"),
    # KH170
    ("KH170", "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm install --omit=dev\n",
     "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\n"),
    ("KH170", "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm i\n",
     "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci\n"),
    # KH165, KH160
    ("KH165", R + "RUN dnf install httpd\n", R + "RUN dnf install -y httpd\n"),
    ("KH165", R + "RUN yum groupinstall 'Development Tools'\n",
     R + "RUN yum groupinstall -y 'Development Tools'\n"),
    ("KH165", R + "RUN dnf module enable -q nodejs:20\n", R + "RUN dnf -y module enable -q nodejs:20\n"),
    ("KH165", R + "RUN microdnf install httpd\n", R + "RUN microdnf install -y httpd\n"),
    ("KH160", R + "RUN dnf install -y httpd\n", R + "RUN dnf install -y httpd && dnf clean all\n"),
    ("KH160", R + "RUN yum install -y \\\n      httpd\n",
     R + "RUN yum install -y \\\n      httpd && \\\n      yum clean all\n"),
    # KH166, KH161
    ("KH166", S + "RUN zypper in curl\n", S + "RUN zypper -n in curl\n"),
    ("KH166", S + "RUN zypper --gpg-auto-import-keys install curl\n",
     S + "RUN zypper -n --gpg-auto-import-keys install curl\n"),
    ("KH161", S + "RUN zypper -n in curl\n", S + "RUN zypper -n in curl && zypper clean --all\n"),
]  # fmt: skip

# (codes, Dockerfile the fixes leave alone although the rule reports it)
LEFT = [
    ("KH104", D + "RUN sh -c 'apt-get install curl'\n"),  # inside a string another shell reads
    ("KH104", D + "RUN echo $(apt-get install curl)\n"),
    ("KH104", D + "RUN apt-get 'install' curl\n"),  # quoting around the word
    ("KH104", D + "RUN bash <<EOF\napt-get install curl\nEOF\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl # and vim\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl; exit 0\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl &\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl;\n"),
    ("KH105", D + "RUN sudo apt-get update && sudo apt-get install -y curl\n"),  # rm as who?
    # a later RUN installs with these lists: removing them would break it
    ("KH105", D + "RUN apt-get update\nRUN apt-get install -y curl && " + LISTS + "\n"),
    ("KH105", D + "FROM debian:12 AS base\nRUN apt-get update && apt-get install -y curl\n"
     "FROM base\nRUN apt-get install -y vim && " + LISTS + "\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl\nRUN apt-cache policy curl\n"),
    ("KH105", D + "RUN apt-get update && apt-get install -y curl\n"
     "ONBUILD RUN apt-get install -y vim\n"),
    ("KH102", D + "RUN apt-get update\nENV http_proxy=http://proxy:3128\nRUN apt-get install -y curl\n"),
    ("KH102", D + "RUN apt-get update\nRUN set -e; apt-get install -y curl\n"),  # `;` after update
    ("KH102", D + "RUN apt-get update\nRUN apt-get install -y curl || true\n"),
    ("KH102", D + "RUN apt-get update\nRUN --network=none apt-get install -y curl\n"),
    ("KH102", D + "RUN apt-get update\nRUN <<EOF\napt-get install -y curl\nEOF\n"),
    ("KH102", D + "RUN apt-get update || true\nRUN apt-get install -y curl\n"),
    ("KH102", D + "RUN apt-get update\nONBUILD RUN apt-get install -y curl\n"),
    ("KH106", A + "RUN true || apk update && apk add curl\n"),
    ("KH106", A + "RUN apk update && apk search curl && apk add curl\n"),
    ("KH106", A + "RUN apk update && apk add --no-network curl\n"),
    ("KH106", A + "RUN apk update | tee log && apk add curl\n"),
    ("KH106", A + "RUN if [ -e x ]; then :; fi || apk update && apk add curl\n"),
    ("KH104", D + 'SHELL ["pwsh", "-Command"]\nRUN apt-get install curl\n'),  # not a POSIX shell
    ("KH107", "FROM python:3.12\nRUN pip install --cache-dir /tmp/pip flask\n"),
    ("KH170", "FROM node:20\nCOPY package*.json ./\nRUN npm install --no-package-lock\n"),
    ("KH170", "FROM node:20\nCOPY yarn.lock package.json ./\nRUN yarn install\n"),
]  # fmt: skip


def ids(cases: Sequence[tuple[str, ...]]) -> list[str]:
    return [f"{c[0]}-{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize(("code", "before", "after"), FIXED, ids=ids(FIXED))
def test_fix(code: str, before: str, after: str) -> None:
    assert fix(before, (code,)) == after
    assert not run(code, after), "the finding is still there after its fix"


@pytest.mark.parametrize(("code", "before", "after"), FIXED, ids=ids(FIXED))
def test_fix_is_safe(code: str, before: str, after: str) -> None:
    fixes = [f.fix for f in run(code, before)]
    assert fixes
    assert all(f is not None and f.safety is Safety.SAFE and f.description for f in fixes)


@pytest.mark.parametrize(("code", "src"), LEFT, ids=ids(LEFT))
def test_no_fix_when_unsure(code: str, src: str) -> None:
    findings = run(code, src)
    assert findings, "the case must be one the rule reports"
    assert all(f.fix is None for f in findings)
    assert fix(src, (code,)) == src


@pytest.mark.parametrize(("code", "before", "after"), FIXED, ids=ids(FIXED))
def test_fixing_twice_is_fixing_once(code: str, before: str, after: str) -> None:
    once = fix(before, PACKAGES)
    assert fix(once, PACKAGES) == once
    assert not parse(once).errors


def commands(src: str) -> list[tuple[str, ...]]:
    """Every shell command the RUNs of ``src`` run, in order."""
    out: list[tuple[str, ...]] = []
    for inst in parse(src).instructions:
        if inst.effective.name == "RUN":
            for text in script_texts(inst):
                out.extend(c.argv for c in parse_shell(text).commands)
    return out


#: What the fixes may add to a command, and the commands they may add or drop.
#: ca-certificates: KH103 keeps it by name when the packages recommend it.
WORDS = {"-y", "--no-install-recommends", "--no-cache", "--no-cache-dir", "-n", "ca-certificates"}
ADDED = {("rm", "-rf", "/var/lib/apt/lists/*"), ("apt-get", "clean"), ("dnf", "clean", "all"),
         ("yum", "clean", "all"), ("zypper", "clean", "--all")}  # fmt: skip


def normal(argvs: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The commands without what the fixes add or drop (an apk update, a twin update)."""
    out: list[tuple[str, ...]] = []
    for argv in argvs:
        rest = tuple(w for w in argv if w not in WORDS)
        if rest[:2] in (("npm", "ci"), ("npm", "i")):
            rest = ("npm", "install", *rest[2:])
        if argv in ADDED or rest[:2] == ("apk", "update") or (out and out[-1] == rest):
            continue
        out.append(rest)
    return out


@pytest.mark.parametrize(("code", "before", "after"), FIXED, ids=ids(FIXED))
def test_commands_stay_but_for_the_fix(code: str, before: str, after: str) -> None:
    """Proof by the shell parse: the same commands, but for the fix's own words."""
    assert normal(commands(after)) == normal(commands(before))


def test_apt_install_composes_to_one_instruction() -> None:
    src = D + "RUN apt-get update && apt-get install curl\n"
    assert fix(src, PACKAGES) == (
        D
        + f"RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && {LISTS}\n"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (D + "RUN apt-get update\nRUN apt-get install curl\n",
         D + "RUN apt-get update && \\\n    apt-get install -y --no-install-recommends ca-certificates curl && \\\n"
         f"    {LISTS}\n"),
        (D + "RUN apt-get update \\\n && apt-get install \\\n      curl \\\n      vim\n",
         # vim: keelhaul does not know what it recommends, so KH103's fix is unsafe
         D + "RUN apt-get update \\\n && apt-get install -y \\\n"
         f"      curl \\\n      vim \\\n && {LISTS}\n"),
        (D + "ONBUILD RUN apt-get update && apt-get install curl\n",
         D + "ONBUILD RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && "
         f"{LISTS}\n"),
        ((D + "RUN apt-get update && \\\n    apt-get install curl\n").replace("\n", "\r\n"),
         (D + "RUN apt-get update && \\\n    apt-get install -y --no-install-recommends ca-certificates curl "
          f"&& \\\n    {LISTS}\n").replace("\n", "\r\n")),
        (A + "RUN apk update\nRUN apk add curl\n", A + "RUN apk add --no-cache curl\n"),
        (R + "RUN dnf install httpd\n", R + "RUN dnf install -y httpd && dnf clean all\n"),
        (S + "RUN zypper in curl\n", S + "RUN zypper -n in curl && zypper clean --all\n"),
        (D + "# keep\nRUN apt-get update && apt-get install curl\n\n# and this\nCMD [\"x\"]\n",
         D + "# keep\nRUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && "
         f"{LISTS}\n\n# and this\nCMD [\"x\"]\n"),
    ],
)  # fmt: skip
def test_fixes_compose(before: str, after: str) -> None:
    assert fix(before, PACKAGES) == after
    assert fix(after, PACKAGES) == after


def test_merge_is_one_fix_of_two_edits() -> None:
    """Deleting the lone update and prefixing the install apply together or not at all."""
    (finding,) = run("KH102", D + "RUN apt-get update\nRUN apt-get install -y curl\n")
    assert finding.fix is not None
    assert [(e.start_line, e.end_line) for e in finding.fix.edits] == [(2, 2), (3, 3)]
    assert finding.fix.edits[0].text == ""
