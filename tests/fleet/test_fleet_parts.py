"""The parts of ``keelhaul fleet`` that need no registry or cluster: what the patterns
select, the references a file lists, the catalog's paging, the store's migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keelhaul.fleet.sources import Selection, SourceError, expand, matches
from keelhaul.fleet.store import SCHEMA_VERSION, StoreError, _redacted, open_store
from keelhaul.registry import RegistryClient
from keelhaul.registry.client import _next_page


def test_patterns_match_repositories_or_repo_and_tag() -> None:
    everything = Selection()
    assert matches(everything, "team/app", "v1")
    only_team = Selection(include=("team/*",))
    assert matches(only_team, "team/app", "v1")
    assert not matches(only_team, "other/app", "v1")
    no_rc = Selection(exclude=("*:*-rc*",))
    assert matches(no_rc, "team/app", "1.2")
    assert not matches(no_rc, "team/app", "1.2-rc1")
    both = Selection(include=("team/*",), exclude=("team/legacy",))
    assert not matches(both, "team/legacy", "v1")
    assert matches(both, "team/app", "v1")


def test_a_file_lists_references_with_comments_and_without_the_scheme(tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text(
        "# production\n"
        "registry:127.0.0.1:5000/team/app:v1\n"
        "127.0.0.1:5000/team/app:v1   # the same again\n"
        "\n"
        "127.0.0.1:5000/team/api@sha256:" + "a" * 64 + "\n"
        "127.0.0.1:5000/other/db:15\n"
    )
    with RegistryClient() as client:  # tagged references need no request
        found = expand(client, str(listing), Selection(exclude=("other/*",)))
    assert found == ["127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/api@sha256:" + "a" * 64]


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text("127.0.0.1:5000/team/app:v1\n127.0.0.1:5000/Team/App:v1\n")
    with RegistryClient() as client, pytest.raises(SourceError, match=r"fleet\.txt:2: "):
        expand(client, str(listing), Selection())
    with RegistryClient() as client, pytest.raises(SourceError, match="not a file"):
        expand(client, str(tmp_path / "missing.txt"), Selection())


def test_the_next_catalog_page_comes_from_the_link_header() -> None:
    link = '</v2/_catalog?last=team%2Fapp9&n=1000>; rel="next"'
    assert _next_page(link) == "/v2/_catalog?last=team%2Fapp9&n=1000"
    assert _next_page("") == ""
    assert _next_page('<https://r.example/v2/x/tags/list?last=v9&n=2>; rel="next"') == (
        "/v2/x/tags/list?last=v9&n=2"
    )


def test_migrations_run_once_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.sqlite3"
    open_store(path).close()
    store = open_store(path)  # again: nothing to do
    try:
        assert store.rows("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    finally:
        store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(
        StoreError, match=rf"schema version {SCHEMA_VERSION + 1}.*\(upgrade keelhaul\)"
    ):
        open_store(path)


def test_a_postgresql_url_is_shown_without_its_password() -> None:
    assert _redacted("postgresql://fleet:s3cret@db:5432/keelhaul") == (
        "postgresql://fleet@db:5432/keelhaul"
    )
    assert _redacted("postgresql://db/keelhaul") == "postgresql://db/keelhaul"
