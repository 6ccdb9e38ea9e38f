"""The analysis of an opened image: one walk per layer, then one merge.

Each layer's uncompressed tar is read once by the layer walk (:mod:`keelhaul.image.layer_walk`)
with the report's analyzers: the filesystem's (every entry's path, kind, size and mode; every
file hashed in chunks, for identical content at several paths; the heads of the few files the
base and hardening checks read: /etc/os-release, /etc/passwd, /etc/shadow), the secret scan's
(the heads of the files it looks at, scanned at once and dropped) and, when asked, the package
catalogers'. Layers are read in parallel (a thread pool: inflating and hashing release the
GIL) and merged in order (:mod:`keelhaul.image.filesystem`). Memory grows with the number of
paths, not with bytes.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import xxhash

from keelhaul.dockerfile.stages import Build
from keelhaul.findings import Finding
from keelhaul.image import base as bases
from keelhaul.image import checks, hardening, instructions, secrets_in_image, unwanted
from keelhaul.image.bomb_guard import MAX_RATIO, RATIO_FLOOR, BombGuard
from keelhaul.image.checks import finding, human
from keelhaul.image.filesystem import LayerChanges, MergedFilesystem, Node
from keelhaul.image.layer_walk import (
    Analyzer,
    Content,
    LayerAnalysis,
    LayerRead,
    Member,
    layer_name,
    walk_layer,
    walk_layers,
)
from keelhaul.image.model import Image, Layer, LayerError
from keelhaul.image.report import (
    BaseReport,
    DiveMetrics,
    DuplicateGroup,
    GrowingPath,
    ImageReport,
    LayerReport,
    PathBytes,
    UnwantedGroup,
    Waste,
)
from keelhaul.image.secrets_in_image import SecretHit
from keelhaul.image.tarstream import FILE, TarEntry, TarLimits

#: Files whose head the base and hardening checks read.
META_FILES = frozenset(
    {"etc/os-release", "usr/lib/os-release", "etc/passwd", "etc/shadow", "etc/alpine-release",
     "etc/debian_version"}
)  # fmt: skip
META_BYTES = 256 << 10


@dataclass(frozen=True)
class Options:
    limits: TarLimits = field(default_factory=TarLimits)
    max_ratio: float = MAX_RATIO
    """Uncompressed bytes a layer may hold per compressed byte (a gzip or zstd bomb: see
    :mod:`keelhaul.image.bomb_guard`)."""
    ratio_floor: int = RATIO_FLOOR
    """Below this many uncompressed bytes the ratio is not checked (tiny layers compress well)."""
    workers: int | None = None
    """Layers read at once; default: half the CPUs (at least 1), at most the layer count.
    Threads pay only where inflating and hashing run outside the GIL on otherwise idle
    cores; on a busy two-core machine a second thread made the bench 50% slower."""
    waste_min_bytes: int = 1 << 20
    """A layer hiding, a duplicate group or a growing path below this is no finding."""
    growing_min_layers: int = 3
    today: date | None = None
    scan_secrets: bool = True
    facts: Analyzer[Any] | None = None
    """Also run this analyzer in the same pass (the package catalogers' facts,
    :data:`keelhaul.sbom.image_files.PACKAGE_FACTS`, which the caller hands in: the image
    analysis sits below the SBOM): the vulnerability summary then needs no second read of
    the layers."""


@dataclass
class LayerScan:
    """What one walk over a layer keeps for the report: per-path metadata and bounded heads."""

    index: int
    entries: list[tuple[str, Node]] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaques: list[str] = field(default_factory=list)
    tar_size: int = 0
    content_size: int = 0
    heads: dict[str, bytes] = field(default_factory=dict)
    secrets: list[SecretHit] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    facts: Any = None
    """What :attr:`Options.facts` gathered of this layer, when it is set."""


class FilesystemAnalyzer(Analyzer[LayerScan]):
    """The report's analyzer: every path's metadata, each file's content hash (for identical
    content at several paths) and the heads of the few files the base and hardening checks
    read. Never cached: the report reads (and so verifies) every layer."""

    name = "filesystem"
    version = "1"

    def start(self, layer: Layer) -> LayerAnalysis[LayerScan]:
        return _FilesystemOfLayer(layer.index)


class _FilesystemOfLayer(LayerAnalysis[LayerScan]):
    def __init__(self, index: int) -> None:
        self.scan = LayerScan(index)

    def member(self, member: Member) -> Content | None:
        entry = member.entry
        if entry.kind == FILE and entry.size:
            self.scan.content_size += entry.size
            return _Hashed(self.scan, member)
        self.scan.entries.append((member.path, _node(self.scan.index, entry, b"")))
        return None

    def whiteout(self, member: Member, target: str) -> None:
        self.scan.whiteouts.append(target)

    def opaque(self, member: Member, folder: str) -> None:
        self.scan.opaques.append(folder)

    def finish(self, read: LayerRead) -> LayerScan:
        self.scan.tar_size = read.tar_size
        self.scan.problems = list(read.problems)
        return self.scan


def _node(layer: int, entry: TarEntry, digest: bytes) -> Node:
    return Node(layer, entry.kind, entry.size, entry.mode, entry.uid, entry.gid, entry.link,
                digest)  # fmt: skip


class _Hashed:
    """One file's content hashed in chunks, its head kept when a check reads it.

    The hash only groups identical content (duplicates), so it need not resist an attacker:
    XXH3-128 runs at memory speed, ten times sha256, and 128 bits make an accidental
    collision between two files of an image vanishingly unlikely (about 2**-128 a pair).
    """

    def __init__(self, scan: LayerScan, member: Member) -> None:
        self.scan = scan
        self.member = member
        self.hasher = xxhash.xxh3_128()
        self.keep = META_BYTES if member.path in META_FILES else 0
        self.head = bytearray()

    def add(self, chunk: memoryview) -> bool:
        self.hasher.update(chunk)
        if len(self.head) < self.keep:
            self.head += chunk[: self.keep - len(self.head)]
        return True

    def end(self) -> None:
        path = self.member.path
        if self.keep:
            self.scan.heads[path] = bytes(self.head)
        e = self.member.entry
        node = Node(self.scan.index, e.kind, e.size, e.mode, e.uid, e.gid, e.link,
                    self.hasher.digest())  # fmt: skip
        self.scan.entries.append((path, node))


FILESYSTEM = FilesystemAnalyzer()


def analyzers(options: Options) -> list[Analyzer[Any]]:
    """What the walk over each layer runs for the report: the filesystem, the secret scan
    (:attr:`Options.scan_secrets`) and the caller's :attr:`Options.facts`."""
    chosen: list[Analyzer[Any]] = [FILESYSTEM]
    if options.scan_secrets:
        chosen.append(secrets_in_image.SECRETS_IN_FILES)
    if options.facts is not None:
        chosen.append(options.facts)
    return chosen


