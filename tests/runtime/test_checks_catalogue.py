"""Every runtime rule: metadata in shape, its bad example flagged, its good example quiet."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

from keelhaul.findings import Category, Severity
from keelhaul.rule import Rule
from keelhaul.runtime.checking import check_runs, runtime_rules
from keelhaul.runtime.grouping import GROUP_CODE, ITEMS
from keelhaul.runtime.kubernetes import read_kubernetes, stored_values
from keelhaul.runtime.model import ContainerRun

RULES = runtime_rules()
RELATED_KEYS = {"kube-score", "kubesec", "checkov", "trivy", "polaris", "pss"}
RELATED_FORMS = {
    "checkov": re.compile(r"CKV2?_K8S_\d+"),
    "trivy": re.compile(r"KSV\d{3}"),
}


def read_example(rule: Rule, text: str) -> list[ContainerRun]:
    if rule.example_format == "kubernetes":
        return read_kubernetes(text, "example.yaml")
    if rule.example_format == "compose" and importlib.util.find_spec("keelhaul.runtime.compose"):
        compose = importlib.import_module("keelhaul.runtime.compose")
        reader = getattr(compose, "read_compose", None)
        if reader is not None:
            return list(reader(text, "compose.yaml"))
    pytest.skip(f"no reader for {rule.example_format} examples yet")


def codes(rule: Rule, text: str) -> list[str]:
    pss = (rule.example_settings or {}).get("pss")
    runs = read_example(rule, text)
    # KH409 groups the findings of its members: its examples run with them
    rules = [rule] + ([r for r in RULES if r.code in ITEMS] if rule.code == GROUP_CODE else [])
    return [
        f.code
        for f in check_runs(
            runs,
            rule.example_settings,
            pss=str(pss) if pss else None,
            rules=rules,
            values=stored_values(text, "example.yaml")
            if rule.example_format == "kubernetes"
            else (),
        )
    ]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_bad_example_is_flagged(rule: Rule) -> None:
    assert rule.code in codes(rule, rule.bad)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_good_example_is_quiet(rule: Rule) -> None:
    assert rule.code not in codes(rule, rule.good)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_metadata(rule: Rule) -> None:
    assert re.fullmatch(r"KH4[0-4]\d", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.name)
    assert isinstance(rule.severity, Severity)
    assert isinstance(rule.category, Category)
    assert rule.summary
    assert not rule.summary.endswith(".")
    assert len(rule.summary) <= 100
    assert len(rule.explanation) > 150
    assert set(rule.related) <= RELATED_KEYS
    for key, ids in rule.related.items():
        form = RELATED_FORMS.get(key)
        assert ids
        assert all(form is None or form.fullmatch(i) for i in ids)


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len({r.name for r in RULES}) == len(RULES)


def test_pss_rules_are_opt_in_and_others_on() -> None:
    assert {r.code for r in RULES if not r.default_on} == {"KH445", "KH446"}
