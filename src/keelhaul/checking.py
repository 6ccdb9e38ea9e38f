"""Checking Dockerfiles end to end: each file with its configuration, rules, ShellCheck,
suppressions and baseline, in one process however many files there are.

The CLI hands in what to check and how; this module does no printing. Messages for people
go to the ``note`` and ``error`` callbacks; what to report comes back as a
:class:`CheckResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from keelhaul.baseline import Baseline
from keelhaul.config import Config, ConfigFinder
from keelhaul.context.build_context import BuildContext, find_ignore_file
from keelhaul.dockerfile.discover import Found
from keelhaul.dockerfile.syntax import Dockerfile, parse, read_dockerfile
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Finding
from keelhaul.report.model import BrokenFile
from keelhaul.rules.engine import check_context
from keelhaul.rules.registry import DockerfileContext, Rule
from keelhaul.rules.shellcheck import Script, check_scripts, scripts_of
from keelhaul.runtime.integration import check_target
from keelhaul.selection import SHELLCHECK_CODE, UNUSED_SUPPRESSION_CODE, Vocabulary
from keelhaul.suppression import Suppressions

STDIN = "-"
#: Suffixes that never name a Dockerfile (`app.dockerfile` does, `compose.yaml` does not).
_NOT_DOCKERFILES = frozenset({".yaml", ".yml", ".json", ".md", ".txt", ".toml"})


@dataclass(frozen=True, slots=True)
class Target:
    """One Dockerfile to check: on disk, or read from stdin (``data``)."""

    path: Path
    """Where it is, or (stdin) where it is said to be, for its configuration."""
    name: str
    """How findings and messages name it."""
    named: bool = True
    """Named by the user (always checked) rather than found by a walk (``exclude`` applies)."""
    data: bytes | None = None

    @classmethod
    def of(cls, found: Found) -> Target:
        return cls(found.path, str(found.path), found.named)

    @classmethod
    def stdin(cls, data: bytes, filename: str | None) -> Target:
        name = filename or STDIN
        return cls(Path(filename) if filename else Path(STDIN), name, True, data)


@dataclass
class CheckResult:
    """What a check found, ready for a report."""

    findings: list[Finding] = field(default_factory=list)
    """The findings to report (new ones only, under a baseline)."""
    all_findings: list[Finding] = field(default_factory=list)
    """Every finding before the baseline: what ``--write-baseline`` records."""
    files: list[str] = field(default_factory=list)
    broken: list[BrokenFile] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    """Source text of the files with findings (for source lines under each finding)."""
    failing: bool = False
    """A reported finding reaches the ``fail-on`` threshold of its file's configuration."""
    baselined: int = 0
    gone_from_baseline: int = 0


@dataclass
class _File:
    """One checked file between linting and the final pass."""

    target: Target
    config: Config
    suppressions: Suppressions
    findings: list[Finding]
    source: str


