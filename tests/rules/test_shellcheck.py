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


# --- the Dockerfile's context (issue 16) -----------------------------------------------------


def sc_codes(src: str) -> dict[str, str]:
    """ShellCheck's codes on ``src`` through scripts_of/check_scripts, with their severity."""
    assert BINARY is not None
    found = check_scripts(list(scripts_of(DockerfileContext.of(parse(src)))), BINARY)
    return {f.code: f.severity.value for f in found}


def gate(
    tmp_path: Path, src: str, *select: str, config: bool = False
) -> list[tuple[str, int, str]]:
    """``keelhaul check`` at default settings (or ``--extend-select``): ShellCheck's findings."""
    from keelhaul.catalogue import all_rules
    from keelhaul.checking import Checker, Target
    from keelhaul.config import ConfigFinder, Overrides
    from keelhaul.selection import Vocabulary

    assert BINARY is not None
    rules = all_rules()
    vocabulary = Vocabulary(rules)
    finder = ConfigFinder(
        vocabulary, isolated=not config, overrides=Overrides(extend_select=select)
    )
    checker = Checker(finder, vocabulary, rules, shellcheck=BINARY, fixes=False)
    file = tmp_path / "Dockerfile"
    file.write_text(src)
    result = checker.check([Target(file, str(file))])
    return [(f.code, f.location.line, f.severity.value)
            for f in result.findings if f.code.startswith("SC")]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "dialect"),
    [
        ("debian:bookworm-slim", "dash"),
        ("ubuntu:24.04", "dash"),
        ("python:3.12", "dash"),
        ("node:22-bookworm-slim", "dash"),
        ("alpine:3.20", "busybox"),
        ("python:3.12-alpine", "busybox"),
        ("koalaman/shellcheck-alpine:v0.7.1", "busybox"),
        ("docker:29-cli", "busybox"),
        ("busybox:1.36", "busybox"),
        ("centos:7", "bash"),
        ("mysql:8.4", "bash"),
        ("maven:3.9-amazoncorretto-21", "bash"),
        ("maven:3.9-eclipse-temurin-21", "dash"),
        ("mcr.microsoft.com/dotnet/sdk:9.0", "dash"),
        ("mcr.microsoft.com/dotnet/sdk:9.0-azurelinux3.0", "bash"),
        ("openjdk:21", "sh"),
        ("registry.access.redhat.com/ubi9/ubi-minimal", "bash"),
        ("example.com/team/tool:1", "sh"),
    ],
)
def test_the_dialect_is_the_base_images_sh(base: str, dialect: str) -> None:
    assert [d for d, _, _ in scripts(f"FROM {base}\nRUN echo\n")] == [dialect]


def test_windows_stages_get_no_shellcheck() -> None:
    # SC1001 on a cmd RUN: the default shell of a Windows image is cmd, not sh
    assert scripts("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\\\x\n") == []
    assert scripts('FROM debian\nSHELL ["cmd", "/S", "/C"]\nRUN dir C:\\\\x\n') == []
    assert scripts('FROM debian\nSHELL ["powershell", "-Command"]\nRUN Get-Item x\n') == []
    assert scripts("# escape=`\nFROM debian\nRUN echo hi\n") == []


def test_shell_follows_the_file_order_and_the_base_stage() -> None:
    src = (
        "FROM debian AS base\nRUN echo one\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN echo two\n'
        "FROM base\nRUN echo three\n"
        "FROM alpine\nRUN echo four\n"
    )
    assert [d for d, _, _ in scripts(src)] == ["dash", "bash", "bash", "busybox"]


def test_a_heredoc_shebang_names_its_shell() -> None:
    src = "FROM debian\nRUN <<EOF\n#!/bin/bash\n[[ -n $X ]] && echo\nEOF\n"
    assert [d for d, _, _ in scripts(src)] == ["bash"]


