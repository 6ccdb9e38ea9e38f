"""Hostile layers: never extracted, never followed out of the root, bounded, and every error
names the layer."""

from __future__ import annotations

import io
import tarfile

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.image.analysis import LayerError, Options, analyse
from keelhaul.image.tarstream import FILE, TarError, TarLimits, TarReader
from tests.image.synthetic import Spec, file, image, layer_tar, symlink


def raw_tar(*members: tuple[tarfile.TarInfo, bytes | None], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def info(
    name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tarfile.TarInfo:
    item = tarfile.TarInfo(name)
    item.size, item.type, item.linkname = size, kind, link
    return item


def codes_of(data: bytes, **options: object) -> list[str]:
    r = analyse(image([Spec(data)]), Options(workers=1, **options))  # type: ignore[arg-type]
    return sorted(f.code for f in r.findings)


def test_path_traversal_is_clamped_and_reported() -> None:
    data = raw_tar((info("../../etc/passwd", 5), b"root\n"), (info("ok", 2), b"hi"))
    r = analyse(image([Spec(data)]), Options(workers=1))
    hostile = [f for f in r.findings if f.code == "KH340"]
    assert hostile
    assert "climbs out" in hostile[0].message
    assert {p.path for p in r.largest} == {"/etc/passwd", "/ok"}  # clamped at the root


def test_absolute_path_is_reported() -> None:
    assert "KH340" in codes_of(raw_tar((info("/etc/cron.d/x", 3), b"abc")))


def test_symlink_loop_does_not_hang() -> None:
    members = [
        symlink("etc/os-release", "a"),
        symlink("etc/a", "b"),
        symlink("etc/b", "os-release"),
    ]
    r = analyse(image([members]), Options(workers=1))
    assert r.base.os_id is None


def test_symlink_out_of_the_root_stays_inside() -> None:
    members = [symlink("etc/os-release", "../../../../etc/host-os-release")]
    r = analyse(image([members]), Options(workers=1))
    assert r.base.os_id is None


def test_truncated_stream_names_the_layer() -> None:
    data = layer_tar([file("big", 100_000)])[:50_000]
    with pytest.raises(LayerError, match=r"layer 1 \(.*truncated"):
        analyse(image([Spec(data)]), Options(workers=1))


def test_bad_checksum() -> None:
    data = bytearray(layer_tar([file("a", 10)]))
    data[0] ^= 0xFF
    with pytest.raises(LayerError, match="checksum"):
        analyse(image([Spec(bytes(data))]), Options(workers=1))


def test_absurd_header_size_is_refused() -> None:
    header = bytearray(info("x", 1).tobuf(tarfile.GNU_FORMAT))
    header[124:136] = b"\x80" + (1 << 70).to_bytes(11, "big")  # base-256, 2**70 bytes
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    with pytest.raises(LayerError, match="absurd"):
        analyse(image([Spec(bytes(header) + bytes(1024))]), Options(workers=1))


@pytest.mark.parametrize("field", [b"-1\0", b"+1\0", b"1_0\0", b"9\0"])
def test_signed_or_odd_octal_sizes_are_refused(field: bytes) -> None:
    """int() would read "-1" as a negative size: a hostile header must not get that far."""
    header = bytearray(info("x", 1).tobuf(tarfile.GNU_FORMAT))
    header[124:136] = field.rjust(12, b" ")  # space-padded, as some writers do
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    with pytest.raises(LayerError, match="bad size field"):
        analyse(image([Spec(bytes(header) + bytes(1024))]), Options(workers=1))


@pytest.mark.parametrize("value", ["-5", " 7", "1_0", "\u0663"])
def test_signed_pax_ids_are_refused(value: str) -> None:
    item = info("x", 1)
    item.pax_headers = {"uid": value}
    data = raw_tar((item, b"x"), fmt=tarfile.PAX_FORMAT)
    with pytest.raises(LayerError, match="bad pax uid"):
        analyse(image([Spec(data)]), Options(workers=1))


def test_too_many_entries() -> None:
    data = layer_tar([file(f"f{i}", b"") for i in range(50)])
    limits = TarLimits(max_entries=10)
    with pytest.raises(LayerError, match="more than 10 entries"):
        analyse(image([Spec(data)]), Options(workers=1, limits=limits))


def test_too_long_path() -> None:
    data = raw_tar((info("a/" * 3000 + "x", 1), b"x"), fmt=tarfile.PAX_FORMAT)
    with pytest.raises(LayerError, match="path of more than 4096"):
        analyse(image([Spec(data)]), Options(workers=1))


def test_oversized_pax_header() -> None:
    item = info("x", 1)
    item.pax_headers = {"comment": "y" * (2 << 20)}
    data = raw_tar((item, b"x"), fmt=tarfile.PAX_FORMAT)
    with pytest.raises(LayerError, match="pax extended header"):
        analyse(image([Spec(data)]), Options(workers=1))


def test_decompression_bomb_is_bounded_by_the_compressed_size() -> None:
    data = layer_tar([file(f"zeros{i}", b"\0" * 400_000) for i in range(5)])
    bomb = Spec(data, compressed_size=1000)
    with pytest.raises(LayerError, match="decompression bomb"):
        analyse(image([bomb]), Options(workers=1, max_ratio=100, ratio_floor=0))


def test_huge_sparse_gnu_member_is_refused_or_bounded() -> None:
    item = info("sparse", 0)
    item.type = tarfile.GNUTYPE_SPARSE
    header = bytearray(item.tobuf(tarfile.GNU_FORMAT))
    header[483:495] = b"\x80" + (1 << 60).to_bytes(11, "big")  # realsize: 1 EiB of holes
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    r = analyse(image([Spec(bytes(header) + bytes(1024))]), Options(workers=1))
    assert r.content_size == 0  # only stored bytes count; the apparent size is not trusted


def test_garbage_is_an_error_not_a_crash() -> None:
    with pytest.raises(KeelhaulError):
        analyse(image([Spec(b"\x01" * 2048)]), Options(workers=1))


def test_empty_layer_is_fine() -> None:
    r = analyse(image([Spec(b"")]), Options(workers=1))
    assert r.layers[0].entries == 0


def test_reader_chunks_and_skips() -> None:
    data = layer_tar([file("a", b"hello"), file("b", b"world" * 1000), file("c", b"!")])
    reader = TarReader(io.BytesIO(data))
    seen = {}
    for entry in reader.entries():
        assert entry.kind == FILE
        if entry.name != "b":
            seen[entry.name] = b"".join(bytes(c) for c in reader.chunks())
    assert seen == {"a": b"hello", "c": b"!"}


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_in_every_format(fmt: int) -> None:
    name = "deep/" * 30 + "file.txt"  # 158 bytes: prefix field, GNU L record or pax path
    data = raw_tar((info(name, 3), b"abc"), fmt=fmt)
    names = [e.name for e in TarReader(io.BytesIO(data)).entries()]
    assert names == [name]


def test_tar_error_is_a_user_error() -> None:
    assert issubclass(TarError, KeelhaulError)
