"""A vocabulary that reads its slow catalogue only when a word outside its own rules needs it
(``keelhaul image`` knows the KH3xx codes without importing every Dockerfile rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.config import load_file
from keelhaul.errors import ConfigError
from keelhaul.findings import Category
from keelhaul.rule import Rule
from keelhaul.selection import DeferredVocabulary, Specificity, Vocabulary
from tests.selection_sample import RULES, FakeRule

IMAGE = (
    FakeRule("KH303", "package-cache-shipped", Category.SIZE),
    FakeRule("KH320", "image-runs-as-root", Category.SECURITY),
)


def deferred(loads: list[int]) -> DeferredVocabulary:
    def later() -> list[Rule]:
        loads.append(1)
        return list(RULES)

    return DeferredVocabulary(IMAGE, later)


@pytest.mark.parametrize("word", ["KH303", "image-runs-as-root", "security", "ALL", "SC2086"])
def test_own_words_resolve_without_the_catalogue(word: str) -> None:
    loads: list[int] = []
    vocabulary = deferred(loads)
    assert vocabulary.selector(word) is not None
    assert vocabulary.rule("KH320").name == "image-runs-as-root"
    assert loads == []
    assert not vocabulary.loaded


def test_another_rule_loads_the_catalogue_once_and_answers_as_the_full_one() -> None:
    loads: list[int] = []
    vocabulary = deferred(loads)
    full = Vocabulary([*IMAGE, *RULES])
    for word in ("KH101", "root-user", "KH303"):
        assert vocabulary.selector(word) == full.selector(word)
    assert vocabulary.rule("KH109") == full.rule("KH109")
    assert vocabulary.hadolint == full.hadolint
    assert loads == [1]
    assert vocabulary.loaded


def test_unknown_words_and_hadolint_codes_are_explained_from_the_catalogue() -> None:
    vocabulary = deferred([])
    assert "did you mean 'root-user'" in vocabulary.unknown("root-usr")
    assert "KH101" in vocabulary.unknown("DL3007")


def test_a_config_naming_dockerfile_and_image_rules(tmp_path: Path) -> None:
    loads: list[int] = []
    vocabulary = deferred(loads)
    config = tmp_path / "keelhaul.toml"
    config.write_text('ignore = ["KH303", "root-user"]\n')
    loaded = load_file(config, vocabulary)
    ignored = {s.value for s in loaded.layers[0].ignore if s.specificity is Specificity.RULE}
    assert ignored == {"KH303", "KH109"}
    assert loads == [1]
    config.write_text('ignore = ["no-such-rule"]\n')
    with pytest.raises(ConfigError, match="unknown rule or category 'no-such-rule'"):
        load_file(config, deferred([]))
