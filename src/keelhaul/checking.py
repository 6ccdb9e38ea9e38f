"""The one check pipeline, for every kind of file: find the files and decide each one's kind
once (:func:`find_targets`), read each once, then check -> severity -> suppressions ->
baseline -> report, in one process however many files there are.

Kinds: ``dockerfile`` (the Dockerfile rules, the build context, ShellCheck) and the runtime
files ``kubernetes``, ``compose`` and ``docker-run`` (the runtime rules over the containers
their reader finds). Configuration, selection, severity overrides, inline suppressions (one
grammar: :mod:`keelhaul.suppression`) and the baseline apply to every kind alike, and so does
``keelhaul fix`` (:mod:`keelhaul.fix.fixing`), which runs this same pipeline on each pass.

The CLI hands in what to check and how; this module does no printing. Messages for people
go to the ``note`` and ``error`` callbacks; what to report comes back as a
:class:`CheckResult`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from keelhaul.baseline import Baseline
from keelhaul.config import Config, ConfigFinder
from keelhaul.context.build_context import BuildContext, find_ignore_file
from keelhaul.dockerfile.discover import Found, discover, is_dockerfile_name
from keelhaul.dockerfile.lex import expansion_limit
from keelhaul.dockerfile.syntax import Dockerfile, parse, read_dockerfile
from keelhaul.errors import FileUnreadable, KeelhaulError
from keelhaul.findings import Finding, Location, Safety
from keelhaul.report.model import BrokenFile
from keelhaul.rule import Kind, Rule
from keelhaul.rules.engine import check_context
from keelhaul.rules.registry import DockerfileContext
from keelhaul.rules.shellcheck import (
    DEFAULT_BOUNDS,
    Bounds,
    ResultCache,
    Script,
    check_scripts,
    scripts_of,
    too_long,
)
from keelhaul.runtime.checking import Owners, check_runs, finding_key
from keelhaul.runtime.discover import (
    KUBERNETES,
    KUSTOMIZATION_NAMES,
    RuntimeFile,
    chart_of,
    helm_notice,
    kustomize_notice,
    read_runs,
    read_stored,
    runtime_kind,
    runtime_targets,
)
from keelhaul.runtime.grouping import regroup
from keelhaul.runtime.render import Chunk, RenderFailed
from keelhaul.runtime.yaml_documents import YamlFile
from keelhaul.selection import SHELLCHECK_CODE, UNUSED_SUPPRESSION_CODE, Vocabulary
from keelhaul.suppression import Suppressions, text_suppressions

STDIN = "-"
DOCKERFILE = "dockerfile"
"""The kind of a target that is a Dockerfile (the others: the runtime kinds)."""
#: Suffixes that never name a Dockerfile (`app.dockerfile` does, `compose.yaml` does not).
_NOT_DOCKERFILES = frozenset(
    {".yaml", ".yml", ".json", ".md", ".markdown", ".txt", ".toml", ".sh", ".bash", ".mk"}
)
UNKNOWN = "unknown"
BROKEN = "broken"
"""The kind of a target that cannot be checked and must fail the run (a named kustomize
overlay or Helm chart its renderer refused): ``why`` says why, in one line."""
"""The kind of a named file keelhaul does not understand (reported, never checked)."""
UNKNOWN_NOTICE = (
    "not a Dockerfile, a Kubernetes workload, a Compose file or a script with `docker run`; "
    "not checked"
)


@dataclass(frozen=True, slots=True)
class Target:
    """One file to check, of a kind decided once: on disk, or read from stdin (``data``)."""

    path: Path
    """Where it is, or (stdin) where it is said to be, for its configuration."""
    name: str
    """How findings and messages name it."""
    named: bool = True
    """Named by the user (always checked) rather than found by a walk (``exclude`` applies)."""
    data: bytes | None = None
    kind: str = DOCKERFILE
    """``dockerfile``, ``kubernetes``, ``compose`` or ``docker-run``."""
    source: YamlFile | None = None
    """A runtime file's text and documents as discovery read them (read once)."""
    why: str = ""
    """For a target of kind ``unknown``: why keelhaul does not check it."""
    rendered: tuple[Chunk, ...] = ()
    """For a file of a kustomize overlay or a Helm chart that was rendered: what it deploys,
    checked instead of its text, each finding placed back in it (:mod:`keelhaul.runtime.render`)."""

    @classmethod
    def of(cls, found: Found) -> Target:
        return cls(found.path, str(found.path), found.named)

    @classmethod
    def runtime(cls, found: RuntimeFile) -> Target:
        return cls(found.path, str(found.path), found.named, kind=found.kind, source=found.source)

    @classmethod
    def stdin(cls, data: bytes, filename: str | None) -> Target:
        """Stdin, of the kind its content says (a Dockerfile unless it is a runtime file)."""
        name = filename or STDIN
        path = Path(filename) if filename else Path(STDIN)
        try:
            source = YamlFile(name, data.decode("utf-8"))
        except UnicodeDecodeError:
            return cls(path, name, True, data)
        kind = runtime_kind(source)
        if kind is None:
            return cls(path, name, True, data)
        return cls(path, name, True, data, kind, source)

    def with_text(self, text: str) -> Target:
        """The same file with other content (a pass of ``keelhaul fix``)."""
        data = text.encode("utf-8", "surrogateescape")
        source = None if self.kind == DOCKERFILE else YamlFile(self.name, text)
        return Target(self.path, self.name, True, data, self.kind, source)


