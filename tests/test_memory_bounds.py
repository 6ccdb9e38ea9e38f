"""What one long-lived process keeps between files is bounded (bench/memory_growth.py
measures it): the parsed-script caches by entries and by characters, and the one YAML loader
keeps nothing per document."""

from __future__ import annotations

from keelhaul import limits
from keelhaul.dockerfile.shell import PARSED, TextMemo, parse_shell
from keelhaul.rules.registry import read_script


def test_a_text_memo_is_bounded_by_entries_and_by_characters() -> None:
    built: list[str] = []

    def build(text: str) -> str:
        built.append(text)
        return text.upper()

    memo = TextMemo(build, max_entries=3, max_chars=10)
    assert memo("ab") == "AB"
    assert memo("ab") == "AB"
    assert built == ["ab"]  # remembered
    for text in ("cd", "ef", "gh"):
        memo(text)
    assert memo.size == (3, 6)  # four entries asked, three kept: "ab" went first
    memo("ab")
    assert built == ["ab", "cd", "ef", "gh", "ab"]
    memo("ijklmn")  # 6 more characters: the least recently used go until 10 or fewer
    assert memo.size == (3, 10)
    memo("opq")
    assert memo.size == (2, 9)  # "gh" and "ab" gone
    memo("x" * 11)  # longer than the whole budget: built, not kept
    assert memo.size == (2, 9)
    memo.clear()
    assert memo.size == (0, 0)


def test_parsed_scripts_kept_stay_within_the_character_budget() -> None:
    body = "x" * 20_000  # one long quoted word: many characters, quick to parse
    count = limits.PARSE_CACHE_CHARS // len(body) + 20
    for i in range(count):  # more distinct scripts than the budget holds
        script = f"apt-get install -y pkg{i} && echo '{body}'"
        assert parse_shell(script).commands
        read_script(script)
    for memo in (PARSED, read_script):
        entries, chars = memo.size
        assert chars <= limits.PARSE_CACHE_CHARS
        assert entries <= limits.PARSE_CACHE_ENTRIES
        assert entries < count


def test_the_yaml_loader_keeps_nothing_per_document() -> None:
    from keelhaul.runtime import _ruamel_loader
    from keelhaul.runtime.yaml_documents import load_documents

    for i in range(50):
        docs = load_documents(f"a: {i}\n---\nb: {i}\n", f"f{i}.yaml")
        assert len(docs) == 2
    assert _ruamel_loader._LOADER is not None
    assert _ruamel_loader._LOADER.doc_infos == []
