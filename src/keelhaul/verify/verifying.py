"""One verify run: make the two versions, build, measure, smoke-check and rebuild each, and
bisect the fixes when the fixed version fails.

Everything happens in temporary copies (:mod:`keelhaul.verify.copies`); the images and
containers carry the run's label and are removed at the end unless ``keep_images``.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keelhaul.verify import smoke as smoking
from keelhaul.verify.base_map import Mapped
from keelhaul.verify.bisect import Blame, bisect
from keelhaul.verify.building import ImageFacts, measure, new_layer_bytes, runtime_settings
from keelhaul.verify.cache_behaviour import choose_file, rebuild_after_change
from keelhaul.verify.copies import (
    Version,
    extract_revision,
    read_at_revision,
    write_version,
)
from keelhaul.verify.engine import Built, Engine
from keelhaul.verify.fixes import Fixer, Proposal

FIX = "fix"
FILES = "files"
REVISION = "revision"


@dataclass
class Request:
    """What to verify, as the command line and configuration say."""

    dockerfile: Path
    context: Path
    mode: str = FIX
    unsafe: bool = False
    before_file: Path | None = None
    after_file: Path | None = None
    against: str | None = None
    base_map: Mapping[str, str] = field(default_factory=dict)
    smoke: smoking.SmokePlan = field(default_factory=smoking.SmokePlan)
    touch: str | None = None
    cache: bool = True
    bisect: bool = True
    keep_images: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    config_file: Path | None = None
    isolated: bool = False
    waste_min_bytes: int = 1 << 20
    codes: tuple[str, ...] | None = None
    """Only these fixes (``fix --verify`` retries without the one to blame)."""


@dataclass
class Side:
    """One version, built and checked."""

    label: str
    dockerfile: str
    built: Built | None = None
    facts: ImageFacts | None = None
    smoke: smoking.Smoke | None = None
    cache: Built | None = None
    codes: tuple[str, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)
    mapped: tuple[Mapped, ...] = ()
    image: str | None = None
    """The tag it was built as (kept only with ``--keep-images``)."""
    new_layer_bytes: int | None = None
    """After the source change: the bytes of the layers the rebuilt image has and the first
    build did not (what a push of the change sends, uncompressed)."""

    @property
    def ok(self) -> bool:
        return self.built is not None and self.built.ok

    @property
    def rebuilt_steps(self) -> list[str] | None:
        if self.cache is None or not self.cache.ok:
            return None
        return [step.name for step in self.cache.rebuilt]

    @property
    def rebuilt_runs(self) -> int | None:
        """How many of the rebuilt steps are RUNs (the steps that do work: compile, install)."""
        rebuilt = self.rebuilt_steps
        return None if rebuilt is None else sum(1 for step in rebuilt if "] RUN " in step)


@dataclass
class Result:
    request: Request
    before: Side
    after: Side
    run_id: str = ""
    """The value of the ``keelhaul.verify`` label on what this run made."""
    touched: str | None = None
    blame: Blame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """The after version is worse: it does not build, or fails a smoke check the before
        version passes."""
        if not self.after.ok:
            return self.before.ok
        return bool(self.before.smoke and self.before.smoke.passed
                    and self.after.smoke and not self.after.smoke.passed)  # fmt: skip

    @property
    def passed(self) -> bool:
        """The after version builds and passes its smoke check."""
        return self.after.ok and self.after.smoke is not None and self.after.smoke.passed


def _fixer(request: Request) -> Fixer:
    return Fixer(request.dockerfile, request.context, request.unsafe, request.config_file,
                 request.isolated, request.build_args)  # fmt: skip


def _prepare(request: Request, folder: Path) -> tuple[Version, Version]:
    """The two versions' copies."""
    original = request.dockerfile.read_bytes().decode("utf-8", "surrogateescape")
    if request.mode == FILES:
        assert request.before_file is not None
        assert request.after_file is not None
        texts = [p.read_bytes().decode("utf-8", "surrogateescape")
                 for p in (request.before_file, request.after_file)]  # fmt: skip
        before = write_version(folder / "before", str(request.before_file), request.context,
                               request.dockerfile, texts[0], request.base_map)  # fmt: skip
        after = write_version(folder / "after", str(request.after_file), request.context,
                              request.dockerfile, texts[1], request.base_map)  # fmt: skip
        return before, after
    if request.mode == REVISION:
        assert request.against is not None
        extracted = folder / "revision"
        extract_revision(request.context, request.against, request.context, extracted)
        old_text = read_at_revision(request.context, request.against, request.dockerfile)
        before = write_version(folder / "before", request.against, request.context,
                               request.dockerfile, old_text, request.base_map,
                               copied=extracted)  # fmt: skip
        after = write_version(folder / "after", "working tree", request.context,
                              request.dockerfile, original, request.base_map)  # fmt: skip
        return before, after
    before = write_version(folder / "before", "as it is", request.context, request.dockerfile,
                           original, request.base_map)  # fmt: skip
    proposal = _fixer(request).propose(request.codes)
    after = _fixed_version(request, folder / "after", proposal)
    return before, after


