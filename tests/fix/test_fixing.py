"""The fix machinery: edits, composition, idempotence, atomic writes, and the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.dockerfile.edits import apply_edits, split_lines
from keelhaul.dockerfile.lex import Lexer
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Edit
from keelhaul.fix.fixing import fix_target
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.selection import Vocabulary
from keelhaul.writing import write_atomically
from tests.conftest import corpus_stats
from tests.corpus import corpus_bytes, corpus_files

RULES = dockerfile_rules()
VOCABULARY = Vocabulary(RULES)


def checker(select: tuple[str, ...] | None = None) -> Checker:
    finder = ConfigFinder(VOCABULARY, isolated=True, overrides=Overrides(select=select))
    return Checker(finder, VOCABULARY, RULES, shellcheck=None)


def fix(src: str, select: tuple[str, ...] | None = None, unsafe: bool = False) -> str:
    target = Target(Path("Dockerfile"), "Dockerfile", True, src.encode())
    return fix_target(checker(select), target, src, unsafe).after


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        ("a\nb\nc\n", [Edit(2, 2, "B\n")], "a\nB\nc\n"),
        ("a\nb\nc\n", [Edit(2, 1, "x\n")], "a\nx\nb\nc\n"),  # insertion before line 2
        ("a\nb", [Edit(3, 2, "c\n")], "a\nb\nc\n"),  # append after a last line without break
        ("a\nb\nc\n", [Edit(1, 2, "")], "c\n"),
        ("\ufeffa\r\nb\r\n", [Edit(2, 2, "B\r\n")], "\ufeffa\r\nB\r\n"),
        ("a\nb\nc\n", [Edit(1, 1, "A\n"), Edit(3, 3, "C\n")], "A\nb\nC\n"),
    ],
)
def test_apply_edits(text: str, edits: list[Edit], expected: str) -> None:
    assert apply_edits(text, edits) == expected


def test_edits_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        apply_edits("a\n", [Edit(5, 5, "x\n")])


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            "FROM debian:12\nMAINTAINER Jane $X <j@example.com>\n",
            'FROM debian:12\nLABEL org.opencontainers.image.authors="Jane \\$X <j@example.com>"\n',
        ),
        (
            "FROM debian:12\n  env APP /srv/my app\r\n",
            'FROM debian:12\n  env APP="/srv/my app"\r\n',
        ),
        ("FROM debian:12\nONBUILD ENV B c\n", "FROM debian:12\nONBUILD ENV B=c\n"),
        ("FROM debian:12\nENV A it's\n", "FROM debian:12\nENV A it's\n"),  # not rewritten blindly
    ],
)
def test_style_fixes(src: str, expected: str) -> None:
    assert fix(src, ("KH111", "KH112")) == expected


def test_fixes_keep_meaning_of_env_and_labels() -> None:
    src = "FROM debian:12\nMAINTAINER Jane $X\nENV APP /srv/my app\nENV B=$APP/x\n"
    fixed = parse(fix(src, ("KH111", "KH112")))
    assert resolve(parse(src)).stages[0].env == resolve(fixed).stages[0].env
    label = next(i for i in fixed.instructions if i.name == "LABEL")
    # BuildKit expands LABEL values: the escaped `$` must come out as the literal text.
    assert Lexer("\\").process_word(label.values[1], {"X": "oops"}) == "Jane $X"


def test_atomic_write_keeps_mode_and_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "Dockerfile.real"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "Dockerfile"
    link.symlink_to(real)
    write_atomically(link, b"new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if ".keelhaul" in p.name] == []


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    target = tmp_path / "Dockerfile"
    target.write_text("old\n")
    tmp_path.chmod(0o500)
    try:
        from keelhaul.errors import KeelhaulError

        with pytest.raises(KeelhaulError):
            write_atomically(target, b"new\n")
        assert target.read_text() == "old\n"
    finally:
        tmp_path.chmod(0o700)


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", "--no-color", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_cli_diff_check_and_write(tmp_path: Path) -> None:
    src = "FROM debian:12\n# keep me\nMAINTAINER Jane\nENV A b\n"
    (tmp_path / "Dockerfile").write_text(src)
    picked = ("--no-config", "--select", "KH111,KH112")
    diff = run("fix", *picked, "--diff", cwd=tmp_path)
    assert diff.returncode == 1
    assert "+ENV A=b" in diff.stdout
    assert (tmp_path / "Dockerfile").read_text() == src  # --diff changes nothing
    assert run("fix", *picked, "--check", cwd=tmp_path).returncode == 1
    done = run("fix", *picked, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fixed = (tmp_path / "Dockerfile").read_text()
    assert fixed.splitlines()[1] == "# keep me"
    assert "ENV A=b" in fixed
    assert run("fix", *picked, "--check", cwd=tmp_path).returncode == 0


def test_cli_stdin_writes_stdout(tmp_path: Path) -> None:
    result = run(
        "fix", "--no-config", "--select", "KH112", "-", cwd=tmp_path, stdin="FROM a:1\nENV A b\n"
    )
    assert result.stdout == "FROM a:1\nENV A=b\n"


def test_cli_broken_file_exit_2(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nENV x\n")
    result = run("fix", "--no-config", cwd=tmp_path)
    assert result.returncode == 2
    assert "ENV must have two arguments" in result.stderr
    assert (tmp_path / "Dockerfile").read_text() == "FROM a\nENV x\n"


def touched_lines(count: int, passes: list[list[Edit]]) -> set[int]:
    """The original line numbers some pass replaced: each pass's edits are in the line numbers
    of the text that pass started from, which earlier passes may have shifted."""
    origin: list[int | None] = list(range(1, count + 1))
    touched: set[int] = set()
    for edits in passes:
        for e in sorted(edits, key=lambda e: (e.start_line, e.end_line), reverse=True):
            start, end = e.start_line - 1, e.end_line
            touched.update(o for o in origin[start:end] if o is not None)
            origin[start:end] = [None] * len(split_lines(e.text)[1])
    return touched


@pytest.mark.corpus
@pytest.mark.corpus_fixes
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_corpus_fixes_are_idempotent_and_local(unsafe: bool) -> None:
    """Fixing twice equals fixing once; the result parses; lines no fix touched are identical."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    stats = corpus_stats(f"dockerfiles fixed ({'all' if unsafe else 'safe'} fixes)")
    try:
        import dockerfile as buildkit
    except ImportError:
        buildkit = None
    check = checker()
    for path in files:
        data = corpus_bytes(path)
        text = data.decode("utf-8", "surrogateescape")
        target = Target(Path("Dockerfile"), "Dockerfile", True, data)
        once = fix_target(check, target, text, unsafe=unsafe)
        if once.broken is not None:
            continue
        assert once.bug is None, (path, once.bug)
        stats["files"] += 1
        if not once.changed:
            continue
        stats["changed"] += 1
        stats["fixes"] += len(once.applied)
        assert not parse(once.after).errors, path
        if buildkit is not None:  # BuildKit's own parser reads the result too
            buildkit.parse_string(once.after)
        again = Target(
            Path("Dockerfile"), "Dockerfile", True, once.after.encode("utf-8", "surrogateescape")
        )
        twice = fix_target(check, again, once.after, unsafe=unsafe)
        assert twice.after == once.after, path
        before_lines = split_lines(text)[1]
        touched = touched_lines(len(before_lines), once.passes)
        after_lines = set(split_lines(once.after)[1])
        for number, line in enumerate(before_lines, 1):
            if number not in touched and line.strip():
                assert line in after_lines, (path, number)


def test_binary_garbage_is_not_rewritten(tmp_path: Path) -> None:
    """Random bytes parse as unknown instructions; no fix may touch them (KH115 reports them)."""
    import random

    data = bytes(random.Random(7).randrange(256) for _ in range(4000))
    (tmp_path / "Dockerfile").write_bytes(data)
    result = run("fix", "--no-config", "--unsafe-fixes", cwd=tmp_path)
    assert result.returncode in (0, 2), result.stderr
    assert (tmp_path / "Dockerfile").read_bytes() == data
