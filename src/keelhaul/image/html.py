"""``keelhaul image --format html``: one self-contained page (no script, no network) with the
layer chart, the waste, what should not ship, the cost and the findings: what a person would
rather look at than read.

The page's frame (:func:`page_start`, :data:`PAGE_END`), its style, the summary cards and the
table rows are shared with ``keelhaul fleet report --format html``: every string that comes
from an image, a registry or a user goes through :func:`html.escape` on its way in."""

from __future__ import annotations

from html import escape
from typing import Any

from keelhaul.findings import Origin
from keelhaul.image.checks import human
from keelhaul.image.compressed_estimate import CompressedSize
from keelhaul.image.cost import Saving, duration, money
from keelhaul.image.report import ImageReport

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1b1f24;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #57606a; } .cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: .7rem 1rem; min-width: 150px; }
.card b { display: block; font-size: 1.3rem; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eaeef2;
         vertical-align: top; } td.n, th.n { text-align: right; white-space: nowrap; }
code { font-size: 12px; word-break: break-all; } .error { color: #cf222e; font-weight: 600; }
.warning { color: #9a6700; font-weight: 600; } .info, .style { color: #0969da; }
svg text { font: 12px system-ui, sans-serif; }
"""
_COLORS = ("#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#cf222e", "#57606a")


def _layer_chart(report: ImageReport) -> str:
    """Horizontal bars, one per layer: its content, and in red what later layers hide of it."""
    layers = report.layers
    if not layers:
        return "<p>No layers.</p>"
    widest = max(max(layer.content_size for layer in layers), 1)
    row, label_width, bar_width = 26, 60, 760
    height = row * len(layers) + 10
    parts = [f'<svg role="img" aria-label="layer sizes" width="100%" viewBox="0 0 '
             f'{label_width + bar_width + 120} {height}">']  # fmt: skip
    for k, layer in enumerate(layers):
        y = 5 + k * row
        width = max(1.0, bar_width * layer.content_size / widest)
        hidden = min(width, bar_width * layer.shadowed_size / widest)
        color = _COLORS[6] if layer.base else _COLORS[k % 6]
        title = escape(f"layer {layer.index + 1}: {human(layer.content_size)}; "
                       f"{layer.created_by or ''}"[:300])  # fmt: skip
        parts.append(
            f'<g><title>{title}</title>'
            f'<text x="0" y="{y + 15}">#{layer.index + 1}{" base" if layer.base else ""}</text>'
            f'<rect x="{label_width}" y="{y}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{color}" rx="3"/>'
            + (f'<rect x="{label_width + width - hidden:.1f}" y="{y}" width="{hidden:.1f}" '
               f'height="{row - 8}" fill="#cf222e" opacity=".75" rx="3"/>' if hidden else "")
            + f'<text x="{label_width + width + 6:.1f}" y="{y + 15}">'
            f"{escape(human(layer.content_size))}</text></g>"
        )  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def rows(cells: list[list[str]]) -> str:
    """Table rows from cells already made (``<td>...</td>``, their text escaped)."""
    return "".join("<tr>" + "".join(cells_) + "</tr>" for cells_ in cells)


def page_start(title: str) -> str:
    """The page up to the opening ``<body>``: no script, no external asset."""
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>")  # fmt: skip


PAGE_END = "<p class='sub'>Made by keelhaul.</p></body></html>\n"


def cards(items: list[tuple[str, str]]) -> str:
    """The row of summary cards: (label, value), both escaped here."""
    return (
        "<div class='cards'>"
        + "".join(f"<div class='card'><span class='sub'>{escape(k)}</span><b>{escape(v)}</b>"
                  "</div>" for k, v in items)
        + "</div>"
    )  # fmt: skip


def render_html(report: ImageReport, cost: Saving | None = None,
                vulnerabilities: dict[str, Any] | None = None,
                compressed: CompressedSize | None = None) -> str:  # fmt: skip
    waste = report.waste
    base = report.base
    size = human(report.compressed_size)
    if compressed is not None and compressed.basis != "measured":
        size = f"{human(compressed.bytes)} ({compressed.basis})"
    summary = [
        ("compressed", size),
        ("uncompressed", human(report.tar_size)),
        ("layers", str(len(report.layers))),
        ("wasted", human(waste.total)),
        ("efficiency", f"{waste.efficiency:.1%}"),
        ("findings", str(len(report.findings))),
    ]
    if cost is not None:
        summary += [("cost a month", money(cost.before.total_month)),
                  ("pull time", duration(cost.before.pull_seconds))]  # fmt: skip
    out = [
        page_start(f"keelhaul image: {report.source}"),
        f"<h1>{escape(report.source)}</h1>",
        f"<p class='sub'>{escape(report.platform)} · {report.files} files · base: "
        f"{escape(base.pretty_name or base.os_id or 'unknown')}"
        + (f" · security support {'ended' if base.past_end_of_life else 'until'} "
           f"{escape(base.end_of_life)}" if base.end_of_life else "")
        + "</p>",
        cards(summary),
        "<h2>Layers</h2>",
        "<p class='sub'>Bar: the bytes each layer adds; red: the part later layers overwrite or "
        "delete (shipped, never used).</p>",
        _layer_chart(report),
        "<table><tr><th>#</th><th class='n'>compressed</th><th class='n'>content</th>"
        "<th class='n'>added/changed/deleted</th><th>made by</th></tr>",
        rows([[f"<td>{layer.index + 1}{' (base)' if layer.base else ''}</td>",
                f"<td class='n'>{human(layer.compressed_size)}</td>",
                f"<td class='n'>{human(layer.content_size)}</td>",
                f"<td class='n'>{layer.files_added}/{layer.files_modified}/"
                f"{layer.files_deleted}</td>",
                f"<td><code>{escape((layer.instruction or layer.created_by or '')[:400])}"
                "</code></td>"] for layer in report.layers]),
        "</table><h2>Waste</h2>",
        f"<p>Overwritten {human(waste.overwritten)}, deleted {human(waste.deleted)}, duplicated "
        f"{human(waste.duplicates)}: <b>{human(waste.total)}</b> shipped for nothing "
        f"(efficiency {waste.efficiency:.1%}; dive would say {waste.dive.efficiency:.1%}).</p>",
    ]  # fmt: skip
    if report.unwanted:
        out.append("<h2>What should not ship</h2><table><tr><th>what</th><th class='n'>bytes"
                   "</th><th class='n'>files</th><th>where</th></tr>")  # fmt: skip
        out.append(rows([[f"<td>{escape(g.label)}</td>", f"<td class='n'>{human(g.size)}</td>",
                           f"<td class='n'>{g.count}</td>",
                           "<td><code>" + escape(", ".join(p.path for p in g.paths[:3]))
                           + "</code></td>"] for g in report.unwanted]))  # fmt: skip
        out.append("</table>")
    if report.largest:
        out.append("<h2>Largest files</h2><table><tr><th>path</th><th class='n'>bytes</th>"
                   "<th class='n'>layer</th></tr>")  # fmt: skip
        out.append(rows([[f"<td><code>{escape(p.path)}</code></td>",
                           f"<td class='n'>{human(p.size)}</td>",
                           f"<td class='n'>{p.layer + 1}</td>"] for p in report.largest[:20]]))  # fmt: skip
        out.append("</table>")
    if cost is not None:
        now, after = cost.before, cost.after
        out.append(
            "<h2>Cost</h2><table><tr><th></th><th class='n'>now</th><th class='n'>with the "
            "waste and caches gone</th></tr>"
            + rows([
                ["<td>storage a month</td>", f"<td class='n'>{money(now.storage_month)}</td>",
                 f"<td class='n'>{money(after.storage_month)}</td>"],
                ["<td>transfer a month</td>", f"<td class='n'>{money(now.transfer_month)}</td>",
                 f"<td class='n'>{money(after.transfer_month)}</td>"],
                ["<td>pull time</td>", f"<td class='n'>{duration(now.pull_seconds)}</td>",
                 f"<td class='n'>{duration(after.pull_seconds)}</td>"],
            ])
            + f"</table><p>Saving: <b>{money(cost.month)}</b> a month.</p>"
        )  # fmt: skip
        if compressed is not None:
            out.append(f"<p class='sub'>Priced on {human(now.compressed_bytes)} compressed "
                       f"({escape(compressed.describe())}).</p>")  # fmt: skip
    if vulnerabilities is not None:
        counts = ", ".join(f"{n} {k}" for k, n in vulnerabilities["counts"].items() if n)
        out.append(f"<h2>Vulnerabilities</h2><p>{vulnerabilities['total']} in "
                   f"{vulnerabilities['packages']} packages ({escape(counts or 'none')}).</p>")  # fmt: skip
        if vulnerabilities["worst"]:
            out.append("<table><tr><th>id</th><th>severity</th><th>package</th><th>installed"
                       "</th><th>fixed in</th></tr>")  # fmt: skip
            out.append(rows([[f"<td>{escape(v['id'])}</td>", f"<td>{escape(v['severity'])}</td>",
                               f"<td>{escape(v['package'])}</td>",
                               f"<td>{escape(v['version'])}</td>",
                               f"<td>{escape(v['fixed'] or '-')}</td>"]
                              for v in vulnerabilities["worst"]]))  # fmt: skip
            out.append("</table>")
    out.append("<h2>Findings</h2>")
    if report.findings:
        if any(f.origin is Origin.BASE for f in report.findings):
            out.append("<p class='sub'>base: the finding comes from the base image's layers; "
                       "<code>--skip-base</code> leaves those out.</p>")  # fmt: skip
        out.append("<table><tr><th>severity</th><th>rule</th><th class='n'>layer</th>"
                   "<th>from</th><th>message</th></tr>")  # fmt: skip
        out.append(rows([[f"<td class='{f.severity.value}'>{f.severity.value}</td>",
                           f"<td>{escape(f.code)} {escape(f.name)}</td>",
                           f"<td class='n'>{f.location.layer or ''}</td>",
                           f"<td>{f.origin.value if f.origin is not None else ''}</td>",
                           f"<td>{escape(f.message)}</td>"] for f in report.findings]))  # fmt: skip
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append(PAGE_END)
    return "".join(out)
