"""Package-manager, download and cleanup operations read out of RUN scripts."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.operations import Operations, find_operations
from keelhaul.dockerfile.shell import parse_shell


def ops(script: str) -> Operations:
    return find_operations(parse_shell(script))


def packages(script: str) -> list[tuple[str, str, list[tuple[str, str | None]]]]:
    return [
        (op.manager, op.action, [(p.name, p.version) for p in op.packages])
        for op in ops(script).packages
    ]


PACKAGE_CASES = [
    ("apt-get update", [("apt-get", "update", [])]),
    (
        "apt-get install -y --no-install-recommends curl=7.88.1-10 ca-certificates",
        [("apt-get", "install", [("curl", "7.88.1-10"), ("ca-certificates", None)])],
    ),
    ("apt-get -yq install git", [("apt-get", "install", [("git", None)])]),
    (
        "apt-get -o Dpkg::Options::=--force-confold install -y tzdata",
        [("apt-get", "install", [("tzdata", None)])],
    ),
    (
        "apt install -y vim 'libssl3=3.0*'",
        [("apt", "install", [("vim", None), ("libssl3", "3.0*")])],
    ),
    ("sudo apt-get install -y make", [("apt-get", "install", [("make", None)])]),
    ("apt-get purge -y --auto-remove gcc", [("apt-get", "remove", [("gcc", None)])]),
    ("apt-get upgrade -y", [("apt-get", "upgrade", [])]),
    (
        "apk add --no-cache --virtual .build-deps gcc musl-dev=1.2.4-r2",
        [("apk", "install", [("gcc", None), ("musl-dev", "1.2.4-r2")])],
    ),
    ("apk del .build-deps", [("apk", "remove", [(".build-deps", None)])]),
    (
        "yum install -y httpd && yum clean all",
        [("yum", "install", [("httpd", None)]), ("yum", "clean", [])],
    ),
    ("dnf -y install python3", [("dnf", "install", [("python3", None)])]),
    ("microdnf install -y shadow-utils", [("microdnf", "install", [("shadow-utils", None)])]),
    ("zypper -n in curl", [("zypper", "install", [("curl", None)])]),
    (
        "pip install --no-cache-dir flask==2.0 'requests>=2.31'",
        [("pip", "install", [("flask", "2.0"), ("requests", ">=2.31")])],
    ),
    ("pip3 install -r requirements.txt", [("pip", "install", [])]),
    ("python3 -m pip install -U pip", [("pip", "install", [("pip", None)])]),
    ("/usr/local/bin/pip3.11 install uvicorn", [("pip", "install", [("uvicorn", None)])]),
    ("uv pip install --system ruff==0.6.0", [("uv", "install", [("ruff", "0.6.0")])]),
    ("npm ci --omit=dev", [("npm", "ci", [])]),
    ("npm install -g typescript@5.4.5", [("npm", "install", [("typescript", "5.4.5")])]),
    ("npm i @scope/pkg@1.2.3", [("npm", "install", [("@scope/pkg", "1.2.3")])]),
    ("yarn install --frozen-lockfile", [("yarn", "install", [])]),
    ("pnpm install --frozen-lockfile", [("pnpm", "install", [])]),
    ("gem install bundler -v 2.5.6", [("gem", "install", [("bundler", "2.5.6")])]),
    (
        "go install golang.org/x/tools/gopls@v0.15.3",
        [("go", "install", [("golang.org/x/tools/gopls", "v0.15.3")])],
    ),
    ("cargo install ripgrep", [("cargo", "install", [("ripgrep", None)])]),
    ("composer install --no-dev --no-scripts", [("composer", "install", [])]),
]


@pytest.mark.parametrize(("script", "expected"), PACKAGE_CASES, ids=[c[0] for c in PACKAGE_CASES])
def test_package_operations(
    script: str, expected: list[tuple[str, str, list[tuple[str, str | None]]]]
) -> None:
    assert packages(script) == expected


@pytest.mark.parametrize(
    ("script", "manager", "action"),
    [
        ("go build -o /out/app ./cmd/app", "go", "build"),
        ("go mod download", "go", "download"),
        ("cargo build --release", "cargo", "build"),
        ("npm run build", "npm", "run"),
        ("mvn -B package -DskipTests", "mvn", "build"),
        ("./gradlew build --no-daemon", "gradle", "build"),
        ("dotnet restore", "dotnet", "restore"),
        ("dotnet publish -c Release -o /app", "dotnet", "publish"),
        ("bundle install --jobs 4", "bundle", "install"),
    ],
)
def test_build_operations(script: str, manager: str, action: str) -> None:
    found = [(op.manager, op.action) for op in ops(script).packages]
    assert (manager, action) in found


def test_flag_properties() -> None:
    (apt,) = ops("apt-get install -y --no-install-recommends curl").packages
    assert apt.assume_yes
    assert apt.no_install_recommends
    (bare,) = ops("apt-get install curl").packages
    assert not bare.assume_yes
    assert not bare.no_install_recommends
    (apk,) = ops("apk add --no-cache curl").packages
    assert apk.no_cache
    (pip,) = ops("pip install --no-cache-dir -r req.txt").packages
    assert pip.no_cache
    assert pip.requirement_files == ("req.txt",)
    (pip_cached,) = ops("pip install flask").packages
    assert not pip_cached.no_cache
    (npm,) = ops("npm install -g yarn").packages
    assert npm.global_install


def test_version_pins() -> None:
    (op,) = ops("pip install a==1.0 b>=2 c").packages
    assert [p.pinned for p in op.packages] == [True, False, False]


@pytest.mark.parametrize(
    ("script", "tool", "urls", "piped", "insecure"),
    [
        (
            "curl -fsSL https://x.example/install.sh | sh",
            "curl",
            ("https://x.example/install.sh",),
            "sh",
            False,
        ),
        ("curl -k https://x.example/a -o /tmp/a", "curl", ("https://x.example/a",), None, True),
        (
            "wget -qO- https://x.example/k.asc | gpg --dearmor",
            "wget",
            ("https://x.example/k.asc",),
            "gpg",
            False,
        ),
        (
            "wget --no-check-certificate https://x.example/f.tgz",
            "wget",
            ("https://x.example/f.tgz",),
            None,
            True,
        ),
        (
            'sh -c "$(curl -fsSL https://x.example/i.sh)"',
            "curl",
            ("https://x.example/i.sh",),
            "sh",
            False,
        ),
        (
            "curl -sSL https://x.example/t.tgz | tar -xz -C /opt",
            "curl",
            ("https://x.example/t.tgz",),
            "tar",
            False,
        ),
    ],
)
def test_downloads(
    script: str, tool: str, urls: tuple[str, ...], piped: str | None, insecure: bool
) -> None:
    (dl,) = ops(script).downloads
    assert (dl.tool, dl.urls, dl.piped_into, dl.insecure) == (tool, urls, piped, insecure)


def test_curl_output_and_fail_flags() -> None:
    (dl,) = ops("curl -fsSLo /usr/local/bin/tini https://x.example/tini").downloads
    assert dl.output == "/usr/local/bin/tini"
    assert dl.fail_on_error
    (plain,) = ops("curl https://x.example/a").downloads
    assert plain.output == "-"
    assert not plain.fail_on_error


@pytest.mark.parametrize(
    ("script", "paths", "manager_clean"),
    [
        ("rm -rf /var/lib/apt/lists/*", ("/var/lib/apt/lists/*",), None),
        ("rm -rf /root/.cache/pip /tmp/*", ("/root/.cache/pip", "/tmp/*"), None),
        ("apt-get clean", (), "apt-get clean"),
        ("yum clean all", (), "yum clean all"),
        ("npm cache clean --force", (), "npm cache clean --force"),
    ],
)
def test_cleanups(script: str, paths: tuple[str, ...], manager_clean: str | None) -> None:
    (cl,) = ops(script).cleanups
    assert (cl.paths, cl.manager_clean) == (paths, manager_clean)


def test_rm_of_other_paths_is_not_cleanup() -> None:
    assert ops("rm -rf /app/build").cleanups == ()


def test_not_package_managers() -> None:
    assert ops("echo apt-get install curl; grep pip requirements.txt").packages == ()


def test_whole_run_line() -> None:
    found = ops(
        "set -eux; apt-get update && apt-get install -y --no-install-recommends ca-certificates curl "
        "&& curl -fsSL https://x.example/k | gpg --dearmor -o /usr/share/keyrings/x.gpg "
        "&& rm -rf /var/lib/apt/lists/*"
    )
    assert [op.action for op in found.packages] == ["update", "install"]
    assert len(found.downloads) == 1
    assert found.cleanups[0].paths == ("/var/lib/apt/lists/*",)


# --------------------------------------------------------------------------- package hygiene


@pytest.mark.parametrize(
    ("word", "name", "version"),
    [
        ("httpd-2.4.6", "httpd", "2.4.6"),
        ("nodejs-16.20.2-1.module+el8", "nodejs", "16.20.2-1.module+el8"),
        ("openssl-1:1.1.1k", "openssl", "1:1.1.1k"),
        ("java-11-openjdk", "java-11-openjdk", None),  # "openjdk" is no release
        ("java-1.8.0-openjdk-devel", "java-1.8.0-openjdk-devel", None),
        ("java-1.8.0-openjdk-1.8.0.312", "java-1.8.0-openjdk", "1.8.0.312"),
        ("python3-devel", "python3-devel", None),
        ("gcc-c++", "gcc-c++", None),
        ("xz-5", "xz", "5"),
    ],
)
def test_rpm_name_version_release(word: str, name: str, version: str | None) -> None:
    (op,) = ops(f"dnf install -y {word}").packages
    assert [(p.name, p.version) for p in op.packages] == [(name, version)]


@pytest.mark.parametrize(
    ("script", "non_interactive"),
    [
        ("zypper -n install curl", True),
        ("zypper --non-interactive in curl", True),
        ("zypper -qn in curl", True),
        ("zypper in -y curl", True),
        ("zypper install -n curl", False),  # after the subcommand, -n is --name
        ("zypper --root /mnt in curl", False),
    ],
)
def test_zypper_non_interactive_is_global(script: str, non_interactive: bool) -> None:
    (op,) = ops(script).packages
    assert op.assume_yes is non_interactive


def test_global_flags_are_those_before_the_subcommand() -> None:
    (op,) = ops("zypper -n --gpg-auto-import-keys in -y curl").packages
    assert op.global_flags == ("-n", "--gpg-auto-import-keys")
    (apt,) = ops("apt-get install -y x").packages
    assert apt.global_flags == ()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("yarn", [("yarn", "install", [])]),
        ("yarn --frozen-lockfile", [("yarn", "install", [])]),
        ("yarn --version", []),
        ("yarn -v", []),
        ("apk upgrade --no-cache openssl", [("apk", "upgrade", [("openssl", None)])]),
        ("apk upgrade", [("apk", "upgrade", [])]),
        ("apt-get distclean", [("apt-get", "clean", [])]),
        ("aptitude safe-upgrade -y", [("aptitude", "upgrade", [])]),
        ("dnf downgrade -y x", [("dnf", "install", [("x", None)])]),
    ],
)
def test_hygiene_recognition(
    script: str, expected: list[tuple[str, str, list[tuple[str, str | None]]]]
) -> None:
    assert packages(script) == expected


def test_local_extras_are_paths() -> None:
    (op,) = ops("pip install '.[dev]' -e '.[test]'").packages
    assert [p.kind for p in op.packages] == ["path", "path"]


@pytest.mark.parametrize(
    ("script", "paths"),
    [
        ("rm -rf /var/lib/apt/lists/* /tmp/x", ("/var/lib/apt/lists/*", "/tmp/x")),
        ("rm -f -- -odd", ("-odd",)),
        ("find /var/cache/apk -type f -delete", ("/var/cache/apk",)),
        ("find / -name '*.pyc' -exec rm -f {} +", ("/",)),
        ("find /x -name y", ()),
        ("echo rm -rf /", ()),
    ],
)
def test_deleted_paths(script: str, paths: tuple[str, ...]) -> None:
    from keelhaul.dockerfile.operations import deleted_paths

    cmd = parse_shell(script).commands[0]
    assert deleted_paths(cmd) == paths
