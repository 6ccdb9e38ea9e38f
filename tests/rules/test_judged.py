"""The judged truth set keeps the default gate honest (see tests/judged.py).

A finding judged wrong must not come back; one judged right must not disappear; every
finding the gate reports is judged; and over the judged set at most 2% are wrong and the
noise does not grow (see MAX_NOISE).
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.corpus import CORPUS
from tests.judged import JUDGED, VERDICTS, gate_findings, real_world_dockerfiles, verdicts

MAX_WRONG = 0.02
#: Issue 16's target is 10%; measured on 2026-12-07 (`python -m tests.judged gate`): 88 of 659
#: (13.4%), 78 of 640 (12.2%), then 52 of 613 (8.5%) once KH109's fix and message came from one
#: plan that knows the image (19 KH109 noise left: images whose user is set where they are
#: deployed). A ratchet: lower it when the noise goes down; raised once, to 0.086, when KH101
#: learned branch and channel tags (node:lts, alpine:edge): 6 new findings, 5 right, 1 noise
#: (buildkit's create-certs example needs alpine:edge for mkcert from edge/testing), so the
#: share went from 52 of 613 to 53 of 619 with no finding becoming noisier.
MAX_NOISE = 0.086


def test_verdict_files_are_well_formed() -> None:
    judged = verdicts()  # raises on a bad row, a missing reason or a key judged twice
    assert all(v.verdict in VERDICTS for v in judged.values())
    for verdict in judged.values():
        assert not verdict.path.startswith("/"), verdict
        assert verdict.line >= 1, verdict


@pytest.fixture(scope="module")
def gate() -> dict[tuple[str, int, str], str]:
    if not real_world_dockerfiles():
        pytest.skip(f"no shared corpus at {CORPUS}")
    return {f.key: f.message for f in gate_findings()}


def _still_wrong() -> set[tuple[str, int, str]]:
    """The findings judged wrong that the gate still reports, as recorded (the list shrinks)."""
    out: set[tuple[str, int, str]] = set()
    for line in (JUDGED / "still_wrong.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            path, number, code = line.split("\t")
            out.add((path, int(number), code))
    return out


@pytest.mark.corpus
def test_findings_judged_wrong_do_not_come_back(gate: dict[tuple[str, int, str], str]) -> None:
    reported = {v.key for v in verdicts().values() if v.verdict == "wrong" and v.key in gate}
    known = _still_wrong()
    back = sorted(reported - known)
    assert back == [], f"{len(back)} findings judged wrong are reported (again): {back[:10]}"
    gone = sorted(known - reported)
    assert gone == [], f"no longer reported, remove from still_wrong.txt: {gone}"


@pytest.mark.corpus
def test_findings_judged_right_are_still_reported(gate: dict[tuple[str, int, str], str]) -> None:
    gone = [
        f"{v.source}: {v.path}:{v.line} {v.code}: {v.reason}"
        for v in verdicts().values()
        if v.verdict == "right" and v.key not in gate
    ]
    assert gone == [], f"{len(gone)} findings judged right are no longer reported"


@pytest.mark.corpus
def test_every_gate_finding_is_judged(gate: dict[tuple[str, int, str], str]) -> None:
    judged = verdicts()
    missing = [f"{p}:{line} {code}: {gate[(p, line, code)]}" for p, line, code in gate
               if (p, line, code) not in judged]  # fmt: skip
    assert missing == [], (
        f"{len(missing)} gate findings have no verdict (python -m tests.judged unjudged): "
        + "; ".join(missing[:10])
    )


@pytest.mark.corpus
def test_precision_targets(gate: dict[tuple[str, int, str], str]) -> None:
    judged = verdicts()
    counts = Counter(judged[k].verdict for k in gate if k in judged)
    total = sum(counts.values())
    assert total, "nothing judged"
    assert counts["wrong"] / total <= MAX_WRONG, counts
    assert counts["noise"] / total <= MAX_NOISE, counts
