"""``keelhaul image``: formats, thresholds, exit codes, the Dockerfile mapping.

The sources are another module's work; these tests hand the command an Image through a
stand-in ``keelhaul.image.sources`` (monkeypatched into sys.modules)."""

from __future__ import annotations

import contextlib
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from keelhaul.cli.image import command
from keelhaul.cli.output import Output
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.image import instructions
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.model import HistoryEntry, Image
from tests.image.synthetic import Spec, file, image

MB = 1 << 20


def wasteful() -> Image:
    return image([[file("data.bin", MB)], [file("data.bin", MB)], [file("x", 10)]])


@pytest.fixture
def fake_sources(monkeypatch: pytest.MonkeyPatch) -> dict[str, Image]:
    images: dict[str, Image] = {}

    @contextlib.contextmanager
    def open_image(reference: str, platform: str | None = None) -> Iterator[Image]:
        yield images[reference]

    module = types.ModuleType("keelhaul.image.sources")
    module.open_image = open_image  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keelhaul.image.sources", module)
    return images


def invoke(args: list[str], tmp_path: Path) -> tuple[int, str]:
    runner = CliRunner()
    with contextlib.chdir(tmp_path):
        result = runner.invoke(command, args, obj=Output(color=False), standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    code = result.return_value if isinstance(result.return_value, int) else 0
    return code, result.output


def test_text_output(fake_sources: dict[str, Image], tmp_path: Path) -> None:
    fake_sources["img"] = wasteful()
    code, out = invoke(["img"], tmp_path)
    assert code == 0
    assert "Layers" in out
    assert "Waste" in out
    assert "KH300" in out


def test_json_output(fake_sources: dict[str, Image], tmp_path: Path) -> None:
    fake_sources["img"] = wasteful()
    code, out = invoke(["img", "--format", "json", "--no-config"], tmp_path)
    data = json.loads(out)
    assert data["waste"]["overwritten"] == MB
    assert [f["code"] for f in data["findings"]] == ["KH300"]
    assert code == 0


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], 0),
        (["--max-size", "1MB"], 1),
        (["--max-size", "1GiB"], 0),
        (["--max-waste", "500kB"], 1),
        (["--max-waste", "2MB"], 0),
        (["--min-efficiency", "60%"], 1),
        (["--min-efficiency", "0.4"], 0),
        (["--max-layers", "2"], 1),
        (["--max-layers", "3"], 0),
        (["--fail-on", "warning"], 1),
    ],
)
def test_thresholds_and_exit_codes(
    fake_sources: dict[str, Image], tmp_path: Path, flags: list[str], expected: int
) -> None:
    fake_sources["img"] = wasteful()
    code, out = invoke(["img", "--format", "json", "--no-config", *flags], tmp_path)
    assert code == expected
    if expected and "--fail-on" not in flags:
        assert "KH345" in out


def test_thresholds_from_config(fake_sources: dict[str, Image], tmp_path: Path) -> None:
    fake_sources["img"] = wasteful()
    (tmp_path / ".keelhaul.toml").write_text("[settings]\nimage-max-layers = 2\n")
    config = str(tmp_path / ".keelhaul.toml")
    code, _ = invoke(["img", "--format", "json", "--config", config], tmp_path)
    assert code == 1
    code, _ = invoke(["img", "--format", "json", "--config", config, "--max-layers", "5"], tmp_path)
    assert code == 0  # the command line wins


@pytest.mark.parametrize("fmt", ["sarif", "gitlab", "checkstyle", "junit", "github", "concise"])
def test_check_formats_carry_the_findings(
    fake_sources: dict[str, Image], tmp_path: Path, fmt: str
) -> None:
    fake_sources["img"] = wasteful()
    _, out = invoke(["img", "--format", fmt, "--no-config"], tmp_path)
    assert "KH300" in out or "layer-hides-bytes" in out


def test_bad_size_is_a_usage_error(fake_sources: dict[str, Image], tmp_path: Path) -> None:
    fake_sources["img"] = wasteful()
    with pytest.raises(Exception, match="not a size"):
        invoke(["img", "--max-size", "lots"], tmp_path)


DOCKERFILE = """\
FROM debian:12 AS build
RUN make
FROM debian:12
WORKDIR /app
COPY --from=build /out /app
RUN apt-get update && apt-get install -y curl
ENV X=1
CMD ["app"]
"""


def test_layers_map_to_the_final_stage_instructions() -> None:
    history = (
        HistoryEntry("/bin/sh -c #(nop) ADD file:123 in / "),
        HistoryEntry('/bin/sh -c #(nop)  CMD ["bash"]', empty_layer=True),
        HistoryEntry("WORKDIR /app"),
        HistoryEntry("COPY /out /app # buildkit"),
        HistoryEntry("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"),
        HistoryEntry("ENV X=1", empty_layer=True),
        HistoryEntry('CMD ["app"]', empty_layer=True),
    )
    layers = [
        Spec([file(f"l{i}", 10)], h.created_by) for i, h in enumerate(history) if not h.empty_layer
    ]
    img = image(layers, history=history)
    build = resolve(parse(DOCKERFILE))
    r = analyse(img, Options(workers=1), build)
    assert [layer.instruction_line for layer in r.layers] == [None, 4, 5, 6]
    assert r.layers[3].instruction
    assert r.layers[3].instruction.startswith("RUN apt-get")
    assert r.base.base_layers == 1


def test_history_kinds() -> None:
    assert instructions.history_kind("/bin/sh -c #(nop) COPY file:x in /a") == "COPY"
    assert instructions.history_kind("/bin/sh -c apt-get update") == "RUN"
    assert instructions.history_kind("|2 A=1 B=2 /bin/sh -c make") == "RUN"
    assert instructions.history_kind("RUN |1 A=1 /bin/sh -c make # buildkit") == "RUN"
    assert instructions.history_kind("ADD app.tar / # buildkit") == "ADD"


def docker_archive(folder: Path, layers: list[bytes], config_extra: dict[str, object]) -> Path:
    """A legacy ``docker save`` archive, written by hand."""
    import hashlib
    import io
    import tarfile

    diff_ids = ["sha256:" + hashlib.sha256(data).hexdigest() for data in layers]
    config = {"architecture": "amd64", "os": "linux", "config": config_extra,
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": f"RUN step {i}"} for i in range(len(layers))]}  # fmt: skip
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    names = [f"{d[7:19]}/layer.tar" for d in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": ["keelhaul-test/tiny:1"], "Layers": names}]
    path = folder / "tiny.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()),
                           (config_name, config_bytes), *zip(names, layers, strict=True)]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_cli_on_a_real_docker_archive(tmp_path: Path) -> None:
    pytest.importorskip("keelhaul.image.sources")
    from tests.image.synthetic import layer_tar, whiteout

    layers = [layer_tar([file("opt/big.bin", 2 * MB)]), layer_tar([whiteout("opt/big.bin")])]
    archive = docker_archive(tmp_path, layers, {"User": "app"})
    code, out = invoke([f"docker-archive:{archive}", "--format", "json", "--no-config",
                        "--max-waste", "1MB"], tmp_path)  # fmt: skip
    data = json.loads(out)
    assert code == 1
    assert data["waste"]["deleted"] == 2 * MB
    assert {f["code"] for f in data["findings"]} >= {"KH300", "KH345"}
    assert data["findings"][0]["location"]["path"].startswith("docker-archive:")
