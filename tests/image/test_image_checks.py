"""Secrets, what should not ship, hardening, the base: each check on a synthetic image."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from keelhaul.image import base as bases
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.model import HistoryEntry
from keelhaul.image.report import ImageReport
from keelhaul.image.unwanted import classify
from tests.image.synthetic import F, Spec, file, folder, image, whiteout

AWS_ID = "AKIA" + "Q3EGHJKLMNPR2T4V"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzHq7PLuMm"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
NPM = "npm_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PEM = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
RAW_SECRETS = (AWS_ID, AWS_SECRET, GITHUB, NPM, "b3BlbnNzaC1rZXktdjEAAAAA", "s3cr3t-Passw0rd-42")


def run(layers: list, **kw: object) -> ImageReport:  # type: ignore[type-arg]
    today = kw.pop("today", dt.date(2026, 11, 27))
    return analyse(image(layers, **kw), Options(workers=1, today=today))  # type: ignore[arg-type]


def by_code(r: ImageReport, code: str) -> list[str]:
    return [f.message for f in r.findings if f.code == code]


def test_secrets_everywhere_are_found_and_redacted() -> None:
    layers = [
        Spec([file("root/.ssh/id_rsa", PEM), file("root/.aws/credentials",
              f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n".encode()),
              file("app/.npmrc", f"//registry.npmjs.org/:_authToken={NPM}\n".encode()),
              file("app/settings.py", f"GITHUB = '{GITHUB}'\n".encode())],
             "RUN |1 DB_PASSWORD=s3cr3t-Passw0rd-42 /bin/sh -c make"),
    ]  # fmt: skip
    r = run(layers, config={"Env": [f"GH_TOKEN={GITHUB}", "PATH=/usr/bin"]})
    files = " ".join(by_code(r, "KH311"))
    assert "/root/.ssh/id_rsa" in files
    assert "/root/.aws/credentials" in files
    assert "/app/.npmrc" in files
    assert any("/app/settings.py" in m for m in by_code(r, "KH312"))
    assert any("GH_TOKEN" in m for m in by_code(r, "KH313"))
    assert any("DB_PASSWORD" in m for m in by_code(r, "KH314"))
    dumped = json.dumps(r.to_json())
    for raw in RAW_SECRETS:
        assert raw not in dumped, raw
    assert all(f.location.path.startswith("test:image") for f in r.findings)
    assert any(f.location.path == "test:image!/root/.ssh/id_rsa" and f.location.line == 1
               for f in r.findings)  # fmt: skip


def test_deleted_secret_still_ships() -> None:
    r = run([[file("root/.ssh/id_ed25519", PEM)], [whiteout("root/.ssh/id_ed25519")]])
    (message,) = by_code(r, "KH311")
    assert "still in this layer's blob" in message


def test_one_finding_per_file_and_kind_of_secret() -> None:
    tokens = "\n".join(f"t{i} = '{GITHUB[:-1]}{i}'" for i in range(3))
    r = run([[file("app/settings.py", f"NPM = '{NPM}'\n{tokens}\n".encode())]])
    messages = by_code(r, "KH312")
    assert len(messages) == 2  # three GitHub tokens make one finding, the npm token another
    assert sum("and 2 more like it" in m for m in messages) == 1


def test_harmless_and_binary_files_are_not_scanned() -> None:
    r = run([[file("usr/share/doc/x/README", f"token {GITHUB}".encode()),
              file("app/bin/tool", b"\0ELF" + GITHUB.encode()),
              file("app/README.md", b"use AKIAIOSFODNN7EXAMPLE as in the docs")]])  # fmt: skip
    assert by_code(r, "KH312") == []


def test_arg_in_history_is_found_and_the_command_redacted() -> None:
    history = (HistoryEntry(f"ARG NPM_TOKEN={NPM}", empty_layer=True), HistoryEntry("RUN x"))
    r = run([[file("a", 1)]], history=history)
    assert any("NPM_TOKEN" in m for m in by_code(r, "KH314"))
    assert NPM not in json.dumps(r.to_json())


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", "package-cache"),
        ("var/lib/apt/lists/lock", None),
        ("var/cache/apt/archives/curl.deb", "package-cache"),
        ("root/.cache/pip/http/x", "package-cache"),
        ("root/.npm/_cacache/index", "package-cache"),
        ("home/u/.m2/repository/a.jar", "package-cache"),
        ("usr/lib/gcc/x86_64-linux-gnu/12/cc1", "toolchain"),
        ("usr/include/stdio.h", "toolchain"),
        ("usr/bin/gcc-12", "toolchain"),
        ("app/.git/objects/ab/cdef", "vcs"),
        ("usr/share/doc/curl/copyright", "docs"),
        ("usr/share/man/man1/ls.1.gz", "docs"),
        ("usr/lib/python3/dist-packages/foo/tests/test_x.py", "tests"),
        ("src/main.go", "sources"),
        ("usr/src/linux/Makefile", "sources"),
        ("usr/local/go/src/fmt/print.go", "toolchain"),
        ("usr/share/dotnet/sdk/8.0.100/csc.dll", "toolchain"),
        ("usr/lib/jvm/java-17-openjdk-amd64/bin/javac", "toolchain"),
        ("usr/lib/jvm/java-17-openjdk-amd64/bin/java", None),
        ("app/core", "core-dump"),
        ("app/core.1234", "core-dump"),
        ("var/log/dpkg.log", "logs"),
        ("app/server.log", "logs"),
        ("app/main.py", None),
        ("usr/bin/python3", None),
    ],
)
def test_classify(path: str, kind: str | None) -> None:
    found = classify(path)
    assert (found.name if found else None) == kind


def test_apt_cache_left_behind() -> None:
    lists = [file(f"var/lib/apt/lists/deb_{i}_Packages", 300_000) for i in range(4)]
    r = run([[folder("var/lib/apt/lists"), file("var/lib/apt/lists/lock", b"")], lists])
    (message,) = by_code(r, "KH303")
    assert "1.2 MB" in message
    assert "/var/lib/apt/lists" in message
    group = r.unwanted[0]
    assert (group.kind, group.count, group.layers) == ("package-cache", 4, (1,))
    assert group.size == 1_200_000


def test_cache_deleted_in_the_same_layer_is_not_reported() -> None:
    r = run([[file("var/cache/apt/archives/x.deb", 100_000)], [whiteout("var/cache/apt")]])
    assert by_code(r, "KH303") == []


def test_hardening_table() -> None:
    passwd = (
        b"root:x:0:0:root:/root:/bin/bash\ntoor::0:0::/:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"
    )
    shadow = b"root:*:19000:0:99999:7:::\nnopass::19000:0:99999:7:::\n"
    layers = [[
        file("etc/passwd", passwd), file("etc/shadow", shadow, mode=0o640),
        file("usr/bin/su", 10, mode=0o4755), file("usr/bin/wall", 10, mode=0o2755),
        F("tmp", kind="dir", mode=0o1777), F("data", kind="dir", mode=0o777),
        file("app/conf", 5, mode=0o666), file("bin/sh", 10, mode=0o755),
    ]]  # fmt: skip
    r = run(layers, config={"User": "", "Healthcheck": None, "ExposedPorts": {"22/tcp": {}, "8080/tcp": {}}},
            tags=("example/app:distroless",))  # fmt: skip
    assert by_code(r, "KH320")
    assert by_code(r, "KH321") == ["the image has no HEALTHCHECK"]
    assert by_code(r, "KH323") == ["port 22/tcp (SSH) is exposed"]
    (setuid,) = by_code(r, "KH322")
    assert "2 setuid/setgid files" in setuid
    writable = by_code(r, "KH325")
    assert any("/data" in m for m in writable)
    assert any("/app/conf" in m for m in writable)
    assert not any("/tmp" in m for m in writable)  # sticky
    assert any("/bin/sh" in m for m in by_code(r, "KH324"))
    empty = by_code(r, "KH326")
    assert any("toor" in m for m in empty)
    assert any("nopass" in m for m in empty)
    assert by_code(r, "KH327") == ["UID 0 is shared by root, toor in /etc/passwd"]


def test_good_config_is_quiet() -> None:
    r = run([[file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")]],
            config={"User": "1000", "ExposedPorts": {"8080/tcp": {}}})  # fmt: skip
    assert [f.code for f in r.findings] == []


@pytest.mark.parametrize(
    ("text", "key", "eol"),
    [
        (b'ID=debian\nVERSION_ID="12"\n', ("debian", "12"), "2028-06-30"),
        (b'ID=debian\nVERSION_ID="11"\n', ("debian", "11"), "2026-08-31"),
        (b"ID=alpine\nVERSION_ID=3.19.1\n", ("alpine", "3.19"), "2025-11-01"),
        (b'ID="ubuntu"\nVERSION_ID="22.04"\n', ("ubuntu", "22.04"), "2027-06-01"),
        (b'ID="rocky"\nVERSION_ID="9.3"\n', ("rocky", "9"), "2032-05-31"),
        (b"# comment\nID=nixos\nVERSION_ID=24.05\n", ("nixos", "24.05"), None),
        (b"garbage\n=\nID='unterminated\n", None, None),
    ],
)
def test_os_release(text: bytes, key: tuple[str, str] | None, eol: str | None) -> None:
    fields = bases.parse_os_release(text)
    assert bases.release_key(fields) == key
    assert bases.end_of_life(fields) == eol


IMPORT = ("", False)  # docker import's entry: a layer, a comment, no instruction


@pytest.mark.parametrize(
    ("history", "layers", "expected"),
    [
        ([("ADD rootfs.tar /", False), ('CMD ["bash"]', True), ("RUN a", False)], 2, (1, 1)),
        ([IMPORT, ("RUN a", False), ("RUN b", False)], 3, (1, 0)),
        ([IMPORT, IMPORT, ("ENV A=1", True), ("RUN a", False)], 3, (2, 1)),
        # a base with a CMD built on an imported one: the CMD's end is the later
        ([IMPORT, ("RUN a", False), ('CMD ["sh"]', True), ("RUN b", False)], 3, (2, 2)),
        # an imported layer above an instruction's is not a base
        ([("RUN a", False), IMPORT, ("RUN b", False)], 3, (None, None)),
        # the imported layer alone, or with nothing an instruction made above it
        ([IMPORT], 1, (None, None)),
        ([IMPORT, IMPORT], 2, (None, None)),
        ([IMPORT, ('CMD ["sh"]', True)], 1, (None, None)),
        ([IMPORT, ("RUN a", False)], 3, (None, None)),  # history not lined up
    ],
)
def test_base_layers_from_history(
    history: list[tuple[str, bool]], layers: int, expected: tuple[int | None, int | None]
) -> None:
    assert bases.base_layers(history, layers) == expected


def test_end_of_life_finding() -> None:
    old = b'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n'
    r = run([[file("etc/os-release", old)]])
    assert by_code(r, "KH330") == [
        "Debian GNU/Linux 11 (bullseye) reached its end of life on 2026-08-31"
    ]
    r = run([[file("etc/os-release", old)]], today=dt.date(2026, 1, 1))
    assert by_code(r, "KH330") == []


def test_report_is_json_serialisable() -> None:
    r = run([[file("a", 10)]])
    data = json.loads(json.dumps(r.to_json()))
    assert data["layers"][0]["content_size"] == 10
    assert set(data["waste"]) >= {"overwritten", "deleted", "duplicates", "efficiency", "dive"}


def test_env_secret_is_reported_once() -> None:
    history = (HistoryEntry("RUN x"), HistoryEntry(f"ENV GH_TOKEN={GITHUB}", empty_layer=True))
    r = run([[file("a", 1)]], history=history, config={"Env": [f"GH_TOKEN={GITHUB}"]})
    assert len(by_code(r, "KH313")) == 1
    assert by_code(r, "KH314") == []


def test_the_archive_path_claims_nothing_and_healthcheck_none_is_a_decision() -> None:
    from keelhaul.image.hardening import check_config, claims_minimal

    assert claims_minimal("docker-archive:/work/scratch/app.tar", [], {}) is None
    assert claims_minimal("docker-archive:/tmp/x.tar", ["gcr.io/distroless/base:nonroot"], {})
    assert claims_minimal("registry:example.com/minimal-app:1", [], {}) == "minimal"
    none = {"config": {"User": "65532", "Healthcheck": {"Test": ["NONE"]}}}
    assert not [i for i in check_config(none) if i.code == "no-healthcheck"]
    assert [i for i in check_config({"config": {"User": "65532"}}) if i.code == "no-healthcheck"]
