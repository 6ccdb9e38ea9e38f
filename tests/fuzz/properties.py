"""What must hold for any input, however broken or hostile: keelhaul answers with exit code
0, 1 or 2 (never 3, its code for a bug), within the time limit, never prints the planted
secret in a report, writes nothing outside the project, and ``fix`` is idempotent.

Each property takes the mutated input and an empty folder; ``tests/fuzz/test_fuzz.py`` runs
them with a short budget, ``bench/fuzz.py`` with a long one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fuzz.harness import PLANTED, Ran, keelhaul, snapshot

REPORT_FORMATS = ("text", "json", "sarif")


def _no_bug(ran: Ran, what: str) -> None:
    assert not ran.crashed, f"{what}: exit 3\n{ran.err[-2000:]}"


def _no_secret(ran: Ran, what: str) -> None:
    assert PLANTED not in ran.out, f"{what}: the planted secret is in standard output"
    assert PLANTED not in ran.err, f"{what}: the planted secret is in standard error"


def _layout(folder: Path) -> tuple[Path, Path]:
    project, outside = folder / "project", folder / "outside"
    project.mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    (outside / "keep.txt").write_text("must not change\n")
    return project, outside


def _fix_twice(project: Path, outside: Path, name: str, extra: list[str]) -> None:
    before_outside = snapshot(outside)
    first = keelhaul(["fix", "--unsafe-fixes", *extra, name], project)
    _no_bug(first, "fix")
    assert snapshot(outside) == before_outside, "fix wrote outside the project"
    if first.code == 2:
        return  # refused as bad input: nothing to be idempotent about
    once = snapshot(project)
    second = keelhaul(["fix", "--unsafe-fixes", *extra, name], project)
    _no_bug(second, "fix again")
    assert snapshot(project) == once, "fix is not idempotent: a second run changed the files"


def dockerfile_holds(data: bytes, folder: Path) -> None:
    project, outside = _layout(folder)
    (project / "Dockerfile").write_bytes(data)
    for form in REPORT_FORMATS:
        ran = keelhaul(["check", "--no-shellcheck", "--format", form, "Dockerfile"], project)
        _no_bug(ran, f"check --format {form}")
        _no_secret(ran, f"check --format {form}")
    _fix_twice(project, outside, "Dockerfile", [])


def manifest_holds(name: str, data: bytes, folder: Path) -> None:
    project, outside = _layout(folder)
    (project / name).write_bytes(data)
    for form in REPORT_FORMATS:
        ran = keelhaul(["check", "--quiet-unknown", "--pss", "restricted", "--format", form, name],
                       project)  # fmt: skip
        _no_bug(ran, f"check --format {form}")
        _no_secret(ran, f"check --format {form}")
    _fix_twice(project, outside, name, [])


def config_holds(name: str, data: bytes, folder: Path) -> None:
    project, _ = _layout(folder)
    (project / "Dockerfile").write_bytes(b"FROM debian:12.5\nRUN apt-get install -y curl\n")
    (project / name).write_bytes(data)
    ran = keelhaul(["check", "--no-shellcheck", "Dockerfile"], project)
    _no_bug(ran, f"check with a mutated {name}")


SBOM: dict[str, Any] = {
    "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
    "components": [{"type": "library", "name": "flask", "version": "2.0.0",
                    "purl": "pkg:pypi/flask@2.0.0"}],
}  # fmt: skip


def osv_record_holds(record: Any, folder: Path) -> None:
    project, _ = _layout(folder)
    (project / "record.json").write_text(json.dumps(record))
    (project / "sbom.cdx.json").write_text(json.dumps(SBOM))
    db = str(project / "osv.sqlite3")
    imported = keelhaul(["db", "import", "--db", db, "record.json"], project)
    _no_bug(imported, "db import")
    if (project / "osv.sqlite3").exists():
        for form in ("text", "json", "sarif"):
            scanned = keelhaul(["vulns", "--db", db, "--format", form, "sbom.cdx.json"], project)
            _no_bug(scanned, f"vulns --format {form}")


def layout_holds(layout: Path, folder: Path) -> None:
    for command in (["image", "--format", "json"], ["sbom", "--format", "json"]):
        ran = keelhaul([*command, f"oci:{layout}"], folder)
        _no_bug(ran, " ".join(command))