def _scan_of(results: dict[str, Any], options: Options) -> LayerScan:
    scan: LayerScan = results[FILESYSTEM.name]
    scan.secrets = results.get(secrets_in_image.SECRETS_IN_FILES.name, [])
    if options.facts is not None:
        scan.facts = results.get(options.facts.name)
    return scan


def _guard(options: Options) -> BombGuard:
    return BombGuard(options.max_ratio, options.ratio_floor)


def scan_layer(layer: Layer, options: Options) -> LayerScan:
    """One walk over the layer for the report; errors name the layer."""
    chosen = analyzers(options)
    results = walk_layer(layer, chosen, options.limits, _guard(options))
    return _scan_of({a.name: r for a, r in zip(chosen, results, strict=True)}, options)


# -- the whole image ----------------------------------------------------------------------


def scan_layers(
    image: Image, options: Options, each: Callable[[LayerScan], None] | None = None
) -> Iterable[LayerScan]:
    """Every layer scanned, yielded in order; several at once when cores allow."""
    if image.arrivals is not None:  # a streamed source (docker:): layers in the order they come
        from keelhaul.image.arrival import scan_in_arrival_order

        yield from scan_in_arrival_order(image, lambda layer: scan_layer(layer, options))
        return
    walked = walk_layers(image, analyzers(options), None, options.workers, options.limits,
                         _guard(options))  # fmt: skip
    for one in walked:
        yield _scan_of(one.results, options)