def find_targets(
    paths: Iterable[Path],
    stdin: Target | None = None,
    *,
    render: bool = False,
    values: Iterable[Path] = (),
) -> list[Target]:
    """What to check, each file once with its kind: ``stdin`` first when given, then the
    Dockerfiles (folders walked for Dockerfile names; a named file is taken), then the runtime
    files (Compose files, manifests, scripts with ``docker run``), told by content. A named
    file that is a runtime file is checked as one, whatever its name.

    With ``render``, a kustomize overlay or a Helm chart met is rendered (when its tool is on
    PATH) and the files it deploys from are checked as rendered (``values``: the Helm values
    files), not also as written; see :func:`_rendered_targets`."""
    targets: list[Target] = [] if stdin is None else [stdin]
    roots = list(paths)
    if not roots and stdin is not None:
        return targets
    roots = roots or [Path(".")]
    charts: list[tuple[Path, bool]] = []
    overlays: list[tuple[Path, bool]] = []
    unreadable: list[tuple[Path, str, bool]] = []
    runtime = {
        os.path.abspath(f.path): f
        for f in runtime_targets(roots, charts=charts, overlays=overlays, unreadable=unreadable)
    }
    named_charts = {os.path.abspath(p) for p, named in charts + overlays + [
        (p, named) for p, _, named in unreadable] if named}  # fmt: skip
    rendered: list[Target] = []
    covered: set[str] = set()
    if render:
        rendered, charts, overlays, covered = _rendered_targets(roots, charts, overlays, values)
        for key in covered:
            runtime.pop(key, None)
    for found in discover(roots):
        key = os.path.abspath(found.path)
        known = runtime.pop(key, None)
        if known is not None:
            targets.append(Target.runtime(known))
        elif key in named_charts:
            continue  # a chart template: reported once below
        elif (
            found.named
            and not is_dockerfile_name(found.path.name)
            and (
                found.path.suffix.lower() in _NOT_DOCKERFILES
                or found.path.name.lower() in ("makefile", "gnumakefile")
            )
        ):
            if key in covered:
                continue  # checked as rendered
            targets.append(Target(found.path, str(found.path), True, kind=UNKNOWN,
                                  why=UNKNOWN_NOTICE))  # fmt: skip
        else:
            targets.append(Target.of(found))
    targets += [Target.runtime(f) for f in runtime.values()]
    targets += rendered
    targets += [
        Target(path, str(path), named, kind=UNKNOWN, why=helm_notice(named))
        for path, named in charts
    ]
    targets += [
        Target(path, str(path), named, kind=UNKNOWN, why=kustomize_notice(str(path.parent)))
        for path, named in overlays
    ]
    targets += [
        Target(path, str(path), named, kind=UNKNOWN, why=why) for path, why, named in unreadable
    ]
    return targets


