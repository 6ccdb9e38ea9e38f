"""What ``keelhaul slim`` tells the user: layers, sizes before and after (tar and stored
blobs), the pull time and monthly cost of both from the cost model
(:mod:`keelhaul.image.cost`), and what was dropped or removed."""

from __future__ import annotations

from typing import Any

from keelhaul.image import cost as cost_model
from keelhaul.image.checks import human
from keelhaul.slim.removals import CATEGORIES, LISTED_BY_PACKAGES
from keelhaul.slim.write_image import SlimResult

__all__ = ["as_json", "lines"]


def _costs(result: SlimResult, settings: cost_model.CostSettings) -> tuple[cost_model.Cost, ...]:
    return (cost_model.cost(result.compressed_before, result.tar_before, settings),
            cost_model.cost(result.compressed_after, result.tar_after, settings))  # fmt: skip


def lines(result: SlimResult, settings: cost_model.CostSettings | None = None) -> list[str]:
    settings = settings or cost_model.CostSettings()
    before, after = _costs(result, settings)
    squashed = result.layers_before - result.kept
    out = [
        f"{result.source} -> {result.destination} ({result.manifest_digest})",
        f"layers: {result.layers_before} -> {result.layers_after} (kept {result.kept}: "
        f"{result.why_kept}; {squashed} squashed into one)"
        if squashed and result.not_squashed is None else
        f"layers: {result.layers_before} kept as they are (nothing to gain: "
        f"{result.not_squashed}; --even-if-larger squashes anyway)"
        if result.not_squashed is not None else
        f"layers: {result.layers_before} kept as they are (nothing to squash)",
        f"uncompressed: {human(result.tar_before)} -> {human(result.tar_after)}",
        f"stored: {human(result.compressed_before)} -> {human(result.compressed_after)}"
        + ("" if result.compressed_basis.startswith("measured") else
           f" ({result.compressed_basis})"),
        f"hidden bytes dropped: {human(max(0, result.own_content - result.copied - sum(b for _, b in result.removed.values())))}"
        f" ({result.whiteouts} whiteout(s) kept over the base)",
        f"pull: {cost_model.duration(before.pull_seconds)} -> "
        f"{cost_model.duration(after.pull_seconds)}; a month: "
        f"{cost_model.money(before.total_month)} -> {cost_model.money(after.total_month)}",
    ]  # fmt: skip
    if result.compressed_after > result.compressed_before:
        out.append("stored grows: the layers slim compresses (the squashed one, and plain tars "
                   "of the source) get --compression (gzip: ISA-L level 2 unless "
                   "--compression-level says 3, a few percent larger than gzip -6); "
                   "--compression zstd stores less")  # fmt: skip
    if result.compressed_kept:
        out.append(f"{result.compressed_kept} kept layer(s) stored as plain tars in the source "
                   "compressed for the destination (same DiffID, new blob digest)")  # fmt: skip
    if result.links_clamped:
        out.append(f"{result.links_clamped} symlink(s) climbed above the root: written "
                   "without the excess `..` (where a container stops them)")  # fmt: skip
    out.extend(check.line() for check in result.smoke)
    if len(result.smoke) == 1 and not result.source.startswith("docker:"):
        out.append("the original was not smoke-checked: it is not in the engine (slim it "
                   "from docker:NAME to check both)")  # fmt: skip
    for category, (files, size) in result.removed.items():
        note = " (package databases still list them)" if category in LISTED_BY_PACKAGES else ""
        out.append(f"removed {CATEGORIES[category]}: {files} files, {human(size)}{note}")
    return out


def as_json(result: SlimResult, settings: cost_model.CostSettings | None = None) -> dict[str, Any]:
    settings = settings or cost_model.CostSettings()
    before, after = _costs(result, settings)
    return {
        "source": result.source, "destination": result.destination,
        "manifest_digest": result.manifest_digest,
        "layers": {"before": result.layers_before, "after": result.layers_after,
                   "kept": result.kept, "why_kept": result.why_kept},
        "uncompressed": {"before": result.tar_before, "after": result.tar_after},
        "stored": {"before": result.compressed_before, "after": result.compressed_after,
                   "basis": result.compressed_basis},
        "own_content": result.own_content, "copied": result.copied,
        "whiteouts": result.whiteouts, "links_clamped": result.links_clamped,
        "not_squashed": result.not_squashed, "compressed_kept": result.compressed_kept,
        "removed": {k: {"files": f, "bytes": b} for k, (f, b) in result.removed.items()},
        "pull_seconds": {"before": before.pull_seconds, "after": after.pull_seconds},
        "cost_month": {"before": before.total_month, "after": after.total_month},
        "smoke": [{"image": s.image, "passed": s.passed, "how": s.how, "detail": s.detail}
                  for s in result.smoke],
    }  # fmt: skip
