"""The fuzzing targets: for each kind of input, its mutant strategy and the property that
must hold for every mutant. ``tests/fuzz/test_fuzz.py`` runs each with a short budget,
``bench/fuzz.py`` with a long one."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz import properties, strategies
from tests.image import source_images as si

FILES = [{"etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
          "usr/lib/python3/dist-packages/flask-2.0.0.dist-info/METADATA":
              b"Metadata-Version: 2.1\nName: flask\nVersion: 2.0.0\n"},
         {".wh.etc": b"", "app/x": b"x" * 10}]  # fmt: skip


@st.composite
def layouts(draw: st.DrawFn) -> tuple[str, Any]:
    """(which JSON of an OCI layout to change, its mutant)."""
    built = si.image(FILES)
    built.seal()
    which = draw(st.sampled_from(["manifest", "config", "index"]))
    base = {"manifest": built.manifest, "config": built.config,
            "index": {"schemaVersion": 2, "manifests": []}}[which]  # fmt: skip
    return which, draw(strategies.json_mutants(base))


def _oci_layout(example: tuple[tuple[str, Any], bool]) -> None:
    """A layout whose manifest, config or index is changed, with its digests made right again
    (``redigest``, so the change gets past the digest checks) or left wrong."""
    (which, doc), redigest = example
    with tempfile.TemporaryDirectory() as folder:
        layout = Path(folder) / "lay"
        built = si.image(FILES)
        si.write_layout(layout, [built])
        _replace(layout, which, doc, redigest)
        properties.layout_holds(layout, Path(folder))


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _replace(layout: Path, which: str, doc: Any, redigest: bool) -> None:
    data = json.dumps(doc).encode()
    index = json.loads((layout / "index.json").read_bytes())
    if which == "index":
        (layout / "index.json").write_bytes(data)
        return
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, manifest_digest).read_bytes())
    if which == "config":
        old = manifest["config"]["digest"]
        if not redigest:
            _blob(layout, old).write_bytes(data)
            return
        manifest["config"]["digest"] = si.sha(data)
        manifest["config"]["size"] = len(data)
        _blob(layout, si.sha(data)).write_bytes(data)
        data = si.canonical(manifest)
    if not redigest:
        _blob(layout, manifest_digest).write_bytes(data)
        return
    _blob(layout, si.sha(data)).write_bytes(data)
    index["manifests"][0]["digest"] = si.sha(data)
    index["manifests"][0]["size"] = len(data)
    (layout / "index.json").write_bytes(si.canonical(index))


def _in_folder(check: Callable[..., None]) -> Callable[[Any], None]:
    def run(example: Any) -> None:
        with tempfile.TemporaryDirectory() as folder:
            args = example if isinstance(example, tuple) else (example,)
            check(*args, Path(folder))

    return run


#: name -> (the mutants, the property each must satisfy)
TARGETS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], None]]] = {
    "dockerfile": (strategies.dockerfiles(), _in_folder(properties.dockerfile_holds)),
    "manifest": (strategies.manifests(), _in_folder(properties.manifest_holds)),
    "config": (strategies.configs(), _in_folder(properties.config_holds)),
    "osv": (strategies.osv_records(), _in_folder(properties.osv_record_holds)),
    "oci-layout": (st.tuples(layouts(), st.booleans()), _oci_layout),
}
