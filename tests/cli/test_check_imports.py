"""What a ``keelhaul check`` of one Dockerfile imports: the Dockerfile rules and the shell
parser, not the image, SBOM, vulnerability and registry-client code, the YAML readers, or
the report formats it does not write (each costs start-up time, paid by every pre-commit
and editor run). Which modules load is decided by the code, never by the machine's speed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Loaded by none of the runs below (a prefix covers the package and its modules).
NEVER = (
    "httpx",
    "keelhaul.sbom",
    "keelhaul.vulns",
    "keelhaul.fix",
    "keelhaul.cache",
    "keelhaul.image.sources",
    "keelhaul.image.layer_walk",
    "keelhaul.registry.client",
    "keelhaul.runtime.kubernetes",
    "keelhaul.runtime.compose",
    "keelhaul.runtime.docker_run",
    "keelhaul.report.sarif",
    "keelhaul.report.junit",
    "keelhaul.report.checkstyle",
    "ruamel",
    "yaml",
    "pathspec",
    "xml",
    "rich.console",
)

SCRIPT = """
import atexit, sys
atexit.register(lambda: print("\\n".join(sorted(sys.modules)), file=sys.stderr))
from keelhaul.cli.command import main
sys.argv = ["keelhaul", *sys.argv[1:]]
main()
"""


def modules_of(tmp_path: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return {line for line in proc.stderr.splitlines() if line and " " not in line}


def loaded(modules: set[str], prefix: str) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_dockerfile_check_imports_only_what_it_needs(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm\nRUN for p in curl git; do apt-get install -y $p; done\nUSER 1000\n"
    )
    modules = modules_of(tmp_path, "check", "--no-config", "--format", fmt, "Dockerfile")
    assert "keelhaul.rules.dockerfile" in modules  # it did check
    assert "bashlex" in modules  # the loop in the RUN was read
    for prefix in NEVER:
        assert loaded(modules, prefix) == [], prefix


def test_a_dockerfile_without_run_does_not_load_the_shell_parser(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM debian:bookworm\nUSER 1000\nCMD ["app"]\n')
    modules = modules_of(tmp_path, "check", "--no-config", "--no-shellcheck", "Dockerfile")
    assert "keelhaul.rules.dockerfile" in modules
    assert loaded(modules, "bashlex") == []
    assert loaded(modules, "concurrent") == []  # no ShellCheck run


def test_a_compose_file_still_loads_its_reader(tmp_path: Path) -> None:
    """The lazy imports are imports deferred, not features dropped."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    modules = modules_of(tmp_path, "check", "--no-config", "compose.yaml")
    assert "keelhaul.runtime.compose" in modules
    assert "ruamel.yaml" in modules
