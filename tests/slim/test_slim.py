"""``keelhaul slim`` on images with waste across layers: the merged tree of the result equals
the source's (except what was asked to be removed), the base layers are the same blobs, the
squashed layer hides nothing, and the same input gives the same digest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from keelhaul.image.analysis import analyse
from keelhaul.image.sources import open_image
from keelhaul.slim import report
from keelhaul.slim.consolidate import SlimError
from keelhaul.slim.outputs import LAYER_TYPES, parse_destination
from keelhaul.slim.tree import TreeEntry, merged_tree
from keelhaul.slim.write_image import SlimOptions, SlimResult, slim
from tests.image.synthetic import file, folder, hardlink, symlink, whiteout
from tests.slim.images import BASE, CLEAN, IMAGES, docker_archive, oci


def _tree(reference: str) -> dict[str, TreeEntry]:
    with open_image(reference) as image:
        return merged_tree(image)


def _slim(source: str, dest: str, same_tree: bool = True, **options: object) -> SlimResult:
    """Slim ``source`` to ``dest``; unless told otherwise (removals, hostile names), prove the
    merged tree of the result is the source's, so every image these tests slim is checked."""
    with open_image(source) as image:
        result = slim(image, parse_destination(dest), SlimOptions(**options))  # type: ignore[arg-type]
    if same_tree:
        written = parse_destination(dest)
        assert _tree(f"{written.scheme}:{written.path}") == _tree(source)
    return result


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("mode", ["base", "all", "keep2"])
def test_slim_keeps_the_merged_tree(tmp_path: Path, name: str, mode: str) -> None:
    layers = [BASE, *IMAGES[name]]
    source = oci(tmp_path / "src", layers)
    options = {"base": {}, "all": {"squash_all": True}, "keep2": {"keep_layers": 2}}[mode]
    result = _slim(source, f"oci:{tmp_path / 'out'}", **options)
    expected_keep = {"base": 1, "all": 0, "keep2": 2}[mode]
    assert result.kept == expected_keep
    assert result.layers_after == min(expected_keep + 1, len(layers))
    before, after = _tree(source), _tree(f"oci:{tmp_path / 'out'}")
    assert after == before
    # keelhaul image on the result: nothing the squashed layer stores is hidden
    with open_image(f"oci:{tmp_path / 'out'}") as image:
        report = analyse(image)
    for layer in report.layers[expected_keep:]:
        assert layer.shadowed_size == 0, layer


def test_the_tree_sees_what_changes(tmp_path: Path) -> None:
    """The proof can fail: the tree tells content, modes, owners, xattrs and deletions apart."""
    base = _tree(oci(tmp_path / "a", [BASE]))
    for change in IMAGES["owners-and-xattrs"][0]:
        assert change.path not in base
    changed = _tree(oci(tmp_path / "b", [BASE, IMAGES["owners-and-xattrs"][0]]))
    assert changed["app/capable"].xattrs == (("security.capability", "\x01\x02"),)
    assert changed["app/owned"][1:4] == (0o640, 1000, 1000)
    assert base["etc/cap"].xattrs
    assert base["usr/bin/bash"] == base["usr/bin/sh"]  # a hard link is its target's inode


def test_base_layers_are_the_same_blobs_and_history_says_what_was_squashed(
    tmp_path: Path,
) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["overwrite-and-delete"]])
    _slim(source, f"oci:{tmp_path / 'out'}")
    with open_image(source) as before, open_image(f"oci:{tmp_path / 'out'}") as after:
        assert after.layers[0].digest == before.layers[0].digest
        assert after.layers[0].diff_id == before.layers[0].diff_id
        assert len(after.layers) == 2
        for key in ("Env", "Entrypoint", "Cmd", "User", "WorkingDir", "ExposedPorts",
                    "Labels", "Healthcheck"):  # fmt: skip
            assert after.config["config"][key] == before.config["config"][key]
        made = [h for h in after.history if not h.empty_layer]
        assert len(made) == 2
        assert "layers 2-4 squashed" in made[1].created_by
        assert [h.created_by for h in after.history if "step" in h.created_by] == [
            "RUN step 1", "RUN step 2", "RUN step 3"]  # fmt: skip
        # keelhaul image still tells the base from the image's own layer
        report = analyse(after)
        assert report.base.base_layers == 1


