"""Fixing one file, of any kind: check, apply the fixes that fit together, check again, until
done.

Each pass runs the whole check pipeline (configuration, selection, severity, suppressions) on
the current text, so a fix sees what earlier fixes made of the file, fixes on one instruction
compose, and nothing is changed for a finding ``keelhaul check`` would not report. The loop
ends when no wanted fix is left, or after :data:`MAX_PASSES`; a fix whose result does not
parse is never kept and is reported as a bug of keelhaul.

Dockerfile fixes are line edits that each finding carries. Runtime files (Kubernetes,
Compose) are hardened by :mod:`keelhaul.runtime.fixing`, told which findings of which
containers the pass reported; every such fix is unsafe. ``docker run`` lines are not
rewritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from keelhaul.checking import DOCKERFILE, Checker, CheckResult, Target, itemised
from keelhaul.dockerfile.edits import apply_edits, choose_fixes
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Edit, Finding, Fix, Safety
from keelhaul.runtime.checking import finding_key
from keelhaul.runtime.fixing import FIXED_CODES, fix_runtime_text
from keelhaul.runtime.render import Chunk
from keelhaul.runtime.yaml_documents import YamlFile

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
    notes: list[str] = field(default_factory=list)
    """Why findings that have a fix were not fixed (a file a kustomize overlay renders)."""

    @property
    def changed(self) -> bool:
        return self.after != self.before


def fix_target(checker: Checker, target: Target, text: str, unsafe: bool) -> FixOutcome:
    """Fix ``text`` (the file of ``target``) with the fixes ``checker``'s configuration wants."""
    if target.kind != DOCKERFILE:
        return _fix_runtime(checker, target, text, unsafe)
    allowed = {Safety.SAFE.value, Safety.UNSAFE.value} if unsafe else {Safety.SAFE.value}
    outcome = FixOutcome(target.name, text, text)
    current = text
    for number in range(MAX_PASSES):
        data = current.encode("utf-8", "surrogateescape")
        result = checker.check([Target(target.path, target.name, True, data)])
        if result.broken:
            if number == 0:
                outcome.broken = str(result.broken[0])
            else:  # cannot happen: every pass's text parsed before it was kept
                outcome.bug = f"after fixing, {result.broken[0]}"
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


def planned_unsafe(
    checker: Checker, targets: Iterable[Target], result: CheckResult
) -> Counter[tuple[str, str, str]]:
    """What ``keelhaul fix --unsafe-fixes`` would change in the runtime files of ``result``,
    as the fix loop plans it (:func:`fix_target` without unsafe fixes: the hardening edit
    made and checked again; what is gone is fixed): (file, code, message) of each itemised
    finding it would fix. For the check summary (:func:`keelhaul.checking.fixable_counts`)."""
    planned: Counter[tuple[str, str, str]] = Counter()
    quiet = replace(checker, baseline=None, note=_silent, notice=_silent, error=_silent)
    by_name = {t.name: t for t in targets if t.kind != DOCKERFILE}
    for name in sorted({f.location.path for f in result.findings} & set(by_name)):
        text = result.sources.get(name)
        found = itemised(f for f in result.findings if f.location.path == name)
        if text is None or not any(m.code in FIXED_CODES for m in found):
            continue  # nothing the runtime fixer would touch: nothing to plan
        outcome = _fix_runtime(quiet, by_name[name], text, unsafe=False)
        planned.update((name, f.code, f.message) for f in outcome.unsafe_left)
    return planned


def _silent(message: str) -> None:
    """The planning's check says nothing: the check it plans for has said it."""


UNSAFE_WHY = (
    "hardening changes what the container may do: a program that writes outside /tmp, "
    "needs a capability or runs as root may stop working"
)
_DESCRIPTIONS = {
    "KH400": "drop every capability (NET_BIND_SERVICE added back for a port below 1024)",
    "KH405": "make the root filesystem read-only, with a writable /tmp",
    "KH410": "set runAsNonRoot: true",
    "KH416": "forbid privilege escalation",
    "KH418": "use the runtime's default seccomp profile",
}


def _with_fix(finding: Finding) -> Finding:
    description = _DESCRIPTIONS.get(finding.code, "add the run-time hardening")
    return replace(finding, fix=Fix((), description, Safety.UNSAFE, UNSAFE_WHY))


