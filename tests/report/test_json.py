"""keelhaul's JSON: valid against its own schema, documented from it, and complete."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from keelhaul.findings import Category, Severity
from keelhaul.report import Report, render
from keelhaul.report.docs import json_format_markdown
from keelhaul.report.json_output import FORMAT_VERSION, schema
from tests.report.sample import (
    HOSTILE_MESSAGE,
    all_reports,
    finding,
    format_checker,
    hostile_report,
    sample_report,
)

ROOT = Path(__file__).resolve().parents[2]
REPORTS = all_reports()


@functools.cache
def validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(schema(), format_checker=format_checker())


def test_schema_is_a_valid_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("name", REPORTS)
def test_output_matches_the_schema(name: str) -> None:
    doc = json.loads(render("json", REPORTS[name]))
    errors = [e.message for e in validator().iter_errors(doc)]
    assert errors == []


def test_the_schema_rejects_what_it_should() -> None:
    doc = json.loads(render("json", sample_report()))
    doc["findings"][0]["severity"] = "fatal"
    doc["findings"][0]["surprise"] = 1
    del doc["summary"]["by_category"]["size"]
    assert len(list(validator().iter_errors(doc))) == 3


def test_schema_lists_every_severity_and_category() -> None:
    defs = schema()["$defs"]
    assert defs["severity"]["enum"] == [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
    assert defs["category"]["enum"] == [c.value for c in Category]


def test_content() -> None:
    report = sample_report()
    doc = json.loads(render("json", report))
    assert doc["version"] == FORMAT_VERSION == 1
    assert doc["tool"] == {"name": "keelhaul", "version": report.version}
    summary = doc["summary"]
    assert summary["files"] == 3
    assert summary["files_not_parsed"] == 1
    assert summary["findings"] == len(report.findings) == len(doc["findings"])
    assert sum(summary["by_severity"].values()) == len(report.findings)
    assert sum(summary["by_category"].values()) == len(report.findings)
    assert [f["status"] for f in doc["files"]] == ["findings", "clean", "not-parsed"]
    assert doc["errors"] == [
        {
            "path": "broken/Dockerfile",
            "message": "unknown instruction: FORM",
            "line": 2,
            "column": 1,
        }
    ]
    tag = next(f for f in doc["findings"] if f["code"] == "KH101")
    assert tag["path"] == "app/Dockerfile"
    assert (tag["line"], tag["column"], tag["end_line"], tag["end_column"]) == (3, 6, 3, 10)
    assert tag["stage"] == "1"
    assert tag["rule"]["help_uri"].endswith("#kh101-mutable-base-tag")
    original = next(f for f in report.findings if f.code == "KH101")
    assert tag["fingerprint"] == original.fingerprint
    assert tag["occurrence"] == 1


def test_findings_are_ordered_and_repeats_counted() -> None:
    same = finding("same", line=9)
    report = Report(findings=[same, finding("other", line=1), finding("same", line=2)])
    doc = json.loads(render("json", report))
    assert [(f["line"], f["occurrence"]) for f in doc["findings"]] == [(1, 1), (2, 1), (9, 2)]
    assert doc["findings"][1]["fingerprint"] == doc["findings"][2]["fingerprint"]


def test_hostile_text_round_trips() -> None:
    out = render("json", hostile_report())
    out.encode("utf-8")  # no lone surrogates
    doc = json.loads(out)
    assert doc["findings"][0]["message"] == HOSTILE_MESSAGE.replace("\udcff", "\ufffd")
    assert doc["findings"][0]["stage"] == 'st"<a>&ge\n'
    assert doc["errors"][0]["path"] == 'bad,<&>"%\n.Dockerfile'


def test_empty_report() -> None:
    doc = json.loads(render("json", Report(findings=[])))
    assert doc["findings"] == doc["files"] == doc["errors"] == []
    assert doc["summary"]["by_severity"] == {"error": 0, "warning": 0, "info": 0, "style": 0}


def test_docs_json_format_md_is_current() -> None:
    current = (ROOT / "docs" / "json-format.md").read_text(encoding="utf-8")
    assert current == json_format_markdown(), "run `python -m keelhaul.report.docs`"


def test_docs_name_every_field() -> None:
    doc = json_format_markdown()
    for field in ("`summary.by_category.build-cache`", "`fingerprint`", "`occurrence`"):
        assert field in doc


def test_docs_example_matches_the_schema() -> None:
    from keelhaul.report.docs import example

    assert list(validator().iter_errors(json.loads(example()))) == []
