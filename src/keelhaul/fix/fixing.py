"""Fixing one Dockerfile: check, apply the fixes that fit together, check again, until done.

Each pass runs the whole check (configuration, selection, suppressions) on the current text,
so a fix sees what earlier fixes made of the file, and fixes on one instruction compose. The
loop ends when no wanted fix is left, or after :data:`MAX_PASSES`; a fix whose result does not
parse is never kept and is reported as a bug of keelhaul.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keelhaul.checking import Checker, Target
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Edit, Finding, Safety
from keelhaul.fix.edits import apply_edits, choose_fixes

MAX_PASSES = 12


@dataclass
class FixOutcome:
    """What fixing a file did."""

    name: str
    before: str
    after: str
    applied: list[Finding] = field(default_factory=list)
    """Each finding whose fix was applied, as found in the pass that fixed it."""
    remaining: list[Finding] = field(default_factory=list)
    """What the last pass still finds."""
    unsafe_left: list[Finding] = field(default_factory=list)
    """Findings an unsafe fix would handle (shown unless ``--unsafe-fixes``)."""
    broken: str | None = None
    """The file itself does not parse: nothing was fixed."""
    bug: str | None = None
    """A fix produced text that does not parse; that fix was dropped."""
    files: dict[str, str] = field(default_factory=dict)
    """Other files to write (path -> complete new content), e.g. a ``.dockerignore``."""
    passes: list[list[Edit]] = field(default_factory=list)
    """The edits each pass applied, in the line numbers of the text that pass started from."""

    @property
    def changed(self) -> bool:
        return self.after != self.before


def fix_target(checker: Checker, target: Target, text: str, unsafe: bool) -> FixOutcome:
    """Fix ``text`` (the file of ``target``) with the fixes ``checker``'s configuration wants."""
    allowed = {Safety.SAFE.value, Safety.UNSAFE.value} if unsafe else {Safety.SAFE.value}
    outcome = FixOutcome(target.name, text, text)
    current = text
    for number in range(MAX_PASSES):
        data = current.encode("utf-8", "surrogateescape")
        result = checker.check([Target(target.path, target.name, True, data)])
        if result.broken:
            if number == 0:
                outcome.broken = result.broken[0].message
            else:  # cannot happen: every pass's text parsed before it was kept
                outcome.bug = f"after fixing, {result.broken[0].message}"
            break
        findings = result.all_findings
        outcome.remaining = [
            f for f in findings if f.fix is None or f.fix.safety.value not in allowed
        ]
        outcome.unsafe_left = [
            f
            for f in findings
            if f.fix is not None and f.fix.safety is Safety.UNSAFE and not unsafe
        ]
        for finding in findings:
            fix = finding.fix
            if fix is None or not fix.files or fix.safety.value not in allowed:
                continue
            fresh = [c for c in fix.files if c.path not in outcome.files]
            if fresh:  # the file on disk is unchanged, so later passes propose it again
                outcome.files.update((c.path, c.text) for c in fresh)
                outcome.applied.append(finding)
        chosen = choose_fixes(findings, allowed)
        if not chosen:
            outcome.remaining = findings
            break
        candidate = apply_edits(current, [e for f in chosen if f.fix for e in f.fix.edits])
        if parse(candidate, target.name).errors or candidate == current:
            # Judge each fix alone against this pass's text; keep those that parse.
            good: list[Finding] = []
            for finding in chosen:
                assert finding.fix is not None
                attempt = apply_edits(current, finding.fix.edits)
                if parse(attempt, target.name).errors:
                    outcome.bug = (
                        f"the fix of {finding.code} at line {finding.location.line} would not "
                        "parse; please report this keelhaul bug"
                    )
                elif attempt != current:
                    good.append(finding)
            if not good:
                break
            candidate = apply_edits(current, [e for f in good if f.fix for e in f.fix.edits])
            if parse(candidate, target.name).errors:  # fine alone, not together: one per pass
                good = good[:1]
                candidate = apply_edits(current, [e for f in good if f.fix for e in f.fix.edits])
            chosen = good
        outcome.applied += chosen
        outcome.passes.append([e for f in chosen if f.fix for e in f.fix.edits])
        current = candidate
    outcome.after = current
    return outcome
