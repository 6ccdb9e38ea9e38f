"""The parts of ``keelhaul fleet`` that need no registry or cluster: what the patterns
select, the references a file lists, the catalog's paging, the store's migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keelhaul.fleet.report import build_report, render
from keelhaul.fleet.sources import Selection, SourceError, expand, matches
from keelhaul.fleet.store import MIGRATIONS, SCHEMA_VERSION, StoreError, _redacted, open_store
from keelhaul.image.cost import CostSettings
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
        versions = store.rows("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    finally:
        store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(
        StoreError, match=rf"schema version {SCHEMA_VERSION + 1}.*\(upgrade keelhaul\)"
    ):
        open_store(path)


def test_a_database_of_the_first_schema_is_brought_up_to_date(tmp_path: Path) -> None:
    """A fleet database written before the base vulnerability counts: its snapshots stay,
    and report with no counts (None: not matched, unlike 0)."""
    path = tmp_path / "fleet.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0]:
            raw.execute(statement.replace("{ID}", "INTEGER PRIMARY KEY"))
        raw.execute("INSERT INTO schema_version VALUES (1)")
        raw.execute(
            "INSERT INTO snapshots (started, finished, sources, analyzers, layer_tasks,"
            " seconds) VALUES ('s', 'f', 'registry:x', 'filesystem-1', 1, 0.5)"
        )
        raw.execute("INSERT INTO images (snapshot_id, source, repository, tag, platform,"
                    " config_digest, compressed_size, tar_size, waste, removable, os,"
                    " base_top, complete) VALUES (1, 'registry:x/a:1', 'a', '1',"
                    " 'linux/amd64', 'sha256:c', 10, 20, 0, 0, 'Debian', 'sha256:t', 1)")  # fmt: skip
    store = open_store(path)
    try:
        assert store.rows("SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
        report = build_report(store, CostSettings())
    finally:
        store.close()
    [base] = report.bases
    assert (base.os, base.images, base.packages, base.vulnerabilities) == ("Debian", 1, None, None)
    assert "vulnerabilit" not in render(report, "text")


def test_a_postgresql_url_is_shown_without_its_password() -> None:
    assert _redacted("postgresql://fleet:s3cret@db:5432/keelhaul") == (
        "postgresql://fleet@db:5432/keelhaul"
    )
    assert _redacted("postgresql://db/keelhaul") == "postgresql://db/keelhaul"


HOSTILE = "<script>alert('x')</script>&<img src=x onerror=alert(1)>"


def test_the_html_report_escapes_every_name() -> None:
    """Names that come from images and registries (an os-release PRETTY_NAME, an error
    message, a rule code kept in the database) reach the page only escaped (the fleet tests
    render a whole report in Chromium)."""
    from keelhaul.fleet.report import BaseLine, Change, FleetReport, ImageLine, Totals

    line = ImageLine(f"registry:127.0.0.1:5000/team/app:v1 {HOSTILE}", "linux/amd64",
                     1000, 2000, 500, 1.5, 0.5)  # fmt: skip
    totals = Totals(images=2, incomplete=1, layers=3, stored_unshared=2000, stored_shared=1000,
                    uncompressed_unshared=4000, uncompressed_shared=2000, waste=500,
                    cost_month_unshared=3.0, cost_month=2.0, storage_month=1.0,
                    transfer_month=1.0, saving_month=0.5)  # fmt: skip
    report = FleetReport(
        snapshot=2, finished=HOSTILE, seconds=1.0, layer_tasks=3, totals=totals,
        top_waste=[line], top_cost=[line],
        bases=[BaseLine(HOSTILE, f"sha256:{HOSTILE}", 1, "2024-06-30", True, 4,
                        {"critical": 1, "high": 0})],
        findings={HOSTILE: 2}, incomplete=[(HOSTILE, HOSTILE)],
        change=Change(1, [HOSTILE], [], [HOSTILE], 10, 0.1, -5),
    )  # fmt: skip
    page = render(report, "html")
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&lt;img" in page
    assert page.count("&lt;script&gt;") >= 9  # every place a hostile name went
    assert "1 vulnerability (1 critical) in 4 packages" in page
    assert "PAST end of life since 2024-06-30" in page
    assert "2.00x" in page
