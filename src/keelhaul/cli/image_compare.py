"""``keelhaul image A --compare B``: two images side by side (sizes, layers, waste, packages,
cost), for example the image before and after ``keelhaul fix``."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from keelhaul.cli.output import Output
from keelhaul.image import compressed_estimate
from keelhaul.image import cost as cost_model
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.checks import human
from keelhaul.image.report import ImageReport
from keelhaul.sbom.catalog import Inventory, catalog
from keelhaul.sbom.image_files import PACKAGE_FACTS, LayerCache, LayerFacts, image_files


@dataclass(frozen=True)
class Side:
    reference: str
    report: ImageReport
    packages: Counter[str]
    saving: cost_model.Saving
    inventory: Inventory


def _side(reference: str, platform: str | None, costs: cost_model.CostSettings,
          options: Options | None, cache: LayerCache, sources: Mapping[str, Any]) -> Side:  # fmt: skip
    from keelhaul.image.sources import open_image

    # one walk per layer: the analysis gathers the package facts too (and fills the cache)
    gathered: list[LayerFacts] = []
    with open_image(reference, platform=platform, **sources) as image:
        watching = compressed_estimate.watch(image)  # plain-tar layers: estimate the gzip size
        with_facts = dataclasses.replace(options or Options(), facts=PACKAGE_FACTS)
        report = analyse(image, with_facts, None, facts=gathered)
        files, _ = image_files(image, cache, gathered)
    inventory = catalog(files, lock_files=False)
    packages = Counter(p.type for p in inventory.packages)
    compressed = watching.compressed_size([(x.diff_id, x.media_type, x.compressed_size, x.tar_size)
                                           for x in report.layers])  # fmt: skip
    saving = cost_model.saving(compressed.bytes, report.tar_size, cost_model.removable(report),
                               costs)  # fmt: skip
    return Side(reference, report, packages, saving, inventory)


def _rows(a: Side, b: Side) -> list[tuple[str, str, str, str]]:
    def size(x: int, y: int) -> tuple[str, str, str]:
        change = f"{(y - x) / x:+.0%}" if x else ""
        return human(x), human(y), change

    def count(x: int, y: int) -> tuple[str, str, str]:
        return str(x), str(y), f"{y - x:+d}"

    def money(x: float, y: float) -> tuple[str, str, str]:
        return cost_model.money(x), cost_model.money(y), cost_model.money(y - x).replace("$-", "-$")

    ra, rb = a.report, b.report
    rows = [
        ("compressed", *size(ra.compressed_size, rb.compressed_size)),
        ("uncompressed", *size(ra.tar_size, rb.tar_size)),
        ("layers", *count(len(ra.layers), len(rb.layers))),
        ("files", *count(ra.files, rb.files)),
        ("wasted", *size(ra.waste.total, rb.waste.total)),
        ("efficiency", f"{ra.waste.efficiency:.1%}", f"{rb.waste.efficiency:.1%}", ""),
        ("findings", *count(len(ra.findings), len(rb.findings))),
        ("packages", *count(sum(a.packages.values()), sum(b.packages.values()))),
    ]
    for kind in sorted(set(a.packages) | set(b.packages)):
        rows.append((f"  {kind}", *count(a.packages[kind], b.packages[kind])))
    rows += [
        ("cost a month", *money(a.saving.before.total_month, b.saving.before.total_month)),
        ("pull time", cost_model.duration(a.saving.before.pull_seconds),
         cost_model.duration(b.saving.before.pull_seconds), ""),
    ]  # fmt: skip
    return rows


@dataclass(frozen=True)
class VulnChange:
    """What the second image fixed and introduced, by (advisory id, package)."""

    before: int
    after: int
    fixed: list[dict[str, Any]]
    introduced: list[dict[str, Any]]


def _vuln_change(a: Side, b: Side) -> VulnChange | None:
    """Both images against the vulnerability database (``$KEELHAUL_DB`` or the cache), when
    there is one: no database, no vulnerability rows."""
    from keelhaul.vulns import database, scan

    path = database.default_path()
    if not path.is_file():
        return None
    try:
        with database.Database(path) as db:
            first = scan.scan(db, a.inventory).vulnerabilities
            second = scan.scan(db, b.inventory).vulnerabilities
    except database.DatabaseError:
        return None

    def keyed(vulns: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for v in vulns:
            package = v.package.binary or v.package.name
            out[(v.id, package)] = {"id": v.id, "package": package, "version": v.package.version,
                                    "severity": v.severity.level, "fixed": v.fixed}  # fmt: skip
        return out

    ka, kb = keyed(first), keyed(second)
    return VulnChange(len(ka), len(kb), [ka[k] for k in ka if k not in kb],
                      [kb[k] for k in kb if k not in ka])  # fmt: skip


def compare(out: Output, first: str, second: str, platform: str | None, fmt: str,
            costs: cost_model.CostSettings, options: Options | None,
            sources: Mapping[str, Any] | None = None) -> int:  # fmt: skip
    """Both images side by side; ``sources``: ``open_image``'s limits and insecure registries."""
    cache = LayerCache()
    try:
        a = _side(first, platform, costs, options, cache, sources or {})
        b = _side(second, platform, costs, options, cache, sources or {})
    finally:
        cache.close()
    rows = _rows(a, b)
    change = _vuln_change(a, b)
    if change is not None:
        rows.append(("vulnerabilities", str(change.before), str(change.after),
                     f"{change.after - change.before:+d}"))  # fmt: skip
    if fmt == "json":
        document: dict[str, Any] = {
            "a": first, "b": second,
            "rows": [{"what": w.strip(), "a": x, "b": y, "change": c} for w, x, y, c in rows],
            "cost": {"a": cost_model.cost_json(a.saving, costs, 0)["now"],
                     "b": cost_model.cost_json(b.saving, costs, 0)["now"]},
        }  # fmt: skip
        if change is not None:
            document["vulnerabilities"] = {"fixed": change.fixed, "introduced": change.introduced}
        out.out.print_json(json.dumps(document))
        return 0
    listed = [] if change is None else [
        *(("fixed", v) for v in change.fixed), *(("introduced", v) for v in change.introduced)]  # fmt: skip
    if fmt == "markdown":
        lines = [f"| | `{first}` | `{second}` | change |", "|---|---|---|---|"]
        lines += [f"| {w.strip()} | {x} | {y} | {c} |" for w, x, y, c in rows]
        if listed:
            lines += ["", "| vulnerability | package | severity | in |", "|---|---|---|---|"]
            lines += [f"| {v['id']} | {v['package']} {v['version']} | {v['severity']} | {how} |"
                      for how, v in listed]  # fmt: skip
        out.out.print("\n".join(lines), markup=False, highlight=False)
        return 0
    table = Table("", first, second, "change", box=None)
    for row in rows:
        table.add_row(*row)
    out.out.print(table)
    if listed:
        vulns = Table("vulnerability", "package", "severity", "", box=None)
        for how, v in listed:
            vulns.add_row(v["id"], f"{v['package']} {v['version']}", v["severity"], how)
        out.out.print(vulns)
    return 0
