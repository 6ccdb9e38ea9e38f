"""The package's small API, every format over every sample, and the real corpus."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import DockerfileSyntaxError, FileUnreadable, SourcePosition
from keelhaul.findings import Finding
from keelhaul.report import FORMATS, BrokenFile, Report, render, rule_infos
from keelhaul.report.json_output import schema
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules
from tests.conftest import corpus_stats
from tests.corpus import CORPUS, parsed_dockerfiles
from tests.report.sample import RULES, all_reports, format_checker

REPORTS = all_reports()
SARIF_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def test_formats() -> None:
    assert FORMATS == (
        "text",
        "concise",
        "json",
        "sarif",
        "gitlab",
        "checkstyle",
        "junit",
        "github",
        "markdown",
    )
    with pytest.raises(ValueError, match="unknown format 'html'"):
        render("html", Report(findings=[]))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", REPORTS)
def test_every_format_renders_every_report(fmt: str, name: str) -> None:
    out = render(fmt, REPORTS[name])
    out.encode("utf-8")  # writable as UTF-8 whatever the input held
    assert out == "" or out.endswith("\n")
    if fmt in ("json", "sarif", "gitlab"):
        json.loads(out)
    if fmt in ("checkstyle", "junit"):
        ET.fromstring(out.encode("utf-8"))


def test_rule_infos_carry_the_catalogue() -> None:
    rules = dockerfile_rules()
    infos = rule_infos(rules, "https://x.example/rules.md")
    assert list(infos) == [r.code for r in rules]
    for rule in rules:
        info = infos[rule.code]
        assert (info.name, info.severity, info.category) == (
            rule.name,
            rule.severity,
            rule.category,
        )
        assert (info.summary, info.explanation, info.bad, info.good) == (
            rule.summary,
            rule.explanation,
            rule.bad,
            rule.good,
        )
        assert dict(info.related) == {k: tuple(v) for k, v in rule.related.items()}
        assert info.help_uri == f"https://x.example/rules.md#{rule.code.lower()}-{rule.name}"
    assert rule_infos(rules)[rules[0].code].help_uri is None


def test_broken_file_from_errors() -> None:
    syntax = DockerfileSyntaxError("unknown instruction: FORM\n(more)", SourcePosition("D", 4, 2))
    assert BrokenFile.from_error("D", syntax) == BrokenFile("D", "unknown instruction: FORM", 4, 2)
    unreadable = FileUnreadable("D", "permission denied")
    assert BrokenFile.from_error("D", unreadable) == BrokenFile(
        "D", "D: cannot read: permission denied"
    )
    tree = parse("FROM a\nCOPY <<EOF /x\nabc\n", "D")
    assert tree.errors
    assert BrokenFile.from_error("D", tree.errors[0]) == BrokenFile("D", "unterminated heredoc", 2)


def test_the_same_finding_twice_is_counted_twice() -> None:
    [f] = check_dockerfile(
        parse("FROM node\nUSER 1\n"), rules=[r for r in dockerfile_rules() if r.code == "KH101"]
    )
    report = Report(findings=[f, f])
    assert [n for _, n in report.numbered] == [1, 2]
    assert len({report.unique_fingerprint(x, n) for x, n in report.numbered}) == 2


def corpus_report() -> Report:
    parsed = parsed_dockerfiles()
    files = [f.path for f in parsed]
    findings: list[Finding] = []
    broken: list[BrokenFile] = []
    sources: dict[str, str] = {}
    for file in parsed:
        path, tree = file.path, file.tree
        sources[str(path)] = tree.render()
        if tree.errors:
            broken.append(BrokenFile.from_error(str(path), tree.errors[0]))
            continue
        findings += check_dockerfile(tree)
    return Report(
        findings=findings,
        files=[str(p) for p in files],
        broken=broken,
        rules=RULES,
        sources=sources,
        cwd=CORPUS.parent,
    )


@pytest.mark.corpus
def test_corpus_in_every_format() -> None:
    report = corpus_report()
    stats = corpus_stats("report formats over the corpus")
    stats["findings"] = len(report.findings)
    stats["unparsed"] = len(report.broken)
    for fmt in FORMATS:
        start = time.process_time()
        out = render(fmt, report)
        took = time.process_time() - start
        assert took < 5, f"{fmt} took {took:.1f}s"
        stats[f"{fmt} ms"] = round(took * 1000)
        out.encode("utf-8")
    sarif = json.loads(render("sarif", report))
    from jsonschema import Draft4Validator, Draft202012Validator  # type: ignore[import-untyped]

    errors = list(Draft4Validator(SARIF_SCHEMA, format_checker=format_checker()).iter_errors(sarif))
    assert [e.message for e in errors[:5]] == []
    assert len(sarif["runs"][0]["results"]) == len(report.findings)
    doc = json.loads(render("json", report))
    assert list(Draft202012Validator(schema()).iter_errors(doc)) == []
    assert doc["summary"]["findings"] == len(report.findings)
    text = render("text", report)
    assert text.count(" | ") >= len(report.findings)  # every finding shows its source line
