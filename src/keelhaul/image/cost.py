"""What an image costs a month, in money a manager understands: registry storage, transfer on
pulls, and the time each pull takes; and what fixing the waste would save.

The model, stated so anyone can redo it:

- storage: the compressed size (what the registry keeps) x regions x price per GB-month;
  for layers stored as plain tars (``docker:`` and ``docker-archive:``, as ``docker save``
  writes them) the compressed size is estimated, gzip level 6 over a sample of the layers'
  bytes (:mod:`keelhaul.image.compressed_estimate`), and the output says so;
- transfer: the compressed size x pulls a month x price per GB (pulls a month = pulls per
  node per day x nodes x 30);
- pull time: compressed size / bandwidth, plus unpacking the uncompressed size at
  :data:`UNPACK_MB_S` (a node writes layers to disk after downloading them);
- the saving: bytes the findings would remove (uncompressed waste, caches...) scaled to
  compressed bytes by the image's own compression ratio, through the same formulas.

Defaults (overridable with options or the ``image-*`` keys of ``[settings]``, see
docs/settings.md): $0.10
per GB-month stored (Amazon ECR and Google Artifact Registry list prices), $0.09 per GB
transferred (internet egress, the first price tier of the three large clouds; pulls inside
one region often cost nothing: set it to 0), 100 Mbit/s, 1 region, 10 nodes pulling once a
day. GB here is 10^9 bytes, as the clouds bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from keelhaul.errors import ConfigError
from keelhaul.image.compressed_estimate import CompressedSize
from keelhaul.settings import Settings

if TYPE_CHECKING:
    from keelhaul.image.report import ImageReport

GB = 1_000_000_000
#: How fast a node unpacks a pulled layer to disk, MB/s (gzip inflate plus writes).
UNPACK_MB_S = 150.0
DAYS_A_MONTH = 30


@dataclass(frozen=True)
class CostSettings:
    storage_price: float = 0.10
    """Dollars per GB-month stored."""
    transfer_price: float = 0.09
    """Dollars per GB pulled."""
    bandwidth_mbps: float = 100.0
    """Megabits per second a node pulls at."""
    pulls_per_day: float = 1.0
    """Pulls per node per day (deploys, autoscaling, evicted caches)."""
    nodes: int = 10
    regions: int = 1
    """Registries (regions) the image is replicated to."""

    def with_overrides(self, values: Mapping[str, object]) -> CostSettings:
        """These settings with the keys of a configuration table (``storage-price``...)."""
        known = {f.name.replace("_", "-"): f.name for f in fields(self)}
        changes: dict[str, float | int] = {}
        for key, value in values.items():
            name = known.get(key)
            if name is None:
                raise ConfigError(f"[image.cost]: unknown key {key!r}; known: {', '.join(known)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"[image.cost]: {key} must be a number >= 0")
            changes[name] = int(value) if name in ("nodes", "regions") else float(value)
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Cost:
    compressed_bytes: int
    uncompressed_bytes: int
    storage_month: float
    transfer_month: float
    pulls_month: float
    pull_seconds: float
    transferred_gb_month: float

    @property
    def total_month(self) -> float:
        return self.storage_month + self.transfer_month


def cost(compressed: int, uncompressed: int, settings: CostSettings) -> Cost:
    pulls = settings.pulls_per_day * settings.nodes * DAYS_A_MONTH
    gb = compressed / GB
    seconds = 0.0
    if settings.bandwidth_mbps > 0:
        seconds = compressed * 8 / (settings.bandwidth_mbps * 1_000_000)
    seconds += uncompressed / (UNPACK_MB_S * 1_000_000)
    return Cost(
        compressed, uncompressed,
        storage_month=gb * settings.regions * settings.storage_price,
        transfer_month=gb * pulls * settings.transfer_price,
        pulls_month=pulls, pull_seconds=seconds, transferred_gb_month=gb * pulls,
    )  # fmt: skip


@dataclass(frozen=True)
class Saving:
    before: Cost
    after: Cost

    @property
    def month(self) -> float:
        return self.before.total_month - self.after.total_month

    @property
    def pull_seconds(self) -> float:
        return self.before.pull_seconds - self.after.pull_seconds


def saving(compressed: int, uncompressed: int, removable: int, settings: CostSettings) -> Saving:
    """The cost now, and once ``removable`` uncompressed bytes are gone."""
    removable = max(0, min(removable, uncompressed))
    ratio = compressed / uncompressed if uncompressed else 1.0
    after_compressed = max(0, compressed - round(removable * ratio))
    return Saving(cost(compressed, uncompressed, settings),
                  cost(after_compressed, uncompressed - removable, settings))  # fmt: skip


def money(dollars: float) -> str:
    """``$1,234.50``, ``$0.42``, ``<$0.01``."""
    if 0 < dollars < 0.01:
        return "<$0.01"
    return f"${dollars:,.2f}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


#: What the saving counts as removable besides the waste: the kinds of unwanted content a fix
#: takes out without changing what the image does (caches, dumps, logs, VCS folders).
REMOVABLE_KINDS = frozenset({"package-cache", "core-dump", "logs", "vcs"})


def settings_from(config: Settings, options: Mapping[str, object | None]) -> CostSettings:
    """The configuration's ``image-*`` keys (the schema's defaults where unset), then the
    command line."""
    chosen = CostSettings(
        storage_price=config.image_storage_price,
        transfer_price=config.image_transfer_price,
        bandwidth_mbps=config.image_bandwidth_mbps,
        pulls_per_day=config.image_pulls_per_day,
        nodes=config.image_nodes,
        regions=config.image_regions,
    )
    return chosen.with_overrides({k: v for k, v in options.items() if v is not None})


def cost_json(
    s: Saving, settings: CostSettings, removable: int, compressed: CompressedSize | None = None
) -> dict[str, object]:
    """The cost as JSON; ``compressed`` (when given) says how the compressed size priced was
    found: ``measured`` (the compressed blobs), ``estimated`` (layers stored as plain tars,
    gzip level 6 over a sample) or ``uncompressed`` (plain tars not sampled)."""

    def one(c: Cost) -> dict[str, object]:
        return {"compressed_bytes": c.compressed_bytes, "uncompressed_bytes": c.uncompressed_bytes,
                "storage_month": round(c.storage_month, 4),
                "transfer_month": round(c.transfer_month, 4),
                "total_month": round(c.total_month, 4), "pulls_month": c.pulls_month,
                "pull_seconds": round(c.pull_seconds, 2),
                "transferred_gb_month": round(c.transferred_gb_month, 3)}  # fmt: skip

    return {
        "settings": {f.name.replace("_", "-"): getattr(settings, f.name) for f in fields(settings)},
        "now": one(s.before),
        "after_fixes": one(s.after),
        "removable_bytes": removable,
        "saving_month": round(s.month, 4),
        "saving_pull_seconds": round(s.pull_seconds, 2),
        "compressed": None if compressed is None else compressed.to_json(),
    }


def removable(report: ImageReport) -> int:
    """Bytes a fix takes out without changing what the image does: the waste, and the
    caches, dumps, logs and VCS folders it ships."""
    return report.waste.total + sum(g.size for g in report.unwanted if g.kind in REMOVABLE_KINDS)
