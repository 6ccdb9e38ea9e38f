"""Findings written out: text for people, and the formats CI systems and code hosts read.

The CLI builds a :class:`Report` and calls ``render(fmt, report)``; formatters know nothing
about rules beyond the :class:`keelhaul.rule.Rule` values handed in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from keelhaul.report.model import BrokenFile, Report, redacted, rule_infos
from keelhaul.rule import Rule

#: Format -> (module in this package, its renderer). A module is imported when its format is
#: asked for: a check writing text need not load the XML of checkstyle and JUnit.
RENDERERS: dict[str, tuple[str, str]] = {
    "text": ("text", "render_text"),
    "concise": ("text", "render_concise"),
    "json": ("json_output", "render_json"),
    "sarif": ("sarif", "render_sarif"),
    "gitlab": ("gitlab", "render_gitlab"),
    "checkstyle": ("checkstyle", "render_checkstyle"),
    "junit": ("junit", "render_junit"),
    "github": ("github", "render_github"),
    "markdown": ("markdown", "render_markdown"),
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def renderer(fmt: str) -> Callable[[Report], str]:
    """The function that writes format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        module, name = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}") from None
    found: Callable[[Report], str] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return found


def render(fmt: str, report: Report) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`), as one string ending in a newline.

    Every format shows the report :func:`~keelhaul.report.model.redacted`: no secret in it.
    """
    return renderer(fmt)(redacted(report))


__all__ = ["FORMATS", "BrokenFile", "Report", "Rule", "render", "renderer", "rule_infos"]