def analyse(
    image: Image,
    options: Options | None = None,
    build: Build | None = None,
    facts: list[Any] | None = None,
) -> ImageReport:
    """The full report on ``image``; ``build`` (the Dockerfile, resolved) maps layers to lines.

    With ``facts`` (a list, filled in layer order) the same pass gathers what
    :attr:`Options.facts` (which must then be set) reads of each layer.
    """
    options = options or Options()
    if facts is not None and options.facts is None:
        raise ValueError("analyse(facts=...) needs Options.facts, the analyzer to run")
    return assemble(image, _dropping(scan_layers(image, options)), options, build, facts)


def _dropping(scans: Iterable[LayerScan]) -> Iterator[LayerScan]:
    """``scans``, each one's entries dropped once merged (the merged tree holds what is
    needed then): memory stays with one layer's paths, not every layer's."""
    for scan in scans:
        yield scan
        scan.entries.clear()


def relocated(scan: LayerScan, index: int) -> LayerScan:
    """``scan`` as the layer at ``index`` of another image: the facts of a layer are the same
    wherever it sits (its DiffID names its content), only the position they carry changes."""
    if scan.index == index:
        return scan
    return dataclasses.replace(
        scan,
        index=index,
        entries=[(path, node._replace(layer=index)) for path, node in scan.entries],
        secrets=[dataclasses.replace(hit, layer=index) for hit in scan.secrets],
    )


def assemble(
    image: Image,
    scans: Iterable[LayerScan],
    options: Options | None = None,
    build: Build | None = None,
    facts: list[Any] | None = None,
) -> ImageReport:
    """The report on ``image`` from its layers' scans, in order (what :func:`scan_layer`
    found of each, perhaps for another image holding the same layer: see :func:`relocated`).
    The scans are not changed."""
    options = options or Options()
    fs = MergedFilesystem()
    scans_meta: dict[tuple[int, str], bytes] = {}
    changes: list[LayerChanges] = []
    layer_sizes: list[tuple[int, int, int]] = []  # tar size, content size, entries
    secret_hits: list[SecretHit] = []
    problems: list[tuple[int, str, str]] = []
    for scan in scans:
        changes.append(fs.apply(scan.index, scan.whiteouts, scan.opaques, scan.entries))
        layer_sizes.append((scan.tar_size, scan.content_size, len(scan.entries)))
        for path, data in scan.heads.items():
            scans_meta[(scan.index, path)] = data
        secret_hits += scan.secrets
        problems += [(scan.index, name, what) for name, what in scan.problems]
        if facts is not None and scan.facts is not None:
            facts.append(scan.facts)
    return _report(image, options, build, fs, scans_meta, changes, layer_sizes, secret_hits,
                   problems)  # fmt: skip


def _meta(fs: MergedFilesystem, heads: dict[tuple[int, str], bytes], path: str) -> bytes | None:
    resolved = fs.resolve(path)
    if resolved is None:
        return None
    node = fs.nodes.get(resolved)
    if node is None:
        return None
    return heads.get((node.layer, resolved))


