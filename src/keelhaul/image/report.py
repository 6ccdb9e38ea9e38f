"""What ``keelhaul image`` found, as plain data: per-layer numbers, waste, what should not ship,
the base, and the findings. Every value is JSON-serialisable through :meth:`ImageReport.to_json`
so later reports (cost, comparison, HTML) read the same object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from keelhaul.findings import Finding


@dataclass(frozen=True)
class PathBytes:
    path: str
    """Absolute, as it appears in the container (``/var/lib/apt/lists/...``)."""
    layer: int
    size: int


@dataclass(frozen=True)
class LayerReport:
    index: int
    digest: str
    diff_id: str
    media_type: str
    compressed_size: int
    tar_size: int
    """Bytes of the uncompressed tar stream (headers and padding included)."""
    content_size: int
    """Bytes of file content the layer holds."""
    entries: int
    files_added: int
    files_modified: int
    files_deleted: int
    created_by: str | None
    """The history entry that made the layer (redacted)."""
    instruction: str | None = None
    """The Dockerfile instruction it maps to (``-f``), best effort."""
    instruction_line: int | None = None
    base: bool = False
    """The layer belongs to the base image."""
    shadowed_size: int = 0
    """Bytes of this layer's files that later layers overwrite or delete (its waste)."""
    hides_size: int = 0
    """Bytes of lower layers' files this layer overwrites or deletes."""


@dataclass(frozen=True)
class DiveMetrics:
    """dive's numbers, computed as dive computes them (see :mod:`keelhaul.image.waste`)."""

    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float


@dataclass(frozen=True)
class Waste:
    overwritten: int
    """Bytes of file versions a later layer replaced (N-1 copies of a file written N times)."""
    deleted: int
    """Bytes of files (and directory contents) a later layer deleted."""
    duplicates: int
    """Bytes of identical content at more than one shipped path (all but one copy)."""
    total: int
    efficiency: float
    """Shipped bytes that are needed / all file bytes stored (1.0: nothing wasted)."""
    user_wasted_percent: float
    """Waste caused in the layers above the base, over those layers' bytes (0-100)."""
    dive: DiveMetrics


@dataclass(frozen=True)
class DuplicateGroup:
    size: int
    count: int
    wasted: int
    paths: tuple[str, ...]
    layers: tuple[int, ...] = ()
    """The layers (0-based) holding a copy, every copy counted."""


@dataclass(frozen=True)
class GrowingPath:
    path: str
    layers: tuple[int, ...]
    sizes: tuple[int, ...]
    wasted: int


@dataclass(frozen=True)
class UnwantedGroup:
    """Files of one kind that should not ship (a package cache, a toolchain, .git...)."""

    kind: str
    label: str
    size: int
    count: int
    layers: tuple[int, ...]
    paths: tuple[PathBytes, ...]
    """The folders that hold the most of them (``layer``: the last layer writing there)."""
    by_layer: tuple[tuple[int, int], ...] = ()
    """(layer, bytes) for each layer the files come from."""


@dataclass(frozen=True)
class BaseReport:
    os_id: str | None
    version_id: str | None
    pretty_name: str | None
    end_of_life: str | None
    """ISO date when the release stops getting security updates, when known."""
    past_end_of_life: bool | None
    base_layers: int | None
    """How many of the bottom layers are the base image's, when that can be told."""
    base_size: int
    own_size: int
    evidence: str
    history_entries: int | None = None
    """How many of the first history entries (empty ones included) are the base image's."""


@dataclass(frozen=True)
class ImageReport:
    source: str
    platform: str
    config_digest: str
    manifest_digest: str | None
    compressed_size: int
    tar_size: int
    content_size: int
    """Bytes of file content shipped (the merged filesystem)."""
    files: int
    layers: tuple[LayerReport, ...]
    waste: Waste
    duplicates: tuple[DuplicateGroup, ...]
    growing: tuple[GrowingPath, ...]
    unwanted: tuple[UnwantedGroup, ...]
    base: BaseReport
    largest: tuple[PathBytes, ...]
    config: dict[str, Any] = field(default_factory=dict)
    """The config's runtime settings (User, ExposedPorts, Healthcheck...), secrets redacted."""
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [finding_json(f) for f in self.findings]
        return data


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding of the image report: ``layer`` (1-based) in its location and its ``origin``
    (``base`` or ``own``) only when known."""
    loc = finding.location
    location: dict[str, Any] = {"path": loc.path, "line": loc.line, "column": loc.column}
    if loc.layer is not None:
        location["layer"] = loc.layer
    out: dict[str, Any] = {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "category": finding.category.value,
        "message": finding.message,
        "location": location,
    }
    if finding.origin is not None:
        out["origin"] = finding.origin.value
    return out
