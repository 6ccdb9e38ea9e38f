"""Image findings know their layer and whether the base image brought them; --skip-base and
``[settings] image-skip-base`` leave the base's out of the report and the exit code."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from keelhaul.cli.image import command
from keelhaul.cli.output import Output
from keelhaul.findings import Origin
from keelhaul.image import checks
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.model import HistoryEntry, Image
from keelhaul.report import Report, render
from tests.image.synthetic import F, Spec, file, image


@pytest.fixture
def fake_sources(monkeypatch: pytest.MonkeyPatch) -> dict[str, Image]:
    """``keelhaul image`` opens these images by name instead of through the real sources."""
    images: dict[str, Image] = {}

    @contextlib.contextmanager
    def open_image(reference: str, **_: object) -> Iterator[Image]:
        yield images[reference]

    monkeypatch.setattr("keelhaul.image.sources.open_image", open_image)
    return images


APT_LISTS = [file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_"
                  "Packages.lz4", 8192)]  # fmt: skip
GIT = [file("app/.git/HEAD", b"ref: refs/heads/main\n"), file("app/.git/config", b"[core]\n"),
       file("app/main.py", b"print('hi')\n")]  # fmt: skip
#: Two base layers, the base's CMD, then the image's own layers: the base ends at entry 3.
HISTORY = (
    HistoryEntry("/bin/sh -c #(nop) ADD file:4b1f in / "),
    HistoryEntry("RUN /bin/sh -c apt-get update # buildkit"),
    HistoryEntry('/bin/sh -c #(nop)  CMD ["bash"]', empty_layer=True),
    HistoryEntry("COPY . /app # buildkit"),
    HistoryEntry("RUN /bin/sh -c true # buildkit"),
)


def based(own: list[F]) -> Image:
    """The base (a root file system, then its apt lists), then ``own`` and an empty layer."""
    layers = [Spec([file("etc/hostname", b"x\n")]), Spec(APT_LISTS), Spec(own),
              Spec([file("app/ok", b"ok\n")])]  # fmt: skip
    return image(layers, history=HISTORY)


def test_findings_carry_their_layer_and_origin() -> None:
    report = analyse(based(GIT), Options(workers=1))
    assert report.base.base_layers == 2
    assert report.base.history_entries == 3
    found = {f.code: f for f in report.findings}
    cache, vcs = found["KH303"], found["KH305"]
    assert (cache.location.layer, cache.origin) == (2, Origin.BASE)
    assert (vcs.location.layer, vcs.origin) == (3, Origin.OWN)
    assert (cache.location.line, cache.location.column) == (1, 1)
    assert str(vcs.location) == "test:image!/app/.git (layer 3)"


def test_origin_is_absent_when_the_base_is_unknown() -> None:
    history = tuple(h for h in HISTORY if not h.empty_layer)  # no CMD: no base to tell
    layers = [Spec([file("etc/hostname", b"x\n")]), Spec(APT_LISTS), Spec(GIT), Spec([])]
    report = analyse(image(layers, history=history), Options(workers=1))
    assert report.base.base_layers is None
    assert {f.code for f in report.findings} >= {"KH303", "KH305"}
    assert all(f.origin is None for f in report.findings)
    assert {f.code: f.location.layer for f in report.findings}["KH303"] == 2


@pytest.mark.parametrize(
    ("layers", "base_layers", "expected"),
    [
        ([0, 1], 2, Origin.BASE),
        ([1, 2], 2, Origin.OWN),
        ([3], 2, Origin.OWN),
        ([], 2, None),
        ([0], None, None),
        ([0], 0, Origin.OWN),
    ],
)
def test_origin_of(layers: list[int], base_layers: int | None, expected: Origin | None) -> None:
    assert checks.origin_of(layers, base_layers) == expected


def test_setuid_files_of_the_base_and_accounts_get_a_layer() -> None:
    shadow = b"root:*:19000:0:99999:7:::\nguest::19000:0:99999:7:::\n"
    base = [file("etc/hostname", b"x\n"), file("usr/bin/su", b"\x7fELF", mode=0o4755),
            file("etc/shadow", shadow)]  # fmt: skip
    layers = [Spec(base), Spec(APT_LISTS), Spec(GIT), Spec([])]
    report = analyse(image(layers, history=HISTORY), Options(workers=1))
    found = {f.code: f for f in report.findings}
    assert found["KH322"].origin == Origin.BASE  # every setuid file is the base's
    assert found["KH322"].location.layer is None
    assert (found["KH326"].location.layer, found["KH326"].origin) == (1, Origin.BASE)
    assert found["KH326"].location.path == "test:image!/etc/shadow"


def test_secret_in_own_history_is_own() -> None:
    history = (*HISTORY[:3], HistoryEntry("ARG NPM_TOKEN=npm_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
                                          empty_layer=True), *HISTORY[3:])  # fmt: skip
    layers = [Spec([file("etc/hostname", b"x\n")]), Spec(APT_LISTS), Spec(GIT), Spec([])]
    report = analyse(image(layers, history=history), Options(workers=1))
    (secret,) = [f for f in report.findings if f.code == "KH314"]
    assert secret.origin == Origin.OWN


def test_text_report_marks_and_counts_base_findings() -> None:
    found = analyse(based(GIT), Options(workers=1)).findings
    text = render("text", Report(findings=found, files=["test:image"], rules=checks.rule_infos()))
    lines = text.splitlines()
    cache = next(line for line in lines if "KH303" in line)
    assert cache.startswith("test:image!/var/lib/apt/lists (layer 2): warning KH303 "
                            "package-cache-shipped [base]: ")  # fmt: skip
    vcs = next(line for line in lines if "KH305" in line)
    assert vcs.startswith("test:image!/app/.git (layer 3): warning KH305 vcs-folder-shipped: ")
    assert "(1 from the base image)" in lines[-3]
    assert ":2:1" not in text


def invoke(args: list[str], tmp_path: Path) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of ``keelhaul image ARGS``."""
    with contextlib.chdir(tmp_path):
        result = CliRunner().invoke(command, args, obj=Output(color=False),
                                    standalone_mode=False)  # fmt: skip
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    code = result.return_value if isinstance(result.return_value, int) else 0
    return code, result.stdout, result.stderr