def _report(
    image: Image,
    options: Options,
    build: Build | None,
    fs: MergedFilesystem,
    heads: dict[tuple[int, str], bytes],
    changes: list[LayerChanges],
    layer_sizes: list[tuple[int, int, int]],
    secret_hits: list[SecretHit],
    problems: list[tuple[int, str, str]],
) -> ImageReport:
    src = image.source
    findings: list[Finding] = []
    live_files = [(p, n) for p, n in fs.nodes.items() if n.kind == FILE]
    live_bytes = sum(n.size for _, n in live_files)

    # the base
    base = _base(image, fs, heads, options, layer_sizes)
    base_layers = base.base_layers or 0
    known = base.base_layers  # None: the base cannot be told, so neither can an origin
    if base.past_end_of_life:
        findings.append(finding("end-of-life-base", src,
                                f"{base.pretty_name or base.os_id} reached its end of life on "
                                f"{base.end_of_life}"))  # fmt: skip

    # waste
    duplicates, duplicate_bytes, user_duplicate = _duplicates(live_files, base_layers)
    overwritten = sum(c.overwritten for c in changes)
    deleted = sum(c.deleted_bytes for c in changes)
    hidden = fs.stored - live_bytes
    total_waste = hidden + duplicate_bytes
    user_bytes = sum(size for _, size, _ in layer_sizes[base_layers:])
    user_hidden = sum(c.hides for c in changes[base_layers:])
    waste = Waste(
        overwritten=overwritten,
        deleted=deleted,
        duplicates=duplicate_bytes,
        total=total_waste,
        efficiency=(fs.stored - total_waste) / fs.stored if fs.stored else 1.0,
        user_wasted_percent=100 * (user_hidden + user_duplicate) / user_bytes if user_bytes else 0,
        dive=_dive(fs, layer_sizes),
    )
    for index, change in enumerate(changes):
        if change.hides >= options.waste_min_bytes:
            findings.append(finding("layer-hides-bytes", src,
                                    f"layer {index + 1} hides {human(change.hides)} of lower "
                                    f"layers ({human(change.overwritten)} overwritten, "
                                    f"{human(change.deleted_bytes)} deleted); they still ship",
                                    index, origin=checks.origin_of([index], known)))  # fmt: skip
    for group in duplicates:
        if group.wasted >= options.waste_min_bytes:
            findings.append(finding("duplicate-files", src,
                                    f"{group.count} copies of {human(group.size)}: "
                                    f"{', '.join(group.paths[:3])}"
                                    f"{' ...' if group.count > 3 else ''} "
                                    f"({human(group.wasted)} wasted)", path=group.paths[0],
                                    origin=checks.origin_of(group.layers, known)))  # fmt: skip
    growing = _growing(fs, options)
    for grown in growing:
        if grown.wasted >= options.waste_min_bytes:
            findings.append(finding("growing-path", src,
                                    f"{grown.path} is written by {len(grown.layers)} layers "
                                    f"({human(grown.wasted)} hidden copies)",
                                    grown.layers[-1], grown.path,
                                    checks.origin_of(grown.layers, known)))  # fmt: skip

    # what should not ship
    groups = _unwanted(fs)
    for ug in groups:
        kind = unwanted.kind(ug.kind)
        if ug.size < kind.min_bytes:
            continue
        where = ", ".join(p.path for p in ug.paths[:3])
        layer = ug.layers[-1] if len(ug.layers) == 1 else None
        findings.append(finding(f"{_UNWANTED_FINDING[ug.kind]}", src,
                                f"{ug.label}: {human(ug.size)} in {ug.count} files "
                                f"({where}) from layer(s) "
                                f"{', '.join(str(i + 1) for i in ug.layers)}",
                                layer, ug.paths[0].path if ug.paths else None,
                                checks.origin_of(ug.layers, known)))  # fmt: skip

    # secrets
    secret_hits += list(secrets_in_image.scan_config(image.config))
    findings += _secret_findings(src, secret_hits, fs, known)
    for i, entry in enumerate(image.history):  # one entry at a time: its index tells its origin
        in_history = list(secrets_in_image.scan_history([(i, entry.created_by, None)]))
        findings += _secret_findings(src, in_history, fs, known, i, base.history_entries)

    # hardening
    issues = hardening.check_config(image.config)
    minimal = hardening.claims_minimal(src, image.tags, image.config)
    issues += hardening.check_files(fs.nodes, minimal)
    issues += hardening.check_accounts(_meta(fs, heads, "etc/passwd"),
                                       _meta(fs, heads, "etc/shadow"))  # fmt: skip
    findings += _issue_findings(src, issues, fs, known)

    # hostile input that still leaves the image readable
    for index, name, what in problems:
        findings.append(finding("hostile-tar-entry", src, f"{name!r}: {what}", index,
                                origin=checks.origin_of([index], known)))  # fmt: skip
    for index, path, what in fs.problems:
        findings.append(finding("broken-link-in-image", src, f"/{path}: {what}", index, "/" + path,
                                checks.origin_of([index], known)))  # fmt: skip

    layers = _layers(image, changes, layer_sizes, fs, base_layers, build)
    largest = heapq.nlargest(20, live_files, key=lambda item: item[1].size)
    inner = hardening.config_of(image.config)
    config = {
        key: inner[key]
        for key in ("User", "ExposedPorts", "Healthcheck", "Entrypoint", "Cmd", "WorkingDir")
        if key in inner
    }
    return ImageReport(
        source=src,
        platform=image.platform,
        config_digest=image.config_digest,
        manifest_digest=image.manifest_digest,
        compressed_size=image.compressed_size,
        tar_size=sum(t for t, _, _ in layer_sizes),
        content_size=live_bytes,
        files=len(live_files),
        layers=layers,
        waste=waste,
        duplicates=tuple(duplicates[:20]),
        growing=tuple(growing[:20]),
        unwanted=tuple(groups),
        base=base,
        largest=tuple(PathBytes("/" + p, n.layer, n.size) for p, n in largest),
        config=config,
        findings=tuple(findings),
    )