def _rendered_targets(
    roots: list[Path],
    charts: list[tuple[Path, bool]],
    overlays: list[tuple[Path, bool]],
    values: Iterable[Path],
) -> tuple[list[Target], list[tuple[Path, bool]], list[tuple[Path, bool]], set[str]]:
    """Render the overlays and charts met: the targets of the files they deploy from (a
    rendering that fails: a notice, or an error when the user named the overlay or chart),
    the charts and overlays left for the old notice (their tool is not on PATH), and the
    files the renderings cover (not to be checked again as written)."""
    from keelhaul.runtime.render import (
        helm_binary,
        kustomize_command,
        local_kustomizations,
        render_helm,
        render_kustomize,
    )

    asked = {os.path.abspath(r) for r in roots}
    chunks: dict[str, list[Chunk]] = {}
    covered: set[str] = set()
    out: list[Target] = []

    def failed(where: Path, named: bool, exc: RenderFailed, kustomize: bool) -> None:
        why = f"not rendered: {exc}"
        if kustomize and not named:
            why += "; its resource files are checked as written"
        out.append(Target(where, str(where), named, kind=BROKEN if named else UNKNOWN, why=why))

    def take(made: list[Chunk]) -> None:
        for chunk in made:
            key = os.path.abspath(chunk.source)
            covered.add(key)
            chunks.setdefault(key, []).append(chunk)

    left_overlays: list[tuple[Path, bool]] = []
    if overlays and kustomize_command() is not None:
        folders = {Path(os.path.abspath(p.parent)): (p, named) for p, named in overlays}
        built_on: set[Path] = set()
        chains: dict[Path, tuple[list[Path], list[Path]]] = {}
        for folder in folders:
            chain, patches, _ = local_kustomizations(folder)
            chains[folder] = (chain, patches)
            built_on.update(chain[1:])
        for folder, (file, named) in folders.items():
            named = named or str(folder) in asked
            if folder in built_on and not named:
                continue  # a base of another overlay met: rendered through it
            try:
                made = render_kustomize(file.parent)
            except RenderFailed as exc:
                failed(file, named, exc, kustomize=True)
                continue
            take(made)
            chain, patches = chains[folder]
            covered.update(os.path.abspath(p) for p in patches)
            for each in chain:
                covered.update(os.path.abspath(each / n) for n in KUSTOMIZATION_NAMES)
    else:
        left_overlays = overlays
    left_charts: list[tuple[Path, bool]] = []
    if charts and helm_binary() is not None:
        done: dict[str, list[Chunk]] = {}
        for shown, named in charts:
            chart = shown if shown.is_dir() else chart_of(shown)
            if chart is None:
                continue
            key = os.path.abspath(chart)
            if key not in done:
                try:
                    done[key] = render_helm(chart, list(values))
                except RenderFailed as exc:
                    done[key] = []
                    failed(shown, named or key in asked, exc, kustomize=False)
                    continue
            made = done[key]
            if not shown.is_dir():  # a named template: what it renders
                made = [c for c in made if os.path.abspath(c.source) == os.path.abspath(shown)]
            take([c for c in made if os.path.abspath(c.source) not in covered])
    else:
        left_charts = charts
    for made in chunks.values():
        # a file that deploys no pod, ConfigMap or Secret (a Service...) is nothing to check
        made = [c for c in made if runtime_kind(YamlFile(str(c.source), c.text)) == KUBERNETES]
        if made:
            path = made[0].source
            out.append(Target(path, str(path), False, kind=KUBERNETES, rendered=tuple(made)))
    return out, left_charts, left_overlays, covered


def _placed(finding: Finding, chunk: Chunk, name: str) -> Finding:
    """A finding on rendered text, at its place in the file the object came from, without a
    fix (it would edit the
    rendered text); a note ends the message when the value is not written there."""
    place = chunk.place(finding.location.line, finding.location.column)
    message = finding.message if not place.note else f"{finding.message} ({place.note})"
    return replace(
        finding,
        location=Location(name, place.line, place.column),
        message=message,
        fix=None,
        members=tuple(_placed(m, chunk, name) for m in finding.members),
    )


