import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, word_fix
from keelhaul.rules.dockerfile.shared.layers import directories, join, places, resolve_path
from keelhaul.rules.dockerfile.shared.packages import Probe, analysis, operation_span, shown
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

LOCKS = {
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("yarn.lock",),
    "pnpm": ("pnpm-lock.yaml",),
}
FIX = {
    "npm": "`npm ci`",
    "yarn": "`yarn install --frozen-lockfile` (`--immutable` on yarn 2+)",
    "pnpm": "`pnpm install --frozen-lockfile`",
}
_GLOB = re.compile(r"[*?\[\]]")
_TRUE = ("1", "true", "yes")


def _names_lock(source: str, lock: str) -> bool:
    """``package-lock.json`` or a glob meant for it (``package*.json``, not ``*.json``)."""
    base = source.rstrip("/").rsplit("/", 1)[-1]
    if base == lock:
        return True
    if not _GLOB.search(base) or not fnmatchcase(lock, base):
        return False
    literal = _GLOB.sub("", base).replace(lock.rsplit(".", 1)[-1], "").strip(".")
    return bool(literal)


@dataclass(frozen=True)
class LockCopy:
    """A COPY or ADD that names a lock file (by name or by a glob meant for it)."""

    lock: str
    source: str
    inst: Instruction

    @property
    def glob(self) -> bool:
        """Named by a glob (``package*.json``): the COPY works without the lock file too."""
        return self.source.rstrip("/").rsplit("/", 1)[-1] != self.lock


def _lock_probe(manager: str) -> Probe[LockCopy]:
    """A COPY/ADD that brings the manager's lock file in."""

    def probe(inst: Instruction, _runs: list[Run]) -> LockCopy | None:
        if inst.name not in ("COPY", "ADD"):
            return None
        for source in inst.effective.values[:-1]:
            for lock in LOCKS[manager]:
                if _names_lock(source, lock):
                    return LockCopy(lock, source, inst)
        return None

    return probe


def _in_context(ctx: DockerfileContext, copy: LockCopy) -> bool | None:
    """Whether the lock file a glob names is in the build context and sent (not ignored);
    None when keelhaul cannot tell (no build context, or a listing that stopped early)."""
    context = ctx.build_context
    if context is None or copy.inst.effective.flag("from") is not None:
        return None
    folder = posixpath.dirname(copy.source.lstrip("/"))
    path = posixpath.join(folder, copy.lock) if folder else copy.lock
    entry = context.entry(path)
    if entry is not None:
        return entry.sent and not entry.is_dir and not context.excludes(path)
    manifest = posixpath.join(folder, "package.json") if folder else "package.json"
    if context.entry(manifest) is None:
        return None  # no package.json either: not the folder this Dockerfile is built from
    return False if context.complete else None


def _unsure(ctx: DockerfileContext, run: Run, op: PackageOperation, copy: LockCopy) -> str:
    """Why `npm ci` might fail where `npm install` works (empty: it cannot).

    `npm ci` needs the lock file in the folder npm runs in. That holds when the COPY takes it
    from the build context by its own name (a missing one fails the COPY already), or by a
    glob when the context shows the file there and not ignored, and it lands in the folder the
    install runs in.
    """
    eff = copy.inst.effective
    name = copy.lock
    if eff.flag("from") is not None:
        return f"{name} comes from another stage or image (--from), which keelhaul cannot see"
    if "$" in copy.source:
        return f"the COPY names {name} through a variable"
    if copy.glob and _in_context(ctx, copy) is None:
        return (f"{name} is copied by a glob ({copy.source}) and keelhaul cannot see the "
                "build context to tell it is there; without it `npm ci` fails")  # fmt: skip
    where = places(ctx)
    copy_place = where.at(copy.inst)
    dest = resolve_path(eff.values[-1], copy_place.cwd, copy_place.env, None)
    into_folder = eff.values[-1].endswith("/") or len(eff.values) > 2
    into_folder = into_folder or eff.values[-1] in (".", "./")
    npm_cwd = next(
        (cwd for cmd, cwd in directories(run, where.at(run.instruction).cwd) if cmd is op.command),
        None,
    )
    if dest is None or npm_cwd is None or op.has("--prefix", "-C", "--dir"):
        return f"keelhaul cannot tell that {name} lands in the folder npm runs in"
    landed = join(dest, name) if into_folder else dest
    if landed != join(npm_cwd, name):
        return f"keelhaul cannot tell that {name} lands in the folder npm runs in"
    return ""


