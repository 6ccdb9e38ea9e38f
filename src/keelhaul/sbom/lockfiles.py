"""What a source tree's lock files pin: requirements (``==`` pins), poetry.lock, uv.lock,
Pipfile.lock, package-lock.json, yarn.lock, pnpm-lock.yaml, go.mod, Cargo.lock,
Gemfile.lock and composer.lock."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

import yaml

from keelhaul.sbom.model import Files, Package

MAX_LOCK_BYTES = 64 * 1024 * 1024
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;#\\]+)")


def _requirements(text: str, path: str) -> Iterator[Package]:
    for line in text.splitlines():
        found = _PIN.match(line)
        if found:
            yield Package(found.group(1), found.group(2), "pypi", "requirements", path)


def _toml_packages(kind: str, found_by: str) -> Callable[[str, str], Iterator[Package]]:
    def read(text: str, path: str) -> Iterator[Package]:
        data = tomllib.loads(text)
        for entry in data.get("package", []):
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str):
                source = entry.get("source")
                if (
                    found_by == "uv.lock"
                    and isinstance(source, dict)
                    and ("editable" in source or "virtual" in source)
                ):
                    continue  # the project itself
                yield Package(name, version, kind, found_by, path)

    return read


def _pipfile(text: str, path: str) -> Iterator[Package]:
    data = json.loads(text)
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            version = entry.get("version", "") if isinstance(entry, dict) else ""
            if version.startswith("=="):
                yield Package(name, version[2:], "pypi", "Pipfile.lock", path)


def _package_lock(text: str, path: str) -> Iterator[Package]:
    data = json.loads(text)
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or entry.get("link"):
                continue
            name = entry.get("name") or key.rpartition("node_modules/")[2]
            if isinstance(entry.get("version"), str):
                yield Package(name, entry["version"], "npm", "package-lock.json", path)
        return

    def walk(deps: dict[str, object]) -> Iterator[Package]:
        for name, entry in deps.items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                yield Package(name, entry["version"], "npm", "package-lock.json", path)
                yield from walk(entry.get("dependencies") or {})

    yield from walk(data.get("dependencies") or {})


_YARN_HEAD = re.compile(r'^"?((?:@[^@/"\s]+/)?[^@"\s,]+)@')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?')


def _yarn_lock(text: str, path: str) -> Iterator[Package]:
    name: str | None = None
    seen: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            found = _YARN_HEAD.match(line)
            name = found.group(1) if found else None
            if name == "__metadata":
                name = None
        elif name:
            version = _YARN_VERSION.match(line)
            if version and (name, version.group(1)) not in seen:
                seen.add((name, version.group(1)))
                if not version.group(1).startswith("0.0.0-use.local"):
                    yield Package(name, version.group(1), "npm", "yarn.lock", path)
                name = None


_PNPM_KEY = re.compile(r"^/?((?:@[^/@]+/)?[^/@]+)[@/](\d[^(_/]*)")


def _pnpm_lock(text: str, path: str) -> Iterator[Package]:
    data = yaml.safe_load(text) or {}
    for key in data.get("packages") or {}:
        found = _PNPM_KEY.match(str(key))
        if found:
            yield Package(found.group(1), found.group(2), "npm", "pnpm-lock.yaml", path)


def _go_mod(text: str, path: str) -> Iterator[Package]:
    inside = False
    for line in text.splitlines():
        stripped = line.split("//")[0].strip()
        if stripped.startswith("require ("):
            inside = True
            continue
        if inside and stripped == ")":
            inside = False
            continue
        if inside or stripped.startswith("require "):
            parts = stripped.removeprefix("require ").split()
            if len(parts) >= 2 and parts[1].startswith("v"):
                yield Package(parts[0], parts[1], "golang", "go.mod", path)


def go_requires_modules(text: str) -> bool:
    """The go.mod ``text`` requires at least one module (a ``require`` line or block entry)."""
    return any(_go_mod(text, "go.mod"))


_GEM_SPEC = re.compile(r"^    ([A-Za-z0-9_.-]+) \(([^)\s]+)\)")


def _gemfile_lock(text: str, path: str) -> Iterator[Package]:
    for line in text.splitlines():
        found = _GEM_SPEC.match(line)
        if found:
            yield Package(found.group(1), found.group(2).split("-")[0], "gem", "Gemfile.lock",
                          path)  # fmt: skip


def _composer_lock(text: str, path: str) -> Iterator[Package]:
    data = json.loads(text)
    for section in ("packages", "packages-dev"):
        for entry in data.get(section) or ():
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and "/" in name and isinstance(version, str):
                vendor, _, short = name.partition("/")
                yield Package(short, version.removeprefix("v"), "composer", "composer.lock",
                              path, namespace=vendor)  # fmt: skip


READERS: dict[str, Callable[[str, str], Iterator[Package]]] = {
    "poetry.lock": _toml_packages("pypi", "poetry.lock"),
    "uv.lock": _toml_packages("pypi", "uv.lock"),
    "Pipfile.lock": _pipfile,
    "package-lock.json": _package_lock,
    "npm-shrinkwrap.json": _package_lock,
    "yarn.lock": _yarn_lock,
    "pnpm-lock.yaml": _pnpm_lock,
    "go.mod": _go_mod,
    "Cargo.lock": _toml_packages("cargo", "Cargo.lock"),
    "Gemfile.lock": _gemfile_lock,
    "composer.lock": _composer_lock,
}
_REQUIREMENTS = re.compile(r"(?:.*[-_.])?requirements(?:[-_.].*)?\.txt\Z")


class LockFileError(ValueError):
    """A lock file that does not parse."""


def lock_packages(files: Files) -> Iterator[Package]:
    """The packages every lock file of the tree pins (node_modules and vendor skipped)."""
    for path in files.paths():
        if "/node_modules/" in path or "/vendor/" in path or "/.git/" in path:
            continue
        name = PurePosixPath(path).name
        reader = READERS.get(name) or (_requirements if _REQUIREMENTS.match(name) else None)
        if reader is None:
            continue
        try:
            text = files.read(path, MAX_LOCK_BYTES).decode("utf-8", "replace")
            yield from reader(text, path)
        except OSError:
            continue
        except (ValueError, tomllib.TOMLDecodeError, yaml.YAMLError, AttributeError) as exc:
            raise LockFileError(f"{path}: cannot read as {name}: {exc}") from None
