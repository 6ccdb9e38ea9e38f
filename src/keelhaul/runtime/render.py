"""Rendering kustomize overlays and Helm charts, and mapping what they deploy back to the files
the user wrote.

A kustomize overlay (a folder with ``kustomization.yaml``) is rendered with ``kubectl
kustomize`` (or ``kustomize build``) from a temporary folder outside the user's tree whose
kustomization names the overlay by its relative path and asks for origin annotations
(``buildMetadata: [originAnnotations]``): each object then says which file it came from. The
object is found in that file by kind and name (an overlay may add a prefix or a suffix to the
name), and every line of the rendered object is mapped to the line of the same key in the file
(containers matched by name). A value the file does not hold came from a patch: it is reported
at the nearest line of the object that the file does hold, with a note naming the patch file
and line when a patch of the overlay holds the key. A ConfigMap or Secret a
``configMapGenerator``/``secretGenerator`` made (its origin names the kustomization that
configured it) is split by where each value is written: a ``literals`` or ``files`` item of
that kustomization, or the line of an ``envs`` file; each part is checked as a file of its
own, so the secret check reports a value at the line to change.

A Helm chart is rendered with ``helm template``; each object's ``# Source:`` comment names its
template, and a line maps to the template line that reads the same (after the container's
``name:``), else to the container's ``name:`` line, else to the template's first line, with a
note saying so.

Rendering never reaches the network: a remote kustomize resource (a URL, ``github.com/...``)
is refused before the tool runs, and the tool runs with proxies that go nowhere. It is given
:data:`TIMEOUT` seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keelhaul import limits, programs
from keelhaul.errors import KeelhaulError, SyntaxProblem
from keelhaul.runtime.yaml_documents import load_documents

__all__ = [
    "TIMEOUT",
    "Chunk",
    "Place",
    "RenderFailed",
    "helm_binary",
    "helm_chunks",
    "kustomize_command",
    "local_kustomizations",
    "render_changed",
    "render_helm",
    "render_kustomize",
]

#: Seconds a renderer may take.
TIMEOUT = limits.RENDER_SECONDS
#: What one renderer process may use (a process group of its own, killed with keelhaul).
BOUNDS = programs.Bounds(TIMEOUT, limits.RENDER_MEMORY_BYTES)
ORIGIN = "config.kubernetes.io/origin"
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)")
_NO_NETWORK = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_ALLOW_PROTOCOL": "file",
    "GIT_TERMINAL_PROMPT": "0",
}
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

#: A key path in a document: mapping keys, and for list items the item's ``name`` when it has
#: one (``containers[app]``), else its index.
KeyPath = tuple[str, ...]


class RenderFailed(KeelhaulError):
    """The renderer could not render (its error, in one line), or would need the network."""


@dataclass(frozen=True)
class Place:
    """Where a rendered value is in the file it came from, and a note when it is not written
    there (set by a patch, rendered by a template)."""

    line: int
    column: int = 1
    note: str = ""


@dataclass
class Chunk:
    """The rendered objects that came from one file the user wrote: ``text`` (YAML, the
    renderer's annotations left out) and, for each of its lines, the line of ``source`` it
    maps to and a note when the value is not written there."""

    source: Path
    """The file the objects came from (a resource file, a chart template)."""
    via: str
    """The overlay or chart rendered (for notes and messages)."""
    text: str = ""
    cells: dict[tuple[int, int], Place] = field(default_factory=dict)
    """Rendered (line, column) -> its place in ``source``."""
    overlay: Path | None = None
    """The kustomize overlay folder rendered (None for a Helm chart)."""

    def place(self, line: int, column: int = 1) -> Place:
        """The place in ``source`` of a rendered line and column: the key or value written
        there, else the last one before it on that line or above."""
        found = self.cells.get((line, column))
        if found is not None:
            return found
        before = [c for c in self.cells if c[0] < line or (c[0] == line and c[1] <= column)]
        if before:
            return self.cells[max(before)]
        return Place(1, 1, f"rendered from {self.via}; its place in the file was not found")

    def add(self, text: str, cells: dict[tuple[int, int], Place]) -> None:
        """Add one rendered document (its lines numbered from 1)."""
        if self.text:
            self.text += "---\n"
        offset = self.text.count("\n")
        self.text += text if text.endswith("\n") else text + "\n"
        for (line, column), place in cells.items():
            self.cells[(line + offset, column)] = place


# --- positions of keys ------------------------------------------------------------------


def _item_key(item: object, index: int) -> str:
    if isinstance(item, dict):
        name = item.get("name")
        if isinstance(name, str):
            return f"[{name}]"
    return f"[{index}]"


def positions(node: object, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, int, int]]:
    """Every key path under ``node`` (a ruamel round-trip node) with its 1-based line and
    column; a scalar value's own place comes as its key's path and ``=``."""
    lc = getattr(node, "lc", None)
    if isinstance(node, dict):
        for key, value in node.items():
            path = (*prefix, str(key))
            if lc is not None:
                try:
                    line, column = lc.key(key)
                    yield path, line + 1, column + 1
                    if not isinstance(value, dict | list):
                        line, column = lc.value(key)
                        yield (*path, "="), line + 1, column + 1
                except (KeyError, TypeError):
                    pass
            yield from positions(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = (*prefix, _item_key(value, index))
            if lc is not None:
                try:
                    line, column = lc.item(index)
                    yield path, line + 1, column + 1
                except (KeyError, TypeError, IndexError):
                    pass
            yield from positions(value, path)


def _places(node: object) -> dict[KeyPath, tuple[int, int]]:
    return {path: (line, column) for path, line, column in positions(node)}


def _scalars(node: object, prefix: KeyPath = ()) -> dict[KeyPath, object]:
    """The scalar values under ``node`` by their ``=`` key paths (see :func:`positions`)."""
    out: dict[KeyPath, object] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = (*prefix, str(key))
            if isinstance(value, dict | list):
                out.update(_scalars(value, path))
            else:
                out[(*path, "=")] = value
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.update(_scalars(value, (*prefix, _item_key(value, index))))
    return out


def _cells_of(doc: object) -> dict[tuple[int, int], KeyPath]:
    """For each place (line, column) of a rendered document, the key path written there: an
    item and its first key share a place, which is the item's (the shallower)."""
    out: dict[tuple[int, int], KeyPath] = {}
    for path, line, column in positions(doc):
        known = out.get((line, column))
        if known is None or len(path) < len(known):
            out[(line, column)] = path
    return out


def _kind_name(doc: object) -> tuple[str, str]:
    if not isinstance(doc, dict):
        return "", ""
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(doc.get("kind", "")), str(name or "")


# --- kustomize -------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    """``kustomize build`` or ``kubectl kustomize``, whichever is on PATH (None: neither)."""
    found = shutil.which("kustomize")
    if found is not None:
        return [found, "build"]
    found = shutil.which("kubectl")
    if found is not None:
        return [found, "kustomize"]
    return None


def _kustomization_file(folder: Path) -> Path | None:
    for name in _KUSTOMIZATION_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _load(path: Path) -> list[Any]:
    try:
        return load_documents(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxProblem):
        return []


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [x for x in node if isinstance(x, str)]
    return []


def _entries(kustomization: Path) -> tuple[list[str], list[str]]:
    """The resources (``resources``, ``bases``, ``components``) and the patch files
    (``patches[].path``, ``patchesStrategicMerge``, ``patchesJson6902[].path``) it names."""
    docs = _load(kustomization)
    doc = docs[0] if docs and isinstance(docs[0], dict) else {}
    resources = [r for key in ("resources", "bases", "components") for r in _strings(doc.get(key))]
    patches = _strings(doc.get("patchesStrategicMerge"))
    for key in ("patches", "patchesJson6902"):
        items = doc.get(key)
        if isinstance(items, list):
            patches += [str(p["path"]) for p in items if isinstance(p, dict) and "path" in p]
    return resources, patches


@dataclass
class _Walked:
    folders: list[Path] = field(default_factory=list)
    patches: list[Path] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)