def test_trailing_blanks_after_a_backslash_are_a_continuation() -> None:
    # BuildKit joins `\ ` + newline; the script ShellCheck reads must do so too
    src = "FROM debian\nRUN apt-get install -y \\  \n    curl\n"
    assert scripts(src) == [("dash", "apt-get install -y \\\n    curl\n", ((2, 4), (3, 0)))]


@needs_shellcheck
def test_no_sc1101_for_a_blank_after_the_backslash() -> None:
    src = "FROM debian\nRUN apt-get update && apt-get install -y \\ \n    curl\n"
    assert "SC1101" not in sc_codes(src)
    # in a heredoc the shell, not BuildKit, reads the backslash: there it is a real mistake
    heredoc = "FROM debian\nRUN <<EOF\napt-get install -y \\ \n    curl\nEOF\n"
    assert "SC1101" in sc_codes(heredoc)


@needs_shellcheck
def test_dash_knows_echo_expands_escapes_and_rejects_echo_e() -> None:
    # SC2028 is about shells whose echo does not expand \t: Debian's dash does
    assert "SC2028" not in sc_codes('FROM debian:bookworm\nRUN echo "a\\tb" > /etc/x\n')
    assert "SC2028" in sc_codes('FROM example.com/tool\nRUN echo "a\\tb" > /etc/x\n')
    # dash prints "-e": an error there, nothing on Alpine (busybox echo takes -e)
    assert sc_codes('FROM debian\nRUN echo -e "a\\nb" > /etc/x\n') == {"SC3036": "error"}
    assert sc_codes('FROM alpine\nRUN echo -e "a\\nb" > /etc/x\n') == {}
    # /bin/echo is coreutils' echo, which takes -e
    assert sc_codes('FROM debian\nRUN /bin/echo -e "a\\nb" > /etc/x\n') == {}


@needs_shellcheck
def test_busybox_and_rhel_shells_keep_their_extensions() -> None:
    script = 'RUN set -o pipefail; b="${f/t/l}"; [ "$b" == y ] && echo "${b:0:1}"\n'
    assert not {c for c in sc_codes("FROM alpine\nARG f=x\n" + script) if c.startswith("SC3")}
    assert not {c for c in sc_codes("FROM centos:7\nARG f=x\n" + script) if c.startswith("SC3")}
    assert {"SC3040", "SC3060", "SC3014", "SC3057"} <= set(sc_codes("FROM x/y\nARG f=x\n" + script))


@needs_shellcheck
def test_build_args_are_known_to_shellcheck() -> None:
    # an ARG with a plain default: no SC2086; an ARG with no default: assigned (no SC2154)
    src = 'FROM debian\nARG version=1.2\nARG flavour\nRUN echo $version && echo "$flavour"\n'
    assert sc_codes(src) == {}
    # an ARG declared after the RUN is not known to it
    late = 'FROM debian\nRUN echo "$flavour"\nARG flavour\n'
    assert "SC2154" in sc_codes(late)
    # a stage's ENV is known in the stage built from it
    inherited = "FROM debian AS a\nENV tool=/opt/t\nFROM a\nRUN cd $tool\n"
    assert "SC2086" not in sc_codes(inherited)


@needs_shellcheck
def test_codes_wrong_in_dockerfiles_are_off_by_default(tmp_path: Path) -> None:
    src = (
        "FROM debian\n"
        "RUN find -name '*.pyc' -delete\n"  # SC2185: GNU and busybox find default to .
        "RUN envsubst '${PORT}' < /t > /etc/nginx.conf\n"  # SC2016: on purpose
        "RUN sed -i 's/80/${PORT}/' /etc/apache2/ports.conf\n"  # SC2016
        "RUN apk add $(cat /deps)\n"  # SC2046: a deliberate list
    )
    assert gate(tmp_path, src) == []
    assert {c for c, _, _ in gate(tmp_path, src, "SC2185", "SC2016", "SC2046")} == {
        "SC2185", "SC2016", "SC2046",
    }  # fmt: skip