def test_hidden_bytes_are_dropped(tmp_path: Path) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["overwrite-and-delete"]])
    result = _slim(source, f"oci:{tmp_path / 'out'}")
    # app/run twice (4000 + 4500), app/tmp.bin 9000 deleted, opt/big 100 deleted
    assert result.own_content == 4000 + 9000 + 100 + 4500 + 10
    assert result.copied == 4500 + 10
    with open_image(source) as image:
        assert analyse(image).waste.total > 0
    with open_image(f"oci:{tmp_path / 'out'}") as image:
        assert analyse(image).layers[1].hides_size == 7000  # the whiteout over the base's opt/big


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_same_input_same_digest(tmp_path: Path, how: str) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["hard-links"], *IMAGES["opaque"]])
    one = _slim(source, f"oci:{tmp_path / 'one'}", compression=how, source_date_epoch=1000)
    two = _slim(source, f"oci-archive:{tmp_path / 'two.tar'}", compression=how,
                source_date_epoch=1000)  # fmt: skip
    assert one.manifest_digest == two.manifest_digest
    three = _slim(source, f"oci:{tmp_path / 'three'}", compression=how)
    assert three.manifest_digest != one.manifest_digest  # the mtimes are not clamped
    assert _tree(f"oci-archive:{tmp_path / 'two.tar'}") == _tree(source)


def test_docker_archive_in_and_out(tmp_path: Path) -> None:
    source = docker_archive(tmp_path / "src.tar", [BASE, *IMAGES["deleted-folder-recreated"]])
    out = tmp_path / "out.tar"
    _slim(source, f"docker-archive:{out}:keelhaul-test/slim:1")
    assert _tree(f"docker-archive:{out}") == _tree(source)
    with open_image(f"docker-archive:{out}") as image:
        assert image.tags == ("keelhaul-test/slim:1",) or "keelhaul-test/slim:1" in image.tags


def test_removals_by_category(tmp_path: Path) -> None:
    own = [list(IMAGES["overwrite-and-delete"][0])]
    from tests.image.synthetic import file, folder

    own.append([folder("var/lib/apt/lists"), file("var/lib/apt/lists/deb_Packages", 8000),
                folder("usr/share/doc/app"), file("usr/share/doc/app/README", 3000),
                file("usr/share/doc/libc/README", 10)])  # fmt: skip
    source = oci(tmp_path / "src", [BASE, *own])
    result = _slim(source, f"oci:{tmp_path / 'out'}", same_tree=False,
                   remove=("package-cache", "docs"))  # fmt: skip
    assert result.removed == {"docs": (2, 3010), "package-cache": (1, 8000)}
    before, after = _tree(source), _tree(f"oci:{tmp_path / 'out'}")
    gone = {"var/lib/apt/lists/deb_Packages", "usr/share/doc/app/README",
            "usr/share/doc/libc/README"}  # fmt: skip
    # the base's libc README is hidden by a whiteout: removing the own copy must not bring
    # the base's back
    assert {p: e for p, e in before.items() if p not in gone} == after
    # files of the kept base layer stay (a whiteout would save nothing)
    assert "var/cache/apt/pkgcache.bin" in after


