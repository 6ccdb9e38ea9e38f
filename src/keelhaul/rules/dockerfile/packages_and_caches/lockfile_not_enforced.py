import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import subcommand_index, word_fix
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


def _lock_probe(manager: str) -> Probe[str]:
    """A COPY/ADD that brings the manager's lock file in; answers the lock's name."""

    def probe(inst: Instruction, _runs: list[Run]) -> str | None:
        if inst.name not in ("COPY", "ADD"):
            return None
        for source in inst.effective.values[:-1]:
            for lock in LOCKS[manager]:
                if _names_lock(source, lock):
                    return lock
        return None

    return probe


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
            if lock is None:
                continue
            line, name = lock
            yield Hit(run.instruction, f"`{shown(op)}` may rewrite {name} (copied in on line "
                      f"{line}) instead of installing what it locks; use {FIX[op.manager]}",
                      run.stage, operation_span(run, op), _fix(ctx, run, op))  # fmt: skip


#: npm options about writing or ignoring the lock, which `npm ci` refuses or reads otherwise.
_LOCK_OPTIONS = ("--package-lock", "--no-package-lock", "--package-lock-only", "--save",
                 "--no-save", "-S", "--save-dev", "-D", "--save-exact", "-E")  # fmt: skip


def _fix(ctx: DockerfileContext, run: Run, op: PackageOperation) -> Fix | None:
    if op.manager != "npm" or op.has(*_LOCK_OPTIONS):
        return None  # yarn and pnpm spell it differently per major version
    return word_fix(ctx, run, op.command, subcommand_index(op), "ci", "`npm ci`")


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
    )
)
