"""Findings written out: text for people, and the formats CI systems and code hosts read.

The CLI builds a :class:`Report` and calls ``render(fmt, report)``; formatters know nothing
about rules beyond the :class:`keelhaul.rule.Rule` values handed in.
"""

from __future__ import annotations

from collections.abc import Callable

from keelhaul.report.checkstyle import render_checkstyle
from keelhaul.report.github import render_github
from keelhaul.report.gitlab import render_gitlab
from keelhaul.report.json_output import render_json
from keelhaul.report.junit import render_junit
from keelhaul.report.markdown import render_markdown
from keelhaul.report.model import BrokenFile, Report, redacted, rule_infos
from keelhaul.report.sarif import render_sarif
from keelhaul.report.text import render_concise, render_text
from keelhaul.rule import Rule

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "concise": render_concise,
    "json": render_json,
    "sarif": render_sarif,
    "gitlab": render_gitlab,
    "checkstyle": render_checkstyle,
    "junit": render_junit,
    "github": render_github,
    "markdown": render_markdown,
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def render(fmt: str, report: Report) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`), as one string ending in a newline.

    Every format shows the report :func:`~keelhaul.report.model.redacted`: no secret in it.
    """
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}") from None
    return renderer(redacted(report))


__all__ = ["FORMATS", "BrokenFile", "Report", "Rule", "render", "rule_infos"]
