"""Issue 23 item 8 (ShellCheck's part): ShellCheck's time and memory grow faster than its input
(a RUN of 4,000 ``&& echo`` lines took it 50 s and 7.6 GB) and it has no limit of its own. A
RUN script over the limit is not given to it; a one-line notice names the line; the rest of the
check goes on."""

from __future__ import annotations

import time
from pathlib import Path

from keelhaul.rules.shellcheck import MAX_SCRIPT_LINES
from tests.keelhaul_cli import run


def test_a_huge_run_is_not_given_to_shellcheck(tmp_path: Path) -> None:
    lines = MAX_SCRIPT_LINES * 3
    body = " \\\n    && ".join(f"echo line{i}" for i in range(lines))
    text = f"FROM debian:12.5\nRUN cd /tmp; ls $UNQUOTED\nRUN {body}\n"
    (tmp_path / "Dockerfile").write_text(text)
    started = time.monotonic()
    done = run("check", "--shellcheck", "Dockerfile", cwd=tmp_path)
    took = time.monotonic() - started
    assert done.returncode in (0, 1), done.stderr
    notices = [line for line in done.stderr.splitlines() if "notice" in line]
    assert notices == [
        f"keelhaul: notice: Dockerfile:3: RUN script not checked by ShellCheck: {lines} lines, "
        f"more than ShellCheck is given ({MAX_SCRIPT_LINES})"
    ]
    assert "SC2086" in done.stdout  # the short RUN was checked
    assert took < 60, took
