"""The CLI as a user meets it: real processes, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul import __version__

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        check=False,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize("cmd", [[], ["parse"], ["dump"], ["check"], ["rules"]])
def test_help_on_every_command(cmd: list[str]) -> None:
    result = run(*cmd, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_entry_point_script_is_installed() -> None:
    script = Path(sys.executable).parent / "keelhaul"
    assert script.exists()
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0


def test_parse_examples() -> None:
    result = run("parse", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert "Dockerfile(s) parsed, 0 with errors" in result.stderr


def test_missing_file_is_one_line_exit_2() -> None:
    result = run("dump", "/nonexistent/Dockerfile")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "/nonexistent/Dockerfile" in lines[0]
    assert "Traceback" not in result.stderr


def test_directory_given_to_dump(tmp_path: Path) -> None:
    result = run("dump", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_syntax_error_names_file_and_line_and_batch_carries_on(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM alpine\nENV onlykey\n")
    (tmp_path / "b" / "Dockerfile").write_text("FROM alpine:3.20 AS ok\nRUN true\n")
    result = run("--no-color", "parse", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'a' / 'Dockerfile'}:2: ENV must have two arguments" in result.stderr
    assert "stage ok: FROM alpine:3.20  (target)" in result.stdout
    assert "2 Dockerfile(s) parsed, 1 with errors" in result.stderr


def test_dump_is_json_with_stages_and_shell(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text(
        "ARG TAG=3.12-slim\nFROM python:${TAG} AS app\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 \\\n"
        "  && rm -rf /var/lib/apt/lists/*\n"
    )
    result = run("dump", str(df), "--build-arg", "TAG=3.13-slim")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stages"][0]["base"] == "python:3.13-slim"
    run_inst = data["instructions"][2]
    argvs = [c["argv"][:2] for c in run_inst["shell"]["commands"]]
    assert ["apt-get", "install"] in argvs
    installs = [o for o in run_inst["shell"]["operations"] if o.get("action") == "install"]
    assert installs[0]["packages"] == [{"name": "gcc", "version": "4:12.2.0-3"}]


def test_dump_with_syntax_error_still_prints_json_and_exits_2(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("FROM a\nRUN <<EOF\necho\n")
    result = run("dump", str(df))
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["errors"][0]["message"] == "unterminated heredoc"
    assert "unterminated heredoc" in result.stderr


def test_bad_build_arg_is_usage_error(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("FROM a\n")
    result = run("dump", str(df), "--build-arg", "=x")
    assert result.returncode == 2
    assert "--build-arg" in result.stderr


def test_unknown_option_exits_2() -> None:
    result = run("parse", "--nope")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_no_color_env_and_flag(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    for args, env in (((), {"NO_COLOR": "1"}), (("--no-color",), {})):
        result = run(*args, "parse", str(tmp_path), env={**env, "FORCE_COLOR": "1"})
        assert "\x1b[" not in result.stdout + result.stderr


def test_quiet_prints_no_table(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    result = run("-q", "parse", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_bytes(b"\x00\xff\xfe FROM \x80\n\\\n<<EOF")
    result = run("dump", str(df))
    assert result.returncode in (0, 2)
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_continuation_warns_and_verbose_shows_directives(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("# syntax=docker/dockerfile:1\nFROM a\nRUN a \\\n\n  b\n")
    result = run("-v", "parse", str(tmp_path))
    assert result.returncode == 0
    assert "Dockerfile:5: empty continuation line" in result.stderr
    assert "directive syntax=docker/dockerfile:1 (line 1)" in result.stderr


def test_check_examples_exit_1_with_findings() -> None:
    result = run("--no-color", "check", str(EXAMPLES))
    assert result.returncode == 1
    assert "KH101 mutable-base-tag" in result.stdout
    assert "in 5 of 6 files" in result.stdout  # 4 Dockerfiles, a manifest, a Compose file


def test_check_json_and_fail_on(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nMAINTAINER x\nUSER 10001\n")
    picked = ("--select", "KH111,KH101,KH109")
    result = run("check", *picked, "--format", "json", "--fail-on", "warning", str(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["code"] for d in data["findings"]] == ["KH111"]
    assert run("check", *picked, "--fail-on", "style", str(tmp_path)).returncode == 1


def test_check_syntax_error_exit_2(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nENV x\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 2
    assert "ENV must have two arguments" in result.stderr


def test_rules_list_and_explain() -> None:
    listing = run("rules", "--json")
    assert listing.returncode == 0
    codes = [r["code"] for r in json.loads(listing.stdout)]
    assert "KH109" in codes
    one = run("--no-color", "rules", "root-user")
    assert one.returncode == 0
    assert "KH109" in one.stdout
    assert run("rules", "KH999").returncode == 2


#: Image findings of `keelhaul image` every listing must carry (a sample across the range).
IMAGE_CODES = {"KH300": "layer-hides-bytes", "KH303": "package-cache-shipped",
               "KH311": "secret-file-in-image", "KH320": "image-runs-as-root",
               "KH330": "end-of-life-base", "KH345": "image-threshold-exceeded"}  # fmt: skip


def test_rules_list_the_image_findings() -> None:
    listing = run("rules", "--json")
    rules = {r["code"]: r for r in json.loads(listing.stdout)}
    image = {code: r for code, r in rules.items() if code.startswith("KH3")}
    assert len(image) >= 25
    for code, name in IMAGE_CODES.items():
        assert image[code]["name"] == name
    assert image["KH303"]["severity"] == "warning"
    assert image["KH303"]["category"] == "size"
    assert image["KH303"]["related"] == {"dockle": ["DKL-DI-0005"]}
    codes = list(rules)
    assert codes == sorted(codes)
    table = run("--no-color", "rules").stdout
    for code in IMAGE_CODES:
        assert code in table
    for wanted in ("KH303", "package-cache-shipped"):
        one = run("--no-color", "rules", wanted)
        assert one.returncode == 0, one.stderr
        assert "KH303 package-cache-shipped" in one.stdout
        assert "cache mount" in one.stdout  # the explanation
        assert "DKL-DI-0005" in one.stdout  # related ids
        assert "keelhaul image" in one.stdout
