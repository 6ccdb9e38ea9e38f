"""The judged truth set: what the default gate reports on the shared corpus's real-world
Dockerfiles, each finding judged by a person reading the file as its maintainer would.

A verdict is one row of a TSV file in ``tests/data/judged/`` (one file per rule family or
topic, any name ending in ``.tsv``): ``path`` (relative to the corpus), ``line``, ``code``,
``verdict`` and ``reason`` (one line). Verdicts:

- ``right``: true, and worth acting on in this file;
- ``noise``: true, but not actionable here (an SDK image meant to be extended, a test
  fixture's deliberate pattern...);
- ``wrong``: false: following the advice would be a mistake or the claim is untrue.

The gate is ``keelhaul check`` at default settings (no configuration file, ShellCheck on when
installed), findings at warning or error. ``tests/rules/test_judged.py`` keeps the verdicts:
a finding judged wrong must not come back, one judged right must not disappear, and every
finding of the gate must be judged.

Run ``python -m tests.judged`` for the per-rule numbers (precision: right over judged),
``python -m tests.judged unjudged`` for the findings still to judge, with their source line,
and ``python -m tests.judged gate`` for what the gate costs (docs/gate.md).
Verdicts on fixes live in ``tests/data/judged/fixes/`` (see :func:`fix_verdicts`).
"""

from __future__ import annotations

import csv
import datetime
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.corpus import CORPUS

JUDGED = Path(__file__).resolve().parent / "data" / "judged"
VERDICTS = ("right", "noise", "wrong")
GATE = ("error", "warning")
#: The day the verdicts were made: end-of-life findings are computed as of then.
JUDGED_ON = datetime.date(2026, 12, 7)
FIELDS = ("path", "line", "code", "verdict", "reason")

Key = tuple[str, int, str]


@dataclass(frozen=True)
class Verdict:
    path: str
    line: int
    code: str
    verdict: str
    reason: str
    source: str
    """The TSV file that holds it."""

    @property
    def key(self) -> Key:
        return (self.path, self.line, self.code)


@dataclass(frozen=True)
class GateFinding:
    path: str
    line: int
    code: str
    severity: str
    message: str

    @property
    def key(self) -> Key:
        return (self.path, self.line, self.code)


def verdicts() -> dict[Key, Verdict]:
    """Every verdict, by (path, line, code); a key judged twice is an error."""
    found: dict[Key, Verdict] = {}
    for file in sorted(JUDGED.glob("*.tsv")):
        with file.open(encoding="utf-8", newline="") as handle:
            for n, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
                where = f"{file.name}:{n}"
                if tuple(row) != FIELDS and set(row) != set(FIELDS):
                    raise ValueError(f"{where}: columns must be {FIELDS}")
                if row["verdict"] not in VERDICTS:
                    raise ValueError(f"{where}: verdict {row['verdict']!r} not in {VERDICTS}")
                if not row["reason"].strip():
                    raise ValueError(f"{where}: a verdict needs its reason")
                verdict = Verdict(
                    row["path"],
                    int(row["line"]),
                    row["code"],
                    row["verdict"],
                    row["reason"],
                    file.name,
                )
                if verdict.key in found:
                    raise ValueError(f"{where}: {verdict.key} judged twice")
                found[verdict.key] = verdict
    return found


#: Verdicts on fixes (``keelhaul fix --unsafe-fixes --diff`` read as the file's maintainer
#: would), one TSV per rule in ``tests/data/judged/fixes/``: ``path``, ``line`` (the finding's;
#: 1 when there is none), ``code``, ``offered`` (``fix`` or ``none``: what keelhaul does now),
#: ``verdict`` (right: what the maintainer would write, or rightly left alone; noise: correct
#: but with a caveat the message does not give; wrong: the fixed image breaks) and ``reason``.
FIX_FIELDS = ("path", "line", "code", "offered", "verdict", "reason")