@needs_shellcheck
def test_dockerfile_idioms_are_below_the_gate(tmp_path: Path) -> None:
    src = (
        "FROM debian\n"
        'RUN export GNUPGHOME="$(mktemp -d)"; gpg --list-keys\n'  # SC2155
        "RUN for key in ABCDEF; do echo $key; done\n"  # SC2043
        'RUN ARCH= OPENSSL_ARCH= && echo "$ARCH$OPENSSL_ARCH"\n'  # SC1007
        "RUN mkdir -p -m 0700 /run/user/1000\n"  # SC2174
        'RUN . /etc/os-release; echo "$makedepends"\n'  # SC2154
        "RUN find /usr/src -name '*.o' | xargs rm -f\n"  # SC2038
        "RUN ls /opt | grep -v keep\n"  # SC2010
    )
    found = {(c, s) for c, _, s in gate(tmp_path, src)}
    assert found == {
        ("SC2155", "style"), ("SC2043", "style"), ("SC1007", "style"), ("SC2174", "info"),
        ("SC2154", "info"), ("SC2038", "info"), ("SC2010", "info"),
    }  # fmt: skip


@needs_shellcheck
def test_a_demoted_code_can_be_raised_again(tmp_path: Path) -> None:
    (tmp_path / ".keelhaul.toml").write_text('[severity]\nSC2155 = "warning"\n')
    src = 'FROM debian\nRUN export GNUPGHOME="$(mktemp -d)"; gpg --list-keys\n'
    assert ("SC2155", 2, "warning") in gate(tmp_path, src, config=True)


def test_the_off_codes_agree_with_selection() -> None:
    from keelhaul.rules.shellcheck import DEMOTED, OFF_BY_DEFAULT
    from keelhaul.selection import SHELLCHECK_OFF_BY_DEFAULT

    assert set(OFF_BY_DEFAULT) == SHELLCHECK_OFF_BY_DEFAULT
    assert not set(OFF_BY_DEFAULT) & set(DEMOTED)


@needs_shellcheck
def test_the_cache_answers_without_shellcheck(tmp_path: Path) -> None:
    from keelhaul.rules.shellcheck import ResultCache

    assert BINARY is not None
    src = "FROM example.com/t\nRUN echo $FOO\n"
    cached = list(scripts_of(DockerfileContext.of(parse(src, "Dockerfile"))))
    cache = ResultCache(tmp_path / "sc.sqlite3")
    first = check_scripts(cached, BINARY, cache)
    assert [f.code for f in first] == ["SC2086"]
    # A binary that only answers --version (the same version): every script comes from the cache
    version = cache.version(BINARY)
    fake = tmp_path / "shellcheck"
    fake.write_text(
        f"#!/bin/sh\n[ \"$1\" = --version ] && echo 'version: {version}' && exit 0\nexit 3\n"
    )
    fake.chmod(0o755)
    assert check_scripts(cached, str(fake), cache) == first
    other = list(scripts_of(DockerfileContext.of(parse("FROM a\nRUN echo $BAR\n", "Dockerfile"))))
    with pytest.raises(ShellCheckFailed):
        check_scripts(other, str(fake), cache)  # a script not seen before needs ShellCheck
    cache.close()


@needs_shellcheck
def test_a_script_shared_by_files_is_checked_once_and_reported_in_each() -> None:
    assert BINARY is not None
    src = "FROM example.com/t\nRUN echo $FOO\n"
    both = [
        *scripts_of(DockerfileContext.of(parse(src, "a/Dockerfile"))),
        *scripts_of(DockerfileContext.of(parse(src, "b/Dockerfile"))),
    ]
    found = check_scripts(both, BINARY)
    assert [(f.location.path, f.code) for f in found] == [
        ("a/Dockerfile", "SC2086"), ("b/Dockerfile", "SC2086"),
    ]  # fmt: skip
