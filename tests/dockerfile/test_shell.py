"""Tests of keelhaul.dockerfile.shell: shell scripts into flat lists of simple commands."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keelhaul.dockerfile.operations import find_operations
from keelhaul.dockerfile.shell import (
    MAX_SCRIPT_CHARS,
    ShellScript,
    SimpleCommand,
    dollar_form,
    parse_shell,
)
from tests import corpus
from tests.conftest import corpus_stats


def argvs(script: str) -> list[tuple[str, ...]]:
    return [c.argv for c in parse_shell(script).commands]


def only(script: str) -> SimpleCommand:
    commands = parse_shell(script).commands
    assert len(commands) == 1, commands
    return commands[0]


def find(script: str, name: str) -> SimpleCommand:
    result = parse_shell(script)
    matches = [c for c in result.commands if c.argv and c.argv[0] == name]
    assert matches, [c.argv for c in result.commands]
    return matches[0]


# --------------------------------------------------------------------------- words and lists

ARGV_CASES: list[tuple[str, list[tuple[str, ...]]]] = [
    ("", []),
    ("   \n\t ", []),
    ("# only a comment", []),
    ("true", [("true",)]),
    (
        "apt-get update && apt-get install -y git",
        [("apt-get", "update"), ("apt-get", "install", "-y", "git")],
    ),
    ("make || exit 1", [("make",), ("exit", "1")]),
    ("cd /src; make; make install", [("cd", "/src"), ("make",), ("make", "install")]),
    ("ls -la | grep foo | wc -l", [("ls", "-la"), ("grep", "foo"), ("wc", "-l")]),
    ("a\nb\n\nc", [("a",), ("b",), ("c",)]),
    ("server & sleep 1", [("server",), ("sleep", "1")]),
    ("a |& b", [("a",), ("b",)]),
    # quotes and escapes
    ("echo 'single quoted' \"double quoted\"", [("echo", "single quoted", "double quoted")]),
    ('echo "$HOME/x" "${PATH}"', [("echo", "$HOME/x", "${PATH}")]),
    ("echo a\\ b c\\\\d", [("echo", "a b", "c\\d")]),
    ('echo "a \\"quoted\\" word"', [("echo", 'a "quoted" word')]),
    ("echo 'it'\\''s'", [("echo", "it's")]),
    ("echo x'y'\"z\"", [("echo", "xyz")]),
    ("echo $'tab\\there'", [("echo", "tab\there")]),
    ("echo \"a && b\" 'c | d'", [("echo", "a && b", "c | d")]),
    ("echo a#b # trailing comment", [("echo", "a#b")]),
    ("echo one # c1\necho two # c2 && not-a-command", [("echo", "one"), ("echo", "two")]),
    ("echo ~/.cache", [("echo", "~/.cache")]),
    # substitutions: the outer word keeps its text, the inner commands are listed too
    ("echo $(id -u)", [("echo", "$(id -u)"), ("id", "-u")]),
    ("echo `uname -m`", [("echo", "`uname -m`"), ("uname", "-m")]),
    ('arch="$(dpkg --print-architecture)"', [(), ("dpkg", "--print-architecture")]),
    ("x=$(a && b) && c", [(), ("a",), ("b",), ("c",)]),
    ("echo $(echo $(whoami))", [("echo", "$(echo $(whoami))"), ("echo", "$(whoami)"), ("whoami",)]),
    ("echo ${V:-$(cat /v)}", [("echo", "${V:-$(cat /v)}"), ("cat", "/v")]),
    (
        "diff <(sort a) <(sort b)",
        [("diff", "<(sort a)", "<(sort b)"), ("sort", "a"), ("sort", "b")],
    ),
    ("echo $((1 + 2)) $(( 3 * 4 ))", [("echo", "$((1 + 2))", "$(( 3 * 4 ))")]),
    ("echo '$(not run)' \"$(run)\"", [("echo", "$(not run)", "$(run)"), ("run",)]),
    # compound commands
    ("(cd /x && make)", [("cd", "/x"), ("make",)]),
    ("{ echo a; echo b; } > log", [("echo", "a"), ("echo", "b")]),
    (
        "if [ -f x ]; then a; elif b; then c; else d; fi",
        [("[", "-f", "x", "]"), ("a",), ("b",), ("c",), ("d",)],
    ),
    ("for i in 1 2 3; do echo $i; done", [("echo", "$i")]),
    ("for f in $(ls); do rm $f; done", [("ls",), ("rm", "$f")]),
    ("while read line; do echo $line; done < f", [("read", "line"), ("echo", "$line")]),
    ("until curl -f http://x; do sleep 1; done", [("curl", "-f", "http://x"), ("sleep", "1")]),
    ("select x in a b; do echo $x; done", [("echo", "$x")]),
    ("case $x in a|b) echo ab;; *) echo other;; esac", [("echo", "ab"), ("echo", "other")]),
    ('case "$arch" in\n  amd64) A=x ;;\n  arm64) A=y ;;\nesac; echo $A', [(), (), ("echo", "$A")]),
    ("case $a in (x) one;; esac && two", [("one",), ("two",)]),
    ("case $a in x) case $b in y) inner;; esac;; esac", [("inner",)]),
    ("case $a in x) one;& y) two;;& z) three;; esac", [("one",), ("two",), ("three",)]),
    (
        "[[ -n $x && -f y ]] && echo yes",
        [("[[", "-n", "$x", "&&", "-f", "y", "]]"), ("echo", "yes")],
    ),
    ("(( n > 1 )) && echo big", [("echo", "big")]),
    ("f() { apt-get update; }; f", [("apt-get", "update"), ("f",)]),
    ("function g { rm -rf /x; }", [("rm", "-rf", "/x")]),
    ("! grep -q x f", [("grep", "-q", "x", "f")]),
    ("pkgs=(a b c); apt-get install ${pkgs[@]}", [(), ("apt-get", "install", "${pkgs[@]}")]),
    # heredocs
    ("cat > /etc/x.conf <<EOF\nkey = $(not-a-command-here)\nEOF\necho done", None),  # see below
    ("cat <<'EOF' > /f\nrm -rf /\nEOF\necho ok", [("cat",), ("echo", "ok")]),
    ("cat <<-EOF\n\tapt-get install x\n\tEOF", [("cat",)]),
    (
        "bash <<'EOF'\napt-get update\napt-get install -y x\nEOF",
        [("bash",), ("apt-get", "update"), ("apt-get", "install", "-y", "x")],
    ),
    ("cat <<EOF | sh\napk add curl\nEOF", [("cat",), ("sh",), ("apk", "add", "curl")]),
    ("python3 <<EOF\nimport os\nEOF", [("python3",)]),
    # wrappers: argv is the real command
    ("sudo apt-get install x", [("apt-get", "install", "x")]),
    (
        "sh -c 'apt-get update && apt-get install -y x'",
        [("apt-get", "update"), ("apt-get", "install", "-y", "x")],
    ),
    ('bash -exc "cd /x; make"', [("cd", "/x"), ("make",)]),
    ("xargs -r -n 1 rm -f", [("rm", "-f")]),
    ("time make -j4", [("make", "-j4")]),
    ("command -v git", [("command", "-v", "git")]),
    ("exec 3>&1", [("exec",)]),
]


@pytest.mark.parametrize(("script", "expected"), [c for c in ARGV_CASES if c[1] is not None])
def test_argv(script: str, expected: list[tuple[str, ...]]) -> None:
    assert argvs(script) == expected


def test_unquoted_heredoc_body_substitutions_run() -> None:
    result = parse_shell("cat > /etc/x.conf <<EOF\nkey = $(hostname)\nEOF\necho done")
    assert [c.argv for c in result.commands] == [("cat",), ("hostname",), ("echo", "done")]
    host = result.commands[1]
    assert host.in_substitution
    assert "heredoc" in host.context
    assert host.parent == ("cat",)


def test_quoted_heredoc_body_is_data() -> None:
    assert argvs("cat <<'EOF'\n$(hostname)\nEOF") == [("cat",)]


# --------------------------------------------------------------------------- connectors

CONNECTOR_CASES: list[tuple[str, list[str | None]]] = [
    ("a && b || c; d", ["&&", "||", ";", None]),
    ("a | b | c", ["|", "|", None]),
    ("a &\nb", ["&", None]),
    ("a\nb", ["\n", None]),
    ("a;\nb", [";", None]),
    ("(a && b) || c", ["&&", "||", None]),
    ("{ a; b; } && c", [";", ";", None]),
    ("if a; then b; fi && c", [";", ";", None]),
    ("a 2>&1 | tee log", ["|", None]),
    ("a |& b", ["|&", None]),
    ("x=$(a && b); c", [";", "&&", None, None]),
]


@pytest.mark.parametrize(("script", "expected"), CONNECTOR_CASES)
def test_connectors(script: str, expected: list[str | None]) -> None:
    assert [c.connector for c in parse_shell(script).commands] == expected


PIPE_CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("curl -fsSL https://x/install.sh | sh", "curl", ("sh",)),
    ("curl -fsSL https://x | sudo -E bash -", "curl", ("bash", "-")),
    ("wget -qO- https://x | tar xz -C /opt", "wget", ("tar", "xz", "-C", "/opt")),
    ("curl -s https://x | gpg --dearmor -o /k.gpg", "curl", ("gpg", "--dearmor", "-o", "/k.gpg")),
    ("curl https://x > f && sh f", "curl", ()),
    ("a | (b; c)", "a", ("b",)),
]


@pytest.mark.parametrize(("script", "name", "pipe_to"), PIPE_CASES)
def test_pipe_to(script: str, name: str, pipe_to: tuple[str, ...]) -> None:
    assert find(script, name).pipe_to == pipe_to


# --------------------------------------------------------------------------- env and wrappers

WRAPPER_CASES: list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]] = [
    ("X=1 cmd a", ("cmd", "a"), (("X", "1"),), ()),
    ("A=\"x y\" B='z' cmd", ("cmd",), (("A", "x y"), ("B", "z")), ()),
    (
        "DEBIAN_FRONTEND=noninteractive apt-get install -y x",
        ("apt-get", "install", "-y", "x"),
        (("DEBIAN_FRONTEND", "noninteractive"),),
        (),
    ),
    ("env X=1 Y=2 cmd", ("cmd",), (("X", "1"), ("Y", "2")), ("env",)),
    ("env -i PATH=/bin cmd", ("cmd",), (("PATH", "/bin"),), ("env",)),
    ("/usr/bin/env -u HOME cmd", ("cmd",), (), ("env",)),
    ("sudo cmd", ("cmd",), (), ("sudo",)),
    ("sudo -u app -H cmd x", ("cmd", "x"), (), ("sudo",)),
    ("sudo --user=app cmd", ("cmd",), (), ("sudo",)),
    (
        "sudo PIP_NO_CACHE_DIR=1 pip install x",
        ("pip", "install", "x"),
        (("PIP_NO_CACHE_DIR", "1"),),
        ("sudo",),
    ),
    ("sudo -E env X=1 nohup cmd", ("cmd",), (("X", "1"),), ("sudo", "env", "nohup")),
    ("xargs cmd", ("cmd",), (), ("xargs",)),
    ("xargs -0 -I {} cp {} /dst", ("cp", "{}", "/dst"), (), ("xargs",)),
    ("xargs -P4 -n1 gzip", ("gzip",), (), ("xargs",)),
    ("nohup ./srv", ("./srv",), (), ("nohup",)),
    ("time -p make", ("make",), (), ("time",)),
    ("/usr/bin/time -f %e make", ("make",), (), ("time",)),
    ('exec gosu app "$@"', ("$@",), (), ("exec", "gosu")),
    ("exec su-exec app:app node server.js", ("node", "server.js"), (), ("exec", "su-exec")),
    ("command apt-get update", ("apt-get", "update"), (), ("command",)),
    ("timeout 30 curl http://x", ("curl", "http://x"), (), ("timeout",)),
    ("nice -n 10 make", ("make",), (), ("nice",)),
    ("busybox wget http://x", ("wget", "http://x"), (), ("busybox",)),
    ("chroot /target apt-get update", ("apt-get", "update"), (), ("chroot",)),
    ("sh -c 'pip install x'", ("pip", "install", "x"), (), ("sh -c",)),
    ("sudo -u app bash -lc 'npm ci'", ("npm", "ci"), (), ("sudo", "bash -c")),
    ("X=1 sh -c 'make'", ("make",), (("X", "1"),), ("sh -c",)),
    ("su -c 'make install' builder", ("make", "install"), (), ("su -c",)),
    ("runuser -u app -- npm ci", ("npm", "ci"), (), ("runuser",)),
    # not wrappers
    ("sudo -l", ("sudo", "-l"), (), ()),
    ("env", ("env",), (), ()),
    ("command -V ls", ("command", "-V", "ls"), (), ()),
    ("bash script.sh", ("bash", "script.sh"), (), ()),
    ("echo sudo make", ("echo", "sudo", "make"), (), ()),
]


@pytest.mark.parametrize(("script", "argv", "env", "wrappers"), WRAPPER_CASES)
def test_wrappers_and_env(
    script: str, argv: tuple[str, ...], env: tuple[tuple[str, str], ...], wrappers: tuple[str, ...]
) -> None:
    cmd = only(script)
    assert (cmd.argv, cmd.env, cmd.wrappers) == (argv, env, wrappers)


def test_bare_assignment_has_empty_argv() -> None:
    cmd = only("GOPATH=/go")
    assert cmd.argv == ()
    assert cmd.name == ""
    assert cmd.env == (("GOPATH", "/go"),)


def test_words_keep_wrappers_and_assignments() -> None:
    cmd = only("X=1 sudo -u a pip install x")
    assert cmd.words == ("X=1", "sudo", "-u", "a", "pip", "install", "x")
    assert cmd.name == "pip"
    assert cmd.args == ("install", "x")


def test_substitution_does_not_inherit_prefix_assignments_or_wrappers() -> None:
    inner = find("X=1 sudo echo $(id -u)", "id")
    assert inner.env == ()
    assert inner.wrappers == ()
    assert inner.parent == ("echo", "$(id -u)")


def test_name_is_basename() -> None:
    assert only("/usr/local/bin/pip3.11 install x").name == "pip3.11"


# --------------------------------------------------------------------------- context

CONTEXT_CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("a", "a", ()),
    ("(a)", "a", ("subshell",)),
    ("{ a; }", "a", ("group",)),
    ("if a; then b; fi", "a", ("if", "condition")),
    ("if a; then b; fi", "b", ("if",)),
    ("if x; then :; elif a; then b; fi", "a", ("if", "condition")),
    ("if x; then :; else b; fi", "b", ("if",)),
    ("while a; do b; done", "a", ("while", "condition")),
    ("while a; do b; done", "b", ("while",)),
    ("for i in x; do b; done", "b", ("for",)),
    ("case x in y) b;; esac", "b", ("case",)),
    ("echo $(b)", "b", ("substitution",)),
    ("(if a; then echo $(b); fi)", "b", ("subshell", "if", "substitution")),
    ("f() { b; }", "b", ("function", "group")),
    ("for i in x; do case $i in *) if a; then b; fi;; esac; done", "b", ("for", "case", "if")),
    ("bash <<EOF\nb\nEOF", "b", ("heredoc",)),
]


@pytest.mark.parametrize(("script", "name", "context"), CONTEXT_CASES)
def test_context(script: str, name: str, context: tuple[str, ...]) -> None:
    assert find(script, name).context == context


def test_flags() -> None:
    result = parse_shell("! a | b; (c) & echo $(d); if e; then f; fi")
    by = {c.argv[0]: c for c in result.commands}
    assert by["a"].negated
    assert by["b"].negated
    assert not by["c"].negated
    assert by["c"].in_subshell
    assert by["c"].background
    assert by["d"].in_substitution
    assert by["d"].parent == ("echo", "$(d)")
    assert by["e"].in_condition
    assert not by["f"].in_condition


def test_redirects() -> None:
    cmd = only("make > /dev/null 2>&1 < in.txt")
    assert cmd.redirects == ((">", "/dev/null"), ("2>&", "1"), ("<", "in.txt"))
    assert only("curl -s http://x >> out").redirects == ((">>", "out"),)
    assert only("cmd &> log").redirects == (("&>", "log"),)


# --------------------------------------------------------------------------- set options

SET_CASES: list[tuple[str, set[str]]] = [
    ("a", set()),
    ("set -e", {"e", "errexit"}),
    ("set -eux; a", {"e", "errexit", "u", "nounset", "x", "xtrace"}),
    ("set -o pipefail", {"pipefail"}),
    ("set -euo pipefail", {"e", "errexit", "u", "nounset", "pipefail"}),
    ("set -o errexit -o nounset", {"e", "errexit", "u", "nounset"}),
    ("set -ex; set +x", {"e", "errexit"}),
    ("set -- -e", set()),
    ("(set -e)", set()),
    ("echo $(set -e)", set()),
    ("sh -c 'set -e; a'", set()),
    ("if x; then set -e; fi", {"e", "errexit"}),
]


@pytest.mark.parametrize(("script", "options"), SET_CASES)
def test_set_options(script: str, options: set[str]) -> None:
    assert parse_shell(script).set_options == frozenset(options)


# --------------------------------------------------------------------------- exactness

EXACT_CASES: list[tuple[str, bool]] = [
    ("apt-get update && apt-get install -y x", True),
    ("case $x in a) b;; esac", True),
    ("echo $((1+2))", True),
    ("v=$(a && b || c)", True),
    ("[[ -f x ]] && y", True),
    ("arr=(1 2 3)", True),
    ("time make", True),
    ("cat <<EOF\nx\nEOF", True),
    ("echo 'unterminated", False),
    ('echo "unterminated', False),
    ("echo $(unterminated", False),
    ("cat <<EOF\nno terminator", False),
    ("Write-Host ('x {0}' -f $y); $a = 1", False),
    ("echo ok; if then fi fi", False),
    ("coproc x", False),
]


@pytest.mark.parametrize(("script", "exact"), EXACT_CASES)
def test_parsed_exactly(script: str, exact: bool) -> None:
    assert parse_shell(script).parsed_exactly is exact


def test_fallback_keeps_the_rest_of_the_script() -> None:
    result = parse_shell(
        "apt-get update\nfoo ) bar\napt-get install -y x && rm -rf /var/lib/apt/lists/*"
    )
    assert not result.parsed_exactly
    names = [c.argv[:2] for c in result.commands]
    assert ("apt-get", "update") in names
    assert ("apt-get", "install") in names
    assert ("rm", "-rf") in names


def test_fallback_tracks_constructs() -> None:
    result = parse_shell("if a; then b ) ; fi; for i in 1; do c; done")
    assert not result.parsed_exactly
    by = {c.argv[0]: c for c in result.commands}
    assert by["a"].context == ("if", "condition")
    assert by["c"].context == ("for",)


def test_case_without_in_does_not_swallow_the_rest() -> None:
    result = parse_shell("case $x; echo hi")
    assert not result.parsed_exactly
    assert result.commands[-1].argv == ("echo", "hi")


def test_two_heredocs_on_one_line() -> None:
    result = parse_shell("cat <<A - <<'B'\na $(x)\nA\nb $(y)\nB\necho z")
    assert [c.argv for c in result.commands] == [("cat", "-"), ("x",), ("echo", "z")]


def test_shell_c_with_broken_inner_script() -> None:
    result = parse_shell("sh -c 'echo \"x' && ok")
    assert [c.argv[0] for c in result.commands] == ["echo", "ok"]
    assert not result.parsed_exactly


# --------------------------------------------------------------------------- offsets


def test_offsets_and_raw() -> None:
    script = "  apt-get update &&  X=1 sudo pip install 'a b'  ; echo $(id -u)"
    result = parse_shell(script)
    for cmd in result.commands:
        assert cmd.raw == script[cmd.start : cmd.end]
    pip = find(script, "pip")
    assert pip.raw == "X=1 sudo pip install 'a b'"
    assert [script[a:b] for a, b in pip.arg_spans] == ["pip", "install", "'a b'"]
    assert find(script, "id").raw == "id -u"


def test_offsets_inside_sh_c() -> None:
    script = 'sh -c "apt-get install -y \\"x\\" && rm -rf /tmp/*"'
    result = parse_shell(script)
    apt, rm = result.commands
    assert apt.argv == ("apt-get", "install", "-y", "x")
    assert apt.raw == 'apt-get install -y \\"x\\"'
    assert rm.raw == "rm -rf /tmp/*"
    assert script[slice(*rm.arg_spans[-1])] == "/tmp/*"


def test_offsets_inside_case_and_heredoc() -> None:
    script = "case $a in\n x) apk add y ;;\nesac\nsh <<EOF\npip install z\nEOF\n"
    result = parse_shell(script)
    for cmd in result.commands:
        assert cmd.raw == script[cmd.start : cmd.end]
    assert [c.raw for c in result.commands] == ["apk add y", "sh <<EOF", "pip install z"]


# --------------------------------------------------------------------------- robustness

BAD_INPUTS = [
    "\x00",
    "echo \x00\x00 && \x00",
    "'",
    '"',
    "`",
    "$(",
    "${",
    "${x",
    "$((",
    "echo ${a${b${c",
    "<<",
    "<<EOF",
    "cat <<",
    "((((((((((",
    "))))))))))",
    "{ { { {",
    "} } }",
    "if if if",
    "case",
    "case x in",
    "case x in a)",
    "esac esac",
    "for",
    "for x in; do",
    "done done",
    "[[",
    "]] [[",
    "&& || ; | &",
    ";;",
    "| a",
    "a |",
    "time",
    "sudo",
    "sh -c",
    "sh -c ''",
    'bash -c "$(',
    "$(" * 500,
    "`" * 501,
    "\\",
    "a\\",
    "x=(",
    "f() {",
    "function",
    "\r\n\r\n",
    "echo \u00e9\U0001f600 'ü'",
    "'\"'\"'\"",
]


@pytest.mark.parametrize("script", BAD_INPUTS)
def test_never_raises(script: str) -> None:
    result = parse_shell(script)
    assert isinstance(result, ShellScript)
    for cmd in result.commands:
        assert 0 <= cmd.start <= cmd.end <= len(script)
        assert cmd.raw == script[cmd.start : cmd.end]
    find_operations(result)


def test_deep_nesting_is_bounded() -> None:
    script = "echo " + "$(echo " * 60 + "x" + ")" * 60
    started = time.process_time()
    result = parse_shell(script)
    assert time.process_time() - started < 10
    assert result.commands[0].argv[0] == "echo"


def test_huge_input_is_cut() -> None:
    script = "apt-get install -y x && " * (MAX_SCRIPT_CHARS // 10)
    started = time.process_time()
    result = parse_shell(script)
    assert time.process_time() - started < 30
    assert not result.parsed_exactly
    assert result.commands
    assert all(c.end <= MAX_SCRIPT_CHARS for c in result.commands)


def test_many_commands() -> None:
    script = "\n".join(f"echo {i} && touch /f{i}" for i in range(3000))
    result = parse_shell(script)
    assert result.parsed_exactly
    assert len(result.commands) == 6000


_PIECES = (
    "echo", " ", "&&", "||", "|", ";", "\n", "$(", ")", "`", "'", '"', "${", "}", "$((",
    "<<EOF\n", "\nEOF\n", "<<-'X'\n", "case ", " in ", "a)", ";;", "esac", "if ", "then ",
    "fi", "for ", "do ", "done", "[[ ", " ]]", "time ", "sh -c ", "sudo ", "env A=1 ",
    "xargs ", "\\", "\x00", "(", "{ ", "x=(", "#", "apt-get install -y x", "curl -fsSL u",
)  # fmt: skip
_SHELLISH = st.text(
    alphabet=st.sampled_from(list("ab -$(){}[]'\"`\\;&|<>\n\t#=!*~0\x00")), max_size=80
) | st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SHELLISH | st.text(max_size=120))
def test_property_never_raises_and_offsets_in_bounds(script: str) -> None:
    result = parse_shell(script)
    assert isinstance(result.parsed_exactly, bool)
    for cmd in result.commands:
        assert 0 <= cmd.start <= cmd.end <= len(script)
        assert cmd.raw == script[cmd.start : cmd.end]
        assert len(cmd.arg_spans) == len(cmd.argv)
        for a, b in cmd.arg_spans:
            assert 0 <= a <= b <= len(script)
    find_operations(result)


# --------------------------------------------------------------------------- corpus

CORPUS = corpus.CORPUS / "dockerfiles"

_RUN = re.compile(r"^[ \t]*RUN[ \t]+(.*)$", re.IGNORECASE)
_RUN_FLAG = re.compile(r"^--[a-z-]+=?\S*[ \t]+")
_HEREDOC = re.compile(r"<<-?[ \t]*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


def _runs(text: str) -> list[str]:
    """Crudely pull the shell-form RUN scripts out of a Dockerfile (continuations joined)."""
    lines = text.splitlines()
    scripts: list[str] = []
    i = 0
    while i < len(lines):
        m = _RUN.match(lines[i])
        i += 1
        if not m:
            continue
        body = m.group(1)
        while _RUN_FLAG.match(body):
            body = _RUN_FLAG.sub("", body, count=1)
        parts = []
        while body.rstrip().endswith("\\"):
            parts.append(body.rstrip()[:-1])
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            body = lines[i] if i < len(lines) else ""
            i += 1
        parts.append(body)
        script = "".join(parts)
        if script.lstrip().startswith("["):
            continue  # exec form
        heredoc = _HEREDOC.search(script)
        if heredoc:
            delimiter = heredoc.group(1)
            body_lines = []
            while i < len(lines) and lines[i].strip() != delimiter:
                body_lines.append(lines[i])
                i += 1
            i += 1
            if script.lstrip().startswith("<<"):
                script = "\n".join(body_lines)  # RUN <<EOF: the body is the script
            else:
                script = "\n".join([script, *body_lines, delimiter])
        scripts.append(script)
    return scripts


def _is_powershell(text: str) -> bool:
    return bool(re.search(r"^\s*SHELL\s*\[\s*\"(powershell|pwsh|cmd)", text, re.I | re.M))


@pytest.mark.corpus
def test_corpus_smoke() -> None:
    files = corpus.require_corpus("dockerfiles")
    stats = corpus_stats("shell RUNs")
    total = exact = fallback = other_shell = 0
    fallback_examples: list[str] = []
    for path in files:
        text = corpus.corpus_bytes(path).decode("utf-8", errors="replace")
        non_posix = _is_powershell(text)
        for script in _runs(text):
            result = parse_shell(script)
            find_operations(result)
            if non_posix:
                other_shell += 1
                continue
            total += 1
            if result.parsed_exactly:
                exact += 1
            else:
                fallback += 1
                fallback_examples.append(f"{path.relative_to(CORPUS)}: {script[:80]!r}")
    stats["exact"] += exact
    stats["fallback"] += fallback
    stats["powershell/cmd (skipped)"] += other_shell
    print(
        f"\ncorpus: {total} POSIX-shell RUNs, {exact} parsed exactly, {fallback} with the fallback"
    )
    print("\n".join(fallback_examples[:20]))
    assert total > 0
    assert fallback <= max(5, total // 50), fallback_examples


@pytest.mark.corpus
def test_fast_path_agrees_with_bashlex_on_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain command lists skip bashlex; on every corpus RUN both ways give the same result."""
    import keelhaul.dockerfile.shell as shell_module

    scripts = []
    for file in corpus.parsed_dockerfiles():
        for inst in file.tree.instructions:
            eff = inst.effective
            if eff.name == "RUN" and not eff.json:
                scripts += [h.content for h in eff.heredocs] or list(eff.values[:1])
    fast = [shell_module.parse_shell(s) for s in scripts]
    monkeypatch.setattr(shell_module, "_FAST_PATH", False)
    slow = [shell_module.parse_shell(s) for s in scripts]
    assert [i for i, (a, b) in enumerate(zip(fast, slow, strict=True)) if a != b] == []


@pytest.mark.parametrize(
    ("word", "form"),
    [
        ("'Xk9#mQ2$vL7pR4wZ'", "Xk9#mQ2$$vL7pR4wZ"),
        ('"a$HOME"', "a$HOME"),
        ("$X", "$X"),
        ("'q$w'x$y", "q$$wx$y"),
        ("\\$x", "$$x"),
        ('"\\$x\\"y"', '$$x"y'),
        ("$'a\\'$b'", "a\\'$$b"),
        ('$"a$b"', "a$b"),
        ("`cat f`", "$(cat f)"),
        ('"x`id`"', "x$(id)"),
        ("'`id`'", "`id`"),
        ("'unterminated$", "unterminated$$"),
    ],
)
def test_dollar_form(word: str, form: str) -> None:
    assert dollar_form(word) == form
