"""`keelhaul image` with a vulnerability database reads each layer once: the analysis pass
gathers what the package catalogers read (the same facts as `keelhaul sbom`'s own pass)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from keelhaul.cli.image import _vulnerability_summary, run
from keelhaul.cli.output import Output
from keelhaul.image.analysis import Options, analyse
from keelhaul.sbom.image_files import PACKAGE_FACTS, LayerFacts, read_layer
from keelhaul.vulns.database import import_paths
from tests.image.synthetic import Spec, counted, file, folder, image, opaque, symlink, whiteout

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"
STATUS = (
    b"Package: libssl1.1\nStatus: install ok installed\nArchitecture: amd64\n"
    b"Source: openssl\nVersion: 1.1.0l-1~deb9u5\n\n"
)  # Debian 9's openssl before DLA-3008-1
GO_BINARY = b"\x7fELF" + bytes(60) + b"\xff Go buildinf:" + bytes(200)


def layers() -> list[Spec]:
    return [
        Spec([file("etc/os-release", b'ID=debian\nVERSION_ID="9"\n'),
              file("var/lib/dpkg/status", STATUS), file("var/lib/dpkg/info/libssl1.1.list", b""),
              file("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                   b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"),
              file("app/node_modules/left-pad/package.json",
                   b'{"name": "left-pad", "version": "1.3.0"}'),
              file("usr/local/bin/server", GO_BINARY), file("usr/bin/tool", b"#!/bin/sh\necho\n"),
              file("opt/app/lib.jar", b"PK\x03\x04" + bytes(40)), folder("srv/data"),
              file("srv/data/old.json", b"{}"), symlink("usr/bin/sh2", "/bin/sh")]),
        Spec([whiteout("app/node_modules/left-pad"), opaque("srv/data"),
              file("srv/data/new.txt", b"new"), file("usr/bin/tool", b"\x7fELF" + bytes(100))]),
    ]  # fmt: skip


def test_the_analysis_gathers_the_facts_the_sbom_pass_reads() -> None:
    img = image(layers())
    gathered: list[LayerFacts] = []
    analyse(img, Options(facts=PACKAGE_FACTS), facts=gathered)
    assert gathered == [read_layer(layer) for layer in img.layers]
    first = gathered[0]
    assert "/usr/local/bin/server" in first.go  # an ELF executable: its Go build info kept
    assert "/usr/bin/tool" not in first.contents  # a script where executables live: dropped
    assert first.contents["/opt/app/lib.jar"].startswith(b"PK")
    assert gathered[1].deleted == ["/app/node_modules/left-pad"]
    assert gathered[1].opaque == ["/srv/data"]


def test_hostile_names_are_left_out_of_the_facts_as_the_sbom_pass_does() -> None:
    import tarfile

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        for name in ("a/../var/lib/dpkg/status", "/etc/os-release", "ok/file"):
            info = tarfile.TarInfo(name)
            info.size = 3
            archive.addfile(info, io.BytesIO(b"abc"))
    img = image([Spec(tar.getvalue())])
    gathered: list[LayerFacts] = []
    analyse(img, Options(facts=PACKAGE_FACTS), facts=gathered)
    assert gathered == [read_layer(img.layers[0])]
    assert gathered[0].files == ["/etc/os-release", "/ok/file"]


def test_image_with_a_database_reads_each_layer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not (OSV / "Debian").is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    import_paths(db, [OSV / "Debian"])
    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cache"))
    img, opens = counted(image(layers()))
    code, _ = run(Output(color=False), img, "json", db_path=db, fail_on="none")
    assert code == 0
    assert opens == [1, 1]  # the analysis pass only: no second read for the packages
    summary = json.loads(capsys.readouterr().out)["vulnerabilities"]
    assert summary["packages"] == 2  # libssl1.1 and six (the Go stand-in has no real build info)
    assert summary["total"] >= 1
    # what the pass gathered went into the per-layer cache that `keelhaul sbom` reads
    cached, opens_cached = counted(image(layers()))
    assert _vulnerability_summary(cached, db) == summary
    assert opens_cached == [0, 0]
    # and reading the layers apart (a cold cache) finds the same
    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cold"))
    cold, opens_cold = counted(image(layers()))
    assert _vulnerability_summary(cold, db) == summary
    assert opens_cold == [1, 1]
