"""`keelhaul verify` without an engine: the one-line refusal, option errors, the report built
from a result, and the pieces (progress parsing, FROM mapping, the file to change, the
bisection's search)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.settings import Settings
from keelhaul.verify import report
from keelhaul.verify.base_map import BaseMapError, local_for, map_bases, parse_entries
from keelhaul.verify.bisect import bisect
from keelhaul.verify.building import ImageFacts
from keelhaul.verify.cache_behaviour import change_line, choose_file, touch
from keelhaul.verify.engine import Built, Step, parse_progress
from keelhaul.verify.smoke import Smoke, parse_http
from keelhaul.verify.verifying import Request, Result, Side
from tests.keelhaul_cli import run


def _app(folder: Path) -> Path:
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "requirements.txt").write_text("flask\n")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text("FROM python:3.11\nCOPY requirements.txt .\nRUN true\nCOPY . /app\n")
    return dockerfile


# -- the command line ----------------------------------------------------------------------


def _verify(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", "verify", str(folder), *args],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1", **env},
                          check=False)  # fmt: skip


def test_without_an_engine_it_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    _app(tmp_path)
    done = _verify(tmp_path, env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("keelhaul: error: no Docker Engine")
    assert (tmp_path / "Dockerfile").read_text().startswith("FROM python:3.11\n")  # untouched


def test_a_docker_client_that_is_not_there(tmp_path: Path) -> None:
    _app(tmp_path)
    done = _verify(tmp_path, "--docker", str(tmp_path / "docker"), env={})
    assert done.returncode == 2
    assert done.stderr.strip() == f"keelhaul: error: no docker client at {tmp_path / 'docker'}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "Dockerfile"], "--before and --after go together"),
        (["--before", "Dockerfile", "--after", "Dockerfile", "--against", "HEAD"],
         "--before/--after and --against do not go together"),
        (["--smoke", "true", "--smoke-http", "8080/"], "--smoke and --smoke-http do not go together"),
        (["--smoke-http", "web/health"], "--smoke-http 'web/health': expected PORT/PATH"),
        (["--base-map", "python"], "--base-map 'python': expected IMAGE=LOCAL_IMAGE"),
        (["--touch", "nothing.py"], "--touch nothing.py: no such file"),
        (["-f", "Missing.Dockerfile"], "Missing.Dockerfile: no such file or directory"),
    ],
)  # fmt: skip
def test_option_errors_exit_2_before_any_build(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _app(tmp_path)
    # no engine either: each error must come before verify looks for one
    done = run("verify", ".", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Docker Engine" not in done.stderr


def test_fix_verify_options_need_verify(tmp_path: Path) -> None:
    _app(tmp_path)
    done = run("fix", "--network", "host", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert "--network and --base-map go with --verify" in done.stderr


def test_the_base_map_setting_is_read_and_checked() -> None:
    settings = Settings.of({"verify-base-map": {"python:3.11": "mirror/python:3.11"}})
    assert dict(settings.verify_base_map or {}) == {"python:3.11": "mirror/python:3.11"}
    with pytest.raises(Exception, match="verify-base-map: expected a table of strings"):
        Settings.of({"verify-base-map": ["python:3.11=mirror"]})


# -- the report ----------------------------------------------------------------------------


def _facts(size: int, layers: int, cmd: tuple[str, ...]) -> ImageFacts:
    return ImageFacts(size=size, compressed=size // 3, compressed_basis="estimated",
                      compressed_how="estimated: ...", layers=layers, waste=0, efficiency=1.0,
                      user="", exposed_ports=("8080/tcp",), env=("PATH=/usr/bin",), cmd=cmd)  # fmt: skip


def _steps(*names: str, cached: tuple[str, ...] = ()) -> tuple[Step, ...]:
    return tuple(Step(name, name in cached) for name in names)


def _result(after_builds: bool = True) -> Result:
    request = Request(dockerfile=Path("app/Dockerfile"), context=Path("app"))
    served = Smoke(True, "http", "GET :8080/health", "HTTP 200", 1.0)
    before = Side("as it is", "as it is", Built(True, 60.0), _facts(1_120_000_000, 9, ("a",)),
                  served, Built(True, 30.0, _steps(
                      "[1/7] FROM docker.io/library/node:20", "[2/7] WORKDIR /app",
                      "[3/7] COPY . .", "[4/7] RUN npm install", "[5/7] RUN npm run build",
                      "[6/7] RUN a", "[7/7] RUN b", "[8/7] RUN c",
                      cached=("[2/7] WORKDIR /app",))))  # fmt: skip
    if after_builds:
        after = Side("fixed", "fixed", Built(True, 50.0), _facts(164_000_000, 4, ("b",)), served,
                     Built(True, 5.0, _steps("[1/5] FROM x", "[2/5] COPY package.json .",
                                             "[3/5] RUN npm ci", "[4/5] COPY . .",
                                             cached=("[2/5] COPY package.json .", "[3/5] RUN npm ci"))),
                     codes=("KH170", "KH125"), descriptions={"KH125": "build in a stage"})  # fmt: skip
    else:
        after = Side("fixed", "fixed", Built(False, 3.0, (), "ERROR: npm ci needs a lock file"),
                     codes=("KH170", "KH125"), descriptions={"KH170": "npm install to npm ci"})  # fmt: skip
    return Result(request, before, after, "kv0", touched="src/index.js")


def test_the_headline_says_what_changed() -> None:
    assert report.headline(_result()) == (
        "builds, serves GET :8080/health like before, 1.1 GB \u2192 164.0 MB (\u221285%), "
        "a source change rebuilds 1 step instead of 6"
    )


def test_the_headline_and_json_say_what_a_source_change_makes_new() -> None:
    result = _result()
    result.before.new_layer_bytes, result.after.new_layer_bytes = 48_000_000, 120_000
    assert report.headline(result).endswith(
        "a source change rebuilds 1 step instead of 6 (120.0 kB of new layers instead of 48.0 MB)"
    )
    data = json.loads(report.json_text(result))
    assert data["before"]["new_layer_bytes"] == 48_000_000
    assert data["after"]["new_layer_bytes"] == 120_000
    assert data["before"]["rebuilt_runs"] == 5
    assert data["after"]["rebuilt_runs"] == 0
    assert "new layers after the change" in report.text(result)


def test_json_has_before_and_after_with_the_agreed_fields() -> None:
    data = json.loads(report.json_text(_result()))
    for side in ("before", "after"):
        for key in ("built", "size", "smoke", "rebuilt_steps", "compressed_size", "layers",
                    "waste", "user", "exposed_ports", "env", "entrypoint", "cmd"):  # fmt: skip
            assert key in data[side], key
        assert data[side]["built"] is True
        assert data[side]["smoke"]["passed"] is True
        assert data[side]["smoke"]["how"] == "http"
    assert data["before"]["size"] == 1_120_000_000
    assert data["after"]["rebuilt_steps"] == ["[4/5] COPY . ."]
    assert len(data["before"]["rebuilt_steps"]) == 6
    assert data["passed"] is True
    assert data["blame"] is None


def test_a_fixed_version_that_does_not_build_fails_and_is_shown() -> None:
    result = _result(after_builds=False)
    assert not result.passed
    assert result.regressed
    text = report.text(result)
    assert text.startswith("app/Dockerfile: does not build\n")
    assert "ERROR: npm ci needs a lock file" in text
    markdown = report.markdown(result)
    assert markdown.startswith("### \u274c keelhaul verify: `app/Dockerfile`")
    assert "| builds | yes | no |" in markdown
    data = report.to_json(result)
    assert data["after"]["built"] is False
    assert data["after"]["size"] is None


# -- the pieces ----------------------------------------------------------------------------

PLAIN = """\
#4 [1/4] FROM docker.io/keelhaul-test/debian:bookworm
#4 DONE 0.0s
#6 [internal] load build context
#6 DONE 0.0s
#5 [2/4] RUN echo one > /one
#5 CACHED
#7 [build 3/4] COPY a.txt /a.txt
#7 DONE 1.6s
#8 [4/4] RUN cat /a.txt \\
#8 4.750 hello
#8 ERROR: process "/bin/sh -c cat /a.txt" did not complete successfully
"""


def test_plain_progress_is_read_step_by_step() -> None:
    steps = parse_progress(PLAIN)
    assert [(s.name, s.cached, s.failed) for s in steps] == [
        ("[1/4] FROM docker.io/keelhaul-test/debian:bookworm", False, False),
        ("[2/4] RUN echo one > /one", True, False),
        ("[build 3/4] COPY a.txt /a.txt", False, False),
        ("[4/4] RUN cat /a.txt \\", False, True),
    ]
    built = Built(False, 1.0, steps)
    assert [s.name for s in built.rebuilt] == [
        "[build 3/4] COPY a.txt /a.txt",
        "[4/4] RUN cat /a.txt \\",
    ]


def test_from_lines_are_mapped_and_the_rest_kept() -> None:
    text = ("FROM --platform=$BUILDPLATFORM python:3.11 AS build\nRUN true\n"
            "FROM build AS test\nFROM docker.io/library/python:3.11-slim\nFROM node:20\n")  # fmt: skip
    mapping = parse_entries(["python:3.11=local/py:full", "python=local/py:any"])
    mapped, done = map_bases(text, "Dockerfile", mapping)
    assert mapped == (
        "FROM --platform=$BUILDPLATFORM local/py:full AS build\nRUN true\n"
        "FROM build AS test\nFROM local/py:any\nFROM node:20\n"
    )
    assert [(m.line, m.image, m.local) for m in done] == [
        (1, "python:3.11", "local/py:full"),
        (4, "docker.io/library/python:3.11-slim", "local/py:any"),
    ]
    assert local_for("python:3.11@sha256:" + "a" * 64, {"python:3.11": "x"}) == "x"
    assert local_for("pythonx:3.11", {"python": "x"}) is None
    with pytest.raises(BaseMapError):
        parse_entries(["=x"])


def test_the_file_to_change_is_a_source_file_the_build_copies(tmp_path: Path) -> None:
    dockerfile = _app(tmp_path)
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / ".dockerignore").write_text("notes.json\n")
    assert choose_file(tmp_path, dockerfile) == "app.py"
    dockerfile.write_text("FROM python:3.11\nCOPY requirements.txt .\n")
    assert choose_file(tmp_path, dockerfile) == "requirements.txt"
    dockerfile.write_text("FROM python:3.11\nRUN true\n")
    assert choose_file(tmp_path, dockerfile) is None


def test_the_file_to_change_may_be_deep_as_maven_sources_are(tmp_path: Path) -> None:
    """Maven's sources are six folders down: verify still chooses one, not the README or the
    pom, and never a file of .git."""
    (tmp_path / "pom.xml").write_text("<project/>\n")
    (tmp_path / "README.md").write_text("berths\n")
    deep = tmp_path / "src" / "main" / "java" / "example" / "berths"
    deep.mkdir(parents=True)
    (deep / "Main.java").write_text("class Main {}\n")
    (deep / "Berths.java").write_text("class Berths {}\n")
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / ".git" / "hooks" / "update.sh").write_text("true\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM maven:3\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\n")
    assert choose_file(tmp_path, dockerfile) == "src/main/java/example/berths/Berths.java"
    (tmp_path / ".dockerignore").write_text("src/main/java/example/berths/Berths.java\n")
    assert choose_file(tmp_path, dockerfile) == "src/main/java/example/berths/Main.java"


def test_the_change_is_one_line_new_to_each_run(tmp_path: Path) -> None:
    assert change_line("src/app.py", "kv1-before") == "# keelhaul verify kv1-before"
    assert change_line("main.go", "kv1-after") == "// keelhaul verify kv1-after"
    assert change_line("index.html", "t") == "<!-- keelhaul verify t -->"
    assert change_line("data.json", "a").strip() == ""
    assert change_line("data.json", "a") != change_line("data.json", "b")
    (tmp_path / "app.py").write_bytes(b"print(1)")
    touch(tmp_path, "app.py", "t")
    assert (tmp_path / "app.py").read_bytes() == b"print(1)\n# keelhaul verify t\n"


def test_bisect_finds_the_first_prefix_that_fails() -> None:
    tried: list[tuple[str, ...]] = []

    def test(prefix: tuple[str, ...]) -> tuple[bool, str]:
        tried.append(prefix)
        return "KH5" not in prefix, "built"

    codes = ["KH1", "KH2", "KH3", "KH4", "KH5", "KH6", "KH7", "KH8"]
    blame = bisect(codes, test)
    assert blame.code == "KH5"
    assert blame.with_codes == ("KH1", "KH2", "KH3", "KH4")
    assert len(tried) == 3  # log2(8)
    assert bisect(["KH1"], test).code == "KH1"


def test_smoke_http_reads_port_and_path() -> None:
    assert parse_http("8080/health") == (8080, "/health")
    assert parse_http("80") == (80, "/")
    with pytest.raises(ValueError, match="expected PORT/PATH"):
        parse_http("99999/")


def test_the_copies_of_two_files_and_of_a_revision(tmp_path: Path) -> None:
    from keelhaul.verify.verifying import FILES, REVISION, _prepare

    project = tmp_path / "project"
    project.mkdir()
    dockerfile = _app(project)
    (project / ".dockerignore").write_text("secret.txt\n")
    (project / "secret.txt").write_text("not sent\n")
    other = project / "New.Dockerfile"
    other.write_text("FROM python:3.11-slim\nCOPY . /app\n")
    request = Request(dockerfile=dockerfile, context=project, mode=FILES, before_file=dockerfile,
                      after_file=other, base_map={"python": "local/python:3"})  # fmt: skip
    before, after = _prepare(request, tmp_path / "files")
    assert before.dockerfile.read_text().startswith("FROM local/python:3\nCOPY requirements.txt")
    assert after.dockerfile.read_text() == "FROM local/python:3\nCOPY . /app\n"
    assert after.text == other.read_text()  # the report keeps the name as written
    assert (after.context / "app.py").is_file()
    assert not (after.context / "secret.txt").exists()  # .dockerignore'd: never sent, not copied
    assert (after.context / ".dockerignore").is_file()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)  # fmt: skip

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    (project / "app.py").write_text("print('changed')\n")
    dockerfile.write_text("FROM python:3.12\nCOPY . /app\n")
    revision = Request(dockerfile=dockerfile, context=project, mode=REVISION, against="HEAD")
    before, after = _prepare(revision, tmp_path / "revision")
    assert before.label == "HEAD"
    assert before.dockerfile.read_text().startswith("FROM python:3.11\n")
    assert (before.context / "app.py").read_text() == "print('hi')\n"
    assert after.dockerfile.read_text() == "FROM python:3.12\nCOPY . /app\n"
    assert (after.context / "app.py").read_text() == "print('changed')\n"
    assert dockerfile.read_text() == "FROM python:3.12\nCOPY . /app\n"  # the user's, untouched