def test_destination_rules(tmp_path: Path) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["opaque"]])
    dest = tmp_path / "out.tar"
    dest.write_bytes(b"precious")
    with pytest.raises(SlimError, match="exists"):
        _slim(source, f"oci-archive:{dest}")
    assert dest.read_bytes() == b"precious"
    _slim(source, f"oci-archive:{dest}", force=True)
    assert _tree(f"oci-archive:{dest}") == _tree(source)
    digest = "sha256:" + "a" * 64
    for bad in ("registry:localhost:5000/Bad Name", f"registry:localhost:5000/x@{digest}",
                "docker:", "tar:x", "oci:", "docker-archive:x.tar:Bad Name"):  # fmt: skip
        with pytest.raises(SlimError):
            parse_destination(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tar", "src"]


def test_a_failure_leaves_nothing(tmp_path: Path) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["opaque"]])
    with open_image(source) as image:
        own = image.layers[-1].digest.removeprefix("sha256:")
    path = tmp_path / "src" / "blobs" / "sha256" / own
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="layer"):
        _slim(source, f"docker-archive:{tmp_path / 'out.tar'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def _own_layer(folder: Path) -> list[tarfile.TarInfo]:
    index = json.loads((folder / "index.json").read_text())
    blobs = folder / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    with tarfile.open(blobs / manifest["layers"][-1]["digest"][7:]) as tar:
        return tar.getmembers()


def test_hostile_names_and_links_never_leave_the_root(tmp_path: Path) -> None:
    """Names with ``..`` or a leading ``/`` come out root-relative, a hard link names its
    target inside, a symlink climbing above the root loses the excess ``..``; nothing is
    written outside the destination."""
    hostile = [file("app/a", b"a"), file("../../escape.txt", b"x"), file("/abs.txt", b"y"),
               symlink("app/up", "../../../../etc/shadow"), symlink("app/abs", "/etc/passwd"),
               symlink("app/root", "/../../etc/x"), hardlink("app/h", "../../app/a"),
               symlink("app/ok", "../etc/x")]  # fmt: skip
    source = oci(tmp_path / "src", [BASE, hostile])
    result = _slim(source, f"oci:{tmp_path / 'out'}", same_tree=False)
    members = {m.name: m for m in _own_layer(tmp_path / "out")}
    for name, member in members.items():
        assert not name.startswith("/")
        assert ".." not in name.split("/")
        if member.islnk():
            assert not member.linkname.startswith("/")
            assert ".." not in member.linkname.split("/")
        if member.issym():
            depth = name.count("/")
            climbs = 0 if member.linkname.startswith("/") else depth
            for part in member.linkname.split("/"):
                climbs += -1 if part == ".." else part not in ("", ".")
                assert climbs >= 0, (name, member.linkname)
    assert {"escape.txt", "abs.txt", "app/h"} <= set(members)
    assert members["app/h"].linkname == "app/a"
    assert members["app/up"].linkname == "../etc/shadow"
    assert members["app/root"].linkname == "/etc/x"
    assert members["app/abs"].linkname == "/etc/passwd"  # inside: as it was
    assert members["app/ok"].linkname == "../etc/x"
    assert result.links_clamped == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]
    assert not (tmp_path.parent / "escape.txt").exists()