def cli(args: list[str], tmp_path: Path) -> tuple[int, dict[str, dict[str, object]]]:
    code, out, _ = invoke(["img", "--format", "json", *args], tmp_path)
    return code, {f["code"]: f for f in json.loads(out)["findings"]}


def test_without_skip_base_both_are_reported(
    fake_sources: dict[str, Image], tmp_path: Path
) -> None:
    fake_sources["img"] = based(GIT)
    code, found = cli(["--no-config", "--fail-on", "warning"], tmp_path)
    assert code == 1
    assert set(found) == {"KH303", "KH305"}
    assert found["KH303"]["origin"] == "base"
    assert found["KH303"]["location"] == {"path": "test:image!/var/lib/apt/lists", "line": 1,
                                          "column": 1, "layer": 2}  # fmt: skip
    assert found["KH305"]["origin"] == "own"
    assert found["KH305"]["location"]["layer"] == 3  # type: ignore[index]


def test_skip_base_keeps_only_the_own_findings(
    fake_sources: dict[str, Image], tmp_path: Path
) -> None:
    fake_sources["img"] = based(GIT)
    code, found = cli(["--no-config", "--fail-on", "warning", "--skip-base"], tmp_path)
    assert set(found) == {"KH305"}
    assert code == 1  # the own .git still fails
    _, _, err = invoke(["img", "--no-config", "--skip-base"], tmp_path)
    assert "1 finding(s) from the base image left out (--skip-base)" in err


@pytest.mark.parametrize(("flags", "expected"), [([], 1), (["--skip-base"], 0)])
def test_the_exit_code_follows(
    fake_sources: dict[str, Image], tmp_path: Path, flags: list[str], expected: int
) -> None:
    fake_sources["img"] = based([file("app/main.py", b"print('hi')\n")])  # nothing of its own
    code, found = cli(["--no-config", "--fail-on", "warning", *flags], tmp_path)
    assert code == expected
    assert ("KH303" in found) == (not flags)


@pytest.mark.parametrize(
    ("setting", "flags", "codes"),
    [
        ("true", [], {"KH305"}),
        ("false", [], {"KH303", "KH305"}),
        ("true", ["--no-skip-base"], {"KH303", "KH305"}),
        ("false", ["--skip-base"], {"KH305"}),
    ],
)
def test_skip_base_from_the_configuration(
    fake_sources: dict[str, Image], tmp_path: Path, setting: str, flags: list[str], codes: set[str]
) -> None:
    fake_sources["img"] = based(GIT)
    config = tmp_path / "keelhaul.toml"
    config.write_text(f"[settings]\nimage-skip-base = {setting}\n")
    _, found = cli(["--config", str(config), *flags], tmp_path)
    assert set(found) == codes


def test_skip_base_setting_must_be_a_boolean(
    fake_sources: dict[str, Image], tmp_path: Path
) -> None:
    fake_sources["img"] = based(GIT)
    config = tmp_path / "keelhaul.toml"
    config.write_text('[settings]\nimage-skip-base = "yes"\n')
    with pytest.raises(
        Exception, match=r"keelhaul\.toml: settings\.image-skip-base: expected true or false"
    ):
        invoke(["img", "--config", str(config)], tmp_path)


def test_skip_base_is_in_the_help() -> None:
    text = CliRunner().invoke(command, ["--help"]).output
    assert "--skip-base" in text
    assert "image-skip-base" in text


@pytest.mark.parametrize("fmt", ["sarif", "gitlab", "checkstyle", "junit", "github", "concise"])
def test_every_format_shows_the_layer(
    fake_sources: dict[str, Image], tmp_path: Path, fmt: str
) -> None:
    fake_sources["img"] = based(GIT)
    _, out, _ = invoke(["img", "--format", fmt, "--no-config"], tmp_path)
    assert "layer 3" in out or '"layer": 3' in out


def test_html_shows_layer_and_origin(fake_sources: dict[str, Image], tmp_path: Path) -> None:
    fake_sources["img"] = based(GIT)
    _, page, _ = invoke(["img", "--format", "html", "--no-config"], tmp_path)
    assert "<th class='n'>layer</th><th>from</th>" in page
    assert "<td class='n'>2</td><td>base</td>" in page
    assert "<td class='n'>3</td><td>own</td>" in page
