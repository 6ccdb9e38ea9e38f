"""``keelhaul fleet report``: a snapshot read back, priced and compared with the one before.

- **Stored bytes**: without sharing, the sum of every image's compressed layers (what
  ``keelhaul image`` reports for each); with sharing, each layer blob (by digest) counted
  once, which is what the registry keeps. The dedup ratio is the first over the second.
- **Cost a month** (:mod:`keelhaul.image.cost`, its settings): storage priced on the bytes
  stored with sharing; transfer, as for each image alone (every pull of an image fetches
  its layers). ``per-image sum`` is what the images' own ``keelhaul image`` reports add up to.
- **Waste**: each image's own (hidden files, duplicates), and the saving a fix would make.
- **Bases**: images grouped by the top layer of their base and its release, with its end of
  life and, when the scan had a vulnerability database, the packages of the base's layers and
  the vulnerabilities known in them (matched once per base, from its layers' facts).
- **Change**: images added, removed and rebuilt since the previous snapshot, and the totals'
  differences.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from keelhaul.fleet.store import LEVELS, Store, StoreError
from keelhaul.image import cost as cost_model
from keelhaul.image.base import past
from keelhaul.image.checks import human
from keelhaul.image.html import PAGE_END, cards, page_start, rows

__all__ = ["FleetReport", "build_report", "render"]

FORMATS = ("text", "json", "markdown", "html")


@dataclass(frozen=True)
class ImageLine:
    source: str
    platform: str
    compressed_size: int
    tar_size: int
    waste: int
    cost_month: float
    saving_month: float


@dataclass(frozen=True)
class BaseLine:
    os: str
    base_top: str | None
    images: int
    end_of_life: str | None
    past_end_of_life: bool | None = None
    packages: int | None = None
    """Packages in the base's layers; None when the scan matched no vulnerabilities."""
    vulnerabilities: dict[str, int] | None = None
    """Known vulnerabilities in those packages by severity, worst first (the levels of
    ``keelhaul vulns``); None when the scan had no vulnerability database."""

    @property
    def vulnerability_total(self) -> int | None:
        return None if self.vulnerabilities is None else sum(self.vulnerabilities.values())


@dataclass(frozen=True)
class Totals:
    images: int
    incomplete: int
    layers: int
    """Unique layers (DiffIDs) of the complete images."""
    stored_unshared: int
    """Compressed bytes, every image counted whole."""
    stored_shared: int
    """Compressed bytes, each layer blob once."""
    uncompressed_unshared: int
    uncompressed_shared: int
    waste: int
    cost_month_unshared: float
    """The sum of each image's own monthly cost."""
    cost_month: float
    """Storage on the shared bytes plus every image's transfer."""
    storage_month: float
    transfer_month: float
    saving_month: float

    @property
    def dedup_ratio(self) -> float:
        return self.stored_unshared / self.stored_shared if self.stored_shared else 1.0


@dataclass(frozen=True)
class Change:
    previous: int
    added: list[str]
    removed: list[str]
    rebuilt: list[str]
    stored_shared: int
    cost_month: float
    waste: int


@dataclass(frozen=True)
class FleetReport:
    snapshot: int
    finished: str
    seconds: float
    layer_tasks: int
    totals: Totals
    top_waste: list[ImageLine]
    top_cost: list[ImageLine]
    bases: list[BaseLine]
    findings: dict[str, int]
    incomplete: list[tuple[str, str]]
    change: Change | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["totals"]["dedup_ratio"] = round(self.totals.dedup_ratio, 4)
        data["incomplete"] = [{"source": s, "error": e} for s, e in self.incomplete]
        return data


def _snapshots(store: Store) -> list[int]:
    return [int(row[0]) for row in store.rows("SELECT id FROM snapshots ORDER BY id")]