_UNWANTED_FINDING = {
    "package-cache": "package-cache-shipped", "toolchain": "toolchain-shipped",
    "vcs": "vcs-folder-shipped", "docs": "docs-shipped", "tests": "tests-shipped",
    "sources": "sources-shipped", "core-dump": "core-dump-shipped", "logs": "logs-shipped",
}  # fmt: skip
_ISSUE_FINDING = {
    "runs-as-root": "image-runs-as-root", "no-healthcheck": "image-without-healthcheck",
    "sensitive-port": "sensitive-port-exposed", "setuid-file": "setuid-file",
    "world-writable": "world-writable-path", "tools-in-minimal-image": "tools-in-minimal-image",
    "empty-password": "empty-password", "duplicate-uid": "duplicate-uid",
}  # fmt: skip
_SECRET_FINDING = {
    "file": "secret-file-in-image", "content": "secret-in-image-file",
    "env": "secret-in-image-config", "label": "secret-in-image-config",
    "history": "secret-in-image-history",
}  # fmt: skip


def _secret_findings(
    src: str,
    hits: list[SecretHit],
    fs: MergedFilesystem,
    base_layers: int | None,
    entry: int | None = None,
    base_entries: int | None = None,
) -> list[Finding]:
    """Findings for ``hits``. A hit in a layer has that layer's origin; hits from history
    entry ``entry`` are the base's when it is one of the ``base_entries`` first."""
    out = []
    # one finding per file, layer and kind of secret: a page of docs with four example URLs
    # is one thing to look at, not four
    counts: dict[tuple[str, str, int | None, str], int] = defaultdict(int)
    for hit in hits:
        counts[(hit.where, hit.path, hit.layer, hit.label)] += 1
    for hit in hits:
        key = (hit.where, hit.path, hit.layer, hit.label)
        if counts.get(key, 0) == 0:
            continue
        more = counts.pop(key) - 1
        gone = ""
        if hit.where in ("file", "content"):
            node = fs.nodes.get(hit.path[1:])
            if node is None or node.layer != hit.layer:
                gone = " (hidden by a later layer, but still in this layer's blob)"
        shown = f" ({hit.redacted})" if hit.redacted not in ("…", "(binary)") else ""
        path = hit.path if hit.where in ("file", "content") else None
        again = f" and {more} more like it" if more else ""
        message = f"{hit.path}: {hit.label}{shown}{again}{gone}"
        if hit.layer is not None:
            origin = checks.origin_of([hit.layer], base_layers)
        else:
            origin = None if entry is None else checks.origin_of([entry], base_entries)
        out.append(finding(_SECRET_FINDING[hit.where], src, message, hit.layer, path, origin))
    return out