def test_same_input_same_bytes_from_the_command_line(tmp_path: Path) -> None:
    """``SOURCE_DATE_EPOCH`` (or ``--source-date-epoch``): two runs write the same archive,
    byte for byte, whatever the time; another epoch another digest."""
    source = docker_archive(tmp_path / "src.tar", [BASE, *IMAGES["overwrite-and-delete"]])

    def run(name: str, *extra: str, epoch: str = "1700000000") -> bytes:
        done = subprocess.run(
            [sys.executable, "-m", "keelhaul", "slim", source, "--output",
             f"docker-archive:{tmp_path / name}:app:slim", *extra],
            capture_output=True, text=True, check=False,
            env={**os.environ, "SOURCE_DATE_EPOCH": epoch},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return (tmp_path / name).read_bytes()

    first = run("one.tar")
    time.sleep(1.1)
    assert run("two.tar") == first
    assert run("three.tar", "--source-date-epoch", "1700000000", epoch="5") == first
    assert run("four.tar", epoch="1600000000") != first


def test_compression_levels(tmp_path: Path) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["overwrite-and-delete"]])
    sizes = {}
    for how, level in (("gzip", 0), ("gzip", 3), ("zstd", 1), ("zstd", 19)):
        result = _slim(source, f"oci:{tmp_path / f'{how}{level}'}", compression=how, level=level)
        sizes[how, level] = result.compressed_after
        assert _tree(f"oci:{tmp_path / f'{how}{level}'}") == _tree(source)
    assert sizes["gzip", 3] < sizes["gzip", 0]
    bad = subprocess.run([sys.executable, "-m", "keelhaul", "slim", source, "--output",
                          f"oci:{tmp_path / 'bad'}", "--compression-level", "9"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "gzip (ISA-L) takes 0 to 3" in bad.stderr


def _layers(reference: str) -> list[tuple[str, str, str, int]]:
    """(digest, DiffID, media type, blob size) of each layer."""
    with open_image(reference) as image:
        return [(x.digest, x.diff_id, x.media_type, x.compressed_size) for x in image.layers]


def test_a_clean_image_is_not_made_bigger(tmp_path: Path) -> None:
    """Own layers that hide nothing, compressed better (gzip -9) than slim's ISA-L level 2:
    squashing would only make them bigger, so they are written as they are (the same blobs,
    the same history) and the report says so; --even-if-larger squashes anyway, and is
    bigger, which is why it is not the default."""
    source = oci(tmp_path / "src", [BASE, *CLEAN], level=9)
    result = _slim(source, f"oci:{tmp_path / 'out'}")
    assert result.not_squashed is not None
    assert "0 hidden bytes" in result.not_squashed
    assert (result.layers_before, result.layers_after, result.whiteouts) == (4, 4, 0)
    assert result.compressed_after == result.compressed_before
    assert result.tar_after == result.tar_before
    assert _layers(f"oci:{tmp_path / 'out'}") == _layers(source)
    with open_image(source) as before, open_image(f"oci:{tmp_path / 'out'}") as after:
        assert after.history == before.history
    text = "\n".join(report.lines(result))
    assert "layers: 4 kept as they are (nothing to gain: the squashed layer would be" in text
    assert "--even-if-larger squashes anyway" in text
    assert "hidden bytes dropped: 0 B" in text

    forced = _slim(source, f"oci:{tmp_path / 'forced'}", even_if_larger=True)
    assert (forced.not_squashed, forced.layers_after) == (None, 2)
    assert forced.compressed_after > forced.compressed_before
    done = subprocess.run([sys.executable, "-m", "keelhaul", "slim", source, "--output",
                           f"oci:{tmp_path / 'cli'}", "--even-if-larger", "--format", "json"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["layers"]["after"] == 2
    assert json.loads(done.stdout)["not_squashed"] is None

    # from docker save (plain tars, which slim compresses either way): nothing hidden to drop,
    # so the layers stay four, each compressed, each with its DiffID
    saved = docker_archive(tmp_path / "saved.tar", [BASE, *CLEAN])
    plain = _slim(saved, f"oci:{tmp_path / 'from-save'}")
    assert plain.not_squashed is not None
    assert plain.not_squashed.startswith("the squashed layer would drop no file bytes")
    assert (plain.layers_after, plain.compressed_kept) == (4, 4)
    assert [x[1] for x in _layers(f"oci:{tmp_path / 'from-save'}")] == [
        x[1] for x in _layers(saved)
    ]

    # what the user asked to remove is removed, whatever the size
    doc = [folder("usr/share/doc/app"), file("usr/share/doc/app/NOTES", 10)]
    source = oci(tmp_path / "doc", [BASE, *CLEAN, doc], level=9)
    removed = _slim(source, f"oci:{tmp_path / 'nodoc'}", same_tree=False, remove=("docs",))
    assert (removed.not_squashed, removed.layers_after) == (None, 2)
    assert removed.removed == {"docs": (1, 10)}


def test_hidden_bytes_that_compress_to_nothing_are_not_worth_a_bigger_image(
    tmp_path: Path,
) -> None:
    """100 kB of zeros deleted by a later layer (a few hundred bytes compressed) over text
    compressed with gzip -9: the squashed layer would drop them but store more, so the layers
    stay, and the report gives the hidden bytes it left; --even-if-larger drops them."""
    zeros = [file("app/zeros.bin", bytes(100_000)), *CLEAN[0]]
    source = oci(tmp_path / "src", [BASE, zeros, [whiteout("app/zeros.bin")], *CLEAN[1:]],
                 level=9)  # fmt: skip
    kept = _slim(source, f"oci:{tmp_path / 'kept'}")
    assert kept.not_squashed is not None
    assert "with 100,000 hidden bytes to drop" in kept.not_squashed
    assert kept.layers_after == 5
    forced = _slim(source, f"oci:{tmp_path / 'forced'}", even_if_larger=True)
    assert forced.layers_after == 2
    assert forced.tar_after < kept.tar_after - 100_000
    assert forced.compressed_after > kept.compressed_after


def test_slimming_a_slim_image_changes_nothing(tmp_path: Path) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["overwrite-and-delete"]])
    once = _slim(source, f"oci:{tmp_path / 'once'}")
    assert once.not_squashed is None
    assert once.layers_after == 2
    twice = _slim(f"oci:{tmp_path / 'once'}", f"oci:{tmp_path / 'twice'}")
    assert twice.not_squashed is not None
    assert twice.manifest_digest == once.manifest_digest


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_plain_tar_base_layers_are_compressed_with_the_same_diff_id(
    tmp_path: Path, how: str
) -> None:
    """A docker save archive holds plain tars: the kept base layer is compressed for an OCI
    layout, an OCI archive and a docker-archive (as --compression says), its DiffID, which
    nodes share, unchanged; a base already compressed is copied byte for byte."""
    source = docker_archive(tmp_path / "src.tar", [BASE, *IMAGES["overwrite-and-delete"]])
    (digest, diff_id, media, size), *_ = _layers(source)
    assert digest == diff_id
    assert media.endswith(".tar")
    magic = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}[how]
    for dest in (f"oci:{tmp_path / 'layout'}", f"oci-archive:{tmp_path / 'oci.tar'}",
                 f"docker-archive:{tmp_path / 'save.tar'}:app:slim"):  # fmt: skip
        result = _slim(source, dest, compression=how)
        assert result.compressed_kept == 1
        written = parse_destination(dest)
        layers = _layers(f"{written.scheme}:{written.path}")
        assert layers[0][1] == diff_id
        assert layers[0][2] == LAYER_TYPES[how]
        assert layers[0][3] < size / 2
        assert result.compressed_after == sum(x[3] for x in layers)
    blob = (
        tmp_path / "layout" / "blobs" / "sha256" / _layers(f"oci:{tmp_path / 'layout'}")[0][0][7:]
    )
    assert blob.read_bytes().startswith(magic)
    # the base of that docker-archive is compressed now: copied as it is
    again = _slim(f"docker-archive:{tmp_path / 'save.tar'}", f"oci:{tmp_path / 'again'}",
                  compression="gzip")  # fmt: skip
    assert again.compressed_kept == 0
    assert _layers(f"oci:{tmp_path / 'again'}")[0] == _layers(f"oci:{tmp_path / 'layout'}")[0]


def test_a_docker_import_base_is_kept(tmp_path: Path) -> None:
    """An image built on a ``docker import`` base: the base's history entries have no
    instruction (only "Imported from -") and no CMD follows them; those layers are the base,
    kept as they are, for slim and for ``keelhaul image``."""
    own = IMAGES["overwrite-and-delete"]
    for base_layers, layers in ((1, [BASE, *own]), (2, [BASE, own[0], *own[1:]])):
        source = oci(tmp_path / f"src{base_layers}", layers, base=base_layers, imported=True)
        result = _slim(source, f"oci:{tmp_path / f'out{base_layers}'}")
        assert result.kept == base_layers
        assert "the base image's" in result.why_kept
        assert result.layers_after == base_layers + 1
        assert _layers(f"oci:{tmp_path / f'out{base_layers}'}")[:base_layers] == _layers(
            source)[:base_layers]  # fmt: skip
        for reference in (source, f"oci:{tmp_path / f'out{base_layers}'}"):
            with open_image(reference) as image:
                base = analyse(image).base
            assert base.base_layers == base_layers, reference
            assert "docker import" in base.evidence
    # the imported layer alone is the base of nothing: its one layer squashed gains nothing
    alone = _slim(oci(tmp_path / "alone", [BASE], imported=True, level=9),
                  f"oci:{tmp_path / 'one'}")  # fmt: skip
    assert (alone.kept, alone.layers_after) == (0, 1)
    assert alone.not_squashed is not None