def local_kustomizations(overlay: Path) -> tuple[list[Path], list[Path], list[str]]:
    """The kustomization folders an overlay builds on (itself first, then its local bases and
    components), the patch files they name, and the remote resources (URLs) they name."""
    walked = _Walked()
    todo = [Path(os.path.abspath(overlay))]
    while todo:
        folder = todo.pop()
        if folder in walked.folders:
            continue
        file = _kustomization_file(folder)
        if file is None:
            continue
        walked.folders.append(folder)
        resources, patches = _entries(file)
        walked.patches += [Path(os.path.normpath(folder / p)) for p in patches]
        for each in resources:
            if _REMOTE.match(each) or "?ref=" in each:
                walked.remote.append(each)
                continue
            target = Path(os.path.normpath(folder / each))
            if target.is_dir():
                todo.append(target)
    return walked.folders, walked.patches, walked.remote


#: klog's line header (``E1207 12:06:41.669195   18745 run.go:72] ``) and kubectl's wrapper.
_KLOG = re.compile(r'^[EWIF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] (?:"command failed" err=)?')


def _run(
    command: Sequence[str], cwd: Path | None, what: str, names: dict[str, str] | None = None
) -> str:
    env = {**os.environ, **_NO_NETWORK}
    try:
        done = programs.run(command, BOUNDS, cwd=cwd, env=env)
    except programs.TimedOut:
        raise RenderFailed(f"{what} did not finish in {TIMEOUT} s") from None
    except OSError as exc:
        raise RenderFailed(f"{what} could not run: {exc.strerror or exc}") from None
    if done.returncode != 0 and done.killed_by_memory:
        raise RenderFailed(
            f"{what} was stopped at {limits.RENDER_MEMORY_BYTES // (1024 * 1024)} MiB of memory"
        )
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        last = [_KLOG.sub("", line).strip().strip('"') for line in err if line.strip()]
        why = " ".join(last[-2:]) if last else f"exit status {done.returncode}"
        for said, meant in (names or {}).items():  # the temporary folder's names: the user's
            why = why.replace(said, meant)
        raise RenderFailed(f"{what} failed: {why}")
    return done.stdout.decode("utf-8", "replace")