def build_report(
    store: Store,
    settings: cost_model.CostSettings,
    snapshot: int | None = None,
    top: int = 10,
) -> FleetReport:
    """The report on ``snapshot`` (default the latest), compared with the one before it."""
    ids = _snapshots(store)
    if not ids:
        raise StoreError(f"{store.where}: no snapshot yet; run `keelhaul fleet scan` first")
    chosen = snapshot if snapshot is not None else ids[-1]
    if chosen not in ids:
        raise StoreError(f"{store.where}: no snapshot {chosen} (there are {ids[0]}..{ids[-1]})")
    finished, seconds, layer_tasks = store.rows(
        "SELECT finished, seconds, layer_tasks FROM snapshots WHERE id = ?", (chosen,)
    )[0]
    totals, lines = _totals(store, chosen, settings)
    earlier = [i for i in ids if i < chosen]
    change = None
    if earlier:
        before, _ = _totals(store, earlier[-1], settings)
        change = _change(store, earlier[-1], chosen, before, totals)
    matched: dict[str, tuple[int, dict[str, int]]] = {
        str(row[0]): (int(row[1]), dict(zip(LEVELS, map(int, row[2:]), strict=True)))
        for row in store.rows(
            "SELECT base_top, packages, " + ", ".join(f"level_{level}" for level in LEVELS)
            + " FROM base_vulnerabilities WHERE snapshot_id = ?",
            (chosen,),
        )
    }  # fmt: skip
    bases = [
        BaseLine(
            os or "unknown",
            top_layer,
            int(count),
            eol,
            past(eol),
            *matched.get(str(top_layer), (None, None)),
        )
        for os, top_layer, eol, count in store.rows(
            "SELECT os, base_top, end_of_life, COUNT(*) FROM images"
            " WHERE snapshot_id = ? AND complete = 1 GROUP BY os, base_top, end_of_life"
            " ORDER BY COUNT(*) DESC, os",
            (chosen,),
        )
    ]
    findings = {
        str(code): int(count)
        for code, count in store.rows(
            "SELECT f.code, COUNT(*) FROM findings f JOIN images i ON f.image_id = i.id"
            " WHERE i.snapshot_id = ? GROUP BY f.code ORDER BY COUNT(*) DESC, f.code",
            (chosen,),
        )
    }
    incomplete = [
        (str(source), str(error or ""))
        for source, error in store.rows(
            "SELECT source, error FROM images WHERE snapshot_id = ? AND complete = 0"
            " ORDER BY source",
            (chosen,),
        )
    ]
    return FleetReport(
        snapshot=chosen, finished=str(finished), seconds=float(seconds),
        layer_tasks=int(layer_tasks), totals=totals,
        top_waste=sorted(lines, key=lambda x: (-x.waste, x.source))[:top],
        top_cost=sorted(lines, key=lambda x: (-x.cost_month, x.source))[:top],
        bases=bases, findings=findings, incomplete=incomplete, change=change,
        settings={k.replace("_", "-"): v for k, v in asdict(settings).items()},
    )  # fmt: skip


def _totals(
    store: Store, snapshot: int, settings: cost_model.CostSettings
) -> tuple[Totals, list[ImageLine]]:
    rows = store.rows(
        "SELECT source, platform, compressed_size, tar_size, waste, removable, complete"
        " FROM images WHERE snapshot_id = ?",
        (snapshot,),
    )
    lines: list[ImageLine] = []
    unshared = uncompressed = waste = incomplete = 0
    cost_sum = transfer = saving = 0.0
    for source, platform, compressed, tar, wasted, removable, complete in rows:
        unshared += int(compressed)
        if not complete:
            incomplete += 1
            continue
        priced = cost_model.saving(int(compressed), int(tar), int(removable), settings)
        lines.append(ImageLine(str(source), str(platform), int(compressed), int(tar),
                               int(wasted), priced.before.total_month, priced.month))  # fmt: skip
        uncompressed += int(tar)
        waste += int(wasted)
        cost_sum += priced.before.total_month
        transfer += priced.before.transfer_month
        saving += priced.month
    shared = int(store.rows(
        "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT l.digest, l.compressed_size AS size"
        " FROM image_layers l JOIN images i ON l.image_id = i.id WHERE i.snapshot_id = ?) blobs",
        (snapshot,),
    )[0][0])  # fmt: skip
    layers, uncompressed_shared = store.rows(
        "SELECT COUNT(*), COALESCE(SUM(tar_size), 0) FROM layers WHERE snapshot_id = ?",
        (snapshot,),
    )[0]
    storage = cost_model.cost(shared, int(uncompressed_shared), settings).storage_month
    return Totals(
        images=len(rows), incomplete=incomplete, layers=int(layers),
        stored_unshared=unshared, stored_shared=shared,
        uncompressed_unshared=uncompressed, uncompressed_shared=int(uncompressed_shared),
        waste=waste, cost_month_unshared=cost_sum, cost_month=storage + transfer,
        storage_month=storage, transfer_month=transfer, saving_month=saving,
    ), lines  # fmt: skip


