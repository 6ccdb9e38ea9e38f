"""SARIF 2.1.0, with what GitHub code scanning reads: rule help in text and Markdown, levels it
knows, ``security-severity`` for security rules, tags to filter by, and fingerprints."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from keelhaul.findings import Category, Finding, Severity
from keelhaul.report.model import BrokenFile, Report, printable, to_bytes
from keelhaul.rule import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "keelhaulFingerprint/v1"
"""Our own partial fingerprint. We leave ``primaryLocationLineHash`` to GitHub's upload action,
which computes it from the source when absent and would keep a wrong one we supplied."""

#: GitHub accepts only note, warning and error as a rule's default level.
LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.STYLE: "note",
}
#: ``problem.severity`` in GitHub's terms, for rules that are not about security.
PROBLEM_SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "recommendation",
    Severity.STYLE: "recommendation",
}
#: GitHub reads ``security-severity`` as a CVSS-like score: 7.0-8.9 high, 4.0-6.9 medium,
#: 0.1-3.9 low. Only rules of the security category carry one.
SECURITY_SEVERITY = {
    Severity.ERROR: "8.0",
    Severity.WARNING: "5.5",
    Severity.INFO: "3.0",
    Severity.STYLE: "1.0",
}
DESCRIPTION_LIMIT = 1024
"""GitHub cuts short and full descriptions at 1024 characters."""

_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?")


def _clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = printable(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _related(rule: Rule) -> list[str]:
    return [f"{tool}:{ident}" for tool, ids in rule.related.items() for ident in ids]


def _help_text(rule: Rule) -> str:
    parts = [rule.summary, rule.explanation]
    if rule.bad:
        parts.append("Bad:\n" + _indent(rule.bad))
    if rule.good:
        parts.append("Good:\n" + _indent(rule.good))
    if rule.related:
        parts.append("Related: " + ", ".join(_related(rule)))
    return printable("\n\n".join(p.strip("\n") for p in parts if p))


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.rstrip("\n").splitlines())


def _fence(code: str) -> str:
    """A Markdown code fence longer than any backtick run inside ``code``."""
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}dockerfile\n{code.rstrip(chr(10))}\n{fence}"


def _help_markdown(rule: Rule) -> str:
    parts = [f"**{rule.code} {rule.name}**: {rule.summary}", rule.explanation]
    if rule.bad:
        parts.append("Bad:\n\n" + _fence(rule.bad))
    if rule.good:
        parts.append("Good:\n\n" + _fence(rule.good))
    if rule.related:
        parts.append(
            "Related: " + "; ".join(f"{t}: {', '.join(ids)}" for t, ids in rule.related.items())
        )
    if rule.help_uri:
        parts.append(f"[Documentation]({rule.help_uri})")
    return printable("\n\n".join(p.strip("\n") for p in parts if p))


def reporting_descriptor(rule: Rule) -> dict[str, object]:
    properties: dict[str, object] = {
        "tags": [rule.category.value, *_related(rule)],
        "category": rule.category.value,
        "problem.severity": PROBLEM_SEVERITY[rule.severity],
    }
    if rule.category is Category.SECURITY:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    if rule.related:
        properties["related"] = {tool: list(ids) for tool, ids in rule.related.items()}
    out: dict[str, object] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": _clip(rule.summary or rule.name)},
        "fullDescription": {"text": _clip(rule.explanation or rule.summary or rule.name)},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": properties,
    }
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    return out


def _artifact(report: Report, path: str) -> dict[str, object]:
    uri, relative = report.uri(path)
    return {"uri": uri, "uriBaseId": SRCROOT} if relative else {"uri": uri}


def _region(finding: Finding) -> dict[str, int]:
    loc = finding.location
    end_line = loc.end_line if loc.end_line is not None else loc.line
    end_column = loc.end_column if loc.end_column is not None else loc.column + 1
    if end_line == loc.line:
        end_column = max(end_column, loc.column)
    return {
        "startLine": loc.line,
        "startColumn": loc.column,
        "endLine": max(end_line, loc.line),
        "endColumn": max(end_column, 1),
    }


def _result(report: Report, finding: Finding, occurrence: int) -> dict[str, object]:
    properties: dict[str, object] = {
        "category": finding.category.value,
        "severity": finding.severity.value,
    }
    if finding.stage is not None:
        properties["stage"] = printable(finding.stage)
    location: dict[str, object] = {
        "physicalLocation": {
            "artifactLocation": _artifact(report, finding.location.path),
            "region": _region(finding),
        }
    }
    layer = finding.location.layer
    if layer is not None:  # an image's file: the layer is where it is, the region says nothing
        properties["layer"] = layer
        location["logicalLocations"] = [{"name": f"layer {layer}", "kind": "layer"}]
    if finding.origin is not None:
        properties["origin"] = finding.origin.value
    if finding.properties:
        properties.update(finding.properties)
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": report.rule_index[finding.code],
        "level": LEVEL[finding.severity],
        "message": {"text": printable(finding.message) or finding.name},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f"{finding.fingerprint}:{occurrence}"},
        "properties": properties,
    }
    if finding.members:  # a grouped finding (KH409): the member codes, each at its place
        properties["members"] = [m.code for m in finding.members]
        result["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": _artifact(report, m.location.path),
                    "region": _region(m),
                },
                "message": {"text": f"{m.code} {m.name}: {printable(m.message)}"},
            }
            for number, m in enumerate(finding.members, 1)
        ]
    return result


def _notification(report: Report, broken: BrokenFile) -> dict[str, object]:
    location: dict[str, object] = {"artifactLocation": _artifact(report, broken.path)}
    if broken.line is not None:
        region = {"startLine": broken.line}
        if broken.column is not None:
            region["startColumn"] = broken.column
        location["region"] = region
    return {
        "level": "error",
        "descriptor": {"id": "parse-error"},
        "message": {"text": printable(broken.message) or "cannot parse"},
        "locations": [{"physicalLocation": location}],
    }


def _dir_uri(report: Report) -> str | None:
    if report.cwd is None or not report.cwd.is_absolute():
        return None
    path = report.cwd.as_posix().rstrip("/") + "/"
    return "file://" + quote(to_bytes(path), safe="/")


def as_dict(report: Report) -> dict[str, object]:
    driver: dict[str, object] = {"name": report.tool, "version": report.version}
    if _SEMVER.fullmatch(report.version):
        driver["semanticVersion"] = report.version
    if report.information_uri:
        driver["informationUri"] = report.information_uri
    driver["rules"] = [reporting_descriptor(rule) for rule in report.rule_list]
    invocation: dict[str, object] = {
        "executionSuccessful": not report.broken,
        "toolExecutionNotifications": [_notification(report, b) for b in report.broken],
    }
    run: dict[str, object] = {"tool": {"driver": driver}, "invocations": [invocation]}
    base = _dir_uri(report)
    if base is not None:
        invocation["workingDirectory"] = {"uri": base}
        run["originalUriBaseIds"] = {SRCROOT: {"uri": base}}
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = [_result(report, f, n) for f, n in report.numbered]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"