def render_kustomize(overlay: Path) -> list[Chunk]:
    """What the overlay folder deploys, one :class:`Chunk` per file its objects came from.
    Raises :class:`RenderFailed` (one line) when it cannot be rendered here."""
    command = kustomize_command()
    if command is None:
        raise RenderFailed("neither kustomize nor kubectl is on PATH")
    _, _, remote = local_kustomizations(overlay)
    if remote:
        raise RenderFailed(
            f"names a remote resource ({remote[0]}); keelhaul never fetches over the network: "
            f"run `kubectl kustomize {overlay} | keelhaul check -` where the network is allowed"
        )
    with tempfile.TemporaryDirectory(prefix="keelhaul-kustomize-") as tmp:
        where = Path(tmp)
        relative = os.path.relpath(os.path.abspath(overlay), os.path.realpath(tmp))
        (where / "kustomization.yaml").write_text(
            f"resources:\n- {relative}\nbuildMetadata: [originAnnotations]\n", encoding="utf-8"
        )
        shown = " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(command))
        names = {os.path.abspath(overlay): str(overlay), relative: str(overlay)}
        output = _run([*command, os.path.realpath(tmp)], None, f"`{shown} {overlay}`", names)
        return _kustomize_chunks(output, Path(os.path.realpath(tmp)), overlay)


