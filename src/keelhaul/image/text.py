"""``keelhaul image`` for people: the report as rich tables (layers, waste, what should not
ship, the base, findings)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from keelhaul.findings import Origin
from keelhaul.image.checks import human
from keelhaul.image.compressed_estimate import CompressedSize
from keelhaul.image.report import ImageReport
from keelhaul.report.text import safe

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "style": "dim"}


def shown(text: str | None) -> str:
    """Text from the image (a file name, a history line, a name from os-release) as the
    console may print it: control characters escaped (a name holding ``ESC [2K`` cannot
    rewrite the terminal) and rich markup escaped (nor restyle or link it)."""
    return escape(safe(text or ""))


def _short(text: str | None, width: int = 70) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return shown(text if len(text) <= width else text[: width - 1] + "…")


def render_text(report: ImageReport, console: Console, limit: int = 10,
                compressed: CompressedSize | None = None) -> None:  # fmt: skip
    waste = report.waste
    console.print(f"[bold]{shown(report.source)}[/bold]  {shown(report.platform)}  "
                  f"{len(report.layers)} layers, {report.files} files")  # fmt: skip
    size = human(report.compressed_size)
    if compressed is not None and compressed.basis == "estimated":
        size = f"about {human(compressed.bytes)} (estimated: stored as plain tars)"
    elif compressed is not None and compressed.basis == "uncompressed":
        size = f"{size} (not compressed: stored as plain tars)"
    console.print(f"  compressed {size}, uncompressed "
                  f"{human(report.tar_size)}, shipped content {human(report.content_size)}")  # fmt: skip
    base = report.base
    if base.os_id:
        eol = ""
        if base.end_of_life:
            state = "[red]past[/red]" if base.past_end_of_life else "until"
            eol = f", security support {state} {base.end_of_life}"
        console.print(f"  base: {shown(base.pretty_name or base.os_id)}{eol}")
    if base.base_layers is not None:
        console.print(f"  base layers: {base.base_layers} ({human(base.base_size)}), "
                      f"yours: {human(base.own_size)}")  # fmt: skip

    table = Table(title="Layers", title_justify="left", show_edge=False)
    for column, justify in (("#", "right"), ("compressed", "right"), ("content", "right"),
                            ("+/~/-", "right"), ("hides", "right"), ("made by", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for layer in report.layers:
        made = (f"L{layer.instruction_line}: {_short(layer.instruction)}"
                if layer.instruction else _short(layer.created_by))  # fmt: skip
        table.add_row(
            f"{layer.index + 1}{'b' if layer.base else ''}",
            human(layer.compressed_size),
            human(layer.content_size),
            f"{layer.files_added}/{layer.files_modified}/{layer.files_deleted}",
            human(layer.hides_size) if layer.hides_size else "",
            made,
        )
    console.print(table)

    console.print("[bold]Waste[/bold]")
    console.print(f"  overwritten {human(waste.overwritten)}, deleted {human(waste.deleted)}, "
                  f"duplicates {human(waste.duplicates)}: total {human(waste.total)}; "
                  f"efficiency {waste.efficiency:.1%}, user waste {waste.user_wasted_percent:.1f}%")  # fmt: skip
    dive = waste.dive
    console.print(f"  dive's count: efficiency {dive.efficiency:.1%}, wasted "
                  f"{human(dive.wasted_bytes)}, user wasted {dive.user_wasted_percent:.1f}% "
                  "(counts every copy, the kept one too)")  # fmt: skip
    for group in report.duplicates[:limit]:
        paths = ", ".join(shown(p) for p in group.paths[:3])
        console.print(f"  {group.count} x {human(group.size)}: {paths}")
    for grown in report.growing[:limit]:
        console.print(f"  {shown(grown.path)} written by {len(grown.layers)} layers "
                      f"({human(grown.wasted)} hidden)")  # fmt: skip

    if report.unwanted:
        table = Table(title="Should not ship", title_justify="left", show_edge=False)
        for column in ("what", "bytes", "files", "layers", "where"):
            table.add_column(column)
        for kind in report.unwanted:
            table.add_row(kind.label, human(kind.size), str(kind.count),
                          ",".join(str(i + 1) for i in kind.layers),
                          ", ".join(shown(p.path) for p in kind.paths[:3]))  # fmt: skip
        console.print(table)

    if report.largest:
        console.print("[bold]Largest files[/bold]")
        for item in report.largest[:limit]:
            console.print(f"  {human(item.size):>10}  layer {item.layer + 1:<3} {safe(item.path)}",
                          markup=False, highlight=False)  # fmt: skip

    if report.findings:
        from_base = sum(1 for f in report.findings if f.origin is Origin.BASE)
        note = f", {from_base} from the base image" if from_base else ""
        console.print(f"[bold]Findings[/bold] ({len(report.findings)}{note})")
        for f in sorted(report.findings, key=lambda f: (-f.severity.rank, f.code)):
            style = _SEVERITY_STYLE.get(f.severity.value, "")
            where = f" (layer {f.location.layer})" if f.location.layer is not None else ""
            mark = " [dim]\\[base][/dim]" if f.origin is Origin.BASE else ""
            console.print(f"  [{style}]{f.severity.value:<7}[/{style}] {shown(f.code)} {shown(f.name)}{where}"
                          f"{mark}: ", end="")  # fmt: skip
            console.print(safe(f.message), markup=False, highlight=False)
