"""``keelhaul check`` as a user meets it: configuration, suppression, baselines, discovery, stdin,
exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from keelhaul.cli.app import main
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.shellcheck import find_shellcheck
from keelhaul.selection import Vocabulary

#: Findings these tests rely on (committed rules): KH101 mutable-base-tag (no tag, DL3006),
#: KH109 root-user (no USER, DL3002), KH111 maintainer-deprecated (style, DL4000,
#: BuildKit MaintainerDeprecated).
BAD = 'FROM ubuntu\nMAINTAINER someone\nCMD ["/app"]\n'
CLEAN = "FROM alpine:3.20\nUSER 10001\n"
KNOWN = {"KH001", "KH101", "KH109", "KH111", "KH230", "SC2086"}
#: For counts and exit codes that must not move when the catalogue grows.
ONLY = ("--select", "KH101,KH109,KH111")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> list[dict[str, object]]:
        data = json.loads(self.out)
        assert isinstance(data, dict)
        findings = data["findings"]
        assert isinstance(findings, list)
        return findings

    def known(self) -> list[dict[str, object]]:
        """The findings of the rules these tests are about (other rules come and go)."""
        return [f for f in self.json() if f["code"] in KNOWN]

    def codes(self) -> list[str]:
        return [str(f["code"]) for f in self.known()]


class Check(Protocol):
    def __call__(
        self, *args: str, cwd: Path | None = None, stdin: bytes | None = None
    ) -> Result: ...


@pytest.fixture
def check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Check:
    """Run ``keelhaul check ARGS`` in this process, in ``tmp_path`` unless told otherwise."""

    def run(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> Result:
        monkeypatch.chdir(cwd or tmp_path)
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as exc:
            main(["--no-color", "check", "--no-shellcheck", *args])
        captured = capsys.readouterr()
        code = exc.value.code
        return Result(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- exit codes ---------------------------------------------------------------------------


def test_exit_codes(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "clean" / "Dockerfile", CLEAN)
    write(tmp_path / "bad" / "Dockerfile", BAD)
    write(tmp_path / "broken" / "Dockerfile", "FROM a\nENV x\n")
    assert check(*ONLY, "clean").code == 0
    assert check("bad").code == 1
    assert check("bad", "--fail-on", "error").code == 0
    assert check("bad", "--fail-on", "none").code == 0
    broken = check("broken", "bad")
    assert broken.code == 2  # an unreadable file wins over findings
    assert "ENV must have two arguments" in broken.err
    assert "KH101" in broken.out  # the other files are still checked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--select", "KH999"), "--select: unknown rule or category 'KH999'"),
        (("--ignore", "DL3006"), "'DL3006' is a hadolint code; keelhaul's is KH101"),
        (("--config", "missing.toml"), "missing.toml: no such file or directory"),
        (("--config", "x.toml", "--no-config"), "do not go together"),
        (("--fail-on", "fatal"), "Invalid value for '--fail-on'"),
        (("--stdin-filename", "Dockerfile"), "--stdin-filename needs `-`"),
        (("-", "-"), "can be given only once"),
        (("--baseline", "missing.json"), "missing.json: no such file or directory"),
        (("nope",), "nope: no such file or directory"),
    ],
)
def test_usage_errors_exit_2_in_one_line(check: Check, args: tuple[str, ...], message: str) -> None:
    result = check(*args, stdin=b"FROM a\n")
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (".keelhaul.toml", "select = [\n", ".keelhaul.toml: invalid TOML"),
        (".keelhaul.toml", "colour = true\n", ".keelhaul.toml: colour: unknown key"),
        (".keelhaul.toml", 'ignore = ["KH999"]\n', ".keelhaul.toml: ignore: unknown rule"),
        ("pyproject.toml", "[tool.keelhaul]\nfail-on = 3\n", "tool.keelhaul.fail-on: expected"),
        (".hadolint.yaml", "ignored: [DL3006\n", ".hadolint.yaml: invalid YAML"),
    ],
)
def test_bad_configuration_exits_2_naming_file_and_key(
    check: Check, tmp_path: Path, name: str, text: str, message: str
) -> None:
    write(tmp_path / name, text)
    write(tmp_path / "Dockerfile", BAD)
    result = check()
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]


def test_real_process_exit_codes_and_stdin(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "keelhaul", "check", "--no-shellcheck", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )

    assert run(*ONLY, "-", stdin=CLEAN).returncode == 0
    bad = run("-", stdin=BAD)
    assert bad.returncode == 1
    assert "-:1:6: warning KH101" in bad.stdout
    write(tmp_path / ".keelhaul.toml", "nonsense = 1\n")
    broken = run("-", stdin=BAD)
    assert broken.returncode == 2
    assert broken.stderr.startswith("keelhaul: error: .keelhaul.toml: nonsense: unknown key")


# --- configuration ------------------------------------------------------------------------


def test_configuration_selects_and_overrides(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.keelhaul]\nignore = ["KH109"]\nfail-on = "error"\n'
          '[tool.keelhaul.severity]\nKH111 = "error"\n')  # fmt: skip
    write(tmp_path / "svc" / "Dockerfile", BAD)
    result = check("--format", "json")
    assert result.codes() == ["KH101", "KH111"]
    assert result.known()[1]["severity"] == "error"
    assert result.code == 1  # KH111 raised to error reaches fail-on = error
    assert check("--format", "json", "--ignore", "KH111").code == 0
    assert check("--format", "json", "--select", "KH109").codes() == ["KH109"]
    assert check("--format", "json", "--no-config").codes() == ["KH109", "KH101", "KH111"]
    assert check("--fail-on", "warning", "--ignore", "KH111").code == 1


def test_per_path_ignores_and_exclude(check: Check, tmp_path: Path) -> None:
    write(
        tmp_path / ".keelhaul.toml",
        'exclude = ["fixtures/"]\n[per-path-ignores]\n"legacy/**" = ["KH101", "security"]\n',
    )
    write(tmp_path / "legacy" / "old" / "Dockerfile", BAD)
    write(tmp_path / "fixtures" / "Dockerfile", "FROM a\nENV broken\n")
    by_path = {(f["path"], f["code"]) for f in check("--format", "json").known()}
    assert by_path == {("legacy/old/Dockerfile", "KH111")}
    # a file named on the command line is checked even when excluded
    assert check("fixtures/Dockerfile").code == 2


def test_hadolint_migration(check: Check, tmp_path: Path) -> None:
    vocabulary = Vocabulary(dockerfile_rules())
    write(tmp_path / ".hadolint.yaml", "ignored:\n  - DL3006\n  - DL3008\n  - DL9999\n"
          "override:\n  error:\n    - DL4000\nfailure-threshold: error\n")  # fmt: skip
    src = BAD + "USER 1\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
    src += "  && rm -rf /var/lib/apt/lists/*\n"
    write(tmp_path / "Dockerfile", src)
    result = check("--format", "json")
    codes = result.codes()
    assert "KH101" not in codes  # DL3006 is aliased by KH101
    for code in vocabulary.hadolint.get("DL3008", ()):
        assert code not in codes  # apt-unpinned, aliased to DL3008
    assert "KH111" in codes
    assert result.known()[codes.index("KH111")]["severity"] == "error"
    assert result.code == 1


def test_hadolint_unknown_codes_noted_with_verbose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / ".hadolint.yml", "ignored: [DL9999]\n")
    write(tmp_path / "Dockerfile", CLEAN)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["-v", "check", "--no-shellcheck"])
    err = capsys.readouterr().err
    assert "configuration: .hadolint.yml" in err
    assert "DL9999: no keelhaul rule covers it" in err
    with pytest.raises(SystemExit):
        main(["check", "--no-shellcheck"])
    assert "DL9999" not in capsys.readouterr().err


def test_show_settings(check: Check, tmp_path: Path) -> None:
    write(tmp_path / ".keelhaul.toml", 'ignore = ["KH101"]\ntrusted-registries = ["r.example"]\n')
    write(tmp_path / "a" / "Dockerfile", BAD)
    result = check("--show-settings", "--extend-select", "KH001")
    assert result.code == 0
    shown = json.loads(result.out)["a/Dockerfile"]
    assert shown["source"] == str(tmp_path / ".keelhaul.toml")
    assert "KH101" not in shown["rules"]
    assert "KH001" in shown["rules"]
    assert shown["settings"] == {"trusted-registries": ["r.example"]}


# --- suppression --------------------------------------------------------------------------


def test_inline_suppressions(check: Check, tmp_path: Path) -> None:
    write(
        tmp_path / "Dockerfile",
        "# check=skip=MaintainerDeprecated\n"
        "# keelhaul: ignore=mutable-base-tag -- the vendor image has no tags\n"
        "FROM ubuntu\n"
        "MAINTAINER someone\n"
        "# hadolint ignore=DL3002\n"
        "USER root\n",
    )
    assert check("--format", "json").codes() == []
    assert check("--format", "json", "--extend-select", "KH001").codes() == []


def test_unused_suppressions_reported_when_selected(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", "# keelhaul: ignore=KH101 -- stale\nFROM alpine:3.20\nUSER 1\n")
    assert check("--format", "json").codes() == []
    result = check("--format", "json", "--extend-select", "unused-suppression")
    assert result.codes() == ["KH001"]
    assert check("--select", "KH101,KH001").code == 1
    assert check("--select", "KH101").code == 0


def test_shellcheck_findings_select_and_suppress(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if find_shellcheck() is None:
        pytest.skip("no shellcheck binary")
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "Dockerfile", "FROM alpine:3.20\nRUN echo $1\n# hadolint ignore=SC2086\n"
          "RUN echo $2\nUSER 1\n")  # fmt: skip

    def codes(*args: str) -> list[tuple[str, int]]:
        with pytest.raises(SystemExit):
            main(["check", "--format", "json", *args])
        return [(f["code"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]]

    assert ("SC2086", 2) in codes("--shellcheck")
    assert ("SC2086", 4) not in codes("--shellcheck")
    assert not [c for c, _ in codes("--shellcheck", "--ignore", "SC2086") if c == "SC2086"]
    assert not [c for c, _ in codes("--no-shellcheck") if c.startswith("SC")]
    write(tmp_path / ".keelhaul.toml", "shellcheck = false\n")
    assert not [c for c, _ in codes() if c.startswith("SC")]


# --- baseline -----------------------------------------------------------------------------


def test_baseline_round_trip(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "svc" / "Dockerfile", BAD)
    written = check(*ONLY, "--write-baseline", "ci/baseline.json")
    assert written.code == 2  # the folder does not exist: nothing written
    assert "cannot write" in written.err
    (tmp_path / "ci").mkdir()
    written = check(*ONLY, "--write-baseline", "ci/baseline.json")
    assert written.code == 0
    assert "wrote 3 finding(s)" in written.err
    doc = json.loads((tmp_path / "ci" / "baseline.json").read_text())
    assert list(doc["files"]) == ["../svc/Dockerfile"]
    assert check(*ONLY, "--baseline", "ci/baseline.json").code == 0
    # edits elsewhere move lines but make nothing new; one more of a kind is one new finding
    write(tmp_path / "svc" / "Dockerfile", "# a comment\n" + BAD + "MAINTAINER someone\n")
    result = check(*ONLY, "--baseline", "ci/baseline.json", "--format", "json")
    assert [(f["code"], f["line"]) for f in result.json()] == [("KH111", 5)]
    assert result.code == 0
    assert check(*ONLY, "--baseline", "ci/baseline.json", "--fail-on", "style").code == 1
    # the same baseline from another working directory
    elsewhere = check(
        *ONLY, "--baseline", "../ci/baseline.json", "--format", "concise", ".", cwd=tmp_path / "svc"
    )
    assert elsewhere.out.splitlines()[0] == (
        "Dockerfile:5:1: style KH111 maintainer-deprecated: MAINTAINER is deprecated; "
        'use LABEL org.opencontainers.image.authors="someone"'
    )
    assert "3 finding(s) left out: they are in the baseline" in elsewhere.err


def test_summary_counts_the_gate_and_says_how_to_baseline(check: Check, tmp_path: Path) -> None:
    """Issue 16 item 8: the text summary says how many findings fail the gate, at which
    threshold, and the commands that adopt keelhaul on existing files; with a baseline, it
    counts only the new ones. Following its advice, from the folder it names, passes."""
    app = BAD.replace("CMD", "COPY . /app\nCMD")
    write(tmp_path / "Dockerfile", app)
    first = check(".")
    assert first.code == 1
    failing = [line for line in first.out.splitlines() if "failing:" in line]
    assert failing == [
        "  failing: 2 findings at warning or above (exit 1); to adopt keelhaul on existing "
        "files, `keelhaul check --write-baseline keelhaul-baseline.json` records today's "
        "findings and `keelhaul check --baseline keelhaul-baseline.json` then fails only on "
        "new ones"
    ]
    assert "failing: 2 findings" in check("--format", "concise", ".").out
    # the two commands, as written, from the same folder: the baseline file beside the
    # Dockerfile is no reason for a .dockerignore finding (KH230)
    assert check("--write-baseline", "keelhaul-baseline.json", ".").code == 0
    adopted = check("--baseline", "keelhaul-baseline.json", ".")
    assert adopted.code == 0, adopted.out
    # a new finding: counted as new, and the way to accept it
    write(tmp_path / "Dockerfile", app + "USER root\n")
    new = check("--baseline", "keelhaul-baseline.json", ".")
    assert new.code == 1
    assert (
        "  failing: 1 new finding at warning or above, not in the baseline (exit 1); fix "
        "them, or accept them by writing the baseline again (`keelhaul check "
        "--write-baseline FILE`)"
    ) in new.out.splitlines()
    # the threshold is named as configured
    assert "failing: no finding at error (exit 0)" in check(*ONLY, "--fail-on", "error").out
    assert "never exit 1" in check(*ONLY, "--fail-on", "none").out


def test_corrupt_baseline_exits_2(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", BAD)
    write(tmp_path / "baseline.json", '{"version": 1, "files": ')
    result = check("--baseline", "baseline.json")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "baseline.json: not a keelhaul baseline: invalid JSON" in result.err


# --- discovery and stdin ------------------------------------------------------------------


def test_gitignored_dockerfiles_are_skipped(check: Check, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "build/\n*.generated.Dockerfile\n")
    write(tmp_path / "build" / "Dockerfile", BAD)
    write(tmp_path / "app.generated.Dockerfile", BAD)
    write(tmp_path / "node_modules" / "x" / "Dockerfile", BAD)
    write(tmp_path / "app" / "Containerfile", BAD)
    write(tmp_path / "app" / "Dockerfile.dockerignore", "*\n")
    paths = {f["path"] for f in check("--format", "json").json()}
    assert paths == {"app/Containerfile"}
    assert "in 1 of 1 file" in check().out
    named = {f["path"] for f in check("--format", "json", "build/Dockerfile").json()}
    assert named == {"build/Dockerfile"}


def test_stdin_with_filename_uses_its_configuration(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "legacy" / ".keelhaul.toml", 'ignore = ["KH111"]\n')
    result = check(
        "--format", "json", "-", "--stdin-filename", "legacy/Dockerfile", stdin=BAD.encode()
    )
    assert result.codes() == ["KH109", "KH101"]
    assert {f["path"] for f in result.json()} == {"legacy/Dockerfile"}
    bare = check("--format", "json", "-", stdin=BAD.encode())
    assert {f["path"] for f in bare.json()} == {"-"}
    assert bare.codes() == ["KH109", "KH101", "KH111"]
    broken = check("-", stdin=b"FROM a\nENV x\n")
    assert broken.code == 2
    assert "-:2: ENV must have two arguments" in broken.err


def test_no_dockerfiles_found(check: Check, tmp_path: Path) -> None:
    result = check()
    assert result.code == 0
    assert "0 files checked" in result.out


def test_build_context_is_the_dockerfile_folder_or_context(check: Check, tmp_path: Path) -> None:
    write(tmp_path / "app" / "Dockerfile", "FROM alpine:3.20\nWORKDIR /app\nCOPY . .\nUSER 1\n")
    write(tmp_path / "app" / "main.py", "print()\n")
    assert "KH230" in check("--format", "json").codes()
    write(tmp_path / ".dockerignore", ".git\n")
    assert "KH230" not in check("--format", "json", "--context", ".").codes()
    write(tmp_path / "app" / ".dockerignore", "[\n")
    broken = check("--format", "json")
    assert broken.code == 2
    assert "app/.dockerignore" in broken.err