@dataclass(frozen=True)
class FixVerdict:
    path: str
    line: int
    code: str
    offered: bool
    verdict: str
    reason: str


def fix_verdicts(code: str) -> list[FixVerdict]:
    """The verdicts on ``code``'s fix (``tests/data/judged/fixes/CODE.tsv``)."""
    file = JUDGED / "fixes" / f"{code}.tsv"
    out: list[FixVerdict] = []
    with file.open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            where = f"{file.name}:{n}"
            if tuple(row) != FIX_FIELDS:
                raise ValueError(f"{where}: columns must be {FIX_FIELDS}")
            if row["verdict"] not in VERDICTS or row["offered"] not in ("fix", "none"):
                raise ValueError(f"{where}: bad verdict or offered")
            if not row["reason"].strip():
                raise ValueError(f"{where}: a verdict needs its reason")
            out.append(FixVerdict(row["path"], int(row["line"]), row["code"],
                                  row["offered"] == "fix", row["verdict"], row["reason"]))  # fmt: skip
    return out


def gate_noise() -> Iterator[str]:
    """The gate's totals: judged findings, and how many are noise and wrong (issue 16's
    targets: noise <= 10%, wrong <= 2%)."""
    judged = verdicts()
    counts: Counter[str] = Counter()
    for key in {f.key for f in gate_findings()}:  # one verdict per key, as the tests count
        verdict = judged.get(key)
        counts[verdict.verdict if verdict else "unjudged"] += 1
    total = counts["right"] + counts["noise"] + counts["wrong"]
    yield f"gate findings judged: {total} (unjudged: {counts['unjudged']})"
    for kind in ("right", "noise", "wrong"):
        yield f"{kind}: {counts[kind]} ({counts[kind] / total:.1%})" if total else f"{kind}: 0"


def real_world_dockerfiles() -> list[Path]:
    """The corpus Dockerfiles a project really uses (not parser or linter test fixtures)."""
    provenance = CORPUS / "PROVENANCE.tsv"
    if not provenance.is_file():
        return []
    out: list[Path] = []
    with provenance.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["local_path"].startswith("dockerfiles/") and row["category"] == "real-world":
                out.append(CORPUS / row["local_path"])
    return sorted(out)


@cache
def gate_findings() -> tuple[GateFinding, ...]:
    """What the default gate reports on the real-world corpus Dockerfiles."""
    return tuple(f for f in all_findings() if f.severity in GATE)


@cache
def all_findings() -> tuple[GateFinding, ...]:
    """Every finding of ``keelhaul check`` at default settings on the real-world corpus
    Dockerfiles, at any severity (the gate's and those below it)."""
    from keelhaul.catalogue import all_rules
    from keelhaul.checking import Checker, Target
    from keelhaul.config import ConfigFinder
    from keelhaul.rules.dockerfile.shared import end_of_life
    from keelhaul.rules.shellcheck import find_shellcheck
    from keelhaul.selection import Vocabulary

    # end-of-life findings depend on the date: the verdicts were made on this one
    end_of_life.TODAY = JUDGED_ON
    rules = all_rules()
    vocabulary = Vocabulary(rules)
    checker = Checker(
        ConfigFinder(vocabulary, isolated=True),
        vocabulary,
        rules,
        shellcheck=find_shellcheck(),
        fixes=False,
    )
    targets = [Target(p, str(p), True) for p in real_world_dockerfiles()]
    try:
        result = checker.check(targets)
    finally:
        end_of_life.TODAY = None
    root = str(CORPUS) + "/"
    return tuple(
        GateFinding(
            f.location.path.removeprefix(root),
            f.location.line,
            f.code,
            f.severity.value,
            f.message,
        )
        for f in result.findings
    )