def itemised(findings: Iterable[Finding]) -> list[Finding]:
    """Every finding, a grouped one (KH409) as its members: what a baseline records and what
    ``keelhaul fix`` fixes."""
    return [m for f in findings for m in f.itemised()]


def fixable_counts(
    findings: Iterable[Finding], planned: Mapping[tuple[str, str, str], int] | None = None
) -> tuple[int, int]:
    """How many of ``findings`` ``keelhaul fix`` would change with its safe fixes, and how
    many more with ``--unsafe-fixes`` (the check summary): a Dockerfile finding by the fix its
    check built (what the fix loop's pass applies; the check must build fixes), a runtime
    finding when it, or a member of its group, is in ``planned``, the runtime fixes the fix
    loop plans (:func:`keelhaul.fix.fixing.planned_unsafe`: file, code, message). A finding
    whose rule has a fix that does not apply to it counts nowhere."""
    left = Counter(planned or {})
    safe = unsafe = 0
    for finding in findings:
        if finding.fix is not None:
            safe += finding.fix.safety is Safety.SAFE
            unsafe += finding.fix.safety is Safety.UNSAFE
            continue
        hit = False
        for member in finding.itemised():
            key = (finding.location.path, member.code, member.message)
            if left[key] > 0:
                left[key] -= 1
                hit = True
        unsafe += hit
    return safe, unsafe


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
    unknown: list[tuple[str, str, bool]] = field(default_factory=list)
    """Files keelhaul does not check: (name, why, named by the user)."""
    owners: Owners = field(default_factory=dict)
    """For runtime files: which containers gave each finding (``keelhaul fix`` reads it)."""
    failing: bool = False
    """A reported finding reaches the ``fail-on`` threshold of its file's configuration."""
    gate: int = 0
    """How many reported findings reach the ``fail-on`` threshold of their file's
    configuration (what makes ``keelhaul check`` exit 1)."""
    fail_on: str | None = None
    """The ``fail-on`` threshold (``warning``) when every file has the same one, else None."""
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
    """Checks many files of every kind; configurations and build contexts are read once each."""

    finder: ConfigFinder
    vocabulary: Vocabulary
    rules: list[Rule]
    """The catalogue (every kind); each file runs the rules of its kind its configuration
    selects."""
    build_args: Mapping[str, str] = field(default_factory=dict)
    context: Path | None = None
    """The build context of every file; None: each Dockerfile's own folder."""
    shellcheck: str | None = None
    """The ShellCheck binary; None: no ShellCheck."""
    shellcheck_cache: bool = False
    """Keep ShellCheck's answers in the user cache folder (:class:`ResultCache`): a script
    already checked by the same ShellCheck is not checked again."""
    baseline: Baseline | None = None
    fixes: bool = True
    """Build the findings' fixes (``keelhaul fix``, and reports that show them)."""
    pss: str | None = None
    """``--pss``: also report the Pod Security Standards violations of this level."""
    note: Callable[[str], None] = lambda message: None
    notice: Callable[[str], None] = lambda message: None
    """A limit reached while checking (the check goes on): always shown."""
    error: Callable[[str], None] = lambda message: None
    _rule_sets: dict[tuple[Kind, frozenset[str]], list[Rule]] = field(default_factory=dict)
    _by_kind: dict[Kind, list[Rule]] = field(default_factory=dict)
    _contexts: dict[tuple[str, str | None], BuildContext | None] = field(default_factory=dict)
    _noted: set[int] = field(default_factory=set)

    def check(self, targets: Iterable[Target]) -> CheckResult:
        result = CheckResult()
        files: list[_File] = []
        scripts: list[Script] = []
        if not self._by_kind:
            for rule in self.rules:
                self._by_kind.setdefault(rule.kind, []).append(rule)
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
        configs = {each.target.name: each.config for each in files}
        if self.baseline is not None:  # it knows the members of grouped findings
            fresh = {id(f) for f in self.baseline.new(itemised(result.all_findings))}
            result.findings = []
            for seen in result.all_findings:
                if not seen.members:
                    if id(seen) in fresh:
                        result.findings.append(seen)
                    continue
                config = configs.get(seen.location.path)
                left = regroup(
                    seen,
                    [m for m in seen.members if id(m) in fresh],
                    None if config is None else config.severity_of(seen.code),
                )
                if left is not None:
                    result.findings.append(left)
            result.baselined = len(itemised(result.all_findings)) - len(itemised(result.findings))
            result.gone_from_baseline = self.baseline.gone(itemised(result.all_findings))
        result.gate = sum(
            1
            for f in result.findings
            if f.location.path in configs
            and configs[f.location.path].fail_on.reached_by(f.severity)
        )
        result.failing = result.gate > 0
        thresholds = {str(config.fail_on) for config in configs.values()}
        result.fail_on = thresholds.pop() if len(thresholds) == 1 else None
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
        if target.kind == UNKNOWN:
            result.unknown.append((target.name, target.why, target.named))
            return None
        if target.kind == BROKEN:
            problem = f"{target.name}: {target.why}"
            self.error(problem)
            result.broken.append(BrokenFile(target.name, target.why))
            return None
        result.files.append(target.name)
        if target.kind != DOCKERFILE:  # a Compose file, a manifest, a script with docker run
            return self._check_runtime(target, config, result)
        if target.path.suffix.lower() in _NOT_DOCKERFILES:
            # a pre-commit hook or a shell glob hands over every YAML file: one that holds no
            # workload and no Compose service is nothing to check, not a broken Dockerfile
            result.files.remove(target.name)
            self.note(f"{target.name}: no workload or Compose service in it; skipped")
            return None
        tree = self._read(target, result)
        if tree is None:
            return None
        rules = self._rules(Kind.DOCKERFILE, config, target)
        settings = config.settings
        context = self._build_context(target, result)
        with expansion_limit(settings.max_expanded_size):
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

    def _rules(self, kind: Kind, config: Config, target: Target) -> list[Rule]:
        """The rules of ``kind`` that ``config`` runs on ``target``."""
        codes = config.enabled_codes(target.path)
        rules = self._rule_sets.get((kind, codes))
        if rules is None:
            rules = [r for r in self._by_kind.get(kind, []) if r.code in codes]
            self._rule_sets[(kind, codes)] = rules
        return rules

    def _check_runtime(self, target: Target, config: Config, result: CheckResult) -> _File | None:
        """A runtime file: its reader's containers through the runtime rules."""
        if target.rendered:
            return self._check_rendered(target, config, result)
        source = target.source
        try:
            if source is None:
                raw = target.data if target.data is not None else target.path.read_bytes()
                source = YamlFile(target.name, raw.decode("utf-8"))
            runs = read_runs(target.kind, source)
            values = read_stored(target.kind, source)
        except (OSError, UnicodeDecodeError) as exc:
            problem = FileUnreadable(
                target.name, getattr(exc, "strerror", None) or "not UTF-8 text"
            )
            self.error(str(problem))
            result.broken.append(BrokenFile.from_error(target.name, problem))
            return None
        except KeelhaulError as exc:
            self.error(str(exc))
            result.broken.append(BrokenFile.from_error(target.name, exc))
            return None
        rules = self._rules(Kind.RUNTIME, config, target)
        findings = check_runs(
            runs, config.settings, self.pss, rules=rules, owners=result.owners, values=values
        )
        suppressions = text_suppressions(
            target.name, source.text, self.vocabulary, inline=config.inline_ignores
        )
        for line in suppressions.notes:
            self.note(line)
        return _File(target, config, suppressions, findings, source.text)

    def _check_rendered(self, target: Target, config: Config, result: CheckResult) -> _File | None:
        """A file of a rendered overlay or chart: what each rendering deploys from it through
        the runtime rules, every finding placed back at its line of the file (with a note
        when the value is not written there); a problem several renderings share is reported
        once. The findings carry no fix (it would edit the rendered text); ``result.owners``
        says, for ``keelhaul fix``, which containers of the file every rendering that deploys
        them reported each finding for (:func:`keelhaul.fix.fixing._fix_rendered`)."""
        try:
            data = target.data if target.data is not None else target.path.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = FileUnreadable(
                target.name, getattr(exc, "strerror", None) or "not UTF-8 text"
            )
            self.error(str(problem))
            result.broken.append(BrokenFile.from_error(target.name, problem))
            return None
        rules = self._rules(Kind.RUNTIME, config, target)
        findings: dict[tuple[str, int, int, str], Finding] = {}
        #: per rendering: the containers of the file it deploys (their lines in the file),
        #: and which findings it reported for which of them
        deployed: list[set[int]] = []
        reported: list[set[tuple[str, int]]] = []
        owned: list[tuple[tuple[str, int, int, str], str, set[int]]] = []
        for chunk in target.rendered:
            source = YamlFile(target.name, chunk.text)
            try:
                runs = read_runs(KUBERNETES, source)
                values = read_stored(KUBERNETES, source)
            except KeelhaulError as exc:
                self.error(f"{target.name}: rendered by {chunk.via}: {exc}")
                result.broken.append(BrokenFile(target.name, str(exc)))
                return None
            owners: Owners = {}
            found = check_runs(
                runs, config.settings, self.pss, rules=rules, values=values, owners=owners
            )
            lines = {r.where.line: chunk.place(r.where.line, r.where.column).line for r in runs}
            deployed.append(set(lines.values()))
            reported.append(set())
            for each in found:
                placed = _placed(each, chunk, target.name)
                for member, shown in zip(
                    each.members or (each,), placed.members or (placed,), strict=True
                ):
                    at = {lines[n] for n in owners.get(finding_key(member), ()) if n in lines}
                    reported[-1].update((member.code, n) for n in at)
                    owned.append((finding_key(shown), member.code, at))
                # the same problem rendered by two overlays (named prod-web, web-staging) once
                members = ",".join(sorted(m.code for m in placed.members))
                key = (placed.code, placed.location.line, placed.location.column, members)
                findings.setdefault(key, placed)
        # `keelhaul fix` changes a container in the file only for what every rendering that
        # deploys it reported: a change that one overlay's patch makes wrong is not made
        for key, code, at in owned:
            every = {
                n
                for n in at
                if all((code, n) in r for d, r in zip(deployed, reported, strict=True) if n in d)
            }
            result.owners.setdefault(key, set()).update(every)
        suppressions = text_suppressions(
            target.name, text, self.vocabulary, inline=config.inline_ignores
        )
        for line in suppressions.notes:
            self.note(line)
        return _File(target, config, suppressions, list(findings.values()), text)

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
        cache = ResultCache() if self.shellcheck_cache else None
        given = []
        for script in scripts:
            why = too_long(script)
            if why is None:
                given.append(script)
            else:
                self.notice(f"{script.path}:{script.lines[0][0]}: RUN script not checked by "
                          f"ShellCheck: {why}")  # fmt: skip
        # each file's settings bound the ShellCheck processes its scripts go to
        settings = {each.target.name: each.config.settings for each in files}
        groups: dict[Bounds, list[Script]] = {}
        for script in given:
            found_settings = settings.get(script.path)
            bounds = (
                DEFAULT_BOUNDS
                if found_settings is None
                else Bounds(found_settings.shellcheck_timeout, found_settings.shellcheck_max_memory)
            )
            groups.setdefault(bounds, []).append(script)
        try:
            found = [
                finding
                for bounds, group in groups.items()
                for finding in check_scripts(group, self.shellcheck, cache, bounds)
            ]
        except KeelhaulError as exc:
            self.error(str(exc))
            result.broken.append(BrokenFile("shellcheck", str(exc)))
            return set()
        finally:
            if cache is not None:
                cache.close()
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

        def overridden(finding: Finding) -> Finding:
            severity = config.severity_of(finding.code)
            if severity is not None and severity is not finding.severity:
                return replace(finding, severity=severity)
            return finding

        for finding in each.findings:
            if SHELLCHECK_CODE.fullmatch(finding.code) and not config.enabled(finding.code, path):
                continue
            if finding.members:  # a container's checklist: its items one by one, then again
                members = each.suppressions.keep([overridden(m) for m in finding.members])
                regrouped = regroup(finding, members, config.severity_of(finding.code))
                if regrouped is not None:
                    kept.append(regrouped)
                continue
            kept.append(overridden(finding))
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
