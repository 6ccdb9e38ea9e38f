"""Tests of keelhaul.dockerfile.operations: package managers, downloads and cleanups as data."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.operations import (
    Operations,
    PackageOperation,
    PackageSpec,
    find_operations,
)
from keelhaul.dockerfile.shell import parse_shell


def ops(script: str) -> Operations:
    return find_operations(parse_shell(script))


def one_pkg(script: str) -> PackageOperation:
    found = ops(script).packages
    assert len(found) == 1, found
    return found[0]


def specs(op: PackageOperation) -> list[tuple[str, str | None]]:
    return [(p.name, p.version) for p in op.packages]


# --------------------------------------------------------------------------- recognition

PKG_CASES: list[tuple[str, str, str, str, list[tuple[str, str | None]]]] = [
    # apt family
    ("apt-get update", "apt-get", "update", "update", []),
    ("apt-get install -y curl", "apt-get", "install", "install", [("curl", None)]),
    (
        "apt-get -y install curl=7.88.1-10 git",
        "apt-get",
        "install",
        "install",
        [("curl", "7.88.1-10"), ("git", None)],
    ),
    ("apt-get install -y 'nginx=1.2*'", "apt-get", "install", "install", [("nginx", "1.2*")]),
    (
        "apt-get install -y foo/bookworm-backports bar:arm64",
        "apt-get",
        "install",
        "install",
        [("foo", None), ("bar", None)],
    ),
    (
        "apt-get -o Dpkg::Options::=--force-confold install -y x",
        "apt-get",
        "install",
        "install",
        [("x", None)],
    ),
    (
        "apt-get -o Dpkg::Options::=--force-confnew -y dist-upgrade",
        "apt-get",
        "upgrade",
        "dist-upgrade",
        [],
    ),
    ("apt-get purge -y --auto-remove gcc", "apt-get", "remove", "purge", [("gcc", None)]),
    ("apt-get autoremove -y", "apt-get", "remove", "autoremove", []),
    ("apt-get clean", "apt-get", "clean", "clean", []),
    ("apt install -y ./local.deb", "apt", "install", "install", [("./local.deb", None)]),
    ("aptitude install -y vim", "aptitude", "install", "install", [("vim", None)]),
    ("apt-get install -y -- -odd-name", "apt-get", "install", "install", [("-odd-name", None)]),
    # apk
    ("apk add --no-cache curl", "apk", "install", "add", [("curl", None)]),
    (
        "apk add --no-cache --virtual .build-deps gcc musl-dev",
        "apk",
        "install",
        "add",
        [("gcc", None), ("musl-dev", None)],
    ),
    (
        "apk add tzdata=2024a-r0 'py3-pip~23.1' 'bash>5'",
        "apk",
        "install",
        "add",
        [("tzdata", "2024a-r0"), ("py3-pip", "~23.1"), ("bash", ">5")],
    ),
    (
        "apk add --repository http://dl-cdn/edge/testing foo@testing",
        "apk",
        "install",
        "add",
        [("foo", None)],
    ),
    ("apk -U upgrade", "apk", "upgrade", "upgrade", []),
    ("apk del .build-deps", "apk", "remove", "del", [(".build-deps", None)]),
    ("apk update", "apk", "update", "update", []),
    # rpm family
    ("yum install -y httpd && yum clean all", "yum", "install", "install", [("httpd", None)]),
    ("yum install -y httpd-2.4.6", "yum", "install", "install", [("httpd", "2.4.6")]),
    (
        "dnf -y install python3 --setopt=tsflags=nodocs",
        "dnf",
        "install",
        "install",
        [("python3", None)],
    ),
    (
        "dnf install -y @development-tools",
        "dnf",
        "install",
        "install",
        [("development-tools", None)],
    ),
    (
        "microdnf install -y shadow-utils",
        "microdnf",
        "install",
        "install",
        [("shadow-utils", None)],
    ),
    ("microdnf update -y", "microdnf", "upgrade", "update", []),
    ("zypper -n in git-core", "zypper", "install", "in", [("git-core", None)]),
    (
        "zypper --non-interactive install --no-recommends curl",
        "zypper",
        "install",
        "install",
        [("curl", None)],
    ),
    ("zypper rm -y vim", "zypper", "remove", "rm", [("vim", None)]),
    # python
    ("pip install flask==2.0", "pip", "install", "install", [("flask", "2.0")]),
    (
        "pip install 'foo>=1' 'bar~=1.2' 'baz>=1,<2'",
        "pip",
        "install",
        "install",
        [("foo", ">=1"), ("bar", "~=1.2"), ("baz", ">=1,<2")],
    ),
    (
        "pip install 'uvicorn[standard]==0.30.1'",
        "pip",
        "install",
        "install",
        [("uvicorn", "0.30.1")],
    ),
    ("pip install -r requirements.txt", "pip", "install", "install", []),
    (
        "pip install -r req.txt -i https://mirror/simple six",
        "pip",
        "install",
        "install",
        [("six", None)],
    ),
    (
        "pip3 install --no-cache-dir --upgrade pip setuptools",
        "pip",
        "install",
        "install",
        [("pip", None), ("setuptools", None)],
    ),
    ("pip3.11 install x", "pip", "install", "install", [("x", None)]),
    ("/usr/local/bin/pip install x", "pip", "install", "install", [("x", None)]),
    ("python -m pip install x", "pip", "install", "install", [("x", None)]),
    ("python3 -m pip install --user y", "pip", "install", "install", [("y", None)]),
    ("python3.12 -m pip uninstall -y z", "pip", "remove", "uninstall", [("z", None)]),
    ("pip install -e .", "pip", "install", "install", [(".", None)]),
    ("pip download -d /wheels x==1", "pip", "download", "download", [("x", "1")]),
    ("pip wheel --wheel-dir /w -r req.txt", "pip", "build", "wheel", []),
    ("uv pip install --system ruff==0.6.0", "uv", "install", "pip install", [("ruff", "0.6.0")]),
    ("uv sync --frozen", "uv", "install", "sync", []),
    ("poetry install --no-root --only main", "poetry", "install", "install", []),
    ("poetry add requests@^2.31", "poetry", "install", "add", [("requests", "^2.31")]),
    ("pipenv install --deploy --system", "pipenv", "install", "install", []),
    # node
    ("npm ci", "npm", "ci", "ci", []),
    ("npm install", "npm", "install", "install", []),
    (
        "npm i -g lodash@4.17.21 @angular/cli@17 typescript",
        "npm",
        "install",
        "i",
        [("lodash", "4.17.21"), ("@angular/cli", "17"), ("typescript", None)],
    ),
    ("npm install --prefix /app express@^4", "npm", "install", "install", [("express", "^4")]),
    ("npm run build", "npm", "run", "run", []),
    ("npm uninstall left-pad", "npm", "remove", "uninstall", [("left-pad", None)]),
    ("yarn install --frozen-lockfile", "yarn", "install", "install", []),
    ("yarn", "yarn", "install", "", []),
    ("yarn add react@18.2.0", "yarn", "install", "add", [("react", "18.2.0")]),
    ("yarn global add pm2", "yarn", "install", "global add", [("pm2", None)]),
    ("pnpm install --frozen-lockfile", "pnpm", "install", "install", []),
    ("pnpm add -D vite", "pnpm", "install", "add", [("vite", None)]),
    # ruby
    ("gem install bundler -v 2.4.1", "gem", "install", "install", [("bundler", "2.4.1")]),
    (
        "gem install rake --version '= 13.0.6' --no-document",
        "gem",
        "install",
        "install",
        [("rake", "13.0.6")],
    ),
    ("gem install rails:7.1.0", "gem", "install", "install", [("rails", "7.1.0")]),
    ("bundle install --jobs 4", "bundle", "install", "install", []),
    ("bundle config set --local without development", "bundle", "config", "config", []),
    # go / rust
    (
        "go install golang.org/x/tools/gopls@v0.14.2",
        "go",
        "install",
        "install",
        [("golang.org/x/tools/gopls", "v0.14.2")],
    ),
    (
        "go install github.com/x/y@latest",
        "go",
        "install",
        "install",
        [("github.com/x/y", "latest")],
    ),
    ("go build -o /bin/app -ldflags '-s -w' ./cmd/app", "go", "build", "build", []),
    ("CGO_ENABLED=0 go build -trimpath .", "go", "build", "build", []),
    ("go mod download", "go", "download", "mod download", []),
    ("go mod download -x", "go", "download", "mod download", []),
    ("cargo build --release", "cargo", "build", "build", []),
    ("cargo install ripgrep", "cargo", "install", "install", [("ripgrep", None)]),
    (
        "cargo install cargo-chef --version 0.1.62 --locked",
        "cargo",
        "install",
        "install",
        [("cargo-chef", "0.1.62")],
    ),
    ("cargo fetch", "cargo", "download", "fetch", []),
    # php / jvm / .NET
    ("composer install --no-dev --optimize-autoloader", "composer", "install", "install", []),
    (
        "composer require monolog/monolog:^3.0",
        "composer",
        "install",
        "require",
        [("monolog/monolog", "^3.0")],
    ),
    ("mvn package", "mvn", "build", "package", []),
    ("mvn -B dependency:go-offline", "mvn", "download", "dependency:go-offline", []),
    ("mvn -B -DskipTests -f pom.xml clean package", "mvn", "build", "clean package", []),
    ("./mvnw -q verify", "mvn", "build", "verify", []),
    ("gradle build", "gradle", "build", "build", []),
    ("./gradlew --no-daemon bootJar -x test", "gradle", "build", "bootJar", []),
    ("gradle dependencies", "gradle", "download", "dependencies", []),
    ("dotnet restore", "dotnet", "restore", "restore", []),
    ("dotnet publish -c Release -o /app", "dotnet", "publish", "publish", []),
    ("dotnet build src/App.csproj -c Release", "dotnet", "build", "build", []),
    (
        "dotnet tool install -g dotnet-ef --version 8.0.0",
        "dotnet",
        "install",
        "tool install",
        [("dotnet-ef", "8.0.0")],
    ),
    (
        "dotnet add package Newtonsoft.Json --version 13.0.3",
        "dotnet",
        "install",
        "add package",
        [("Newtonsoft.Json", "13.0.3")],
    ),
]


@pytest.mark.parametrize(("script", "manager", "action", "subcommand", "packages"), PKG_CASES)
def test_package_operations(
    script: str, manager: str, action: str, subcommand: str, packages: list[tuple[str, str | None]]
) -> None:
    op = ops(script).packages[0]
    assert (op.manager, op.action, op.subcommand) == (manager, action, subcommand)
    assert specs(op) == packages


NOT_PACKAGE_CASES = [
    "echo apt-get install -y curl",
    "apt-cache policy curl",
    "apt-key add key.gpg",
    "apt-get",
    "pip",
    "pip --version",
    "npm",
    "npm --version",
    "pnpm",
    "composer",
    "pipx install black",
    "pip-compile requirements.in",
    "python setup.py install",
    "python -m venv /venv",
    "cat package.json",
    "grep -r 'apt-get install' /etc",
    "# apt-get install -y x",
    "echo 'pip install x'",
    "gomplate -f x",
    "cargo-chef cook",
    "mvn",
    "dotnet",
]


@pytest.mark.parametrize("script", NOT_PACKAGE_CASES)
def test_not_package_operations(script: str) -> None:
    assert ops(script).packages == ()


def test_packages_found_through_wrappers_and_nesting() -> None:
    script = (
        "sudo -E apt-get install -y a && sh -c 'pip install b' && "
        "X=$(npm ci) && bash <<EOF\napk add c\nEOF\n"
        "case $arch in amd64) gem install d;; esac; if true; then go mod download; fi"
    )
    found = [(p.manager, p.action) for p in ops(script).packages]
    assert found == [
        ("apt-get", "install"),
        ("pip", "install"),
        ("npm", "ci"),
        ("apk", "install"),
        ("gem", "install"),
        ("go", "download"),
    ]
    apt = ops(script).packages[0]
    assert apt.command.wrappers == ("sudo",)


def test_operation_keeps_its_command() -> None:
    script = "apt-get update && apt-get install -y curl"
    op = ops(script).packages[1]
    assert op.command.raw == "apt-get install -y curl"
    assert script[op.command.start : op.command.end] == op.command.raw


# --------------------------------------------------------------------------- flags

FLAG_CASES: list[tuple[str, tuple[str, ...], tuple[tuple[str, str | None], ...]]] = [
    ("apt-get install -yq x", ("-y", "-q"), (("-y", None), ("-q", None))),
    ("apt-get -qqy install x", ("-q", "-q", "-y"), (("-q", None), ("-q", None), ("-y", None))),
    (
        "apt-get -o Dpkg::Options::=--force-confold install x",
        ("-o",),
        (("-o", "Dpkg::Options::=--force-confold"),),
    ),
    ("apt-get -oAcquire::Retries=3 install x", ("-o",), (("-o", "Acquire::Retries=3"),)),
    ("apt-get install -t bookworm-backports x", ("-t",), (("-t", "bookworm-backports"),)),
    (
        "apt-get install --no-install-recommends x",
        ("--no-install-recommends",),
        (("--no-install-recommends", None),),
    ),
    ("apk add --repository=http://r x", ("--repository",), (("--repository", "http://r"),)),
    ("apk add --repository http://r x", ("--repository",), (("--repository", "http://r"),)),
    (
        "apk add -X http://r --no-cache x",
        ("-X", "--no-cache"),
        (("-X", "http://r"), ("--no-cache", None)),
    ),
    ("apk add -t .deps x", ("-t",), (("-t", ".deps"),)),
    (
        "pip install -r req.txt -i https://i/simple x",
        ("-r", "-i"),
        (("-r", "req.txt"), ("-i", "https://i/simple")),
    ),
    ("pip install -rreq.txt x", ("-r",), (("-r", "req.txt"),)),
    ("pip install --index-url=https://i x", ("--index-url",), (("--index-url", "https://i"),)),
    ("pip install -qU x", ("-q", "-U"), (("-q", None), ("-U", None))),
    ("npm install --prefix dir x", ("--prefix",), (("--prefix", "dir"),)),
    ("npm install --omit=dev", ("--omit",), (("--omit", "dev"),)),
    ("go build -o out -tags netgo .", ("-o", "-tags"), (("-o", "out"), ("-tags", "netgo"))),
    ("go build -ldflags=-s .", ("-ldflags",), (("-ldflags", "-s"),)),
    (
        "mvn -B -DskipTests -Pprod package",
        ("-B", "-D", "-P"),
        (("-B", None), ("-D", "skipTests"), ("-P", "prod")),
    ),
    ("mvn -s settings.xml package", ("-s",), (("-s", "settings.xml"),)),
    (
        "dotnet publish -c Release -r linux-x64",
        ("-c", "-r"),
        (("-c", "Release"), ("-r", "linux-x64")),
    ),
    ("cargo build --release -p app", ("--release", "-p"), (("--release", None), ("-p", "app"))),
    (
        "gem install x -v 1.0 --no-document",
        ("-v", "--no-document"),
        (("-v", "1.0"), ("--no-document", None)),
    ),
]


@pytest.mark.parametrize(("script", "flags", "options"), FLAG_CASES)
def test_flags_and_options(
    script: str, flags: tuple[str, ...], options: tuple[tuple[str, str | None], ...]
) -> None:
    op = one_pkg(script)
    assert op.flags == flags
    assert op.options == options


def test_double_dash_ends_options() -> None:
    op = one_pkg("pip install -- -weird")
    assert op.flags == ()
    assert specs(op) == [("-weird", None)]


# --------------------------------------------------------------------------- conveniences

BOOL_CASES: list[tuple[str, str, object]] = [
    ("apt-get install -y x", "assume_yes", True),
    ("apt-get install --yes x", "assume_yes", True),
    ("apt-get install --assume-yes x", "assume_yes", True),
    ("apt-get install x", "assume_yes", False),
    ("apt-get install -q x", "assume_yes", False),
    ("apt-get install -qq x", "assume_yes", True),  # apt-get(8): quiet level 2 implies -y
    ("apt-get -q -q install x", "assume_yes", True),
    ("apt-get --force-yes install x", "assume_yes", False),
    ("apt-get -o APT::Get::Assume-Yes=true install x", "assume_yes", True),
    ("yum install x", "assume_yes", False),
    ("yum install -y x", "assume_yes", True),
    ("dnf --assumeyes install x", "assume_yes", True),
    ("zypper in x", "assume_yes", False),
    ("zypper -n in x", "assume_yes", True),
    ("zypper in -y x", "assume_yes", True),
    ("pip uninstall x", "assume_yes", False),
    ("pip uninstall -y x", "assume_yes", True),
    ("apk add x", "assume_yes", True),
    ("apt-get install -y --no-install-recommends x", "no_install_recommends", True),
    ("apt-get install -y x", "no_install_recommends", False),
    ("apt-get -o APT::Install-Recommends=false install x", "no_install_recommends", True),
    ("zypper in --no-recommends x", "no_install_recommends", True),
    ("dnf install --setopt=install_weak_deps=False x", "no_install_recommends", True),
    ("apk add --no-cache x", "no_cache", True),
    ("apk add x", "no_cache", False),
    ("pip install --no-cache-dir x", "no_cache", True),
    ("pip install x", "no_cache", False),
    ("PIP_NO_CACHE_DIR=1 pip install x", "no_cache", True),
    ("uv pip install --no-cache x", "no_cache", True),
    ("pip install -r a.txt --requirement b.txt", "requirement_files", ("a.txt", "b.txt")),
    ("pip install x", "requirement_files", ()),
    ("pip install -e ./src", "editable", True),
    ("pip install .", "editable", False),
    ("pip install --user x", "user_install", True),
    ("gem install --user-install x", "user_install", True),
    ("npm install -g x", "global_install", True),
    ("npm install --global x", "global_install", True),
    ("npm install x", "global_install", False),
    ("yarn global add x", "global_install", True),
    ("npm ci", "frozen_lockfile", True),
    ("npm install", "frozen_lockfile", False),
    ("yarn install --frozen-lockfile", "frozen_lockfile", True),
    ("yarn install --immutable", "frozen_lockfile", True),
    ("pnpm install --frozen-lockfile", "frozen_lockfile", True),
    ("pipenv install --deploy", "frozen_lockfile", True),
    ("cargo build --locked", "frozen_lockfile", True),
    ("apk add --virtual .build-deps gcc", "virtual", ".build-deps"),
    ("apk add -t .deps gcc", "virtual", ".deps"),
    ("apt-get install -t bookworm x", "virtual", None),
    ("apt-get install -qq x", "quiet_level", 2),
]


@pytest.mark.parametrize(("script", "attribute", "expected"), BOOL_CASES)
def test_convenience_properties(script: str, attribute: str, expected: object) -> None:
    assert getattr(one_pkg(script), attribute) == expected


SPEC_CASES: list[tuple[str, PackageSpec]] = [
    ("apt-get install -y curl=7.88.1-10", PackageSpec("curl", "7.88.1-10", "curl=7.88.1-10")),
    ("pip install flask==2.0", PackageSpec("flask", "2.0", "flask==2.0")),
    ("pip install 'foo>=1'", PackageSpec("foo", ">=1", "foo>=1")),
    ("npm install lodash@4.17.21", PackageSpec("lodash", "4.17.21", "lodash@4.17.21")),
    ("apk add musl=1.2-r0", PackageSpec("musl", "1.2-r0", "musl=1.2-r0")),
    ("apk add 'musl~1.2'", PackageSpec("musl", "~1.2", "musl~1.2")),
    ("pip install ./dist/app.whl", PackageSpec("./dist/app.whl", None, "./dist/app.whl", "path")),
    (
        "pip install git+https://github.com/a/b.git",
        PackageSpec(
            "git+https://github.com/a/b.git", None, "git+https://github.com/a/b.git", "url"
        ),
    ),
    ("dnf install -y @core", PackageSpec("core", None, "@core", "group")),
]


@pytest.mark.parametrize(("script", "spec"), SPEC_CASES)
def test_package_specs(script: str, spec: PackageSpec) -> None:
    assert one_pkg(script).packages == (spec,)


PIN_CASES: list[tuple[str, bool]] = [
    ("apt-get install -y curl=7.88.1-10", True),
    ("apt-get install -y 'curl=7.*'", False),
    ("apt-get install -y curl", False),
    ("pip install flask==2.0", True),
    ("pip install 'flask>=2.0'", False),
    ("npm install lodash@4.17.21", True),
    ("npm install lodash@^4", False),
    ("npm install lodash@latest", False),
    ("go install x/y@v1.2.3", True),
    ("apk add 'musl~1.2'", False),
]


@pytest.mark.parametrize(("script", "pinned"), PIN_CASES)
def test_pinned(script: str, pinned: bool) -> None:
    assert one_pkg(script).packages[0].pinned is pinned


# --------------------------------------------------------------------------- downloads

DOWNLOAD_CASES: list[tuple[str, str, tuple[str, ...], str | None, bool, bool, bool, str | None]] = [
    # script, tool, urls, output, insecure, fail_on_error, follows_redirects, piped_into
    ("curl https://x/a.tgz", "curl", ("https://x/a.tgz",), "-", False, False, False, None),
    (
        "curl -fsSL https://get.docker.com | sh",
        "curl",
        ("https://get.docker.com",),
        "-",
        False,
        True,
        True,
        "sh",
    ),
    (
        "curl -fsSL https://x | sudo -E bash -",
        "curl",
        ("https://x",),
        "-",
        False,
        True,
        True,
        "bash",
    ),
    (
        "curl -kLo /tmp/a.tgz https://x/a.tgz",
        "curl",
        ("https://x/a.tgz",),
        "/tmp/a.tgz",
        True,
        False,
        True,
        None,
    ),
    ("curl --insecure --output a https://x", "curl", ("https://x",), "a", True, False, False, None),
    (
        "curl -O https://x/dir/file.zip",
        "curl",
        ("https://x/dir/file.zip",),
        "file.zip",
        False,
        False,
        False,
        None,
    ),
    (
        "curl -sS --fail --location https://x > /tmp/f",
        "curl",
        ("https://x",),
        "/tmp/f",
        False,
        True,
        True,
        None,
    ),
    (
        "curl -H 'Accept: x' -fsSL https://k/key.gpg | gpg --dearmor -o /k.gpg",
        "curl",
        ("https://k/key.gpg",),
        "-",
        False,
        True,
        True,
        "gpg",
    ),
    (
        "curl -sL https://x/a.tgz | tar -xz -C /opt",
        "curl",
        ("https://x/a.tgz",),
        "-",
        False,
        False,
        True,
        "tar",
    ),
    ("curl -s --url https://x/y", "curl", ("https://x/y",), "-", False, False, False, None),
    (
        'sh -c "$(curl -fsSL https://x/install.sh)"',
        "curl",
        ("https://x/install.sh",),
        "-",
        False,
        True,
        True,
        "sh",
    ),
    (
        "bash <(curl -s https://x/setup)",
        "curl",
        ("https://x/setup",),
        "-",
        False,
        False,
        False,
        "bash",
    ),
    (
        'eval "$(curl -s https://x/env)"',
        "curl",
        ("https://x/env",),
        "-",
        False,
        False,
        False,
        "eval",
    ),
    (
        'python3 -c "$(curl -fsSL https://x/get.py)"',
        "curl",
        ("https://x/get.py",),
        "-",
        False,
        True,
        True,
        "python3",
    ),
    (
        "wget https://x/file.tar.gz",
        "wget",
        ("https://x/file.tar.gz",),
        "file.tar.gz",
        False,
        True,
        True,
        None,
    ),
    ("wget -qO- https://x | tar xz", "wget", ("https://x",), "-", False, True, True, "tar"),
    (
        "wget -O /tmp/k.asc https://x/k.asc",
        "wget",
        ("https://x/k.asc",),
        "/tmp/k.asc",
        False,
        True,
        True,
        None,
    ),
    (
        "wget --no-check-certificate https://x/a",
        "wget",
        ("https://x/a",),
        "a",
        True,
        True,
        True,
        None,
    ),
    (
        "wget -P /opt https://x/a.zip",
        "wget",
        ("https://x/a.zip",),
        "/opt/a.zip",
        False,
        True,
        True,
        None,
    ),
    ("wget --max-redirect=0 https://x/a", "wget", ("https://x/a",), "a", False, True, False, None),
    ("wget -q -O - https://x/s.sh | sh", "wget", ("https://x/s.sh",), "-", False, True, True, "sh"),
    ("busybox wget -O- https://x | sh", "wget", ("https://x",), "-", False, True, True, "sh"),
    ('curl -fsSL "$URL" -o "$DEST"', "curl", ("$URL",), "$DEST", False, True, True, None),
]


@pytest.mark.parametrize(
    ("script", "tool", "urls", "output", "insecure", "fail", "follows", "piped"), DOWNLOAD_CASES
)
def test_downloads(
    script: str,
    tool: str,
    urls: tuple[str, ...],
    output: str | None,
    insecure: bool,
    fail: bool,
    follows: bool,
    piped: str | None,
) -> None:
    found = ops(script).downloads
    assert len(found) == 1, found
    d = found[0]
    assert (d.tool, d.urls, d.output) == (tool, urls, output)
    assert (d.insecure, d.fail_on_error, d.follows_redirects, d.piped_into) == (
        insecure,
        fail,
        follows,
        piped,
    )


def test_download_executed() -> None:
    assert ops("curl -fsSL https://x | sh").downloads[0].executed
    assert ops("curl -fsSL https://x | python3 -").downloads[0].executed
    assert not ops("curl -fsSL https://x | tar xz").downloads[0].executed
    assert not ops("curl -fsSL -o /tmp/s https://x").downloads[0].executed


NOT_DOWNLOAD_CASES = ["echo curl https://x", "curlie https://x", "wget2x", "git clone https://x"]


@pytest.mark.parametrize("script", NOT_DOWNLOAD_CASES)
def test_not_downloads(script: str) -> None:
    assert ops(script).downloads == ()


# --------------------------------------------------------------------------- cleanups

CLEANUP_CASES: list[tuple[str, tuple[str, ...], str | None]] = [
    ("rm -rf /var/lib/apt/lists/*", ("/var/lib/apt/lists/*",), None),
    ("rm -rf /var/cache/apk/*", ("/var/cache/apk/*",), None),
    ("rm -rf ~/.cache/pip", ("~/.cache/pip",), None),
    ("rm -rf /root/.cache /root/.npm", ("/root/.cache", "/root/.npm"), None),
    ("rm -rf /tmp/* /var/tmp/*", ("/tmp/*", "/var/tmp/*"), None),
    ("rm -r -f -- /var/cache/yum", ("/var/cache/yum",), None),
    ("rm -rf $HOME/.cache", ("$HOME/.cache",), None),
    ("find /usr/local -depth -type d -name __pycache__ -exec rm -rf '{}' +", ("/usr/local",), None),
    ("find /var/cache -type f -delete", ("/var/cache",), None),
    ("apt-get clean", (), "apt-get clean"),
    ("yum clean all", (), "yum clean all"),
    ("dnf clean all", (), "dnf clean all"),
    ("apk cache clean", (), "apk cache clean"),
    ("npm cache clean --force", (), "npm cache clean --force"),
    ("yarn cache clean", (), "yarn cache clean"),
    ("pip cache purge", (), "pip cache purge"),
    ("pnpm store prune", (), "pnpm store prune"),
    ("composer clear-cache", (), "composer clear-cache"),
    ("go clean -modcache", (), "go clean -modcache"),
    ("gem cleanup", (), "gem cleanup"),
    ("conda clean -afy", (), "conda clean -afy"),
]


@pytest.mark.parametrize(("script", "paths", "manager_clean"), CLEANUP_CASES)
def test_cleanups(script: str, paths: tuple[str, ...], manager_clean: str | None) -> None:
    found = ops(script).cleanups
    assert len(found) == 1, found
    assert (found[0].paths, found[0].manager_clean) == (paths, manager_clean)


NOT_CLEANUP_CASES = [
    "rm -rf /app/build",
    "rm -f /etc/nginx/conf.d/default.conf",
    "rm",
    "find /app -name '*.log'",
    "echo rm -rf /var/lib/apt/lists/*",
    "npm cache verify",
    "yum makecache",
]


@pytest.mark.parametrize("script", NOT_CLEANUP_CASES)
def test_not_cleanups(script: str) -> None:
    assert ops(script).cleanups == ()


def test_install_and_cleanup_in_one_run() -> None:
    found = ops(
        "apt-get update && apt-get install -y --no-install-recommends ca-certificates "
        "&& apt-get clean && rm -rf /var/lib/apt/lists/*"
    )
    assert [p.action for p in found.packages] == ["update", "install", "clean"]
    assert [c.manager_clean for c in found.cleanups] == ["apt-get clean", None]
    assert found.by_manager("apt-get") == found.packages
    assert found.by_manager("apk") == ()


def test_never_raises_on_odd_commands() -> None:
    for script in ["apt-get -o", "pip install -r", "npm i --prefix", "go mod", "curl -o", "wget -P",
                   "dotnet add", "mvn -D", "gem install -v", "find -delete", "uv pip", "yarn global",
                   "python -m", "zypper", "cargo install --version"]:  # fmt: skip
        find_operations(parse_shell(script))
