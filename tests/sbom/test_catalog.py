"""The catalogers on root filesystems and source trees the tests write, a real Go binary,
and the CycloneDX and SPDX documents validated against their schemas."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from keelhaul.sbom.catalog import FolderFiles, catalog
from keelhaul.sbom.language_packages import go_build_info
from keelhaul.sbom.os_packages import parse_os_release, parse_rpm_header

DPKG_STATUS = """Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit
 a continuation line

Package: removed-one
Status: deinstall ok config-files
Version: 1.0

Package: python3-yaml
Status: install ok installed
Architecture: amd64
Version: 6.0-3+b2
"""


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def test_debian_root_filesystem(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "/etc/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
        "/var/lib/dpkg/status": DPKG_STATUS,
        "/var/lib/dpkg/info/python3-yaml.list":
            "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n",
        "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA":
            "Name: PyYAML\nVersion: 6.0\n",
        "/usr/local/lib/python3.11/site-packages/Flask-3.0.0.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.0\nLicense: BSD-3-Clause\n",
        "/app/node_modules/@scope/pkg/package.json": '{"name": "@scope/pkg", "version": "1.2.3"}',
        "/app/node_modules/left-pad/package.json": '{"name": "left-pad", "version": "1.3.0"}',
        "/app/node_modules/left-pad/test/package.json": '{"name": "fixture", "version": "0"}',
        "/app/package.json": '{"name": "app", "version": "0.0.1"}',
    })  # fmt: skip
    inventory = catalog(FolderFiles(root))
    assert inventory.release is not None
    assert inventory.release.osv_ecosystem == "Debian:12"
    got = {(p.type, p.name, p.version) for p in inventory.packages}
    assert got == {
        ("deb", "libssl3", "3.0.15-1~deb12u1"),
        ("deb", "python3-yaml", "6.0-3+b2"),
        ("pypi", "Flask", "3.0.0"),
        ("npm", "@scope/pkg", "1.2.3"),
        ("npm", "left-pad", "1.3.0"),
    }  # fmt: skip  (PyYAML belongs to python3-yaml; the app and test fixtures are not packages)
    ssl = next(p for p in inventory.packages if p.name == "libssl3")
    assert ssl.source_name == "openssl"
    assert (
        ssl.purl
        == "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&source=openssl"
    )
    scoped = next(p for p in inventory.packages if p.name == "@scope/pkg")
    assert scoped.purl == "pkg:npm/%40scope/pkg@1.2.3"


def test_distroless_status_d_and_alpine(tmp_path: Path) -> None:
    distroless = write(tmp_path / "d", {
        "/etc/os-release": "ID=debian\nVERSION_ID=12\n",
        "/var/lib/dpkg/status.d/libc6": "Package: libc6\nVersion: 2.36-9+deb12u7\n"
                                        "Architecture: amd64\nSource: glibc\n",
        "/var/lib/dpkg/status.d/libc6.md5sums": "abc  usr/lib/libc.so.6\n",
    })  # fmt: skip
    packages = catalog(FolderFiles(distroless)).packages
    assert [(p.name, p.source_name, p.files) for p in packages] == [
        ("libc6", "glibc", ("/usr/lib/libc.so.6",))
    ]
    alpine = write(tmp_path / "a", {
        "/etc/os-release": "ID=alpine\nVERSION_ID=3.20.3\n",
        "/lib/apk/db/installed": "C:Q1abc=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\n"
                                 "L:Apache-2.0\nF:usr/lib\nR:libcrypto.so.3\n\n"
                                 "P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n",
    })  # fmt: skip
    inventory = catalog(FolderFiles(alpine))
    assert inventory.release is not None
    assert inventory.release.osv_ecosystem == "Alpine:v3.20"
    crypto = inventory.packages[0]
    assert (crypto.name, crypto.source_name, crypto.files) == (
        "libcrypto3",
        "openssl",
        ("/usr/lib/libcrypto.so.3",),
    )
    assert crypto.purl.startswith("pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64")


def _rpm_header(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    index, store = b"", b""
    for tag, kind, data, count in tags:
        if kind == 4:
            while len(store) % 4:
                store += b"\0"
        index += struct.pack(">IIII", tag, kind, len(store), count)
        store += data
    return struct.pack(">II", len(tags), len(store)) + index + store


def test_rpm_header() -> None:
    blob = _rpm_header([(1000, 6, b"openssl-libs\0", 1), (1001, 6, b"3.0.7\0", 1),
                        (1002, 6, b"27.el9\0", 1), (1003, 4, struct.pack(">i", 1), 1),
                        (1044, 6, b"openssl-3.0.7-27.el9.src.rpm\0", 1),
                        (1117, 8, b"libssl.so.3\0libcrypto.so.3\0", 2),
                        (1118, 8, b"/usr/lib64/\0", 1), (1116, 4, struct.pack(">ii", 0, 0), 2)])  # fmt: skip
    tags = parse_rpm_header(blob)
    assert tags["name"] == "openssl-libs"
    assert tags["epoch"] == [1]
    assert tags["basenames"] == ["libssl.so.3", "libcrypto.so.3"]
    with pytest.raises(ValueError, match="out of range"):
        parse_rpm_header(struct.pack(">II", 5, 999) + b"\0" * 10)


def test_rpmdb_sqlite(tmp_path: Path) -> None:
    import sqlite3

    root = write(tmp_path, {"/etc/os-release": 'ID="rocky"\nVERSION_ID="9.4"\n'})
    (root / "var/lib/rpm").mkdir(parents=True)
    with sqlite3.connect(root / "var/lib/rpm/rpmdb.sqlite") as db:
        db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
        db.execute("INSERT INTO Packages VALUES (1, ?)", (_rpm_header([
            (1000, 6, b"bash\0", 1), (1001, 6, b"5.1.8\0", 1), (1002, 6, b"9.el9\0", 1),
            (1022, 6, b"x86_64\0", 1), (1044, 6, b"bash-5.1.8-9.el9.src.rpm\0", 1)]),))  # fmt: skip
    inventory = catalog(FolderFiles(root))
    assert inventory.release is not None
    assert inventory.release.osv_ecosystem == "Rocky Linux:9"
    assert [(p.name, p.version, p.source_name) for p in inventory.packages] == [
        ("bash", "5.1.8-9.el9", "bash")
    ]


def test_os_release_forms() -> None:
    found = parse_os_release('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\n# comment\n')
    assert found is not None
    assert found.osv_ecosystem == "Ubuntu:24.04:LTS"
    assert parse_os_release("garbage") is None


def test_a_real_go_binary(tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no go toolchain on this machine")
    src = write(tmp_path / "src", {"go.mod": "module example.com/hello\n\ngo 1.19\n",
                                   "main.go": 'package main\n\nfunc main() { println("hi") }\n'})  # fmt: skip
    out = tmp_path / "root" / "usr" / "local" / "bin" / "hello"
    out.parent.mkdir(parents=True)
    built = subprocess.run([go, "build", "-o", str(out), "."], cwd=src, capture_output=True,
                           text=True, check=False,
                           env={"HOME": str(tmp_path), "GOFLAGS": "-mod=mod", "GOPROXY": "off",
                                "GOCACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert built.returncode == 0, built.stderr
    info = go_build_info(out.read_bytes())
    assert info is not None
    assert info[0].startswith("go1.")
    assert "mod\texample.com/hello" in info[1]
    packages = catalog(FolderFiles(tmp_path / "root")).packages
    assert {(p.name, p.type) for p in packages} == {("stdlib", "golang")}  # (devel) main module
    assert go_build_info(b"\x7fELF" + b"\0" * 100) is None


LOCKS: dict[str, str] = {
    "requirements.txt": "flask==3.0.0\nrequests[socks]==2.31.0 ; python_version > '3'\n-e .\n"
                        "gunicorn>=21\n",
    "poetry.lock": '[[package]]\nname = "django"\nversion = "4.2.1"\n',
    "uv.lock": 'version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
               'source = { editable = "." }\n[[package]]\nname = "anyio"\nversion = "4.4.0"\n',
    "web/package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "web", "version": "1.0.0"},
        "node_modules/lodash": {"version": "4.17.21"},
        "node_modules/a/node_modules/lodash": {"version": "3.10.1"}}}),
    "yarn-app/yarn.lock": '# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1":\n'
                          '  version "7.24.0"\n\nleft-pad@^1.0.0:\n  version "1.3.0"\n',
    "go.mod": "module example.com/x\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/net v0.24.0\n"
              "\tgithub.com/a/b v1.2.3 // indirect\n)\nrequire github.com/c/d v0.1.0\n",
    "Cargo.lock": '[[package]]\nname = "serde"\nversion = "1.0.200"\n',
    "Gemfile.lock": "GEM\n  specs:\n    rack (3.0.8)\n      nothing (>= 1)\n    nokogiri "
                    "(1.16.5-x86_64-linux)\n",
    "composer.lock": json.dumps({"packages": [{"name": "monolog/monolog", "version": "v3.5.0"}]}),
}  # fmt: skip


def test_lock_files(tmp_path: Path) -> None:
    packages = catalog(FolderFiles(write(tmp_path, dict(LOCKS)))).packages
    got = {(p.type, p.name, p.version) for p in packages}
    assert got == {
        ("pypi", "flask", "3.0.0"), ("pypi", "requests", "2.31.0"), ("pypi", "django", "4.2.1"),
        ("pypi", "anyio", "4.4.0"), ("npm", "lodash", "4.17.21"), ("npm", "lodash", "3.10.1"),
        ("npm", "@babel/core", "7.24.0"), ("npm", "left-pad", "1.3.0"),
        ("golang", "golang.org/x/net", "v0.24.0"), ("golang", "github.com/a/b", "v1.2.3"),
        ("golang", "github.com/c/d", "v0.1.0"), ("cargo", "serde", "1.0.200"),
        ("gem", "rack", "3.0.8"), ("gem", "nokogiri", "1.16.5"),
        ("composer", "monolog", "3.5.0"),
    }  # fmt: skip


def test_a_broken_lock_file_is_named(tmp_path: Path) -> None:
    from keelhaul.sbom.lockfiles import LockFileError

    write(tmp_path, {"Cargo.lock": "[[package]\nname="})
    with pytest.raises(LockFileError, match=r"/Cargo\.lock: cannot read as Cargo\.lock"):
        catalog(FolderFiles(tmp_path))


def test_cyclonedx_and_spdx_validate(tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from keelhaul.sbom.formats import cyclonedx_json, spdx_json

    inventory = catalog(FolderFiles(write(tmp_path / "t", dict(LOCKS))))
    cdx = cyclonedx_json(inventory, "t")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx) is None
    loaded = json.loads(cdx)
    assert loaded["specVersion"] == "1.6"
    assert len(loaded["components"]) == len(inventory.packages)
    spdx_file = tmp_path / "sbom.spdx.json"
    spdx_file.write_text(spdx_json(inventory, "t"))
    document = parse_file(str(spdx_file))
    assert validate_full_spdx_document(document) == []
    assert len(document.packages) == len(inventory.packages) + 1


def _jar(entries: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return data.getvalue()


def test_java_archives_nested(tmp_path: Path) -> None:
    inner = _jar({"META-INF/maven/org.yaml/snakeyaml/pom.properties":
                  b"#generated\ngroupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n"})  # fmt: skip
    manifest_only = _jar({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n"
                          b"Implementation-Title: tiny\r\nImplementation-Version: 0.9\r\n"})  # fmt: skip
    app = _jar({"META-INF/maven/com.example/app/pom.properties":
                b"groupId=com.example\nartifactId=app\nversion=1.0.0\n",
                "BOOT-INF/lib/snakeyaml-1.33.jar": inner,
                "BOOT-INF/lib/tiny.jar": manifest_only})  # fmt: skip
    write(tmp_path, {"/app/app.jar": app})
    packages = catalog(FolderFiles(tmp_path)).packages
    got = {(p.namespace, p.name, p.version) for p in packages}
    assert got == {("com.example", "app", "1.0.0"), ("org.yaml", "snakeyaml", "1.33"),
                   (None, "tiny", "0.9")}  # fmt: skip
    yaml_pkg = next(p for p in packages if p.name == "snakeyaml")
    assert yaml_pkg.purl == "pkg:maven/org.yaml/snakeyaml@1.33"
    assert (
        yaml_pkg.path
        == "/app/app.jar:BOOT-INF/lib/snakeyaml-1.33.jar:META-INF/maven/org.yaml/snakeyaml/pom.properties"
    )


def test_cargo_auditable_binary(tmp_path: Path) -> None:
    """An ELF with a .dep-v0 section as cargo-auditable writes it (added with objcopy)."""
    import zlib

    objcopy = shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("no objcopy to add an ELF section")
    deps = {"packages": [{"name": "app", "version": "0.1.0", "source": "local", "root": True},
                         {"name": "serde", "version": "1.0.200", "source": "crates.io"},
                         {"name": "cc", "version": "1.0.0", "source": "crates.io",
                          "kind": "build"}]}  # fmt: skip
    section = tmp_path / "deps.bin"
    section.write_bytes(zlib.compress(json.dumps(deps).encode()))
    binary = tmp_path / "root" / "usr" / "bin" / "app"
    binary.parent.mkdir(parents=True)
    done = subprocess.run([objcopy, "--add-section", f".dep-v0={section}", "/bin/true",
                           str(binary)], capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    packages = catalog(FolderFiles(tmp_path / "root")).packages
    assert [(p.type, p.name, p.version) for p in packages] == [("cargo", "serde", "1.0.200")]
