"""Every rule flags its own bad example and stays quiet on its good one; docs are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keelhaul.catalogue.docs import catalogue_markdown
from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Category, Severity
from keelhaul.rules.engine import check_dockerfile, dockerfile_rules
from keelhaul.rules.registry import Rule
from tests.conftest import corpus_stats
from tests.corpus import parsed_dockerfiles

ROOT = Path(__file__).resolve().parents[2]
RULES = dockerfile_rules()


def example_context(rule: Rule, example: str, folder: Path) -> BuildContext | None:
    """The rule's example build context, written to ``folder`` beside the example Dockerfile."""
    if rule.example_context is None:
        return None
    for name, content in rule.example_context.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "Dockerfile").write_text(example, encoding="utf-8")
    return BuildContext.read(folder, folder / "Dockerfile")


EXAMPLES = [r for r in RULES if not r.from_pipeline]


@pytest.mark.parametrize("rule", EXAMPLES, ids=[r.code for r in EXAMPLES])
def test_bad_example_is_flagged(rule: Rule, tmp_path: Path) -> None:
    context = example_context(rule, rule.bad, tmp_path)
    found = check_dockerfile(
        parse(rule.bad), rules=[rule], settings=rule.example_settings, build_context=context
    )
    codes = [f.code for f in found]
    assert codes, f"{rule.code} does not flag its own bad example"


@pytest.mark.parametrize("rule", EXAMPLES, ids=[r.code for r in EXAMPLES])
def test_good_example_is_quiet(rule: Rule, tmp_path: Path) -> None:
    context = example_context(rule, rule.good, tmp_path)
    found = check_dockerfile(
        parse(rule.good), rules=[rule], settings=rule.example_settings, build_context=context
    )
    assert found == []


