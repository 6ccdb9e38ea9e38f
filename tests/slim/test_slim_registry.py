"""``keelhaul slim --output registry:NAME`` pushes with the registry client's auth (docker's
config.json): to a real registry on loopback asking for Basic auth, and to one asking for
Bearer tokens (which must then grant ``pull,push``); the pushed image reads back with the same
manifest digest and the same merged tree; without credentials it fails and says how to log in."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from keelhaul.image.sources import open_image
from keelhaul.slim.consolidate import SlimError
from keelhaul.slim.outputs import parse_destination
from keelhaul.slim.tree import merged_tree
from keelhaul.slim.write_image import SlimOptions, slim
from tests.registry.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    USER,
    BearerRegistry,
    Registry,
    auth_registry,
    bearer_registry,
    registry,
    skopeo,
)
from tests.slim.images import BASE, IMAGES, docker_archive, oci


def _login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))


def _push_and_read_back(tmp_path: Path, host: str, name: str) -> None:
    source = oci(tmp_path / "src", [BASE, *IMAGES["opaque"]])
    target = f"{host}/slim/{name}:1"
    with open_image(source) as image:
        done = slim(image, parse_destination(f"registry:{target}"), SlimOptions())
        before = merged_tree(image)
    with open_image(f"registry:{target}") as pushed:
        assert pushed.manifest_digest == done.manifest_digest
        assert len(pushed.layers) == done.layers_after
        assert merged_tree(pushed) == before
    # again, to another tag: the blobs are there already, only the manifest goes
    with open_image(source) as image:
        again = slim(image, parse_destination(f"registry:{host}/slim/{name}:2"), SlimOptions())
    assert again.manifest_digest == done.manifest_digest


def test_push_with_basic_auth(
    auth_registry: Registry,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nobody"))
    source = oci(tmp_path / "anonymous", [BASE, *IMAGES["opaque"]])
    with open_image(source) as image, pytest.raises(SlimError, match="docker login"):
        slim(image, parse_destination(f"registry:{auth_registry.host}/slim/x:1"), SlimOptions())
    _login(monkeypatch, tmp_path, auth_registry.host)
    _push_and_read_back(tmp_path, auth_registry.host, "basic")
    # from a docker save archive (plain-tar layers): the base is pushed compressed, as
    # --compression says, with the DiffID it had
    source = docker_archive(tmp_path / "saved.tar", [BASE, *IMAGES["overwrite-and-delete"]])
    target = f"{auth_registry.host}/slim/from-save:1"
    with open_image(source) as image:
        done = slim(image, parse_destination(f"registry:{target}"),
                    SlimOptions(compression="zstd"))  # fmt: skip
        before = merged_tree(image)
        diff_id = image.layers[0].diff_id
    assert done.compressed_kept == 1
    with open_image(f"registry:{target}") as pushed:
        assert pushed.layers[0].diff_id == diff_id
        assert pushed.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
        assert merged_tree(pushed) == before


def test_push_with_bearer_tokens(
    bearer_registry: BearerRegistry,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _login(monkeypatch, tmp_path, bearer_registry.host)
    _push_and_read_back(tmp_path, bearer_registry.host, "bearer")
