"""Image findings in every format: the layer in its own place (not hidden in the line), and
whether the base image brought the finding."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from keelhaul.findings import Location
from keelhaul.report import FORMATS, render
from tests.report.sample import IMAGE, image_report

REPORT = image_report()
CACHE = f"{IMAGE}!/var/lib/apt/lists"
GIT = f"{IMAGE}!/app/.git"


def test_location_layer_is_optional_and_last() -> None:
    assert Location("Dockerfile", 3).layer is None
    assert Location("Dockerfile", 3, 2, 3, 9).end_column == 9  # positional use unchanged
    assert str(Location("Dockerfile", 3, 2)) == "Dockerfile:3:2"
    assert str(Location("img!/etc/shadow", 1, 1, layer=3)) == "img!/etc/shadow (layer 3)"


def test_text() -> None:
    text = render("text", REPORT)
    assert f"{CACHE} (layer 2): warning KH303 package-cache-shipped [base]: apt lists" in text
    assert f"{GIT} (layer 3): warning KH305 vcs-folder-shipped: .git" in text
    assert f"{IMAGE}!/usr/bin/su" not in text
    assert f"{IMAGE}:1:1: info KH322 setuid-file [base]: 3 setuid" in text
    assert f"{IMAGE}:1:1: warning KH320 image-runs-as-root: the image" in text
    assert "Found 4 findings in 3 of 3 files (2 from the base image)." in text
    assert "(layer 2):" in render("concise", REPORT)
    assert "from the base image" in render("concise", REPORT).splitlines()[-1]


def test_json() -> None:
    found = {f["code"]: f for f in json.loads(render("json", REPORT))["findings"]}
    assert (found["KH303"]["layer"], found["KH303"]["origin"]) == (2, "base")
    assert (found["KH303"]["line"], found["KH303"]["column"]) == (1, 1)
    assert (found["KH305"]["layer"], found["KH305"]["origin"]) == (3, "own")
    assert "layer" not in found["KH322"]
    assert found["KH322"]["origin"] == "base"
    assert "layer" not in found["KH320"]
    assert "origin" not in found["KH320"]


def test_sarif() -> None:
    results = json.loads(render("sarif", REPORT))["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    cache = by_rule["KH303"]
    assert cache["properties"]["layer"] == 2
    assert cache["properties"]["origin"] == "base"
    assert cache["locations"][0]["logicalLocations"] == [{"name": "layer 2", "kind": "layer"}]
    assert cache["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert by_rule["KH305"]["properties"]["origin"] == "own"
    assert "logicalLocations" not in by_rule["KH322"]["locations"][0]
    assert "origin" not in by_rule["KH320"]["properties"]
    assert "layer" not in by_rule["KH320"]["properties"]


def test_markdown() -> None:
    text = render("markdown", REPORT)
    assert "2 from the base image" in text
    assert f"`{CACHE} (layer 2)` (base image) |" in text
    assert f"`{GIT} (layer 3)` |" in text


def test_github() -> None:
    lines = render("github", REPORT).splitlines()
    cache = next(line for line in lines if "KH303" in line)
    assert "title=KH303 package-cache-shipped (layer 2%2C from the base image)" in cache
    git = next(line for line in lines if "KH305" in line)
    assert "title=KH305 vcs-folder-shipped (layer 3)::" in git


def test_gitlab() -> None:
    issues: list[dict[str, Any]] = json.loads(render("gitlab", REPORT))
    by_check = {i["check_name"]: i for i in issues}
    assert by_check["KH303"]["description"] == (
        "KH303 package-cache-shipped (layer 2, from the base image): apt lists: 40.0 MB"
    )
    assert by_check["KH305"]["description"].startswith("KH305 vcs-folder-shipped (layer 3): ")
    assert by_check["KH320"]["description"].startswith("KH320 image-runs-as-root: ")


def test_checkstyle() -> None:
    root = ET.fromstring(render("checkstyle", REPORT))
    messages = {e.get("source"): e.get("message") for e in root.iter("error")}
    assert messages["keelhaul.KH303.package-cache-shipped"] == (
        "apt lists: 40.0 MB (KH303 package-cache-shipped) (layer 2, from the base image)"
    )
    assert messages["keelhaul.KH305.vcs-folder-shipped"] == (
        ".git: 2.0 MB (KH305 vcs-folder-shipped) (layer 3)"
    )


def test_junit() -> None:
    root = ET.fromstring(render("junit", REPORT))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    cache = cases["KH303 package-cache-shipped in layer 2"]
    failure = cache.find("failure")
    assert failure is not None
    assert failure.text is not None
    assert failure.text.startswith(f"{CACHE} (layer 2): warning KH303")
    assert "origin: the base image" in failure.text
    assert "KH305 vcs-folder-shipped in layer 3" in cases
    assert "KH320 image-runs-as-root at line 1, column 1" in cases


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_says_layer_2(fmt: str) -> None:
    out = render(fmt, REPORT)
    assert "layer 2" in out or '"layer": 2' in out, fmt