def _fix_rendered(checker: Checker, target: Target, text: str, unsafe: bool) -> FixOutcome:
    """A file a kustomize overlay deploys from (a base's manifest), fixed as written where
    that fits every overlay: a container gets a setting only when every rendering that
    deploys it reported it missing (see :meth:`Checker._check_rendered`), and the fixed file
    is rendered again through every overlay (from a temporary copy of their folders) and
    checked there; if a rendering would then hold a pod that cannot start, nothing is changed.
    A finding left unfixed says why (:attr:`FixOutcome.notes`). Patches and Helm templates
    are never edited: a patch holds only what its overlay changes, a template is not YAML."""
    from keelhaul.runtime.render import RenderFailed, render_changed

    outcome = FixOutcome(target.name, text, text)
    result = checker.check([target])
    if result.broken:
        outcome.broken = str(result.broken[0])
        return outcome
    findings = result.all_findings
    outcome.remaining = findings
    fixable = [f for f in itemised(findings) if f.code in FIXED_CODES]
    overlays = list(dict.fromkeys(c.overlay for c in target.rendered if c.overlay is not None))
    if not fixable:
        return outcome
    if len(overlays) != len({c.overlay for c in target.rendered}):
        outcome.notes.append(
            f"{target.name}: not fixed: a Helm template is rendered by the chart's values; set "
            "the hardening in the template (or its values) by hand"
        )
        return outcome
    wanted = {(f.code, line) for f in fixable for line in result.owners.get(finding_key(f), ())}
    for f in fixable:
        if not result.owners.get(finding_key(f)):
            outcome.notes.append(
                f"{target.name}:{f.location.line}: {f.code} not fixed in this file: not every "
                "overlay that deploys the container reports it (a patch changes the container "
                "there, or adds it), so the change would not fit every overlay; set it in the "
                "overlay's patch"
            )
    if not wanted:
        return outcome

    def asked(code: str, line: int) -> bool:
        return (code, line) in wanted

    change = fix_runtime_text(YamlFile(target.name, text), target.kind, asked)
    if change.text == text:
        return outcome
    try:
        chunks = render_changed(overlays, target.path, change.text)
    except RenderFailed as exc:
        outcome.notes.append(f"{target.name}: not fixed: the fixed file does not render: {exc}")
        return outcome
    clash = _clashes(chunks) - _clashes(list(target.rendered))
    if clash:
        outcome.notes.append(
            f"{target.name}: not fixed: with the fix, {sorted(clash)[0]} could not start; "
            "set the hardening in the overlays' patches by hand"
        )
        return outcome
    fixed_target = replace(
        target, data=change.text.encode("utf-8"), source=None, rendered=tuple(chunks)
    )
    after = checker.check([fixed_target])
    if after.broken:
        outcome.bug = f"after fixing, {after.broken[0]}"
        return outcome
    left = {(f.code, f.message) for f in itemised(after.all_findings)}
    fixed = [_with_fix(f) for f in fixable if (f.code, f.message) not in left]
    if not unsafe:
        outcome.unsafe_left = fixed
        return outcome
    outcome.applied = fixed
    outcome.remaining = after.all_findings
    outcome.after = change.text
    return outcome


def _clashes(chunks: list[Chunk]) -> set[str]:
    """Containers whose settings the API server or the kubelet refuses together: privileged
    (or adding SYS_ADMIN) with ``allowPrivilegeEscalation: false``, ``runAsNonRoot`` with
    ``runAsUser: 0``."""
    from keelhaul.runtime.kubernetes import read_kubernetes

    out: set[str] = set()
    for chunk in chunks:
        for run in read_kubernetes(chunk.text, str(chunk.source)):
            label = f"container {run.name} of {run.workload} ({chunk.via})"
            no_escalation = (
                run.allow_privilege_escalation is not None
                and run.allow_privilege_escalation.value is False
            )
            privileged = run.privileged is not None and run.privileged.value is True
            sys_admin = any(
                c.value.upper().removeprefix("CAP_") == "SYS_ADMIN" for c in run.cap_add
            )
            if no_escalation and (privileged or sys_admin):
                out.add(label)
            non_root = run.run_as_non_root is not None and run.run_as_non_root.value is True
            if non_root and run.user is not None and run.user.value == "0":
                out.add(label)
    return out


def _fix_runtime(checker: Checker, target: Target, text: str, unsafe: bool) -> FixOutcome:
    """The fix loop for a runtime file: each pass fixes what that pass's check reported."""
    if target.rendered:
        return _fix_rendered(checker, target, text, unsafe)
    outcome = FixOutcome(target.name, text, text)
    current = text
    checked = target.with_text(current)  # its YamlFile keeps the documents the check loaded
    result = checker.check([checked])
    if result.broken:
        outcome.broken = str(result.broken[0])
        return outcome
    for _ in range(MAX_PASSES):
        findings = result.all_findings
        outcome.remaining = findings
        fixable = [f for f in itemised(findings) if f.code in FIXED_CODES]
        if not fixable:
            break
        wanted = {(f.code, line) for f in fixable for line in result.owners.get(finding_key(f), ())}
        source = checked.source
        assert source is not None  # a runtime target has one

        def asked(code: str, line: int, wanted: set[tuple[str, int]] = wanted) -> bool:
            return (code, line) in wanted

        change = fix_runtime_text(source, target.kind, asked)
        if change.text == current:
            break
        fixed_target = target.with_text(change.text)
        after = checker.check([fixed_target])
        if after.broken:  # cannot happen: the fixer keeps only text that loads
            outcome.bug = f"after fixing, {after.broken[0]}"
            break
        left = {(f.code, f.message) for f in itemised(after.all_findings)}
        fixed = [_with_fix(f) for f in fixable if (f.code, f.message) not in left]
        if not unsafe:
            outcome.unsafe_left = fixed
            break
        outcome.applied += fixed
        current, result, checked = change.text, after, fixed_target
    outcome.after = current
    return outcome
