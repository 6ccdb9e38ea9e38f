"""Waste, layer numbers and the merged filesystem, on images whose answer is known by
construction."""

from __future__ import annotations

from keelhaul.image.analysis import Options, analyse
from keelhaul.image.report import ImageReport
from tests.image.synthetic import (
    Spec,
    file,
    folder,
    hardlink,
    image,
    opaque,
    symlink,
    whiteout,
)

MB = 1 << 20


def report(*layers: list) -> ImageReport:  # type: ignore[type-arg]
    return analyse(image(layers), Options(waste_min_bytes=1000, workers=1))


def codes(r: ImageReport) -> list[str]:
    return sorted(f.code for f in r.findings)


def test_overwrite_in_a_later_layer_wastes_the_old_version() -> None:
    r = report([file("app/data.bin", MB)], [file("app/data.bin", MB)])
    assert r.waste.overwritten == MB
    assert r.waste.deleted == 0
    assert r.waste.total == MB
    assert r.content_size == MB
    assert r.waste.efficiency == 0.5
    assert r.layers[0].shadowed_size == MB
    assert r.layers[1].hides_size == MB
    assert (r.layers[1].files_added, r.layers[1].files_modified) == (0, 1)
    assert "KH300" in codes(r)


def test_n_copies_waste_n_minus_one_but_dive_counts_all() -> None:
    r = report(*[[file("var/log/app.log", MB)] for _ in range(4)])
    assert r.waste.overwritten == 3 * MB
    assert r.waste.dive.wasted_bytes == 4 * MB  # dive counts the kept copy too
    assert r.waste.dive.efficiency == 0.25
    assert r.growing[0].path == "/var/log/app.log"
    assert r.growing[0].layers == (0, 1, 2, 3)
    assert r.growing[0].wasted == 3 * MB
    assert "KH302" in codes(r)


def test_deleting_a_folder_wastes_its_files() -> None:
    r = report(
        [folder("d"), file("d/a", 1000), file("d/b", 2000), file("d/sub/c", 3000), file("keep", 5)],
        [whiteout("d")],
    )
    assert r.waste.deleted == 6000
    assert r.waste.overwritten == 0
    assert r.layers[1].files_deleted == 4  # d, d/a, d/b, d/sub/c
    assert r.content_size == 5
    assert r.files == 1
    # dive visits leaves only: the folder was no leaf in layer 1, so its whiteout is the
    # path's only sighting and dive sees no waste at all
    assert r.waste.dive.wasted_bytes == 0
    assert r.waste.dive.efficiency == 1.0


def test_whiteout_of_a_file_added_two_layers_earlier() -> None:
    r = report([file("etc/secret.conf", 4000)], [file("other", 10)], [whiteout("etc/secret.conf")])
    assert r.waste.deleted == 4000
    assert r.layers[2].hides_size == 4000
    assert r.layers[0].shadowed_size == 4000
    assert r.layers[1].hides_size == 0


def test_opaque_folder_hides_lower_children_only() -> None:
    r = report(
        [file("srv/old1", 1000), file("srv/old2", 1000), file("elsewhere", 7)],
        [folder("srv"), opaque("srv"), file("srv/new", 300)],
    )
    assert r.waste.deleted == 2000
    assert r.content_size == 307
    paths = {p.path for p in r.largest}
    assert paths == {"/srv/new", "/elsewhere"}


def test_whiteout_applies_to_lower_layers_not_its_own() -> None:
    r = report([file("a", 100)], [file("a", 50), whiteout("a")])
    # the layer's own 'a' survives; the lower one is hidden
    assert r.content_size == 50
    assert r.waste.total == 100


def test_identical_content_at_two_paths() -> None:
    blob = b"x" * 5000
    r = report([file("a/one", blob), file("b/two", blob), file("c/three", b"y" * 10)])
    assert r.waste.duplicates == 5000
    assert r.duplicates[0].paths == ("/a/one", "/b/two")
    assert r.duplicates[0].count == 2
    assert "KH301" in codes(r)


def test_hardlinks_are_not_duplicates() -> None:
    r = report([file("a", b"z" * 5000), hardlink("b", "a")])
    assert r.waste.duplicates == 0
    assert "KH341" not in codes(r)


def test_hardlink_to_a_missing_target_is_a_finding() -> None:
    r = report([hardlink("b", "nowhere")])
    assert "KH341" in codes(r)


def test_a_file_over_a_folder_hides_the_folder_contents() -> None:
    r = report([file("x/a", 100), file("x/b", 100)], [file("x", 3)])
    assert r.waste.overwritten == 200
    assert r.content_size == 3


def test_clean_image_has_no_waste() -> None:
    r = report([file("bin/app", 1000)], [file("etc/app.conf", 10)])
    assert r.waste.total == 0
    assert r.waste.efficiency == 1.0
    assert r.waste.dive.efficiency == 1.0
    assert codes(r) == []


def test_layer_numbers() -> None:
    r = report([file("a", 100), file("b", 200), folder("c")], [file("a", 10), whiteout("b")])
    first, second = r.layers
    assert (first.files_added, first.files_modified, first.files_deleted) == (3, 0, 0)
    assert (second.files_added, second.files_modified, second.files_deleted) == (0, 1, 1)
    assert first.content_size == 300
    assert second.content_size == 10
    assert first.tar_size % 512 == 0
    assert first.tar_size >= 3 * 512


def test_os_release_through_a_symlink() -> None:
    os_release = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
    r = report(
        [file("usr/lib/os-release", os_release), symlink("etc/os-release", "../usr/lib/os-release")]
    )
    assert r.base.os_id == "debian"
    assert r.base.version_id == "12"
    assert r.base.end_of_life == "2028-06-30"


def test_base_layers_from_history() -> None:
    img = image(
        [
            Spec([file("bin/sh", 1000)], "/bin/sh -c #(nop) ADD file:abc in / "),
            Spec([file("app/x", 10)], "COPY . /app # buildkit"),
        ]
    )
    from keelhaul.image.model import HistoryEntry

    history = (
        img.history[0],
        HistoryEntry('/bin/sh -c #(nop)  CMD ["bash"]', empty_layer=True),
        img.history[1],
        HistoryEntry('CMD ["app"]', empty_layer=True),
    )
    img = image(
        [Spec([file("bin/sh", 1000)], "ADD"), Spec([file("app/x", 10)], "COPY")], history=history
    )
    r = analyse(img)
    assert r.base.base_layers == 1
    assert r.base.base_size == 1000
    assert r.base.own_size == 10
    assert [layer.base for layer in r.layers] == [True, False]


def test_user_waste_counts_only_layers_above_the_base() -> None:
    from keelhaul.image.model import HistoryEntry

    history = (
        HistoryEntry("ADD rootfs"),
        HistoryEntry('CMD ["sh"]', empty_layer=True),
        HistoryEntry("RUN a"),
        HistoryEntry("RUN b"),
    )
    img = image([[file("base", 1000)], [file("app", 500)], [file("app", 500)]], history=history)
    r = analyse(img)
    assert r.base.base_layers == 1
    assert r.waste.user_wasted_percent == 50.0  # 500 hidden of 1000 user bytes


def test_parallel_and_serial_agree() -> None:
    layers = [
        [file(f"d{i}/f{j}", 100 * j + i) for j in range(20)] + [file("same", 1000)]
        for i in range(6)
    ]
    img = image(layers)
    serial = analyse(img, Options(workers=1))
    parallel = analyse(img, Options(workers=4))
    assert serial.to_json() == parallel.to_json()
