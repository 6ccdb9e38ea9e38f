"""ShellCheck in batch: scripts cut from RUN lines, findings mapped back to Dockerfile lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.rules.registry import DockerfileContext
from keelhaul.rules.shellcheck import ShellCheckFailed, check_scripts, find_shellcheck, scripts_of
from tests.conftest import corpus_stats
from tests.corpus import parsed_dockerfiles

BINARY = find_shellcheck()
needs_shellcheck = pytest.mark.skipif(BINARY is None, reason="no shellcheck binary")


def scripts(src: str) -> list[tuple[str, str, tuple[tuple[int, int], ...]]]:
    ctx = DockerfileContext.of(parse(src, "Dockerfile"))
    return [(s.dialect, s.text, s.lines) for s in scripts_of(ctx)]


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("FROM a\nRUN echo $X\n", [("sh", "echo $X\n", ((2, 4),))]),
        (
            "FROM a\nRUN --mount=type=cache,target=/x \\\n  cd /x && \\\n# note\n  make\n",
            [("sh", "  cd /x && \\\n  make\n", ((3, 0), (5, 0)))],
        ),
        ("FROM a\nONBUILD RUN echo $A\n", [("sh", "echo $A\n", ((2, 12),))]),
        (
            "FROM a\nRUN <<EOF\nset -e\necho $B\nEOF\n",
            [("sh", "set -e\necho $B\n", ((3, 0), (4, 0)))],
        ),
        ("FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n", []),
        ('FROM a\nRUN ["echo", "$X"]\n', []),
        (
            'FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN echo\n',
            [("bash", "echo\n", ((3, 4),))],
        ),
        ('FROM a\nSHELL ["pwsh", "-c"]\nRUN Write-Host hi\n', []),
        ("# escape=`\nFROM a\nRUN echo hi\n", []),
    ],
)
def test_scripts_keep_dockerfile_lines(src: str, expected: list[object]) -> None:
    assert scripts(src) == expected


@needs_shellcheck
def test_findings_point_into_the_dockerfile() -> None:
    assert BINARY is not None
    src = "FROM a\nRUN --mount=type=cache,target=/x \\\n\tcd /x && \\\n# c\n\techo $FOO\n"
    ctx = DockerfileContext.of(parse(src, "Dockerfile"))
    found = check_scripts(list(scripts_of(ctx)), BINARY)
    assert [(f.code, f.location.line, f.location.column) for f in found] == [("SC2086", 5, 7)]
    assert found[0].stage == "0"


@needs_shellcheck
def test_bash_dialect_is_honoured() -> None:
    assert BINARY is not None
    src = "FROM a\nRUN [[ -n $X ]] && echo\n"
    as_sh = check_scripts(list(scripts_of(DockerfileContext.of(parse(src)))), BINARY)
    assert "SC3010" in {f.code for f in as_sh}
    bash = 'FROM a\nSHELL ["/bin/bash", "-c"]\nRUN [[ -n $X ]] && echo\n'
    as_bash = check_scripts(list(scripts_of(DockerfileContext.of(parse(bash)))), BINARY)
    assert "SC3010" not in {f.code for f in as_bash}


def test_a_broken_binary_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "shellcheck"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    ctx = DockerfileContext.of(parse("FROM a\nRUN echo\n"))
    with pytest.raises(ShellCheckFailed, match="boom"):
        check_scripts(list(scripts_of(ctx)), str(fake))
    with pytest.raises(ShellCheckFailed, match="cannot run"):
        check_scripts(list(scripts_of(ctx)), str(tmp_path / "absent"))


@needs_shellcheck
@pytest.mark.corpus
def test_corpus_findings_land_on_run_lines() -> None:
    assert BINARY is not None
    all_scripts = []
    run_lines: dict[str, set[int]] = {}
    for file in parsed_dockerfiles():
        tree = file.tree
        if tree.errors:
            continue
        ctx = DockerfileContext.of(tree)
        all_scripts += scripts_of(ctx)
        run_lines[str(file.path)] = {
            line.number for inst in tree.instructions if inst.effective.name == "RUN"
            for line in inst.lines
        }  # fmt: skip
    if not all_scripts:
        pytest.skip("no corpus")
    found = check_scripts(all_scripts, BINARY)
    assert found
    for f in found:
        assert f.location.line in run_lines[f.location.path], f
    stats = corpus_stats("run scripts checked by ShellCheck")
    stats["scripts"] = len(all_scripts)
    stats["findings"] = len(found)


@needs_shellcheck
def test_arg_and_env_values_are_known_to_shellcheck() -> None:
    assert BINARY is not None
    src = "FROM a\nARG VERSION=1.2\nENV HOME_DIR='/srv/it s'\nRUN echo $VERSION $HOME_DIR $OTHER\n"
    found = check_scripts(list(scripts_of(DockerfileContext.of(parse(src)))), BINARY)
    # $VERSION is a plain word; $HOME_DIR has a space; $OTHER is unknown.
    assert [(f.code, f.location.column) for f in found] == [("SC2086", 19), ("SC2086", 29)]