def render_changed(overlays: Sequence[Path], source: Path, text: str) -> list[Chunk]:
    """What ``overlays`` deploy from ``source`` once its text is ``text``: the overlays and
    every local kustomization they build on are copied to a temporary folder (the user's
    tree is never written), ``source`` is replaced there, and each overlay is rendered again.
    One chunk per overlay, named as the original. Raises :class:`RenderFailed` when an overlay
    does not render from the copy (it reads a file outside its kustomization folders)."""
    folders: list[Path] = []
    for overlay in overlays:
        chain, _, _ = local_kustomizations(overlay)
        folders += [f for f in chain if f not in folders]
    real = Path(os.path.abspath(source))
    top = Path(os.path.commonpath([*map(str, folders), str(real.parent)]))
    with tempfile.TemporaryDirectory(prefix="keelhaul-refix-") as tmp:
        copy = Path(os.path.realpath(tmp)) / "tree"
        for folder in sorted(folders, key=lambda f: len(f.parts)):
            shutil.copytree(
                folder,
                copy / folder.relative_to(top),
                dirs_exist_ok=True,
                symlinks=True,
                ignore=shutil.ignore_patterns(".git", ".hg", ".svn", "node_modules"),
            )
        changed = copy / real.relative_to(top)
        if not changed.is_file():
            raise RenderFailed(f"{source} is outside the kustomization folders of its overlays")
        changed.write_text(text, encoding="utf-8")
        out: list[Chunk] = []
        for overlay in overlays:
            inside = copy / Path(os.path.abspath(overlay)).relative_to(top)
            for chunk in render_kustomize(inside):
                if os.path.realpath(chunk.source) == str(changed):
                    out.append(Chunk(source, chunk.via.replace(str(inside), str(overlay)),
                                     chunk.text, chunk.cells, overlay))  # fmt: skip
        return out


def _documents(text: str) -> Iterator[str]:
    """The documents of a renderer's output, as text."""
    part: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.rstrip() == "---":
            if "".join(part).strip():
                yield "".join(part)
            part = []
        else:
            part.append(line)
    if "".join(part).strip():
        yield "".join(part)