def _issue_findings(
    src: str, issues: list[hardening.Issue], fs: MergedFilesystem, base_layers: int | None
) -> list[Finding]:
    out: list[Finding] = []
    setuid = [i for i in issues if i.code == "setuid-file"]
    for issue in issues:
        if issue.code == "setuid-file":
            continue
        layer = issue.layer if issue.layer is not None else _layer_of(fs, issue.path)
        origin = None if layer is None else checks.origin_of([layer], base_layers)
        out.append(finding(_ISSUE_FINDING[issue.code], src, issue.message, layer,
                           issue.path, origin))  # fmt: skip
    if setuid:  # one finding: base images carry a dozen (su, passwd, mount...)
        names = ", ".join(i.path or "" for i in setuid[:6])
        more = f" and {len(setuid) - 6} more" if len(setuid) > 6 else ""
        layers = [i.layer for i in setuid if i.layer is not None]
        origin = checks.origin_of(layers, base_layers) if len(layers) == len(setuid) else None
        out.append(finding("setuid-file", src,
                           f"{len(setuid)} setuid/setgid files: {names}{more}",
                           origin=origin))  # fmt: skip
    return out


def _layer_of(fs: MergedFilesystem, path: str | None) -> int | None:
    """The layer the shipped file at ``path`` (absolute) comes from, when there is one."""
    if path is None:
        return None
    resolved = fs.resolve(path.lstrip("/"))
    node = fs.nodes.get(resolved) if resolved is not None else None
    return node.layer if node is not None else None


def _duplicates(
    files: list[tuple[str, Node]], base_layers: int
) -> tuple[list[DuplicateGroup], int, int]:
    by_digest: defaultdict[bytes, list[tuple[str, Node]]] = defaultdict(list)
    for path, node in files:
        if node.size and node.digest:
            by_digest[node.digest].append((path, node))
    groups = []
    total = user = 0
    for same in by_digest.values():
        if len(same) < 2:
            continue
        size = same[0][1].size
        wasted = size * (len(same) - 1)
        total += wasted
        # the copy from the lowest layer is "the" file; the others are the duplicates
        same.sort(key=lambda item: (item[1].layer, item[0]))
        user += sum(n.size for _, n in same[1:] if n.layer >= base_layers)
        paths = tuple("/" + p for p, _ in same[:10])
        layers = tuple(sorted({n.layer for _, n in same}))
        groups.append(DuplicateGroup(size, len(same), wasted, paths, layers))
    groups.sort(key=lambda g: -g.wasted)
    return groups, total, user


def _growing(fs: MergedFilesystem, options: Options) -> list[GrowingPath]:
    out = []
    for path, versions in fs.versions.items():
        layers = sorted({layer for layer, _ in versions})
        if len(layers) < options.growing_min_layers:
            continue
        wasted = sum(size for _, size in versions[:-1])
        out.append(GrowingPath("/" + path, tuple(layers), tuple(s for _, s in versions), wasted))
    out.sort(key=lambda g: -g.wasted)
    return out


def _dive(fs: MergedFilesystem, layer_sizes: list[tuple[int, int, int]]) -> DiveMetrics:
    minimum, cumulative, wasted = fs.dive_totals()
    user = sum(size for _, size, _ in layer_sizes[1:])
    return DiveMetrics(
        efficiency=minimum / cumulative if cumulative else 1.0,
        wasted_bytes=wasted,
        user_wasted_percent=100 * wasted / user if user else 0.0,
    )