def test_metadata_is_well_formed() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    for rule in RULES:
        assert re.fullmatch(r"KH\d{3}", rule.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert isinstance(rule.severity, Severity)
        assert isinstance(rule.category, Category)
        assert rule.explanation
        assert rule.summary


def test_docs_rules_md_is_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == catalogue_markdown(), "run `python -m keelhaul.catalogue.docs`"


#: A sample of the image findings (KH3xx) the docs must carry, across the range.
IMAGE_CODES = {"KH300": "layer-hides-bytes", "KH303": "package-cache-shipped",
               "KH311": "secret-file-in-image", "KH320": "image-runs-as-root",
               "KH330": "end-of-life-base", "KH345": "image-threshold-exceeded"}  # fmt: skip


@pytest.mark.parametrize("source", ["generated", "docs/rules.md"])
def test_docs_document_the_image_findings(source: str) -> None:
    text = (
        catalogue_markdown()
        if source == "generated"
        else (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    )
    sections = re.findall(r"^## (KH3\d\d) ", text, re.MULTILINE)
    assert len(sections) >= 25
    for code, name in IMAGE_CODES.items():
        assert f"| [{code}](#{code.lower()}-{name}) | {name} |" in text
        assert f"\n## {code} {name}\n" in text
    section = text.split("## KH303 package-cache-shipped\n", 1)[1].split("\n## ", 1)[0]
    assert "**warning**, size." in section
    assert "keelhaul image" in section
    assert "Related: dockle: DKL-DI-0005" in section
    assert "Bad:" not in section  # no Dockerfile to show


def test_good_example_project_has_no_findings() -> None:
    tree = parse((ROOT / "examples" / "good" / "Dockerfile").read_bytes())
    assert check_dockerfile(tree) == []


def test_findings_carry_location_and_stage() -> None:
    src = "FROM golang:1.22 AS build\nRUN go build\nFROM node\nCMD node x.js\n"
    found = {f.code: f for f in check_dockerfile(parse(src, "Dockerfile"))}
    tag = found["KH101"]
    assert (tag.location.line, tag.location.column, tag.location.end_column) == (3, 6, 10)
    assert tag.stage == "1"
    assert "node" in tag.message
    assert found["KH113"].location.line == 4


@pytest.mark.parametrize(
    ("src", "quiet"),
    [
        ("ARG BASE=alpine:latest\nFROM $BASE\n", False),
        ("FROM alpine:3.20 AS a\nFROM a\nUSER 1000\n", True),
        ("FROM scratch\nCOPY x /x\n", True),
        ("FROM alpine@sha256:" + "0" * 64 + "\nUSER 1\n", True),
        ("FROM localhost:5000/app\nUSER 1\n", False),
    ],
)
def test_mutable_tag_cases(src: str, quiet: bool) -> None:
    codes = [f.code for f in check_dockerfile(parse(src))]
    assert ("KH101" not in codes) is quiet


def test_cache_mount_silences_cleanup_rules() -> None:
    src = (
        "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt/lists "
        "--mount=type=cache,target=/root/.cache/pip apt-get update && "
        "apt-get install -y --no-install-recommends python3-pip && pip install flask\nUSER 1\n"
    )
    codes = {f.code for f in check_dockerfile(parse(src))}
    assert "KH105" not in codes
    assert "KH107" not in codes


def test_root_user_inherited_from_earlier_stage() -> None:
    src = 'FROM debian:12 AS base\nUSER 10001\nFROM base\nCMD ["x"]\n'
    assert "KH109" not in {f.code for f in check_dockerfile(parse(src))}
    src_root = "FROM debian:12\nUSER app\nUSER root\n"
    assert "KH109" in {f.code for f in check_dockerfile(parse(src_root))}


def test_secret_values_are_redacted() -> None:
    secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    found = check_dockerfile(
        parse(f"FROM a:1\nARG GITHUB_TOKEN={secret}\nENV DB_PASSWORD=hunter2hunter2\n")
    )
    messages = " ".join(f.message for f in found if f.code == "KH110")
    assert "GITHUB_TOKEN" in messages
    assert "DB_PASSWORD" in messages
    assert secret not in messages
    assert "hunter2" not in messages
    quiet = check_dockerfile(parse("FROM a:1\nARG TOKEN\nENV PASSWORD_FILE=/run/secrets/pw\n"))
    assert [f for f in quiet if f.code == "KH110"] == []


@pytest.mark.corpus
def test_corpus_checks_without_exceptions() -> None:
    stats = corpus_stats("dockerfiles checked by the rules")
    for file in parsed_dockerfiles():
        findings = check_dockerfile(file.tree)
        stats["files"] += 1
        stats["findings"] += len(findings)


PIPELINE = [r for r in RULES if r.from_pipeline]


@pytest.mark.parametrize("rule", PIPELINE, ids=[r.code for r in PIPELINE])
def test_pipeline_rule_examples_through_check(rule: Rule) -> None:
    import json
    import subprocess
    import sys

    def codes(src: str) -> list[str]:
        cmd = [sys.executable, "-m", "keelhaul", "check", "--no-config", "--format", "json"]
        cmd += ["--select", f"{rule.code},KH101", "-"]
        out = subprocess.run(cmd, input=src, capture_output=True, text=True, check=False)
        return [f["code"] for f in json.loads(out.stdout)["findings"]]

    assert rule.code in codes(rule.bad)
    assert rule.code not in codes(rule.good)


@pytest.mark.parametrize("rule", EXAMPLES, ids=[r.code for r in EXAMPLES])
def test_declared_fix_is_offered_on_the_bad_example(rule: Rule, tmp_path: Path) -> None:
    """`Rule.fix` says a fix exists: the bad example gets one; without it, no finding has one."""
    context = example_context(rule, rule.bad, tmp_path)
    found = check_dockerfile(
        parse(rule.bad), rules=[rule], settings=rule.example_settings, build_context=context
    )
    fixes = [f.fix for f in found if f.fix is not None]
    if rule.fix is None:
        assert not fixes, f"{rule.code} offers fixes but does not declare Rule.fix"
    else:
        assert fixes, f"{rule.code} declares a fix but its bad example gets none"
