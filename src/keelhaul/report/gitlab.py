"""GitLab code quality: the subset of the Code Climate issue format GitLab reads."""

from __future__ import annotations

import hashlib
import json

from keelhaul.findings import Category, Finding, Severity
from keelhaul.report.model import BrokenFile, Report, image_note, printable, to_bytes

#: GitLab's scale is info, minor, major, critical, blocker; blocker is kept for files that do
#: not parse, since nothing in them was checked.
SEVERITY = {
    Severity.ERROR: "critical",
    Severity.WARNING: "major",
    Severity.INFO: "minor",
    Severity.STYLE: "info",
}
#: Code Climate categories, which GitLab shows in its full report.
CATEGORIES = {
    Category.SIZE: "Performance",
    Category.BUILD_CACHE: "Performance",
    Category.REPRODUCIBILITY: "Bug Risk",
    Category.SECURITY: "Security",
    Category.CORRECTNESS: "Bug Risk",
    Category.MAINTAINABILITY: "Clarity",
}


def _issue(report: Report, finding: Finding, occurrence: int) -> dict[str, object]:
    loc = finding.location
    end = loc.end_line if loc.end_line is not None and loc.end_line > loc.line else loc.line
    return {
        "type": "issue",
        "description": printable(
            f"{finding.code} {finding.name}{image_note(finding)}: {finding.message}"
        ),
        "check_name": finding.code,
        # GitLab shows only the first of several issues with one fingerprint: keep each unique.
        "fingerprint": report.unique_fingerprint(finding, occurrence),
        "severity": SEVERITY[finding.severity],
        "categories": [CATEGORIES[finding.category]],
        "location": {
            "path": printable(report.display_path(loc.path)),
            "lines": {"begin": loc.line, "end": end},
        },
    }


def _unparsed(report: Report, broken: BrokenFile) -> dict[str, object]:
    key = hashlib.sha256(b"parse-error\0" + to_bytes(broken.path)).hexdigest()[:32]
    return {
        "type": "issue",
        "description": printable(f"parse-error: {broken.message}"),
        "check_name": "parse-error",
        "fingerprint": key,
        "severity": "blocker",
        "categories": ["Bug Risk"],
        "location": {
            "path": printable(report.display_path(broken.path)),
            "lines": {"begin": broken.line or 1, "end": broken.line or 1},
        },
    }


def render_gitlab(report: Report) -> str:
    issues = [_unparsed(report, b) for b in report.broken]
    issues += [_issue(report, f, n) for f, n in report.numbered]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