def _change(store: Store, before: int, after: int, old: Totals, new: Totals) -> Change:
    def images(snapshot: int) -> dict[tuple[str, str], str]:
        return {
            (str(source), str(platform)): str(digest or "")
            for source, platform, digest in store.rows(
                "SELECT source, platform, COALESCE(manifest_digest, config_digest) FROM images"
                " WHERE snapshot_id = ?",
                (snapshot,),
            )
        }

    was, now = images(before), images(after)
    return Change(
        previous=before,
        added=sorted(s for s, _ in now.keys() - was.keys()),
        removed=sorted(s for s, _ in was.keys() - now.keys()),
        rebuilt=sorted(s for (s, p), d in now.items() if (s, p) in was and was[(s, p)] != d),
        stored_shared=new.stored_shared - old.stored_shared,
        cost_month=new.cost_month - old.cost_month,
        waste=new.waste - old.waste,
    )


# -- rendering ------------------------------------------------------------------------------


def render(report: FleetReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(report)
    if fmt == "html":
        return _html(report)
    return _text(report)


def _end_of_life(base: BaseLine) -> str:
    if base.end_of_life is None:
        return ""
    if base.past_end_of_life:
        return f" (PAST end of life since {base.end_of_life})"
    return f" (end of life {base.end_of_life})"


def _vulnerabilities(base: BaseLine) -> str:
    """``3 vulnerabilities (1 critical, 2 high) in 120 packages``; empty when not matched."""
    if base.vulnerabilities is None:
        return ""
    counts = ", ".join(f"{n} {level}" for level, n in base.vulnerabilities.items() if n)
    total = base.vulnerability_total
    return (f"{total} vulnerabilit{'y' if total == 1 else 'ies'}{f' ({counts})' if counts else ''} "
            f"in {base.packages} packages")  # fmt: skip


def _signed(value: int) -> str:
    return ("+" if value >= 0 else "-") + human(abs(value))


def _money_signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + cost_model.money(abs(value))


def _text(r: FleetReport) -> str:
    t = r.totals
    out = [
        f"keelhaul fleet: snapshot {r.snapshot} ({r.finished}, scanned in {r.seconds:.1f} s)",
        f"  images: {t.images} ({t.incomplete} incomplete); unique layers: {t.layers} "
        f"(layer tasks: {r.layer_tasks})",
        f"  stored (compressed): {human(t.stored_shared)} with layer sharing, "
        f"{human(t.stored_unshared)} without (dedup ratio {t.dedup_ratio:.2f}x)",
        f"  uncompressed: {human(t.uncompressed_shared)} shared, "
        f"{human(t.uncompressed_unshared)} without sharing",
        f"  waste: {human(t.waste)}; fixing it saves {cost_model.money(t.saving_month)} a month",
        f"  cost a month: {cost_model.money(t.cost_month)} (storage "
        f"{cost_model.money(t.storage_month)}, transfer {cost_model.money(t.transfer_month)}); "
        f"per-image sum {cost_model.money(t.cost_month_unshared)}",
        "",
        "Top images by waste:",
        *(f"  {human(i.waste):>10}  {i.source}  (saves {cost_model.money(i.saving_month)}/month)"
          for i in r.top_waste),
        "",
        "Top images by cost a month:",
        *(f"  {cost_model.money(i.cost_month):>10}  {i.source}  ({human(i.compressed_size)})"
          for i in r.top_cost),
        "",
        "Base images in use:",
        *(f"  {b.images:>4}  {b.os}"
          f"{_end_of_life(b)}"
          f"{f'; {_vulnerabilities(b)}' if b.vulnerabilities is not None else ''}"
          f"{f'  top layer {b.base_top[:19]}' if b.base_top else ''}" for b in r.bases),
    ]  # fmt: skip
    if r.findings:
        out += ["", "Findings by rule:", *(f"  {n:>5}  {code}" for code, n in r.findings.items())]
    if r.incomplete:
        out += ["", "Incomplete images:", *(f"  {s}: {e}" for s, e in r.incomplete)]
    if r.change is not None:
        c = r.change
        out += [
            "",
            f"Since snapshot {c.previous}: {len(c.added)} added, {len(c.removed)} removed, "
            f"{len(c.rebuilt)} rebuilt; stored {_signed(c.stored_shared)}, cost "
            f"{_money_signed(c.cost_month)} a month, waste {_signed(c.waste)}",
            *(f"  + {s}" for s in c.added),
            *(f"  - {s}" for s in c.removed),
            *(f"  ~ {s}" for s in c.rebuilt),
        ]
    return "\n".join(out) + "\n"


def _markdown(r: FleetReport) -> str:
    t = r.totals
    out = [
        f"## keelhaul fleet: snapshot {r.snapshot}",
        "",
        "| images | incomplete | unique layers | stored (shared) | stored (unshared) | dedup |"
        " waste | cost a month | saving a month |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {t.images} | {t.incomplete} | {t.layers} | {human(t.stored_shared)} | "
        f"{human(t.stored_unshared)} | {t.dedup_ratio:.2f}x | {human(t.waste)} | "
        f"{cost_model.money(t.cost_month)} | {cost_model.money(t.saving_month)} |",
        "",
        "### Top images by waste",
        "",
        "| image | waste | saving a month |",
        "|---|---|---|",
        *(f"| `{i.source}` | {human(i.waste)} | {cost_model.money(i.saving_month)} |"
          for i in r.top_waste),
        "",
        "### Top images by cost",
        "",
        "| image | compressed | cost a month |",
        "|---|---|---|",
        *(f"| `{i.source}` | {human(i.compressed_size)} | {cost_model.money(i.cost_month)} |"
          for i in r.top_cost),
        "",
        "### Base images",
        "",
        "| base | images | end of life | vulnerabilities |",
        "|---|---|---|---|",
        *(f"| {b.os} | {b.images} | {_end_of_life(b).strip(' ()')} | {_vulnerabilities(b)} |"
          for b in r.bases),
    ]  # fmt: skip
    if r.change is not None:
        c = r.change
        out += [
            "",
            f"### Since snapshot {c.previous}",
            "",
            f"{len(c.added)} added, {len(c.removed)} removed, {len(c.rebuilt)} rebuilt; stored "
            f"{_signed(c.stored_shared)}, cost {_money_signed(c.cost_month)} a month, waste "
            f"{_signed(c.waste)}.",
        ]
    if r.incomplete:
        out += ["", "### Incomplete images", "", *(f"- `{s}`: {e}" for s, e in r.incomplete)]
    return "\n".join(out) + "\n"


def _bars(r: FleetReport) -> str:
    """Stored bytes with and without layer sharing, as two bars (inline SVG)."""
    t = r.totals
    widest = max(t.stored_unshared, t.stored_shared, 1)
    parts = ['<svg role="img" aria-label="stored bytes" width="100%" viewBox="0 0 1000 70">']
    for k, (label, value, color) in enumerate((
        ("without sharing", t.stored_unshared, "#57606a"),
        ("with sharing", t.stored_shared, "#1a7f37"),
    )):  # fmt: skip
        y, width = 5 + 32 * k, max(1.0, 700 * value / widest)
        parts.append(f'<text x="0" y="{y + 17}">{label}</text><rect x="130" y="{y}" '
                     f'width="{width:.1f}" height="24" fill="{color}" rx="3"/><text '
                     f'x="{136 + width:.1f}" y="{y + 17}">{escape(human(value))}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _html(r: FleetReport) -> str:
    """One self-contained page (no script, no external asset; the style and frame of
    ``keelhaul image --format html``); every name from the registry or the database escaped."""
    t = r.totals
    money = cost_model.money
    out = [
        page_start(f"keelhaul fleet: snapshot {r.snapshot}"),
        f"<h1>keelhaul fleet: snapshot {r.snapshot}</h1>",
        f"<p class='sub'>{escape(r.finished)} · scanned in {r.seconds:.1f} s · "
        f"{r.layer_tasks} layer tasks</p>",
        cards([
            ("images", f"{t.images}"), ("incomplete", f"{t.incomplete}"),
            ("unique layers", f"{t.layers}"), ("stored", human(t.stored_shared)),
            ("without sharing", human(t.stored_unshared)),
            ("dedup ratio", f"{t.dedup_ratio:.2f}x"), ("waste", human(t.waste)),
            ("cost a month", money(t.cost_month)), ("saving a month", money(t.saving_month)),
        ]),
        "<h2>Stored bytes</h2>",
        _bars(r),
        f"<p>Cost a month: <b>{escape(money(t.cost_month))}</b> (storage "
        f"{escape(money(t.storage_month))} on the shared bytes, transfer "
        f"{escape(money(t.transfer_month))}); the images' own reports add up to "
        f"{escape(money(t.cost_month_unshared))}. Uncompressed: {escape(human(t.uncompressed_shared))}"
        f" shared, {escape(human(t.uncompressed_unshared))} without sharing.</p>",
        "<h2>Top images by waste</h2><table><tr><th>image</th><th class='n'>waste</th>"
        "<th class='n'>saving a month</th></tr>",
        rows([[f"<td><code>{escape(i.source)}</code></td>",
               f"<td class='n'>{escape(human(i.waste))}</td>",
               f"<td class='n'>{escape(money(i.saving_month))}</td>"] for i in r.top_waste]),
        "</table><h2>Top images by cost</h2><table><tr><th>image</th>"
        "<th class='n'>compressed</th><th class='n'>cost a month</th></tr>",
        rows([[f"<td><code>{escape(i.source)}</code></td>",
               f"<td class='n'>{escape(human(i.compressed_size))}</td>",
               f"<td class='n'>{escape(money(i.cost_month))}</td>"] for i in r.top_cost]),
        "</table><h2>Base images in use</h2><table><tr><th>base</th><th class='n'>images</th>"
        "<th>end of life</th><th>vulnerabilities</th><th>top layer</th></tr>",
        rows([[f"<td>{escape(b.os)}</td>", f"<td class='n'>{b.images}</td>",
               f"<td class='{'error' if b.past_end_of_life else ''}'>"
               f"{escape(_end_of_life(b).strip(' ()'))}</td>",
               f"<td>{escape(_vulnerabilities(b))}</td>",
               f"<td><code>{escape((b.base_top or '')[:19])}</code></td>"] for b in r.bases]),
        "</table>",
    ]  # fmt: skip
    if r.findings:
        out.append("<h2>Findings by rule</h2><table><tr><th>rule</th><th class='n'>findings"
                   "</th></tr>")  # fmt: skip
        out.append(rows([[f"<td>{escape(code)}</td>", f"<td class='n'>{n}</td>"]
                         for code, n in r.findings.items()]))  # fmt: skip
        out.append("</table>")
    if r.incomplete:
        out.append("<h2>Incomplete images</h2><table><tr><th>image</th><th>why</th></tr>")
        out.append(rows([[f"<td><code>{escape(s)}</code></td>", f"<td>{escape(e)}</td>"]
                         for s, e in r.incomplete]))  # fmt: skip
        out.append("</table>")
    if r.change is not None:
        c = r.change
        out.append(
            f"<h2>Since snapshot {c.previous}</h2><p>{len(c.added)} added, {len(c.removed)} "
            f"removed, {len(c.rebuilt)} rebuilt; stored {escape(_signed(c.stored_shared))}, "
            f"cost {escape(_money_signed(c.cost_month))} a month, waste "
            f"{escape(_signed(c.waste))}.</p>"
        )
        listed = [("added", s) for s in c.added] + [("removed", s) for s in c.removed]
        listed += [("rebuilt", s) for s in c.rebuilt]
        if listed:
            out.append("<table><tr><th>what</th><th>image</th></tr>")
            out.append(rows([[f"<td>{what}</td>", f"<td><code>{escape(s)}</code></td>"]
                             for what, s in listed]))  # fmt: skip
            out.append("</table>")
    out.append(PAGE_END)
    return "".join(out)