def _fixed_version(request: Request, folder: Path, proposal: Proposal) -> Version:
    label = "fixed" + (" (unsafe fixes too)" if request.unsafe else "")
    made = write_version(folder, label, request.context, request.dockerfile, proposal.text,
                         request.base_map, proposal.files)  # fmt: skip
    return Version(made.label, made.context, made.dockerfile, made.text, made.mapped,
                   proposal.codes, proposal.descriptions)  # fmt: skip


def _build_side(
    engine: Engine, request: Request, version: Version, tag: str, measured: bool = True
) -> Side:
    """Build ``version`` as ``tag``, measure it (unless not ``measured``: a bisection probe
    needs only the build and the smoke check) and smoke-check it."""
    side = Side(version.label, version.label, codes=version.codes,
                descriptions=version.descriptions, mapped=version.mapped, image=tag)  # fmt: skip
    side.built = engine.build(version.context, version.dockerfile, tag,
                              dict(request.build_args), request.target)  # fmt: skip
    if not side.built.ok:
        return side
    if measured:
        side.facts = measure(engine, tag, request.waste_min_bytes)
        healthcheck = side.facts.healthcheck is not None
    else:
        health = runtime_settings(engine.inspect(tag)).get("Healthcheck") or {}
        healthcheck = bool(health.get("Test")) and health.get("Test") != ["NONE"]
    side.smoke = smoking.check(engine, tag, request.smoke, healthcheck)
    return side


def _check_bases(engine: Engine, versions: tuple[Version, ...], notes: list[str]) -> None:
    """A note for each FROM image the engine lacks (the build would try to pull it)."""
    from keelhaul.dockerfile.stages import resolve
    from keelhaul.dockerfile.syntax import parse

    seen: set[str] = set()
    for version in versions:
        tree = parse(version.dockerfile.read_bytes(), str(version.dockerfile))
        if tree.errors:
            continue
        for stage in resolve(tree).stages:
            if stage.base_stage is not None or stage.is_scratch or stage.base in seen:
                continue
            seen.add(stage.base)
            if not engine.has_image(stage.base):
                notes.append(f"{version.label}: FROM {stage.base} is not in the engine; the build "
                             "will try to pull it (--base-map IMAGE=LOCAL maps it to a local "
                             "image)")  # fmt: skip


def verify(
    request: Request, engine: Engine, progress: Callable[[str], None] | None = None
) -> Result:
    """Verify ``request`` with ``engine``."""
    say = progress or (lambda message: None)
    notes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="keelhaul-verify-") as temporary:
            folder = Path(temporary)
            before_version, after_version = _prepare(request, folder)
            _check_bases(engine, (before_version, after_version), notes)
            touched = request.touch
            if request.cache and touched is None:
                touched = choose_file(before_version.context, before_version.dockerfile,
                                      request.build_args, request.target)  # fmt: skip
                if touched is None:
                    notes.append("no source file is copied into the image: cache behaviour not "
                                 "measured (--touch PATH names one)")  # fmt: skip
            if touched is not None:
                for version in (before_version, after_version):
                    if not (version.context / touched).is_file():
                        notes.append(f"{touched}: not in the {version.label} context: cache "
                                     "behaviour not measured")  # fmt: skip
                        touched = None
                        break
            sides: list[Side] = []
            for name, version in (("before", before_version), ("after", after_version)):
                tag = f"keelhaul-verify:{engine.run_id}-{name}"
                say(f"building {version.label}")
                side = _build_side(engine, request, version, tag)
                if side.ok and touched is not None and request.cache:
                    say(f"rebuilding {version.label} after a change to {touched}")
                    side.cache = rebuild_after_change(
                        engine, version.context, version.dockerfile, tag, touched,
                        f"{engine.run_id}-{name}", request.build_args, request.target,
                    ).built  # fmt: skip
                    if side.cache.ok and side.facts is not None:
                        side.new_layer_bytes = new_layer_bytes(tag, side.facts.diff_ids)
                sides.append(side)
            result = Result(request, sides[0], sides[1], engine.run_id, touched, notes=notes)
            if (request.mode == FIX and request.bisect and result.regressed
                    and len(result.after.codes) > 0):  # fmt: skip
                say(f"bisecting {len(result.after.codes)} fix(es)")
                result.blame = _bisect(engine, request, folder, result)
            return result
    finally:
        if not request.keep_images:
            engine.clean()


def _bisect(engine: Engine, request: Request, folder: Path, result: Result) -> Blame:
    codes = result.after.codes
    if len(codes) == 1:
        return Blame(codes[0], ())
    fixer = _fixer(request)
    count = 0

    def test(prefix: tuple[str, ...]) -> tuple[bool, str]:
        nonlocal count
        count += 1
        version = _fixed_version(request, folder / f"probe{count}", fixer.propose(prefix))
        tag = f"keelhaul-verify:{engine.run_id}-probe{count}"
        side = _build_side(engine, request, version, tag, measured=False)
        if not side.ok:
            return False, "does not build"
        assert side.smoke is not None
        before_passed = result.before.smoke is not None and result.before.smoke.passed
        if before_passed and not side.smoke.passed:
            return False, f"fails the smoke check ({side.smoke.detail})"
        return True, "builds" + (", smoke check passed" if side.smoke.passed else "")

    return bisect(codes, test)


def new_run_id() -> str:
    return f"kv{secrets.token_hex(4)}"
