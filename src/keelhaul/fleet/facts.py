"""A layer's scan kept between fleet scans: the per-layer cache
(:mod:`keelhaul.image.layer_cache`, keyed by DiffID, analyzer name and version) holds what
a layer task found, so next week's scan reads only the layers that are new.

The scan is stored as zlib-compressed JSON (paths, node tuples with the content hash in hex,
the heads of the files the checks read in base64, secrets, problems, and the package
catalogers' facts when the scan gathered them, in their own encoding): data, never code, so
a cache file written by someone else can at worst make a report wrong, not run anything.
A damaged or foreign entry decodes to ValueError and the layer is read again.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from keelhaul.image.analysis import LayerScan
from keelhaul.image.filesystem import Node
from keelhaul.image.layer_walk import Analyzer, LayerAnalysis
from keelhaul.image.model import Layer
from keelhaul.image.secrets_in_image import SecretHit
from keelhaul.sbom.image_files import LayerFacts

__all__ = ["LayerScanRecord"]

_FORMAT = 1


class LayerScanRecord(Analyzer[LayerScan]):
    """Not an analyzer that walks (the layer task walks with the image report's analyzers):
    the name, version and codec the per-layer cache keys and stores a whole scan by."""

    name = "fleet-layer-scan"
    cached = True

    def __init__(self, version: str) -> None:
        self.version = f"{_FORMAT}:{version}"

    def start(self, layer: Layer) -> LayerAnalysis[LayerScan]:
        raise NotImplementedError("a record of the layer task's scan, not a walk of its own")

    def encode(self, result: LayerScan) -> bytes:
        document = {
            "entries": [[path, list(node[:7]), node.digest.hex()] for path, node in result.entries],
            "whiteouts": result.whiteouts, "opaques": result.opaques,
            "tar_size": result.tar_size, "content_size": result.content_size,
            "heads": {p: base64.b64encode(d).decode("ascii") for p, d in result.heads.items()},
            "secrets": [[h.where, h.path, h.label, h.redacted] for h in result.secrets],
            "problems": [list(p) for p in result.problems],
        }  # fmt: skip
        if isinstance(result.facts, LayerFacts):
            document["facts"] = base64.b64encode(result.facts.to_bytes()).decode("ascii")
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)

    def decode(self, data: bytes) -> LayerScan:
        """The scan :meth:`encode` stored, as the layer at index 0 (callers relocate it)."""
        try:
            document: dict[str, Any] = json.loads(zlib.decompress(data))
            entries = [
                (str(path), Node(int(n[0]), str(n[1]), int(n[2]), int(n[3]), int(n[4]),
                                 int(n[5]), str(n[6]), bytes.fromhex(digest)))
                for path, n, digest in document["entries"]
            ]  # fmt: skip
            return LayerScan(
                index=0, entries=entries,
                whiteouts=[str(w) for w in document["whiteouts"]],
                opaques=[str(o) for o in document["opaques"]],
                tar_size=int(document["tar_size"]), content_size=int(document["content_size"]),
                heads={str(p): base64.b64decode(d) for p, d in document["heads"].items()},
                secrets=[SecretHit(str(w), str(p), 0, str(label), str(r))
                         for w, p, label, r in document["secrets"]],
                problems=[(str(a), str(b)) for a, b in document["problems"]],
                facts=(LayerFacts.from_bytes(base64.b64decode(document["facts"]))
                       if "facts" in document else None),
            )  # fmt: skip
        except (zlib.error, ValueError, KeyError, TypeError, IndexError) as err:
            raise ValueError(f"a damaged layer scan: {err}") from None