def _strip_origin(text: str) -> str:
    """The document without its origin annotation (and ``annotations:`` when it was the
    only one), every other line kept as the renderer wrote it."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    skip_deeper: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if skip_deeper is not None:
            if line.strip() and indent > skip_deeper:
                continue
            skip_deeper = None
        if line.strip().startswith(f"{ORIGIN}:"):
            skip_deeper = indent
            continue
        out.append(line)
    kept: list[str] = []
    for index, line in enumerate(out):
        if line.strip() == "annotations:":
            indent = len(line) - len(line.lstrip(" "))
            following = next((x for x in out[index + 1 :] if x.strip()), "")
            if len(following) - len(following.lstrip(" ")) <= indent:
                continue
        kept.append(line)
    return "".join(kept)


def _origin_path(doc: object) -> str | None:
    if not isinstance(doc, dict):
        return None
    meta = doc.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    origin = notes.get(ORIGIN) if isinstance(notes, dict) else None
    if not isinstance(origin, str):
        return None
    match = re.search(r"^path:\s*(.+?)\s*$", origin, re.M)
    return match.group(1).strip("'\"") if match else None


def _find_object(docs: Iterable[object], kind: str, name: str) -> object | None:
    """The object of ``kind`` whose name the rendered ``name`` was made from (the same, or
    with a prefix or suffix added): the longest such name."""
    best: tuple[int, object] | None = None
    for doc in docs:
        k, n = _kind_name(doc)
        if k != kind or not n or n not in name:
            continue
        if best is None or len(n) > best[0]:
            best = (len(n), doc)
    return None if best is None else best[1]


def _kustomize_chunks(output: str, tmp: Path, overlay: Path) -> list[Chunk]:
    _, patch_files, _ = local_kustomizations(overlay)
    patches = [(p, _load(p)) for p in patch_files if p.is_file()]
    loaded: dict[Path, list[Any]] = {}
    chunks: dict[Path, Chunk] = {}
    via = f"the kustomize overlay {overlay}"
    for text in _documents(output):
        try:
            docs = load_documents(text, "kustomize output")
        except SyntaxProblem:
            continue
        if not docs:
            continue
        origin = _origin_path(docs[0])
        if origin is None:
            for chunk in _generated_chunks(docs[0], tmp, overlay):
                made = Chunk(chunk.source, chunk.via, overlay=overlay)
                chunks.setdefault(chunk.source, made).add(chunk.text, chunk.cells)
            continue
        source = Path(os.path.normpath(tmp / origin))
        if not source.is_file():
            continue
        display = Path(os.path.relpath(source)) if not overlay.is_absolute() else source
        stripped = _strip_origin(text)
        try:
            rendered = load_documents(stripped, "kustomize output")[0]
        except (SyntaxProblem, IndexError):
            continue
        if source not in loaded:
            loaded[source] = _load(source)
        kind, name = _kind_name(rendered)
        written = _find_object(loaded[source], kind, name)
        where = _places(written) if written is not None else {}
        rendered_values, written_values = _scalars(rendered), _scalars(written)
        first = Place(getattr(getattr(written, "lc", None), "line", 0) + 1)
        object_patches = [
            (p, _places(obj))
            for p, docs_of in patches
            for obj in [_find_object(docs_of, kind, name)]
            if obj is not None
        ]
        cells = {
            cell: _map_path(
                path, (rendered_values, written_values), where, first, object_patches, via, display
            )
            for cell, path in _cells_of(rendered).items()
        }
        chunk = chunks.setdefault(display, Chunk(display, via, overlay=overlay))
        chunk.add(stripped, cells)
    return list(chunks.values())


# --- generated ConfigMaps and Secrets ------------------------------------------------------

#: The generator kind an origin annotation names -> the kustomization field that lists them.
_GENERATORS = {"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}


def _generator_origin(doc: object) -> tuple[str, str] | None:
    """``(configuredIn, generator field)`` of an object a kustomize generator made."""
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    origin = notes.get(ORIGIN) if isinstance(notes, dict) else None
    if not isinstance(origin, str):
        return None
    where = re.search(r"^configuredIn:\s*(.+?)\s*$", origin, re.M)
    kind = re.search(r"^\s+kind:\s*(\w+)\s*$", origin, re.M)
    if where is None or kind is None or kind.group(1) not in _GENERATORS:
        return None
    return where.group(1).strip("'\""), _GENERATORS[kind.group(1)]


def _generator_entry(kustomization: Path, field_name: str, name: str) -> dict[Any, Any] | None:
    """The generator entry of ``kustomization`` whose ``name`` the rendered name was made
    from (a prefix, a suffix and the content hash added): the longest such name."""
    docs = _load(kustomization)
    doc = docs[0] if docs and isinstance(docs[0], dict) else {}
    entries = doc.get(field_name)
    best: dict[Any, Any] | None = None
    for entry in entries if isinstance(entries, list) else []:
        wanted = entry.get("name") if isinstance(entry, dict) else None
        longer = best is None or len(str(wanted)) > len(str(best.get("name")))
        if isinstance(wanted, str) and wanted and wanted in name and longer:
            best = entry
    return best


#: A line of an env file: ``KEY=value`` (kustomize's reading: ``#`` comments, blank lines
#: skipped, no ``export``).
_ENV_LINE = re.compile(r"^\s*([^#=\s][^=]*?)\s*=")


def _generated_sources(
    entry: dict[Any, Any], folder: Path
) -> dict[str, tuple[Path, int, int, str]]:
    """Each key a generator entry makes -> the file, line and column it is written at, and a
    note: a literal's item line in the kustomization, an env file's line, a ``files`` item."""
    out: dict[str, tuple[Path, int, int, str]] = {}
    kustomization = _kustomization_file(folder)
    envs = _strings(entry.get("envs")) + _strings(entry.get("env"))
    for name in envs:
        path = Path(os.path.normpath(folder / name))
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, 1):
            match = _ENV_LINE.match(line)
            if match is not None:
                out[match.group(1)] = (path, number, match.start(1) + 1, "")
    if kustomization is None:
        return out
    for field_name in ("files", "literals"):
        items = entry.get(field_name)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, str):
                continue
            key, eq, rest = item.partition("=")
            if field_name == "files":
                key = key if eq else os.path.basename(item)
            note = f"the file {rest if eq else item}" if field_name == "files" else ""
            try:
                line, column = getattr(items, "lc").item(index)  # noqa: B009
            except (AttributeError, KeyError, IndexError, TypeError):
                continue
            out[key.strip()] = (kustomization, line + 1, column + 1, note)
    return out


def _entry_place(entry: dict[Any, Any], kustomization: Path) -> tuple[Path, int, int, str] | None:
    """The ``name:`` of a generator entry: where a key it does not write itself is reported
    (a ``behavior: merge`` entry over a base's generator)."""
    try:
        line, column = entry.lc.value("name")  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    return kustomization, line + 1, column + 1, "a generator it merges with"


def _generated_chunks(doc: object, tmp: Path, overlay: Path) -> list[Chunk]:
    """A ConfigMap or Secret a ``configMapGenerator``/``secretGenerator`` made, as one chunk
    per file its values are written in: the kustomization (``literals``, ``files``) or an env
    file (``envs``), each value at its line there, so the one secret check reads it and its
    finding points at the line to change."""
    found = _generator_origin(doc)
    if found is None:
        return []
    configured_in, field_name = found
    kustomization = Path(os.path.normpath(tmp / configured_in))
    kind, name = _kind_name(doc)
    entry = _generator_entry(kustomization, field_name, name)
    if entry is None:
        return []
    sources = _generated_sources(entry, kustomization.parent)
    shown = _shown(kustomization, overlay)
    via = f"the {field_name} {entry.get('name')} of {shown}"
    by_file: dict[Path, list[tuple[str, str, str, tuple[int, int, str]]]] = {}
    for data_field in ("data", "stringData"):
        data = doc.get(data_field) if isinstance(doc, dict) else None
        for key, value in data.items() if isinstance(data, dict) else ():
            if not isinstance(value, str):
                continue
            source = sources.get(str(key)) or _entry_place(entry, kustomization)
            if source is None:
                continue
            path, line, column, note = source
            by_file.setdefault(path, []).append((data_field, str(key), value, (line, column, note)))
    out: list[Chunk] = []
    for path, items in by_file.items():
        text = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {json.dumps(name)}\n"
        places: dict[tuple[int, int], Place] = {}
        first = Place(items[0][3][0], items[0][3][1], f"generated by {via}")
        for n, (data_field, key, value, (line, column, note)) in enumerate(items):
            if n == 0 or items[n - 1][0] != data_field:
                text += f"{data_field}:\n"
            row = text.count("\n") + 1
            text += f"  {json.dumps(key)}: {json.dumps(value)}\n"
            said = f"generated by {via}" + (f" from {note}" if note else "")
            places[(row, 3)] = Place(line, column, said)
            places[(row, 5 + len(json.dumps(key)))] = Place(line, column, said)
        for row in range(1, 5):
            places.setdefault((row, 1), first)
        chunk = Chunk(_shown(path, overlay), via)
        chunk.add(text, places)
        out.append(chunk)
    return out


def _shown(path: Path, overlay: Path) -> Path:
    """A file as messages name it: relative when the overlay was named relatively."""
    return Path(os.path.relpath(path)) if not overlay.is_absolute() else path


def _map_path(
    path: KeyPath,
    values: tuple[dict[KeyPath, object], dict[KeyPath, object]],
    where: dict[KeyPath, tuple[int, int]],
    first: Place,
    patches: list[tuple[Path, dict[KeyPath, tuple[int, int]]]],
    via: str,
    source: Path,
) -> Place:
    """The place in the file of a rendered key path: the same path in the file's object;
    else (a value a patch set) the nearest enclosing key the file holds, noted."""
    rendered, written = values
    if path in where and (path[-1:] != ("=",) or rendered.get(path) == written.get(path)):
        return Place(*where[path])
    if path[-1:] == ("=",) and path[:-1] in where:  # the value was changed: its key's line
        key = path[:-1]
        return Place(*where[key], _patched(key, patches, via, source))
    note = _patched(path[:-1] if path[-1:] == ("=",) else path, patches, via, source)
    for cut in range(len(path) - 1, 0, -1):
        if path[:cut] in where:
            return Place(*where[path[:cut]], note)
    return Place(first.line, first.column, note)


def _patched(
    path: KeyPath,
    patches: list[tuple[Path, dict[KeyPath, tuple[int, int]]]],
    via: str,
    source: Path,
) -> str:
    for patch, at in patches:
        if path in at:
            shown = os.path.relpath(patch) if not source.is_absolute() else str(patch)
            return f"set by the patch {shown}:{at[path][0]}"
    return f"set by {via}, not in {source}"


# --- Helm ------------------------------------------------------------------------------


def helm_binary() -> str | None:
    """The ``helm`` on PATH, or None."""
    return shutil.which("helm")


def render_helm(chart: Path, values: Sequence[Path] = (), name: str = "keelhaul") -> list[Chunk]:
    """What ``helm template`` renders from the chart folder, one :class:`Chunk` per template.
    Raises :class:`RenderFailed` (one line) when it cannot be rendered here."""
    helm = helm_binary()
    if helm is None:
        raise RenderFailed("helm is not on PATH")
    command = [helm, "template", name, str(chart)]
    for each in values:
        command += ["-f", str(each)]
    output = _run(command, None, f"`helm template {name} {chart}`")
    return helm_chunks(output, chart)


_SOURCE = re.compile(r"^# Source: (?P<path>\S.*?)\s*$", re.M)


def helm_chunks(output: str, chart: Path) -> list[Chunk]:
    """``helm template`` output as chunks of the chart's templates: each object's ``# Source:
    CHART/templates/x.yaml`` comment names its template (a subchart's:
    ``CHART/charts/SUB/templates/x.yaml``)."""
    chunks: dict[Path, Chunk] = {}
    texts: dict[Path, list[str]] = {}
    via = f"the Helm chart {chart}"
    for text in _documents(output):
        match = _SOURCE.search(text)
        if match is None:
            continue
        inside = Path(match.group("path")).parts[1:]  # the chart's own name first
        source = chart.joinpath(*inside)
        if not source.is_file():
            continue
        try:
            docs = load_documents(text, "helm output")
        except SyntaxProblem:
            continue
        if not docs:
            continue
        if source not in texts:
            texts[source] = source.read_text(encoding="utf-8", errors="replace").splitlines()
        chunk = chunks.setdefault(source, Chunk(source, via))
        chunk.add(text, _helm_lines(text, docs[0], texts[source], via))
    return list(chunks.values())


def _helm_lines(
    text: str, doc: object, template: list[str], via: str
) -> dict[tuple[int, int], Place]:
    """Rendered place -> template line. The rendered lines are read in order with a cursor in
    the template, which moves to each line found written the same (a template and its output
    keep their order): a rendered line maps to the first template line from the cursor that
    reads the same (else any that does); else to the first from the cursor that sets the same
    key, as a list item or not alike (``- name: {{ .Chart.Name }}`` for ``- name: web``,
    noted); else to its container's line (a key the template never writes, from ``toYaml``,
    noted); else line 1, noted."""
    rendered = text.splitlines()
    written = [line.strip() for line in template]
    stripped = [line.removeprefix("- ") for line in written]
    out: dict[tuple[int, int], Place] = {}
    cursor = 0
    #: a container's (a named list item's) template line, by its key path
    anchors: dict[KeyPath, int] = {}
    for (line, column), path in sorted(_cells_of(doc).items()):
        raw = rendered[line - 1].strip() if line <= len(rendered) else ""
        said = raw.removeprefix("- ")
        item = raw.startswith("- ")
        ahead = range(cursor, len(written))
        same = next((i for i in ahead if written[i] == raw or stripped[i] == said), None)
        if same is not None:
            cursor = same
        else:
            same = next((i for i in range(len(stripped)) if stripped[i] == said), None)
        key = said.split(":", 1)[0] + ":" if ":" in said else None
        keyed = None
        if same is None and key is not None:
            keyed = next(
                (
                    i
                    for i in ahead
                    if stripped[i].startswith(key) and written[i].startswith("- ") == item
                ),
                None,
            )
        anchor = next(
            (anchors[path[:n]] for n in range(len(path) - 1, 0, -1) if path[:n] in anchors),
            None,
        )
        if same is not None:
            place = Place(same + 1)
        elif keyed is not None:
            place = Place(keyed + 1, 1, f"rendered by {via} from a template expression: `{said}`")
        elif anchor is not None:
            place = Place(anchor, 1, f"rendered by {via}: `{said}` is not written in the template")
        else:
            place = Place(1, 1, f"rendered by {via}: `{said}` was not found in the template")
        out[(line, column)] = place
        if path and path[-1].startswith("[") and not path[-1][1:-1].isdigit():
            anchors.setdefault(path, place.line)
    return out
