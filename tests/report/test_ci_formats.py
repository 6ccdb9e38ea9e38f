"""GitLab code quality, checkstyle, JUnit and GitHub annotations: parsed back and checked."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from keelhaul.findings import Severity
from keelhaul.report import BrokenFile, Report, render
from tests.report.sample import (
    HOSTILE_MESSAGE,
    HOSTILE_PATH,
    all_reports,
    empty_report,
    finding,
    hostile_report,
    sample_report,
)

REPORTS = all_reports()
#: What XML 1.0 can carry of the hostile message: the forbidden characters become U+FFFD.
XML_MESSAGE = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\udcff]", "\ufffd", HOSTILE_MESSAGE)


# --- GitLab code quality ---------------------------------------------------------------------


def gitlab(report: Report) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = json.loads(render("gitlab", report))
    return issues


@pytest.mark.parametrize("name", REPORTS)
def test_gitlab_issues_have_the_required_fields(name: str) -> None:
    for issue in gitlab(REPORTS[name]):
        assert isinstance(issue["description"], str)
        assert issue["description"]
        assert isinstance(issue["check_name"], str)
        assert isinstance(issue["fingerprint"], str)
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert isinstance(issue["location"]["path"], str)
        lines = issue["location"]["lines"]
        assert 1 <= lines["begin"] <= lines["end"]


def test_gitlab_content() -> None:
    report = sample_report()
    issues = gitlab(report)
    assert len(issues) == len(report.findings) + 1
    assert issues[0]["check_name"] == "parse-error"
    assert issues[0]["severity"] == "blocker"
    assert issues[0]["location"] == {"path": "broken/Dockerfile", "lines": {"begin": 2, "end": 2}}
    tag = next(i for i in issues if i["check_name"] == "KH101")
    assert tag["severity"] == "major"
    assert tag["description"].startswith("KH101 mutable-base-tag: base image node")
    assert tag["location"] == {"path": "app/Dockerfile", "lines": {"begin": 3, "end": 3}}
    secret = next(i for i in issues if i["check_name"] == "KH110")
    assert secret["severity"] == "critical"
    assert secret["categories"] == ["Security"]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.ERROR, "critical"),
        (Severity.WARNING, "major"),
        (Severity.INFO, "minor"),
        (Severity.STYLE, "info"),
    ],
)
def test_gitlab_severity(severity: Severity, expected: str) -> None:
    assert gitlab(Report(findings=[finding(severity=severity)]))[0]["severity"] == expected


def test_gitlab_fingerprints_are_unique_and_stable() -> None:
    twice = [finding("same", line=1), finding("same", line=7), finding("other", line=3)]
    issues = gitlab(Report(findings=twice))
    prints = [i["fingerprint"] for i in issues]
    assert len(set(prints)) == 3, "GitLab shows only the first issue of a fingerprint"
    moved = [finding("same", line=11), finding("same", line=17), finding("other", line=13)]
    assert [i["fingerprint"] for i in gitlab(Report(findings=moved))] == prints


def test_gitlab_multi_line_range() -> None:
    issue = gitlab(Report(findings=[finding(line=4, end_line=6, end_column=3)]))[0]
    assert issue["location"]["lines"] == {"begin": 4, "end": 6}


def test_gitlab_hostile_and_empty() -> None:
    out = render("gitlab", hostile_report())
    out.encode("utf-8")
    issues = json.loads(out)
    assert issues[1]["description"] == "KH999 made-up-rule: " + HOSTILE_MESSAGE.replace(
        "\udcff", "\ufffd"
    )
    assert issues[1]["location"]["path"] == HOSTILE_PATH.replace("\udcff", "\ufffd")
    assert gitlab(empty_report()) == []


# --- checkstyle ------------------------------------------------------------------------------


def xml(fmt: str, report: Report) -> ET.Element:
    out = render(fmt, report)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(out.encode("utf-8"))


@pytest.mark.parametrize("name", REPORTS)
def test_checkstyle_parses(name: str) -> None:
    root = xml("checkstyle", REPORTS[name])
    assert root.tag == "checkstyle"
    for error in root.iter("error"):
        assert error.get("severity") in ("error", "warning", "info")
        assert int(error.get("line", "0")) >= 1
        assert int(error.get("column", "0")) >= 1


def test_checkstyle_content() -> None:
    report = sample_report()
    root = xml("checkstyle", report)
    files = {f.get("name"): f for f in root.iter("file")}
    assert list(files) == ["app/Dockerfile", "clean/Dockerfile", "broken/Dockerfile"]
    assert len(files["clean/Dockerfile"]) == 0
    [parse] = files["broken/Dockerfile"]
    assert parse.attrib == {
        "line": "2",
        "column": "1",
        "severity": "error",
        "message": "unknown instruction: FORM",
        "source": "keelhaul.parse-error",
    }
    errors = list(files["app/Dockerfile"])
    assert len(errors) == len(report.findings)
    tag = next(e for e in errors if "KH101" in e.get("source", ""))
    assert tag.get("line") == "3"
    assert tag.get("column") == "6"
    assert tag.get("severity") == "warning"
    assert tag.get("source") == "keelhaul.KH101.mutable-base-tag"
    assert tag.get("message", "").startswith("base image node has no tag")


def test_checkstyle_hostile() -> None:
    root = xml("checkstyle", hostile_report())
    names = [f.get("name") for f in root.iter("file")]
    assert names[0] == HOSTILE_PATH.replace("\udcff", "\ufffd")
    assert names[2] == 'bad,<&>"%\n.Dockerfile'
    messages = [e.get("message") for e in root.iter("error")]
    assert f"{XML_MESSAGE} (KH999 made-up-rule)" in messages
    assert XML_MESSAGE in messages  # the parse error


def test_checkstyle_empty() -> None:
    root = xml("checkstyle", empty_report())
    assert [f.get("name") for f in root] == ["a/Dockerfile", "b/Dockerfile"]
    assert list(root.iter("error")) == []
    assert len(xml("checkstyle", Report(findings=[]))) == 0


# --- JUnit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_junit_counts_add_up(name: str) -> None:
    root = xml("junit", REPORTS[name])
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.iter("testsuite"):
        cases = list(suite.iter("testcase"))
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == len(list(suite.iter("failure")))
        assert int(suite.get("errors", "-1")) == len(list(suite.iter("error")))
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    assert {k: int(root.get(k, "-1")) for k in totals} == totals


def test_junit_content() -> None:
    report = sample_report()
    root = xml("junit", report)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["app/Dockerfile", "clean/Dockerfile", "broken/Dockerfile"]
    [passing] = suites["clean/Dockerfile"]
    assert passing.attrib == {
        "name": "keelhaul",
        "classname": "clean/Dockerfile",
        "file": "clean/Dockerfile",
    }
    assert len(passing) == 0
    [broken] = suites["broken/Dockerfile"]
    error = broken.find("error")
    assert error is not None
    assert error.get("message") == "unknown instruction: FORM"
    assert error.text == "broken/Dockerfile:2: unknown instruction: FORM"
    cases = list(suites["app/Dockerfile"])
    assert len(cases) == len(report.findings)
    tag = next(c for c in cases if c.get("name", "").startswith("KH101"))
    assert tag.get("name") == "KH101 mutable-base-tag at line 3, column 6"
    assert tag.get("line") == "3"
    failure = tag.find("failure")
    assert failure is not None
    assert failure.get("type") == "warning KH101"
    assert failure.text is not None
    assert failure.text.startswith("app/Dockerfile:3:6: warning KH101 mutable-base-tag: base image")
    assert "help: https://example.org/keelhaul/docs/rules.md#kh101-mutable-base-tag" in failure.text


def test_junit_hostile() -> None:
    root = xml("junit", hostile_report())
    failures = list(root.iter("failure"))
    assert [f.get("message") for f in failures] == [XML_MESSAGE, XML_MESSAGE]
    assert failures[0].text is not None
    # XML parsers turn a \r\n line end in element text into \n; attributes keep it.
    assert XML_MESSAGE.replace("\r\n", "\n") in failures[0].text
    error = next(root.iter("error"))
    assert error.get("message") == XML_MESSAGE


def test_junit_empty() -> None:
    root = xml("junit", empty_report())
    assert [c.get("classname") for c in root.iter("testcase")] == ["a/Dockerfile", "b/Dockerfile"]
    assert root.get("failures") == "0"
    assert xml("junit", Report(findings=[])).get("tests") == "0"


# --- GitHub annotations ----------------------------------------------------------------------

COMMAND = re.compile(r"::(?P<cmd>\w+) (?P<props>[^:]*)::(?P<message>.*)")


def unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def commands(report: Report) -> list[tuple[str, dict[str, str], str]]:
    """Each command, parsed the way the Actions runner does."""
    out: list[tuple[str, dict[str, str], str]] = []
    for line in render("github", report).splitlines():
        m = COMMAND.fullmatch(line)
        assert m, line
        props = dict(p.split("=", 1) for p in m["props"].split(","))
        out.append((m["cmd"], {k: unescape(v) for k, v in props.items()}, unescape(m["message"])))
    return out


def test_github_content() -> None:
    report = sample_report()
    found = commands(report)
    assert len(found) == len(report.findings) + 1
    assert found[0] == (
        "error",
        {"file": "broken/Dockerfile", "line": "2", "col": "1", "title": "parse-error"},
        "unknown instruction: FORM",
    )
    tag = next(a for a in found if a[1]["title"] == "KH101 mutable-base-tag")
    assert tag[0] == "warning"
    assert tag[1] == {
        "file": "app/Dockerfile",
        "line": "3",
        "col": "6",
        "endColumn": "10",
        "title": "KH101 mutable-base-tag",
    }


@pytest.mark.parametrize(
    ("severity", "command"),
    [
        (Severity.ERROR, "error"),
        (Severity.WARNING, "warning"),
        (Severity.INFO, "notice"),
        (Severity.STYLE, "notice"),
    ],
)
def test_github_severity(severity: Severity, command: str) -> None:
    assert commands(Report(findings=[finding(severity=severity)]))[0][0] == command


def test_github_multi_line_range_has_no_columns() -> None:
    [(_, props, _)] = commands(
        Report(findings=[finding(line=2, column=3, end_line=4, end_column=2)])
    )
    assert props == {
        "file": "app/Dockerfile",
        "line": "2",
        "endLine": "4",
        "title": "KH999 made-up-rule",
    }


def test_github_escaping() -> None:
    out = render("github", hostile_report())
    assert len(out.splitlines()) == 3, "newlines in messages and paths must not end a command"
    found = commands(hostile_report())
    assert found[0][1]["file"] == 'bad,<&>"%\n.Dockerfile'
    assert found[1][1]["file"] == HOSTILE_PATH.replace("\udcff", "\ufffd")
    assert found[1][2] == XML_MESSAGE  # control characters replaced too
    assert "\x1b" not in out
    assert "%25" in out
    assert "%0A" in out
    assert "%3A" in out
    assert "%2C" in out


def test_github_empty() -> None:
    assert render("github", empty_report()) == ""
    assert commands(Report(findings=[], broken=[BrokenFile("x", "cannot read")])) == [
        ("error", {"file": "x", "title": "parse-error"}, "cannot read")
    ]
