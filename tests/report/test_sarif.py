"""SARIF 2.1.0: valid against the official OASIS schema, with what GitHub code scanning reads."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from keelhaul.findings import Category, Severity
from keelhaul.report import Report, render
from keelhaul.report.sarif import DESCRIPTION_LIMIT, FINGERPRINT_KEY, SARIF_SCHEMA
from tests.report.sample import (
    CWD,
    HOSTILE_MESSAGE,
    RULES,
    all_reports,
    finding,
    format_checker,
    hostile_report,
    sample_report,
)

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
REPORTS = all_reports()


@functools.cache
def validator() -> Any:
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    return Draft4Validator(SCHEMA, format_checker=format_checker())


def sarif(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render("sarif", report))
    return doc


def run_of(report: Report) -> dict[str, Any]:
    run: dict[str, Any] = sarif(report)["runs"][0]
    return run


def test_the_schema_is_the_official_one() -> None:
    assert SCHEMA["id"] == SARIF_SCHEMA
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


@pytest.mark.parametrize("name", REPORTS)
def test_output_matches_the_official_schema(name: str) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(sarif(REPORTS[name]))]
    assert errors == []


def test_the_validator_catches_mistakes() -> None:
    doc = sarif(sample_report())
    doc["runs"][0]["results"][0]["level"] = "fatal"
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    doc["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri"
    assert len(list(validator().iter_errors(doc))) == 3


def test_driver_and_rules() -> None:
    report = sample_report()
    driver = run_of(report)["tool"]["driver"]
    assert driver["name"] == "keelhaul"
    assert driver["version"] == driver["semanticVersion"] == report.version
    assert driver["informationUri"] == "https://example.org/keelhaul"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(RULES)
    rule = driver["rules"][ids.index("KH101")]
    info = RULES["KH101"]
    assert rule["name"] == info.name
    assert rule["shortDescription"]["text"] == info.summary
    full, text = info.explanation.strip(), rule["fullDescription"]["text"]
    if len(full) <= DESCRIPTION_LIMIT:
        assert text == full
    else:  # clipped for GitHub, said with an ellipsis
        assert len(text) <= DESCRIPTION_LIMIT
        assert text.endswith("…")
        assert full.startswith(text[:-1])
    assert info.explanation.strip()[:40] in rule["help"]["text"]
    assert info.bad.strip() in rule["help"]["text"]
    assert f"```dockerfile\n{info.good.strip()}\n```" in rule["help"]["markdown"]
    assert rule["helpUri"] == info.help_uri
    assert rule["defaultConfiguration"]["level"] == "warning"
    tags = rule["properties"]["tags"]
    assert tags[0] == info.category.value
    assert {f"{tool}:{i}" for tool, ids_ in info.related.items() for i in ids_} <= set(tags)
    assert "security-severity" not in rule["properties"]


def test_security_rules_carry_security_severity() -> None:
    rules = {r["id"]: r for r in run_of(sample_report())["tool"]["driver"]["rules"]}
    for code, info in RULES.items():
        props = rules[code]["properties"]
        if info.category is Category.SECURITY:
            assert "security" in props["tags"]
            score = float(props["security-severity"])
            assert 0.1 <= score <= 10.0
            assert (score >= 7.0) == (info.severity is Severity.ERROR)
        else:
            assert "security-severity" not in props


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.ERROR, "error"),
        (Severity.WARNING, "warning"),
        (Severity.INFO, "note"),
        (Severity.STYLE, "note"),
    ],
)
def test_levels(severity: Severity, level: str) -> None:
    run = run_of(Report(findings=[finding(severity=severity)]))
    assert run["results"][0]["level"] == level
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == level


def test_results() -> None:
    report = sample_report()
    run = run_of(report)
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    tag = next(r for r in run["results"] if r["ruleId"] == "KH101")
    location = tag["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 6, "endLine": 3, "endColumn": 10}
    assert tag["message"]["text"].startswith("base image node")
    assert tag["properties"]["stage"] == "1"
    original = next(f for f in report.findings if f.code == "KH101")
    assert tag["partialFingerprints"] == {FINGERPRINT_KEY: f"{original.fingerprint}:1"}
    # GitHub's upload action computes primaryLocationLineHash itself when it is absent.
    assert "primaryLocationLineHash" not in tag["partialFingerprints"]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": f"file://{CWD}/"}}


def test_repeated_findings_get_distinct_fingerprints() -> None:
    report = Report(findings=[finding("same", line=1), finding("same", line=5)])
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in run_of(report)["results"]]
    assert len(set(prints)) == 2
    assert prints[0].endswith(":1")
    assert prints[1].endswith(":2")


def test_unparsed_files_are_tool_notifications() -> None:
    invocation = run_of(sample_report())["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["workingDirectory"] == {"uri": f"file://{CWD}/"}
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"] == "unknown instruction: FORM"
    where = note["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "broken/Dockerfile"
    assert where["region"] == {"startLine": 2, "startColumn": 1}
    clean = run_of(REPORTS["empty"])["invocations"][0]
    assert clean["executionSuccessful"] is True
    assert clean["toolExecutionNotifications"] == []


def test_uris_are_encoded_and_relative_to_the_working_directory() -> None:
    run = run_of(REPORTS["absolute"])
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert {"uri": "file:///elsewhere/Dockerfile"} in uris
    assert {"uri": "in/Dockerfile", "uriBaseId": "%SRCROOT%"} in uris
    hostile = run_of(hostile_report())["results"][0]["locations"][0]["physicalLocation"]
    assert hostile["artifactLocation"]["uri"] == (
        "we%20ird/dir%2Cwith%3Acolon%2525/Docker%3Cfile%3E%26%22q%22%FF"
    )


def test_hostile_messages_survive() -> None:
    out = render("sarif", hostile_report())
    out.encode("utf-8")
    result = json.loads(out)["runs"][0]["results"][0]
    assert result["message"]["text"] == HOSTILE_MESSAGE.replace("\udcff", "\ufffd")


def test_unknown_codes_get_a_rule() -> None:
    report = Report(findings=[finding(code="SC2086"), finding(code="KH999", line=2)])
    rules = run_of(report)["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["KH999", "SC2086"]
    assert rules[1]["helpUri"] == "https://www.shellcheck.net/wiki/SC2086"
    assert "helpUri" not in rules[0]


def test_long_descriptions_are_clipped_for_github() -> None:
    from dataclasses import replace

    info = replace(RULES["KH101"], explanation="word " * 1000)
    rule = run_of(Report(findings=[], rules={"KH101": info}))["tool"]["driver"]["rules"][0]
    assert len(rule["fullDescription"]["text"]) <= DESCRIPTION_LIMIT
    assert len(rule["help"]["text"]) > DESCRIPTION_LIMIT  # help is not cut


def test_markdown_fence_outlasts_backticks_in_examples() -> None:
    from dataclasses import replace

    info = replace(RULES["KH101"], bad="RUN echo ```` x\n")
    rule = run_of(Report(findings=[], rules={"KH101": info}))["tool"]["driver"]["rules"][0]
    assert "`````dockerfile\nRUN echo ```` x\n`````" in rule["help"]["markdown"]