def _installs_from_manifest(op: PackageOperation) -> bool:
    if op.manager not in LOCKS or op.action != "install" or op.packages or op.global_install:
        return False
    return op.subcommand not in ("dedupe", "link", "deploy", "add") and not op.has("--offline")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    for run in found.runs:
        for op in run.operations.packages:
            if not _installs_from_manifest(op) or op.frozen_lockfile:
                continue
            env = {**found.facts(run).env, **dict(op.command.env)}
            if op.manager != "npm" and (
                env.get("CI", "").lower() in _TRUE
                or env.get("YARN_ENABLE_IMMUTABLE_INSTALLS", "").lower() in _TRUE
            ):
                continue  # yarn 2+ and pnpm freeze the lockfile on CI
            lock = found.first_before(run, ("lock", op.manager), _lock_probe(op.manager))
            if lock is None or (lock[1].glob and _in_context(ctx, lock[1]) is False):
                continue  # a glob that brings no lock file: nothing is locked
            line, copy = lock
            yield Hit(run.instruction, f"`{shown(op)}` may rewrite {copy.lock} (copied in on "
                      f"line {line}) instead of installing what it locks; use "
                      f"{FIX[op.manager]}", run.stage, operation_span(run, op),
                      _fix(ctx, run, op, copy))  # fmt: skip


#: npm options about writing or ignoring the lock, which `npm ci` refuses or reads otherwise.
_LOCK_OPTIONS = ("--package-lock", "--no-package-lock", "--package-lock-only", "--save",
                 "--no-save", "-S", "--save-dev", "-D", "--save-exact", "-E")  # fmt: skip


def _fix(ctx: DockerfileContext, run: Run, op: PackageOperation, copy: LockCopy) -> Fix | None:
    if op.manager != "npm" or op.has(*_LOCK_OPTIONS):
        return None  # yarn and pnpm spell it differently per major version
    fix = word_fix(ctx, run, op.command, subcommand_index(op), "ci", "`npm ci`")
    why = _unsure(ctx, run, op, copy)
    if fix is None or not why:
        return fix
    return replace(fix, safety=Safety.UNSAFE, why_unsafe=why)


register(
    Rule(
        code="KH170",
        name="lockfile-not-enforced",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="`npm install` (or yarn/pnpm install) where a lock file is copied in: use `npm ci`.",
        explanation=(
            "`npm install` treats package-lock.json as a hint: when package.json allows a "
            "newer version it may resolve again and rewrite the lock, so the image gets "
            "versions nobody tested. `npm ci` installs exactly the lock, fails when the lock "
            "and package.json disagree, and is faster. yarn and pnpm do the same with "
            "`--frozen-lockfile` (`--immutable` on yarn 2+; both freeze by default when CI "
            "is set). Flagged only when the Dockerfile copies the lock file in by name (or a "
            "glob such as package*.json); after `COPY . .` keelhaul cannot tell."
        ),
        bad=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm install --omit=dev && npm cache clean --force\n"
        ),
        good=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci --omit=dev && npm cache clean --force\n"
        ),
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Safe only when `npm ci` is sure to find the lock: the COPY before the install "
            "takes package-lock.json from the build context by name (a missing one fails "
            "the COPY already) or by a glob with the file there and not ignored, and it "
            "lands in the folder npm runs in. Otherwise unsafe with the reason (another "
            "stage's file, a build context keelhaul cannot see, another folder), as `npm "
            "ci` fails without a lock or when it disagrees with package.json."
        ),
    )
)
