"""``keelhaul fix --unsafe-fixes`` on Compose files gives files the Compose Specification's
own JSON schema accepts (tests/data/compose-spec), and keeps what a merge key (``<<:
*common``) brings in: an item is never added to a list an anchor shares between services."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from keelhaul.runtime.fixing import fix_compose
from tests.compose_schema import SCHEMA, compose_errors, load_compose

#: Each written to exercise one shape the fixer meets: block and flow lists, empty flow
#: lists, a merge key bringing block lists, a ``tmpfs`` written as one string, images whose
#: needs differ (nginx's writable paths and capabilities, postgres's data directory, redis),
#: a low port, a service only built.
FILES = {
    "plain.yaml": """\
services:
  web:
    image: nginx:1.27
    ports:
      - "80:80"
  db:
    image: postgres:16.4
    volumes:
      - pgdata:/var/lib/postgresql/data
  app:
    build: .
    environment:
      - MODE=dev
volumes:
  pgdata: {}
""",
    "lists.yaml": """\
services:
  api:
    image: example/api:1.2
    cap_add: []
    security_opt: []
  cache:
    image: redis:7.2
    tmpfs:
      - /tmp:size=64m
    cap_drop:
      - NET_RAW
    cap_add:
      - cap_setuid
  proxy:
    image: nginx:1.27
    tmpfs: ["/var/cache/nginx"]
    expose:
      - "80"
""",
    "anchors.yaml": """\
x-common: &common
  restart: unless-stopped
  cap_drop:
    - NET_RAW
  tmpfs:
    - /run
  security_opt:
    - label=disable
services:
  web:
    <<: *common
    image: nginx:1.27
  other:
    <<: *common
    image: example/other:1.0
""",
    "string-tmpfs.yaml": """\
services:
  worker:
    image: python:3.12-slim
    tmpfs: /run
""",
}


def test_the_schema_is_the_recorded_copy() -> None:
    recorded = (SCHEMA.parent / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest in recorded
    assert "Apache-2.0" in recorded
    assert (
        (SCHEMA.parent / "LICENSE")
        .read_text(encoding="utf-8")
        .lstrip()
        .startswith("Apache License")
    )


def test_the_schema_refuses_what_compose_refuses() -> None:
    # the validator is live: a wrong type and an unknown service key are refused
    assert compose_errors(load_compose("services:\n  a:\n    image: x\n    cap_drop: ALL\n"))
    assert compose_errors(load_compose("services:\n  a:\n    image: x\n    capdrop: [ALL]\n"))
    assert compose_errors(load_compose("services:\n  a:\n    cap_drop: [ALL, ALL]\n"))


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixed_compose_files_are_valid(name: str) -> None:
    text = FILES[name]
    assert compose_errors(load_compose(text)) == []
    change = fix_compose(text, name)
    assert change.text != text, change.skipped
    assert compose_errors(load_compose(change.text)) == []


def test_a_merged_list_is_repeated_in_the_service_not_edited_in_the_anchor() -> None:
    text = FILES["anchors.yaml"]
    change = fix_compose(text, "anchors.yaml")
    anchor = text.split("services:")[0]
    assert change.text.startswith(anchor)  # the shared lists are as they were
    services = load_compose(change.text)["services"]  # type: ignore[index]
    web, other = services["web"], services["other"]
    assert web["cap_drop"] == other["cap_drop"] == ["ALL"]
    assert web["tmpfs"][0] == other["tmpfs"][0] == "/run"  # kept, then /tmp and nginx's
    assert {"/tmp", "/var/cache/nginx", "/var/run"} <= set(web["tmpfs"])
    assert other["tmpfs"] == ["/run", "/tmp"]
    assert (
        web["security_opt"]
        == other["security_opt"]
        == [
            "label=disable",
            "no-new-privileges:true",
        ]
    )
    assert web["cap_add"] == ["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"]
    assert web["read_only"] is True


def test_read_only_needs_its_writable_paths() -> None:
    # `tmpfs: /run` (one string) cannot take /tmp: read-only is not added without it
    change = fix_compose(FILES["string-tmpfs.yaml"], "string-tmpfs.yaml")
    worker = load_compose(change.text)["services"]["worker"]  # type: ignore[index]
    assert "read_only" not in worker
    assert worker["tmpfs"] == "/run"
    assert any("read_only not added" in s and "/tmp" in s for s in change.skipped)


def test_no_capability_is_dropped_without_those_added_back() -> None:
    # postgres's entrypoint needs CHOWN, SETUID...; a cap_add keelhaul cannot edit (null):
    # ALL is not dropped either
    text = "services:\n  db:\n    image: postgres:16.4\n    cap_add:\n    cap_drop: [NET_RAW]\n"
    change = fix_compose(text, "compose.yaml")
    db = load_compose(change.text)["services"]["db"]  # type: ignore[index]
    assert db["cap_drop"] == ["NET_RAW"]
    assert any("cap_drop ALL not added" in s for s in change.skipped)


def test_fixed_files_on_disk_validate(tmp_path: Path) -> None:
    """End to end: the command writes what the schema accepts."""
    from tests.keelhaul_cli import run

    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    done = run("fix", "--no-config", "--unsafe-fixes", *sorted(FILES), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name, text in FILES.items():
        after = (tmp_path / name).read_text()
        assert after != text, name
        assert compose_errors(load_compose(after)) == [], name
