"""Images with waste across layers, written as OCI layouts (and docker-archives) for the slim
tests: the first ``base`` layers are a base image's (its history ends in a CMD), the rest
the image's own."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.image.source_images import (
    LAYER_MEDIA,
    OCI_MANIFEST,
    Built,
    compress,
    sha,
    write_docker25_archive,
    write_layout,
)
from tests.image.synthetic import F, file, folder, hardlink, layer_tar, opaque, symlink, whiteout


def build(
    layers: list[list[F]],
    base: int = 1,
    how: str = "gzip",
    imported: bool = False,
    level: int | None = None,
) -> Built:
    """``imported``: the base is ``docker import``'s (history entries with no instruction,
    no CMD); ``level``: gzip's level for the layers (default: ``compress``'s, 1)."""
    built = Built()
    descriptors, diff_ids = [], []
    for members in layers:
        tar = layer_tar(members)
        built.tars.append(tar)
        blob = compress(tar, how) if level is None else gzip.compress(tar, level, mtime=0)
        descriptors.append({"mediaType": LAYER_MEDIA[how], "digest": built.add(blob),
                            "size": len(blob)})  # fmt: skip
        diff_ids.append(sha(tar))
    if imported:
        history: list[dict[str, object]] = [
            {"created": "2026-01-01T00:00:00Z", "comment": "Imported from -"} for _ in range(base)
        ]
    else:
        history = [{"created_by": f"ADD base{i}.tar /", "created": "2026-01-01T00:00:00Z"}
                   for i in range(base)]  # fmt: skip
        history.append({"created_by": 'CMD ["bash"]', "empty_layer": True})
    history += [{"created_by": f"RUN step {i}", "created": "2026-01-02T00:00:00Z"}
                for i in range(base, len(layers))]  # fmt: skip
    history.append({"created_by": "USER app", "empty_layer": True})
    built.config = {
        "architecture": "amd64", "os": "linux", "created": "2026-01-02T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin", "A=1"], "Entrypoint": ["/app/run"],
                   "Cmd": ["--serve"], "User": "app", "WorkingDir": "/app",
                   "ExposedPorts": {"8080/tcp": {}}, "Labels": {"team": "x"},
                   "Healthcheck": {"Test": ["CMD", "/app/run", "--check"]}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }  # fmt: skip
    built.manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": descriptors}
    return built


def oci(
    folder_path: Path,
    layers: list[list[F]],
    base: int = 1,
    how: str = "gzip",
    imported: bool = False,
    level: int | None = None,
) -> str:
    write_layout(folder_path, [build(layers, base, how, imported, level)], tag="v1")
    return f"oci:{folder_path}"


def docker_archive(path: Path, layers: list[list[F]], base: int = 1, imported: bool = False) -> str:
    built = build(layers, base, imported=imported)
    write_docker25_archive(path, built)
    return f"docker-archive:{path}"


def text(path: str, lines: int) -> F:
    """A file of ``lines`` lines of configuration-like text: compresses well, and better at a
    higher level."""
    body = "".join(f"{path}.key_{i} = value {i * 7919 % 1009} # {i % 13}\n" for i in range(lines))
    return file(path, body.encode())


#: Own layers that hide nothing: every file of every layer ships.
CLEAN: list[list[F]] = [
    [folder("app"), text("app/one.conf", 3000)],
    [text("app/two.conf", 3000), folder("etc/app"), text("etc/app/three.conf", 2000)],
    [text("app/four.conf", 2000)],
]


BASE = [
    folder("etc"), file("etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
    folder("usr"), folder("usr/bin"), file("usr/bin/sh", 3000, 0o755),
    hardlink("usr/bin/bash", "usr/bin/sh"), symlink("bin", "usr/bin"),
    folder("usr/share"), folder("usr/share/doc"), folder("usr/share/doc/libc"),
    file("usr/share/doc/libc/README", 2000), file("usr/share/doc/libc/NEWS", 1000),
    folder("var"), folder("var/cache"), folder("var/cache/apt"),
    file("var/cache/apt/pkgcache.bin", 5000), folder("opt"), file("opt/big", 7000), folder("opt", 0o711),
    folder("srv", 0o750), folder("srv/data"), file("srv/data/a", 10), file("srv/data/b", 10),
    folder("tmp", 0o1777), file("etc/cap", 5, 0o755),
]  # fmt: skip
BASE[-1].xattrs = {"security.capability": "\x01\x00\x00\x02\x00\x10\x00\x00"}

#: name -> own layers (the base is BASE)
IMAGES: dict[str, list[list[F]]] = {
    "overwrite-and-delete": [
        [folder("app"), file("app/run", 4000, 0o755), file("app/tmp.bin", 9000),
         file("opt/big", 100)],
        [whiteout("app/tmp.bin"), file("app/run", 4500, 0o755), whiteout("opt/big")],
        [file("app/config", b"port=8080\n")],
    ],
    "deleted-folder-recreated": [
        [whiteout("usr/share/doc"), folder("usr/share/doc"), file("usr/share/doc/new", 30)],
        [file("srv/data/c", 50)],
        [whiteout("srv/data"), file("srv/data/d", 20)],
    ],
    "opaque": [
        [folder("var/cache/apt"), opaque("var/cache/apt"), file("var/cache/apt/x", 40)],
        [folder("srv/data"), opaque("srv/data")],
    ],
    "hard-links": [
        [folder("app"), file("app/lib.so", 6000), hardlink("app/lib.so.1", "app/lib.so"),
         hardlink("app/lib.so.2", "app/lib.so")],
        [file("app/lib.so", 10), whiteout("app/lib.so.1")],
        [whiteout("app/lib.so")],
    ],
    "symlinks-and-types": [
        [symlink("app", "opt/app"), folder("opt/app"), symlink("opt/app/latest", "../app/v1"),
         file("etc/cap", 7, 0o750)],
        [whiteout("bin"), folder("bin"), file("bin/tool", 300, 0o4755)],
    ],
    "file-over-folder": [
        [file("srv/data", 99), folder("usr/share/doc/libc/x")],
        [whiteout("srv/data"), folder("srv/data", 0o700), file("srv/data/z", 5)],
        [file("etc", b"not a folder")],
    ],
    "owners-and-xattrs": [
        [F("app/owned", b"x", uid=1000, gid=1000, mode=0o640),
         F("app/capable", b"y" * 100, mode=0o755, xattrs={"security.capability": "\x01\x02"}),
         F("app/mtime", b"z", mtime=2_000_000_000)],
        [F("app/owned", b"x", uid=1001, gid=1001, mode=0o600)],
    ],
    "implicit-parents": [
        [whiteout("srv"), file("srv/data/new/deep", 11)],
        [whiteout("opt"), F("opt/sub/file", b"q")],
    ],
    "same-path-twice-in-a-layer": [
        [file("app/twice", b"first"), file("app/twice", b"second"),
         hardlink("app/link", "app/twice"), file("app/twice", b"third")],
    ],
}  # fmt: skip

__all__ = ["BASE", "CLEAN", "IMAGES", "docker_archive", "file", "folder", "oci", "text"]