def precision_table() -> Iterator[str]:
    """Per rule: findings at the gate, right, noise, wrong, unjudged, precision."""
    judged = verdicts()
    by_code: dict[str, Counter[str]] = {}
    for finding in gate_findings():
        verdict = judged.get(finding.key)
        by_code.setdefault(finding.code, Counter())[verdict.verdict if verdict else "unjudged"] += 1
    total: Counter[str] = Counter()
    yield "code\tgate\tright\tnoise\twrong\tunjudged\tprecision"
    for code in sorted(by_code, key=lambda c: (-sum(by_code[c].values()), c)):
        counts = by_code[code]
        total.update(counts)
        yield _row(code, counts)
    yield _row("all", total)


def _row(code: str, counts: Counter[str]) -> str:
    judged = counts["right"] + counts["noise"] + counts["wrong"]
    precision = f"{counts['right'] / judged:.0%}" if judged else "-"
    gate = judged + counts["unjudged"]
    cells = (counts["right"], counts["noise"], counts["wrong"], counts["unjudged"])
    return f"{code}\t{gate}\t" + "\t".join(map(str, cells)) + f"\t{precision}"


def gate_numbers() -> Iterator[str]:
    """What the default gate costs a team (docs/gate.md): findings at each threshold with
    their verdicts, and how many files fail (``python -m tests.judged gate``)."""
    judged = verdicts()
    found = all_findings()
    files = len(real_world_dockerfiles())
    below = Counter(f.severity for f in found if f.severity not in GATE)
    yield f"files\t{files}"
    for name, levels in (("warning", GATE), ("error", ("error",))):
        at = [f for f in found if f.severity in levels]
        counts = Counter(judged[f.key].verdict if f.key in judged else "unjudged" for f in at)
        failing = {f.path for f in at}
        right = {f.path for f in at if f.key in judged and judged[f.key].verdict == "right"}
        yield (
            f"fail-on {name}\tfindings {len(at)}\t"
            + "\t".join(f"{v} {counts[v]}" for v in (*VERDICTS, "unjudged"))
            + f"\tfiles failing {len(failing)}\tof them with a right finding "
            f"{len(failing & right)}"
        )
    yield "below the gate\t" + "\t".join(f"{k} {n}" for k, n in sorted(below.items()))


def unjudged() -> Iterator[str]:
    """The gate's findings with no verdict yet, as TSV rows to fill in (verdict and reason
    empty), with the message and the source line after them as comments for the judge."""
    judged = verdicts()
    for finding in gate_findings():
        if finding.key in judged:
            continue
        lines = (CORPUS / finding.path).read_text(encoding="utf-8", errors="replace")
        source = lines.splitlines()[finding.line - 1] if finding.line else ""
        yield "\t".join(
            (finding.path, str(finding.line), finding.code, "", f"# {finding.message} | {source}")
        )


def precision_markdown() -> str:
    """docs/precision.md: the per-rule table, for people (``python -m tests.judged markdown``)."""
    rows = [line.split("\t") for line in precision_table()]
    head, body = rows[0], rows[1:]
    out = [
        "<!-- generated by `python -m tests.judged markdown` (needs ../shared/corpus) -->",
        "",
        "# Measured precision of the default gate",
        "",
        "What `keelhaul check` reports at warning or error, at default settings (ShellCheck "
        "on), on the 529 real-world Dockerfiles of the shared corpus, each finding judged by "
        "reading the file as its maintainer would: *right* (true and worth acting on), "
        "*noise* (true, not actionable there), *wrong*. Precision is right over judged. The "
        "verdicts, one row per finding with its reason, are in `tests/data/judged/`; "
        "`tests/rules/test_judged.py` keeps them (a finding judged wrong must not come back, "
        "one judged right must not disappear).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    out += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["markdown"]:
        target = Path(__file__).resolve().parents[1] / "docs" / "precision.md"
        target.write_text(precision_markdown(), encoding="utf-8")
        print(f"wrote {target}")
    elif sys.argv[1:] == ["gate"]:
        for row in gate_numbers():
            print(row)
        for line in gate_noise():
            print(line)
    else:
        for row in unjudged() if sys.argv[1:] == ["unjudged"] else precision_table():
            print(row)