@dataclass
class Checker:
    """Checks many Dockerfiles; configurations and build contexts are read once each."""

    finder: ConfigFinder
    vocabulary: Vocabulary
    rules: list[Rule]
    build_args: Mapping[str, str] = field(default_factory=dict)
    context: Path | None = None
    """The build context of every file; None: each Dockerfile's own folder."""
    shellcheck: str | None = None
    """The ShellCheck binary; None: no ShellCheck."""
    baseline: Baseline | None = None
    fixes: bool = True
    """Build the findings' fixes (``keelhaul fix``, and reports that show them)."""
    pss: str | None = None
    """``--pss``: also report the Pod Security Standards violations of this level."""
    note: Callable[[str], None] = lambda message: None
    error: Callable[[str], None] = lambda message: None
    _rule_sets: dict[frozenset[str], list[Rule]] = field(default_factory=dict)
    _contexts: dict[tuple[str, str | None], BuildContext | None] = field(default_factory=dict)
    _noted: set[int] = field(default_factory=set)

    def check(self, targets: Iterable[Target]) -> CheckResult:
        result = CheckResult()
        files: list[_File] = []
        scripts: list[Script] = []
        for target in targets:
            checked = self._check_one(target, result, scripts)
            if checked is not None:
                files.append(checked)
        shellchecked = self._run_shellcheck(scripts, files, result)
        for each in files:
            found = self._finish(each, shellchecked)
            result.all_findings += found
            if found:
                result.sources[each.target.name] = each.source
        result.findings = result.all_findings
        if self.baseline is not None:
            result.findings = self.baseline.new(result.all_findings)
            result.baselined = len(result.all_findings) - len(result.findings)
            result.gone_from_baseline = self.baseline.gone(result.all_findings)
        configs = {each.target.name: each.config for each in files}
        result.failing = any(
            configs[f.location.path].fail_on.reached_by(f.severity)
            for f in result.findings
            if f.location.path in configs
        )
        return result

    def _config(self, target: Target) -> Config:
        config = self.finder.for_path(target.path)
        if id(config) not in self._noted:
            self._noted.add(id(config))
            self.note(f"configuration: {config.name}")
            for line in config.notes:
                self.note(line)
        return config

    def _read(self, target: Target, result: CheckResult) -> Dockerfile | None:
        try:
            if target.data is not None:
                tree = parse(target.data, target.name)
            else:
                tree = read_dockerfile(target.path)
        except KeelhaulError as exc:
            self.error(str(exc))
            result.broken.append(BrokenFile.from_error(target.name, exc))
            return None
        if tree.errors:
            self.error(str(tree.errors[0]))
            result.broken.append(BrokenFile.from_error(target.name, tree.errors[0]))
            return None
        return tree

    def _check_one(
        self, target: Target, result: CheckResult, scripts: list[Script]
    ) -> _File | None:
        config = self._config(target)
        if not target.named and config.excludes(target.path):
            self.note(f"{target.name}: excluded by {config.name}")
            return None
        result.files.append(target.name)
        runtime = check_target(
            target.path,
            target.name,
            target.data,
            config.settings,
            self.pss,
            enabled=lambda code: config.enabled(code, target.path),
            codes_of=self.vocabulary.pragma_codes,
        )
        if runtime is not None:  # a Compose file, a manifest, a script with docker run
            if runtime.error is not None:
                self.error(str(runtime.error))
                result.broken.append(BrokenFile.from_error(target.name, runtime.error))
                return None
            assert runtime.suppressions is not None
            for line in runtime.suppressions.notes:
                self.note(line)
            return _File(target, config, runtime.suppressions, runtime.findings, runtime.source)
        if target.path.suffix.lower() in _NOT_DOCKERFILES:
            # a pre-commit hook or a shell glob hands over every YAML file: one that holds no
            # workload and no Compose service is nothing to check, not a broken Dockerfile
            result.files.remove(target.name)
            self.note(f"{target.name}: no workload or Compose service in it; skipped")
            return None
        tree = self._read(target, result)
        if tree is None:
            return None
        codes = config.enabled_codes(target.path)
        rules = self._rule_sets.get(codes)
        if rules is None:
            rules = self._rule_sets[codes] = [r for r in self.rules if r.code in codes]
        settings = config.settings
        context = self._build_context(target, result)
        ctx = DockerfileContext.of(tree, self.build_args, settings, context)
        findings = check_context(ctx, rules, self.fixes)
        if self.shellcheck is not None and config.runs_shellcheck:
            scripts += scripts_of(ctx)
        suppressions = Suppressions.of(
            tree, self.vocabulary, inline=config.inline_ignores, build_args=dict(self.build_args)
        )
        for line in suppressions.notes:
            self.note(line)
        return _File(target, config, suppressions, findings, tree.render())

    def _build_context(self, target: Target, result: CheckResult) -> BuildContext | None:
        """The file's build context: ``--context``, else its own folder (None for bare stdin)."""
        if self.context is not None:
            folder = self.context
        elif target.data is not None and target.name == STDIN:
            return None
        else:
            folder = target.path.parent
        dockerfile = None if target.data is not None and target.name == STDIN else target.path
        if not folder.is_dir():
            return None
        # Dockerfiles that share a folder and an ignore file share one listing of it.
        ignore_file = find_ignore_file(folder, dockerfile)
        key = (os.path.abspath(folder), None if ignore_file is None else str(ignore_file))
        if key in self._contexts:
            return self._contexts[key]
        context: BuildContext | None = None
        try:
            context = BuildContext.read(folder, dockerfile)
        except KeelhaulError as exc:  # an ignore file BuildKit would refuse
            self.error(str(exc))
            where = target.name if ignore_file is None else str(ignore_file)
            result.broken.append(BrokenFile.from_error(where, exc))
        self._contexts[key] = context
        return context

    def _run_shellcheck(
        self, scripts: list[Script], files: list[_File], result: CheckResult
    ) -> set[str]:
        """ShellCheck over every script at once; its findings join their files'.

        Returns the names of the files ShellCheck looked at.
        """
        if self.shellcheck is None or not scripts:
            return set()
        try:
            found = check_scripts(scripts, self.shellcheck)
        except KeelhaulError as exc:
            self.error(str(exc))
            result.broken.append(BrokenFile("shellcheck", str(exc)))
            return set()
        by_name = {each.target.name: each for each in files}
        for finding in found:
            owner = by_name.get(finding.location.path)
            if owner is not None:
                owner.findings.append(finding)
        return {s.path for s in scripts}

    def _finish(self, each: _File, shellchecked: set[str]) -> list[Finding]:
        """Selection for ShellCheck codes, severity overrides, suppressions; in order."""
        config, path = each.config, each.target.path
        kept: list[Finding] = []
        for finding in each.findings:
            if SHELLCHECK_CODE.fullmatch(finding.code) and not config.enabled(finding.code, path):
                continue
            severity = config.severity_of(finding.code)
            if severity is not None and severity is not finding.severity:
                finding = replace(finding, severity=severity)
            kept.append(finding)
        kept = each.suppressions.keep(kept)
        if config.enabled(UNUSED_SUPPRESSION_CODE, path):
            ran = each.target.name in shellchecked

            def wanted(code: str) -> bool:
                if SHELLCHECK_CODE.fullmatch(code) and not ran:
                    return False
                return config.enabled(code, path)

            stale = each.suppressions.unused(wanted)
            severity = config.severity_of(UNUSED_SUPPRESSION_CODE)
            if severity is not None:
                stale = [replace(f, severity=severity) for f in stale]
            kept += stale
        return sorted(kept, key=Finding.sort_key)