def _unwanted(fs: MergedFilesystem) -> list[UnwantedGroup]:
    sizes: defaultdict[str, int] = defaultdict(int)
    counts: defaultdict[str, int] = defaultdict(int)
    layers: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    folders: defaultdict[str, defaultdict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for path, node in fs.nodes.items():
        if node.kind != FILE:
            continue
        found = unwanted.classify(path)
        if found is None:
            continue
        sizes[found.name] += node.size
        counts[found.name] += 1
        layers[found.name][node.layer] += node.size
        slot = folders[found.name][unwanted.group_folder(path, found)]
        slot[0] += node.size
        slot[1] = max(slot[1], node.layer)
    out = []
    for name, size in sizes.items():
        top = sorted(folders[name].items(), key=lambda item: -item[1][0])[:5]
        out.append(UnwantedGroup(
            kind=name, label=unwanted.kind(name).label, size=size, count=counts[name],
            layers=tuple(sorted(layers[name])), by_layer=tuple(sorted(layers[name].items())),
            paths=tuple(PathBytes(folder, layer, s) for folder, (s, layer) in top),
        ))  # fmt: skip
    out.sort(key=lambda g: -g.size)
    return out


def _base(
    image: Image,
    fs: MergedFilesystem,
    heads: dict[tuple[int, str], bytes],
    options: Options,
    layer_sizes: list[tuple[int, int, int]],
) -> BaseReport:
    fields: dict[str, str] = {}
    for path in bases.OS_RELEASE_PATHS:
        data = _meta(fs, heads, path)
        if data is not None:
            fields = bases.parse_os_release(data)
            break
    eol = bases.end_of_life(fields)
    history = [(h.created_by, h.empty_layer) for h in image.history]
    base_layers, end = bases.base_layers(history, len(image.layers))
    evidence = (
        "no CMD/ENTRYPOINT of a base image, nor an imported layer under an "
        "instruction's, in the history: every layer counted as yours"
    )
    if end is not None:
        made_by = history[end][0].strip()[:80] or "a layer no instruction made (docker import)"
        evidence = f"the base ends at history entry {end + 1}: {made_by}"
    base_size = sum(size for _, size, _ in layer_sizes[: base_layers or 0])
    own_size = sum(size for _, size, _ in layer_sizes[base_layers or 0 :])
    return BaseReport(
        os_id=fields.get("ID"),
        version_id=fields.get("VERSION_ID"),
        pretty_name=fields.get("PRETTY_NAME"),
        end_of_life=eol,
        past_end_of_life=bases.past(eol, options.today),
        base_layers=base_layers,
        base_size=base_size,
        own_size=own_size,
        evidence=evidence,
        history_entries=None if base_layers is None or end is None else end + 1,
    )


def _layers(
    image: Image,
    changes: list[LayerChanges],
    layer_sizes: list[tuple[int, int, int]],
    fs: MergedFilesystem,
    base_layers: int,
    build: Build | None,
) -> tuple[LayerReport, ...]:
    mapped: list[instructions.Mapped | None] = [None] * len(image.layers)
    if build is not None:
        kinds = [
            instructions.history_kind(layer.history.created_by) if layer.history else "RUN"
            for layer in image.layers
        ]
        mapped = instructions.map_layers(kinds, instructions.chain_instructions(build))
    out = []
    for layer, change, (tar_size, content, entries), where in zip(
        image.layers, changes, layer_sizes, mapped, strict=True
    ):
        created = layer.history.created_by if layer.history else None
        out.append(LayerReport(
            index=layer.index, digest=layer.digest, diff_id=layer.diff_id,
            media_type=layer.media_type, compressed_size=layer.compressed_size,
            tar_size=tar_size, content_size=content, entries=entries,
            files_added=change.added, files_modified=change.modified,
            files_deleted=change.deleted,
            created_by=secrets_in_image.redact_command(created) if created else None,
            instruction=where.text if where else None,
            instruction_line=where.line if where else None,
            base=layer.index < base_layers,
            shadowed_size=fs.shadowed.get(layer.index, 0), hides_size=change.hides,
        ))  # fmt: skip
    return tuple(out)


__all__ = [
    "FilesystemAnalyzer",
    "LayerError",
    "LayerScan",
    "Options",
    "analyse",
    "analyzers",
    "assemble",
    "checks",
    "layer_name",
    "relocated",
    "scan_layer",
]
