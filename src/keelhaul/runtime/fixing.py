"""``keelhaul fix`` for Kubernetes manifests and Compose files: add the run-time hardening.

Kubernetes, per container (``containers`` and ``initContainers``; ephemeral containers are
left alone), a ``securityContext`` with what is missing of:

- ``runAsNonRoot: true`` (not when the container or pod says ``runAsUser: 0``: that is a
  choice, and the two together would never start);
- ``allowPrivilegeEscalation: false`` (not for a privileged container or one that adds
  SYS_ADMIN: the API server refuses that combination);
- ``readOnlyRootFilesystem: true``, with an ``emptyDir`` volume mounted at ``/tmp`` (unless
  something is mounted there already);
- ``capabilities: {drop: [ALL]}``, plus ``add: [NET_BIND_SERVICE]`` when the container
  declares a ``containerPort`` below 1024;
- ``seccompProfile: {type: RuntimeDefault}`` (unless the pod sets a profile).

A Windows pod (``spec.os.name: windows``) is left alone: those fields are Linux-only.

Tekton task specs (Task, TaskRun, Pipeline and PipelineRun ``taskSpec``s): a setting every
step was reported for goes once into the task's ``stepTemplate`` (made when there is none;
Tekton merges it under each step, a step's own value winning), with its ``/tmp`` volume in
the task's ``volumes``; it stays per step when the steps' images need different things, when
a step the user silenced would change too, or when a step's own setting would clash with it
(``runAsUser: 0`` under ``runAsNonRoot``, a privileged step under
``allowPrivilegeEscalation: false``). A path the template already mounts (its
``volumeMounts`` reach every step) is not mounted again in a step: a second mount at one path
is refused by the API server. Sidecars, which the template does not reach, are fixed one by
one.

Compose, per service: ``cap_drop: [ALL]`` (``cap_add: [NET_BIND_SERVICE]`` when it publishes or
exposes a port below 1024), ``read_only: true`` with ``tmpfs: [/tmp]``, and
``security_opt: [no-new-privileges:true]``. ``user:`` is not added: a UID that the image does not
expect breaks it in ways no file says (files owned by root, a ``/home`` that is not there), so
the root-user finding stays for a person to settle. ALL is dropped only together with the
capabilities the image needs added back, and ``read_only`` goes in only with its writable
paths (a ``tmpfs`` written as one string cannot take more: no ``read_only`` then). A list a
service gets through a merge key (``<<: *common``) is shared with every service merging it:
it is never edited; the service gets its own key instead, repeating the merged items (a key
of the service's own replaces the merged one). The output is valid under the Compose
Specification's JSON schema (tests/runtime/test_compose_schema.py; no item twice).

A setting the file already writes is never changed, even when it is the insecure value
(``privileged: true``, ``read_only: false``): that is a decision, and the checks report it.

Safety: keelhaul calls a fix safe when it keeps the meaning. Every one of these changes what
the container may do (that is the point), and can stop a program that writes to its root
filesystem or needs a capability, so all are unsafe fixes: they apply with
``--unsafe-fixes`` only.

How the text changes: not through a YAML dump, which rewrites quoting, indentation, long lines
and comments of the whole file, but by inserting lines (and, in a flow sequence such as
``cap_drop: [NET_RAW]``, an item) at the places ruamel's round-trip loader reports. Everything
else stays byte for byte; the indentation of the new lines follows the file's own. The result
is parsed again, and must hold exactly the old data plus the new fields, or nothing changes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from keelhaul.runtime.compose import has_variable, read_compose, services_of
from keelhaul.runtime.images import needs_of
from keelhaul.runtime.kubernetes import TEMPLATE_PATHS, tekton_task_specs, workload_documents
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.yaml_documents import YamlFile, load_documents, value_interiors, yaml_file

__all__ = [
    "FIXED_CODES",
    "Change",
    "fix_compose",
    "fix_docker_run",
    "fix_kubernetes",
    "fix_runtime_text",
]

#: The findings whose settings the fixes add (all unsafe: see the module documentation).
CAPABILITIES = "KH400"
"""``capabilities.drop: [ALL]`` / ``cap_drop: [ALL]`` (with NET_BIND_SERVICE for a low port)."""
READ_ONLY = "KH405"
"""``readOnlyRootFilesystem: true`` / ``read_only: true``, with a writable /tmp."""
NON_ROOT = "KH410"
"""``runAsNonRoot: true`` (Kubernetes only)."""
ESCALATION = "KH416"
"""``allowPrivilegeEscalation: false`` / ``security_opt: [no-new-privileges:true]``."""
SECCOMP = "KH418"
"""``seccompProfile: {type: RuntimeDefault}`` (Kubernetes only)."""
FIXED_CODES = frozenset({CAPABILITIES, READ_ONLY, NON_ROOT, ESCALATION, SECCOMP})
Wanted = Callable[[str, int], bool] | None

#: What a fix inserts: a scalar, a list of scalars, a mapping (a list of pairs), or a list of
#: mappings.
Tree = str | list[str] | list[tuple[str, "Tree"]] | list[list[tuple[str, "Tree"]]]

_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_DASH_LINE = re.compile(r"^( *)- ")
_DOC_MARK = re.compile(r"^(?:---|\.\.\.)(?:[ \t]|\r?$)")


@dataclass
class Change:
    """What fixing a file did (or would do)."""

    text: str
    added: list[str] = field(default_factory=list)
    """One line per setting added: ``services.web: cap_drop [ALL]``."""
    skipped: list[str] = field(default_factory=list)
    """Settings that could not be added (a flow mapping, a value that is a variable...)."""


@dataclass
class _Edits:
    """Insertions and small replacements at offsets of the original text."""

    text: str
    newline: str = "\n"
    step: int = 2
    dash: int = 2
    styles: list[tuple[int, int, int]] = field(default_factory=list)
    ops: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    """(offset, minus the column, order, length to delete, text to insert): at one offset the
    end of an inner mapping comes before the end of the mapping around it."""
    lines: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    _interiors: set[int] | None = None

    @property
    def interiors(self) -> set[int]:
        """Lines that continue a multi-line value (see :func:`value_interiors`): never a
        place to insert before, nor the end of a block (issue 23 item 20)."""
        if self._interiors is None:
            self._interiors = value_interiors(self.text)
        return self._interiors

    def __post_init__(self) -> None:
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        self.lines = self.text.split("\n")
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line) + 1
        self.step, self.dash = _indent_style(self.lines)
        # each document of a multi-document file keeps its own style
        marks = [i for i, line in enumerate(self.lines) if _DOC_MARK.match(line)]
        self.styles = [
            (start, *_indent_style(self.lines[start:end]))
            for start, end in zip([0, *marks], [*marks, len(self.lines)], strict=True)
        ]

    def style_at(self, line: int) -> tuple[int, int]:
        """The indentation step and dash offset of the document holding ``line``."""
        found = (self.step, self.dash)
        for start, step, dash in self.styles:
            if start <= line:
                found = (step, dash)
        return found

    def offset_of_line(self, index: int) -> int:
        return self.starts[index] if index < len(self.starts) else len(self.text)

    def insert_lines(self, index: int, body: list[str], col: int = 0) -> bool:
        """Whole lines before line ``index`` (0-based; past the end: at the end); False (and
        nothing inserted) when line ``index`` continues a multi-line value."""
        if index in self.interiors:
            return False
        offset = self.offset_of_line(index)
        chunk = "".join(line + self.newline for line in body)
        if offset >= len(self.text) and self.text and not self.text.endswith("\n"):
            chunk = self.newline + chunk.removesuffix(self.newline)
        self.ops.append((offset, -col, len(self.ops), 0, chunk))
        return True

    def replace(self, offset: int, length: int, new: str) -> None:
        self.ops.append((offset, 0, len(self.ops), length, new))

    def apply(self) -> str:
        out = self.text
        for offset, _col, _order, length, new in sorted(self.ops, reverse=True):
            out = out[:offset] + new + out[offset + length :]
        return out

    # ---------------------------------------------------------------------------------------

    def block_end(self, first: int, col: int) -> int:
        """The line after the last line of the block mapping whose keys start at ``col`` and
        whose first key is on line ``first``: trailing blank and comment lines excluded."""
        last = first
        i = first + 1
        while i < len(self.lines):
            line = self.lines[i].rstrip("\r")
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if i in self.interiors:  # inside a value begun above, whatever it looks like
                last = i
                i += 1
                continue
            if stripped == "" or stripped.startswith("#"):
                i += 1
                continue
            if indent >= col:  # a sibling key, a nested value, or a sequence at key level
                last = i
                i += 1
                continue
            break
        return last + 1

    def add_keys(self, node: CommentedMap, pairs: list[tuple[str, Tree]]) -> bool:
        """Add ``pairs`` at the end of the block mapping ``node``."""
        if not pairs:
            return True
        if node.fa.flow_style() or not node:
            return False
        # where its own keys are (keys a merge key ``<<`` brings in are written elsewhere)
        # (none at all for a mapping made only of a merge key: ruamel leaves its data None)
        own = [(int(p[0]), int(p[1])) for p in (getattr(node.lc, "data", None) or {}).values()]
        if not own:
            return False
        first, col = min(own)
        step, dash = self.style_at(first)
        body: list[str] = []
        _render(pairs, col, step, dash, body)
        return self.insert_lines(self.block_end(first, col), body, col)

    def add_under_empty(
        self, parent: CommentedMap, key: str, pairs: list[tuple[str, Tree]]
    ) -> bool:
        """``key:`` with no value, or ``key: {}``, gets ``pairs`` below it."""
        try:
            key_line, key_col = parent.lc.key(key)
        except (KeyError, TypeError):
            return False
        value = parent.get(key)
        if value is not None:
            if not isinstance(value, CommentedMap) or value:
                return False
            value_line, value_col = parent.lc.value(key)
            line = self.lines[value_line]
            if not line[value_col:].startswith("{}"):
                return False
            start = self.starts[value_line] + value_col
            while start > self.starts[value_line] and self.text[start - 1] == " ":
                start -= 1  # no trailing blank after "key:"
        step, dash = self.style_at(key_line)
        body: list[str] = []
        _render(pairs, key_col + step, step, dash, body)
        if key_line + 1 in self.interiors:
            return False
        if value is not None:
            self.replace(start, self.starts[value_line] + value_col + 2 - start, "")
        return self.insert_lines(key_line + 1, body, key_col + step)

    def add_items(self, parent: CommentedMap, key: str, items: list[Tree]) -> bool:
        """Add ``items`` to the sequence ``parent[key]`` (block: lines before its first item;
        flow: after the ``[``)."""
        seq = parent.get(key)
        if not isinstance(seq, CommentedSeq):
            return False
        if seq.fa.flow_style() or not seq:  # an empty sequence is written `[]`
            if not all(isinstance(i, str) for i in items):
                return False
            try:
                line, col = parent.lc.value(key)
            except (KeyError, TypeError):  # brought in by a merge key: written elsewhere
                return False
            if self.lines[line][col : col + 1] != "[":
                return False
            after = self.lines[line][col + 1 :].lstrip()
            joined = ", ".join(str(i) for i in items)
            text = joined if after.startswith("]") else joined + ", "
            self.replace(self.starts[line] + col + 1, 0, text)
            return True
        line, col = seq.lc.item(0)
        prefix = self.lines[line][:col]
        if prefix.strip() != "-":
            return False
        body: list[str] = []
        for item in items:
            if isinstance(item, str):
                body.append(prefix + item)
            else:
                assert isinstance(item, list)
                step, dash = self.style_at(line)
                _render_item(item, prefix, body, step, dash)  # type: ignore[arg-type]
        return self.insert_lines(line, body, col)


def _indent_style(lines: list[str]) -> tuple[int, int]:
    """The file's indentation step and how far a sequence's dash sits under its key."""
    step: int | None = None
    dash: int | None = None
    for a, b in itertools.pairwise(lines):
        key = _KEY_LINE.match(a.rstrip("\r"))
        if key is None:
            continue
        indent = len(key.group(1))
        nested = len(b) - len(b.lstrip(" "))
        if _DASH_LINE.match(b):
            if dash is None and nested >= indent:
                dash = nested - indent
        elif step is None and nested > indent and b.strip() and not b.lstrip().startswith("#"):
            step = nested - indent
        if step is not None and dash is not None:
            break
    step = step if step in (2, 3, 4, 8) else 2
    return step, dash if dash is not None and dash <= step else step


def _render(pairs: list[tuple[str, Tree]], col: int, step: int, dash: int, out: list[str]) -> None:
    pad = " " * col
    for key, value in pairs:
        if isinstance(value, str):
            out.append(f"{pad}{key}: {value}")
            continue
        out.append(f"{pad}{key}:")
        if value and isinstance(value[0], tuple):
            _render(value, col + step, step, dash, out)
            continue
        prefix = " " * (col + dash) + "- "
        for item in value:
            if isinstance(item, str):
                out.append(prefix + item)
            else:
                _render_item(item, prefix, out, step, dash)  # type: ignore[arg-type]


def _render_item(
    pairs: list[tuple[str, Tree]], prefix: str, out: list[str], step: int, dash: int
) -> None:
    """A mapping as a sequence item: its first key on the dash line."""
    first: list[str] = []
    _render(pairs, len(prefix), step, dash, first)
    out.append(prefix + first[0][len(prefix) :])
    out.extend(first[1:])


# --------------------------------------------------------------------------------------------
# Compose


def _low_port(ports: list[int | None]) -> bool:
    return any(p is not None and 0 < p < 1024 for p in ports)


def _has(items: object, wanted: str) -> bool:
    if not isinstance(items, list):
        return False
    return any(str(i).strip().upper().removeprefix("CAP_") == wanted for i in items)


def fix_compose(text: str | YamlFile, name: str = "", wanted: Wanted = None) -> Change:
    """The hardened Compose file (see the module documentation)."""
    source = yaml_file(text, name)
    docs = source.documents()
    edits = _Edits(source.text)
    change = Change(source.text)
    runs = {run.name: run for run in read_compose(source)}
    for doc in docs:
        for service, node in services_of(doc).items():
            run = runs.get(service)
            if run is None or (run.image is None and "build" not in run.extra):
                continue
            line = run.where.line

            def asked(code: str, line: int = line) -> bool:
                return wanted is None or wanted(code, line)

            _fix_service(edits, change, service, node, run, asked)
    return _finish(edits, change, source.name, "compose")


def _fix_service(
    edits: _Edits,
    change: Change,
    service: str,
    node: CommentedMap,
    run: ContainerRun,
    asked: Callable[[str], bool],
) -> None:
    where = f"services.{service}"
    if node.fa.flow_style():  # no new keys go in; its lists alone must not change either
        change.skipped.append(f"{where}: a flow mapping; keelhaul does not rewrite it")
        return
    new: list[tuple[str, Tree]] = []
    low = _low_port([p.container_port for p in run.ports] + _expose(node))
    from keelhaul.runtime.checks._common import capability

    dropped = {capability(v.value) for v in run.cap_drop}
    added = {capability(v.value) for v in run.cap_add}
    image = run.image.value if run.image is not None else ""
    needs = needs_of(image)
    if "ALL" not in dropped and asked(CAPABILITIES):
        back = list(needs.capabilities) if needs is not None and needs.starts_as_root else []
        if low:
            back.append("NET_BIND_SERVICE")
        back = [c for c in dict.fromkeys(back) if c not in added] if "ALL" not in added else []
        merged_add = _merged(node, "cap_add")
        if "cap_drop" in node and not _editable(node, "cap_drop") and _own(node, "cap_drop"):
            change.skipped.append(f"{where}: cap_drop (written in a form keelhaul cannot edit)")
        else:  # the capabilities added back first: ALL is dropped only with them
            at, noted = len(new), len(change.added)
            if not _add_back(edits, change, where, node, back, new, merged_add):
                change.skipped.append(
                    f"{where}: cap_drop ALL not added: cap_add is written in a form keelhaul "
                    f"cannot edit, and {image or 'the service'} needs {', '.join(back)} added back"
                )
            elif _own(node, "cap_drop"):
                edits.add_items(node, "cap_drop", ["ALL"])  # _editable
                change.added.insert(noted, f"{where}: cap_drop ALL")
            else:  # absent, or brought in by a merge key: the service's own (ALL covers it)
                new.insert(at, ("cap_drop", ["ALL"]))
                change.added.insert(noted, f"{where}: cap_drop [ALL]")
    if run.read_only_root is None and "read_only" not in node and asked(READ_ONLY):
        covered = [m.target.rstrip("/") + "/" for m in run.mounts if m.target]

        def mounted(path: str) -> bool:
            return any((path.rstrip("/") + "/").startswith(c) for c in covered)

        data = [p for p in (needs.data if needs else ()) if not mounted(p)]
        scratch = [p for p in ("/tmp", *(needs.scratch if needs else ())) if not mounted(p)]
        merged_tmpfs = _merged(node, "tmpfs", scalar=True)
        if data:
            change.skipped.append(
                f"{where}: read_only not added: {image} writes its data to {', '.join(data)}, "
                "which needs a volume of your choice mounted there first"
            )
        elif scratch and "tmpfs" in node and merged_tmpfs is None and not _editable(node, "tmpfs"):
            change.skipped.append(
                f"{where}: read_only not added: tmpfs is written in a form keelhaul cannot edit "
                f"(one string, or null), and {', '.join(scratch)} must stay writable"
            )
        elif (
            scratch
            and "tmpfs" in node
            and merged_tmpfs is None
            and not edits.add_items(node, "tmpfs", list(scratch))
        ):
            change.skipped.append(
                f"{where}: read_only not added: its tmpfs list could not be edited, and "
                f"{', '.join(scratch)} must stay writable"
            )
        else:  # the writable paths are in (or go in with it): read_only only with them
            new.append(("read_only", "true"))
            change.added.append(f"{where}: read_only true")
            if scratch and merged_tmpfs is not None:
                new.append(("tmpfs", [*map(_plain, merged_tmpfs), *scratch]))
            elif scratch and "tmpfs" not in node:
                new.append(("tmpfs", scratch))
            if scratch:
                change.added.append(f"{where}: tmpfs {', '.join(scratch)}")
    if run.no_new_privileges is None and asked(ESCALATION):
        merged_opts = _merged(node, "security_opt")
        if merged_opts is not None:
            new.append(("security_opt", [*map(_plain, merged_opts), "no-new-privileges:true"]))
            change.added.append(f"{where}: security_opt no-new-privileges:true")
        elif "security_opt" in node:
            if edits.add_items(node, "security_opt", ["no-new-privileges:true"]):
                change.added.append(f"{where}: security_opt no-new-privileges:true")
            else:
                change.skipped.append(
                    f"{where}: security_opt (written in a form keelhaul cannot edit)"
                )
        else:
            new.append(("security_opt", ["no-new-privileges:true"]))
            change.added.append(f"{where}: security_opt [no-new-privileges:true]")
    if new and not edits.add_keys(node, new):
        change.skipped.append(f"{where}: a flow mapping; keelhaul does not rewrite it")


def _add_back(
    edits: _Edits,
    change: Change,
    where: str,
    node: CommentedMap,
    back: list[str],
    new: list[tuple[str, Tree]],
    merged: list[str] | None,
) -> bool:
    """The capabilities the image needs added back after ``cap_drop: [ALL]``; False when
    the service's ``cap_add`` cannot take them (then ALL must not be dropped)."""
    if not back:
        return True
    if merged is not None:  # the service's own list: the merged one's items and these
        new.append(("cap_add", [*map(_plain, merged), *back]))
    elif "cap_add" not in node:
        new.append(("cap_add", list(back)))
    elif not edits.add_items(node, "cap_add", list(back)):
        return False
    change.added.append(f"{where}: cap_add {', '.join(back)}")
    return True


def _own(node: CommentedMap, key: str) -> bool:
    """Whether ``key`` is written in ``node`` itself, not brought in by a merge key (``<<:
    *common``): an item added to a merged list would change every service sharing it."""
    return key in (getattr(node.lc, "data", None) or {})


def _merged(node: CommentedMap, key: str, scalar: bool = False) -> list[str] | None:
    """The items of a list ``node`` gets only through a merge key (with ``scalar``, a string
    too, as ``tmpfs: /run`` is one item); None when ``key`` is not merged or holds something
    else. A key of the service's own replaces it (YAML merge keys), so that key must repeat
    these items."""
    if key not in node or _own(node, key):
        return None
    value = node[key]
    if scalar and isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(i, str) for i in value):
        return list(value)
    return None


def _editable(node: CommentedMap, key: str) -> bool:
    """Whether :meth:`_Edits.add_items` can add to the service's own list ``key``: a
    sequence (block, or flow such as ``[]``) written in the service itself."""
    return _own(node, key) and isinstance(node.get(key), CommentedSeq)


#: A string YAML reads back as itself when written bare in a block sequence (less the words
#: and numbers of :data:`_NOT_BARE`).
_BARE = re.compile(r"^[A-Za-z_/.@=+%][A-Za-z0-9_/.@=+%:,-]*(?<!:)$")
#: Bare words YAML 1.1 or 1.2 reads as booleans or null.
_NOT_BARE = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null"})


def _plain(item: str) -> str:
    """``item`` as a block sequence item: bare when YAML reads it back the same, else in
    double quotes (JSON's escaping is YAML's)."""
    import json

    if _BARE.match(item) and item.lower() not in _NOT_BARE:
        return item
    return json.dumps(item)


def _expose(node: CommentedMap) -> list[int | None]:
    out: list[int | None] = []
    raw = node.get("expose")
    for item in raw if isinstance(raw, list) else []:
        text = str(item).split("/", 1)[0].split("-", 1)[0].strip()
        out.append(int(text) if text.isdigit() and not has_variable(text) else None)
    return out


# --------------------------------------------------------------------------------------------
# Kubernetes

TMP_VOLUME = "tmp"
#: The IDs a container gets with runAsNonRoot when its image's user is root or unknown: the
#: kubelet refuses runAsNonRoot alone for an image whose user is root.
NON_ROOT_IDS = "10001:10001"


def _listed(doc: object, keep: Callable[[CommentedMap], bool]) -> Iterator[CommentedMap]:
    """The objects of ``doc`` that ``keep`` takes: ``doc`` itself, or the items of a
    ``...List`` (``kind: List``, ``DeploymentList``), at any depth."""
    if not isinstance(doc, CommentedMap):
        return
    kind, items = doc.get("kind"), doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            yield from _listed(item, keep)
    elif keep(doc):
        yield doc


def _objects(doc: object) -> Iterator[CommentedMap]:
    return _listed(doc, lambda obj: str(obj.get("kind")) in TEMPLATE_PATHS)


def _pod_spec(obj: CommentedMap) -> CommentedMap | None:
    node: object = obj
    for key in TEMPLATE_PATHS[str(obj["kind"])]:
        node = node.get(key) if isinstance(node, CommentedMap) else None
    spec = node.get("spec") if isinstance(node, CommentedMap) else None
    return spec if isinstance(spec, CommentedMap) else None


def fix_kubernetes(text: str | YamlFile, name: str = "", wanted: Wanted = None) -> Change:
    """The hardened manifests (see the module documentation)."""
    source = yaml_file(text, name)
    docs = source.documents(workload_documents)
    edits = _Edits(source.text)
    change = Change(source.text)
    for doc in docs:
        for obj in _objects(doc):
            spec = _pod_spec(obj)
            if spec is not None:
                meta = obj.get("metadata")
                named = meta.get("name", "?") if isinstance(meta, dict) else "?"  # may be a string
                label = f"{obj.get('kind')}/{named}"
                _fix_pod(edits, change, spec, label, wanted)
        for obj in _tekton_objects(doc):
            label = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name', '?')}"
            for task, pod_template in tekton_task_specs(obj):
                if isinstance(task, CommentedMap):
                    pod_sc = _flag(pod_template, "securityContext")
                    _fix_task(edits, change, task, pod_sc, label, wanted)
    return _finish(edits, change, source.name, "kubernetes")


def _tekton_objects(doc: object) -> Iterator[CommentedMap]:
    return _listed(doc, lambda obj: str(obj.get("apiVersion", "")).startswith("tekton.dev/"))


#: What each fixed code writes in a ``securityContext``: a step that writes one of these keys
#: itself keeps its own value whatever its ``stepTemplate`` says.
_KEYS_OF = {
    NON_ROOT: ("runAsNonRoot",),
    ESCALATION: ("allowPrivilegeEscalation",),
    READ_ONLY: ("readOnlyRootFilesystem",),
    CAPABILITIES: ("capabilities",),
    SECCOMP: ("seccompProfile",),
}


def _template_codes(
    steps: CommentedSeq, template: object, asked: Callable[[str, int], bool]
) -> tuple[set[str], str | None]:
    """The codes whose fix belongs in the task's ``stepTemplate`` (Tekton merges it under
    every step, a step's own value winning): every step either was reported for the code or
    writes the setting itself, the steps reported run images the image table says the same
    about, and nothing a step writes would turn the template's value into a pod that does not
    start (``runAsUser: 0`` under ``runAsNonRoot``, a privileged step under
    ``allowPrivilegeEscalation: false``). With the image that stands for the reported steps."""
    items = [(s, _item_line(steps, i)) for i, s in enumerate(steps) if isinstance(s, CommentedMap)]
    if len(items) != len(steps) or not items:
        return set(), None
    if len(items) == 1 and not isinstance(template, CommentedMap):
        return set(), None  # one step and no template: the step is the place
    t_sc = _flag(template, "securityContext")
    chosen: set[str] = set()
    image: str | None = None
    for code, keys in _KEYS_OF.items():
        reported = [(s, line) for s, line in items if asked(code, line)]
        if not reported:
            continue
        own = [s for s, line in items if (s, line) not in reported]
        if any(not any(k in _map(_flag(s, "securityContext")) for k in keys) for s in own):
            continue  # a step not reported would change too
        images = {str(s.get("image") or "") for s, _line in reported}
        if len({needs_of(i) for i in images}) != 1:
            continue
        if any(_blocks(code, s, t_sc) for s, _line in items):
            continue
        if any(_low_container_port(s) for s, _line in reported):
            continue
        chosen.add(code)
        image = image or sorted(images)[0]
    return chosen, image


def _blocks(code: str, step: CommentedMap, template_sc: object) -> bool:
    """Whether a step's own settings clash with ``code``'s setting in the template."""
    sc = _flag(step, "securityContext")
    if code == NON_ROOT:
        return _flag(sc, "runAsUser") == 0 or (
            "runAsUser" not in _map(sc) and _flag(template_sc, "runAsUser") == 0
        )
    if code == ESCALATION:
        added = _flag(_flag(sc, "capabilities"), "add")
        return _flag(sc, "privileged") is True or "SYS_ADMIN" in [
            str(c).upper().removeprefix("CAP_") for c in (added if isinstance(added, list) else [])
        ]
    return False


def _low_container_port(container: CommentedMap) -> bool:
    return any(
        isinstance(p, CommentedMap)
        and isinstance(p.get("containerPort"), int)
        and 0 < p["containerPort"] < 1024
        for p in (container.get("ports") or [])
    )


def _fix_task(
    edits: _Edits, change: Change, task: CommentedMap, pod_sc: object, label: str, wanted: Wanted
) -> None:
    """Harden a Tekton task spec: what every step lacks goes into its ``stepTemplate`` (made
    when there is none); the rest into the steps and sidecars themselves."""

    def asked(code: str, line: int) -> bool:
        return wanted is None or wanted(code, line)

    pod = pod_sc if isinstance(pod_sc, CommentedMap) else CommentedMap()
    steps = task.get("steps")
    template = task.get("stepTemplate")
    if not isinstance(steps, CommentedSeq) or (
        template is not None and not isinstance(template, CommentedMap)
    ):
        change.skipped.append(f"{label}: steps written in a form keelhaul cannot edit")
        return
    codes, image = _template_codes(steps, template, asked)
    where = f"{label} stepTemplate"
    writable: list[tuple[CommentedMap, list[str]]] = []
    made: list[tuple[str, Tree]] = []  # the securityContext of a stepTemplate to be made
    made_paths: list[str] = []
    if codes and isinstance(template, CommentedMap) and template:
        paths = _fix_container(edits, change, template, pod, where, codes.__contains__, image=image)
        if paths:
            writable.append((template, paths))
    elif codes:
        made_paths = _fix_container(
            edits, change, CommentedMap(), pod, where, codes.__contains__, image=image, out=made
        )
    # a step sees its template's securityContext as a container sees its pod's
    inherited = CommentedMap(pod)
    for key, value in _map(_flag(template, "securityContext")).items():
        inherited[key] = value
    for key, value in made:
        inherited[key] = value
    for group in ("steps", "sidecars"):
        containers = task.get(group)
        if not isinstance(containers, CommentedSeq):
            continue
        for index, container in enumerate(containers):
            if not isinstance(container, CommentedMap):
                continue
            line = _item_line(containers, index)
            skip = codes if group == "steps" else set()

            def step_asked(code: str, line: int = line, skip: set[str] = skip) -> bool:
                return code not in skip and asked(code, line)

            cname = f"{label} {group[:-1]} {container.get('name', '?')}"
            base = inherited if group == "steps" else pod
            above = _flag(template, "volumeMounts") if group == "steps" else None
            paths = _fix_container(
                edits, change, container, base, cname, step_asked, inherited=above
            )
            if paths:
                writable.append((container, paths))
    names: dict[str, str] | None = {}
    if made_paths:
        every = made_paths + [p for _c, paths in writable for p in paths]
        names = _add_volumes(edits, change, task, every, label)
        if names is not None:
            _add_mounts(edits, change, writable, names, label)
    elif writable:
        _add_writable(edits, change, task, writable, label)
    if not made and not made_paths:
        return
    body: list[tuple[str, Tree]] = [("securityContext", made)] if made else []
    if made_paths and names:
        mounts: list[list[tuple[str, Tree]]] = [
            [("name", names[p]), ("mountPath", p)] for p in made_paths
        ]
        body.append(("volumeMounts", mounts))
    if edits.add_keys(task, [("stepTemplate", body)]):
        change.added.append(f"{where}: securityContext {', '.join(k for k, _ in made)}")
    else:
        change.skipped.append(f"{label}: a task spec keelhaul cannot edit")


def _fix_pod(edits: _Edits, change: Change, spec: CommentedMap, label: str, wanted: Wanted) -> None:
    os_spec = spec.get("os")
    if isinstance(os_spec, CommentedMap) and str(os_spec.get("name", "")).lower() == "windows":
        # the API server refuses Linux-only securityContext fields in a Windows pod
        change.skipped.append(f"{label}: a Windows pod; the Linux hardening does not apply")
        return
    pod_sc = spec.get("securityContext")
    pod_sc = pod_sc if isinstance(pod_sc, CommentedMap) else CommentedMap()
    writable: list[tuple[CommentedMap, list[str]]] = []
    for group in ("initContainers", "containers"):
        containers = spec.get(group)
        if not isinstance(containers, CommentedSeq):
            continue
        for index, container in enumerate(containers):
            if isinstance(container, CommentedMap):
                cname = f"{label} {group[:-1]} {container.get('name', '?')}"
                line = _item_line(containers, index)

                def asked(code: str, line: int = line) -> bool:
                    return wanted is None or wanted(code, line)

                paths = _fix_container(edits, change, container, pod_sc, cname, asked)
                if paths:
                    writable.append((container, paths))
    if writable:
        _add_writable(edits, change, spec, writable, label)


def _map(node: object) -> CommentedMap:
    """``node`` when it is a mapping, else an empty one."""
    return node if isinstance(node, CommentedMap) else CommentedMap()


def _flag(node: object, key: str) -> object:
    return node.get(key) if isinstance(node, CommentedMap) else None


def _item_line(seq: CommentedSeq, index: int) -> int:
    """The 1-based line of ``seq[index]``, as the reader's ``ContainerRun.where`` says it."""
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return 0


def _fix_container(
    edits: _Edits,
    change: Change,
    container: CommentedMap,
    pod_sc: CommentedMap,
    cname: str,
    asked: Callable[[str], bool],
    *,
    image: str | None = None,
    out: list[tuple[str, Tree]] | None = None,
    inherited: object = None,
) -> list[str]:
    """Harden one container; the paths that then need an ``emptyDir`` mounted. ``image``
    stands for the container's own (a Tekton ``stepTemplate`` has none); with ``out`` the
    ``securityContext`` pairs are handed back there instead of written (a ``stepTemplate``
    still to be made); ``inherited``: the ``volumeMounts`` a Tekton step gets from its
    ``stepTemplate`` (a path mounted there is mounted in the step: another mount at it would
    be a second one at the same path, which the API server refuses)."""
    sc = container.get("securityContext")
    if sc is not None and not isinstance(sc, CommentedMap):
        change.skipped.append(f"{cname}: securityContext is not a mapping")
        return []
    sc = sc if isinstance(sc, CommentedMap) else CommentedMap()
    image = image if image is not None else str(container.get("image") or "")
    needs = needs_of(image)
    new: list[tuple[str, Tree]] = []
    run_as_user = _flag(sc, "runAsUser") if "runAsUser" in sc else _flag(pod_sc, "runAsUser")
    if (
        "runAsNonRoot" not in sc
        and "runAsNonRoot" not in pod_sc
        and run_as_user != 0
        and asked(NON_ROOT)
    ):
        if needs is not None and needs.starts_as_root:
            change.skipped.append(
                f"{cname}: runAsNonRoot not added: {image} starts as root to prepare its "
                f"folders, then drops to {needs.user or 'its user'} ({needs.source})"
            )
        else:
            new.append(("runAsNonRoot", "true"))
            if run_as_user is None:  # the kubelet refuses runAsNonRoot for a root image
                uid, _, gid = (needs.user if needs and needs.user else NON_ROOT_IDS).partition(":")
                new.append(("runAsUser", uid))
                if "runAsGroup" not in sc and "runAsGroup" not in pod_sc:
                    new.append(("runAsGroup", gid))
    caps = sc.get("capabilities")
    raw_add = _flag(caps, "add")
    added = [
        str(c).upper().removeprefix("CAP_") for c in (raw_add if isinstance(raw_add, list) else [])
    ]
    if (
        "allowPrivilegeEscalation" not in sc
        and _flag(sc, "privileged") is not True
        and "SYS_ADMIN" not in added
        and asked(ESCALATION)
    ):
        new.append(("allowPrivilegeEscalation", "false"))
    paths: list[str] = []
    if "readOnlyRootFilesystem" not in sc and asked(READ_ONLY):
        data = [p for p in (needs.data if needs else ()) if not _mounts(container, p, inherited)]
        if data:
            change.skipped.append(
                f"{cname}: readOnlyRootFilesystem not added: {image} writes its data to "
                f"{', '.join(data)}, which needs a volume of your choice mounted there first"
            )
        else:
            new.append(("readOnlyRootFilesystem", "true"))
            scratch = ("/tmp", *(needs.scratch if needs else ()))
            paths = [p for p in scratch if not _mounts(container, p, inherited)]
    low = any(
        isinstance(p, CommentedMap)
        and isinstance(p.get("containerPort"), int)
        and 0 < p["containerPort"] < 1024
        for p in (container.get("ports") or [])
    )
    back = needs.capabilities if needs is not None and needs.starts_as_root else ()
    cap_pairs = _capabilities(edits, change, caps, low, cname, back) if asked(CAPABILITIES) else []
    if cap_pairs and caps is None and "capabilities" in sc:
        if edits.add_under_empty(sc, "capabilities", cap_pairs):
            change.added.append(f"{cname}: capabilities drop")
    elif cap_pairs:
        new.append(("capabilities", cap_pairs))
    if "seccompProfile" not in sc and "seccompProfile" not in pod_sc and asked(SECCOMP):
        profile: list[tuple[str, Tree]] = [("type", "RuntimeDefault")]
        new.append(("seccompProfile", profile))
    if not new:
        return paths
    names = ", ".join(k for k, _ in new)
    if out is not None:
        out.extend(new)
        return paths
    if "securityContext" not in container:
        ok = edits.add_keys(container, [("securityContext", new)])
    elif len(sc) == 0 or container.get("securityContext") is None:
        ok = edits.add_under_empty(container, "securityContext", new)
    else:
        ok = edits.add_keys(sc, new)
    if ok:
        change.added.append(f"{cname}: securityContext {names}")
    else:
        change.skipped.append(f"{cname}: securityContext written in a form keelhaul cannot edit")
        return []
    return paths


def _capabilities(
    edits: _Edits,
    change: Change,
    caps: object,
    low: bool,
    cname: str,
    back: tuple[str, ...] = (),
) -> list[tuple[str, Tree]]:
    """What to add to ``capabilities``: as new pairs when it is absent, else edited in place.
    ``back`` are the capabilities the image's entrypoint needs (see keelhaul.runtime.images)."""
    add_bind = low
    if caps is None:
        pairs: list[tuple[str, Tree]] = [("drop", ["ALL"])]
        wanted = list(back) + (
            ["NET_BIND_SERVICE"] if add_bind and "NET_BIND_SERVICE" not in back else []
        )
        if wanted:
            pairs.append(("add", wanted))
        return pairs
    if not isinstance(caps, CommentedMap):
        return []
    drop = [str(c).upper() for c in (caps.get("drop") or [])]
    added = [str(c).upper().removeprefix("CAP_") for c in (caps.get("add") or [])]
    missing: list[tuple[str, Tree]] = []
    if "ALL" not in drop:
        if "drop" in caps and caps.get("drop"):
            if edits.add_items(caps, "drop", ["ALL"]):
                change.added.append(f"{cname}: capabilities.drop ALL")
        else:
            missing.append(("drop", ["ALL"]))
        wanted = list(dict.fromkeys([*back, *(["NET_BIND_SERVICE"] if add_bind else [])]))
        wanted = [c for c in wanted if c not in added] if "ALL" not in added else []
        if wanted:
            if "add" in caps and caps.get("add"):
                if edits.add_items(caps, "add", list(wanted)):
                    change.added.append(f"{cname}: capabilities.add {', '.join(wanted)}")
            else:
                missing.append(("add", list(wanted)))
    if missing and len(caps) and not ("drop" in caps and not caps.get("drop")):
        if edits.add_keys(caps, missing):
            change.added.append(f"{cname}: capabilities " + ", ".join(k for k, _ in missing))
    elif missing:
        change.skipped.append(f"{cname}: capabilities written in a form keelhaul cannot edit")
    return []


def _mounts(container: CommentedMap, path: str, inherited: object = None) -> bool:
    """Whether something is mounted at ``path`` or a folder above it (by the container's own
    ``volumeMounts``, or by ``inherited``, a Tekton stepTemplate's)."""
    mounts = [
        m
        for given in (container.get("volumeMounts"), inherited)
        if isinstance(given, list)
        for m in given
    ]
    wanted = path.rstrip("/") + "/"
    return any(
        isinstance(m, dict) and wanted.startswith(str(m.get("mountPath", "")).rstrip("/") + "/")
        for m in mounts
    )


def _volume_name(path: str, taken: set[str]) -> str:
    """``/var/cache/nginx`` -> ``var-cache-nginx`` (``tmp`` for /tmp), unique in the pod."""
    base = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:50] or TMP_VOLUME
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def _add_writable(
    edits: _Edits,
    change: Change,
    spec: CommentedMap,
    containers: list[tuple[CommentedMap, list[str]]],
    label: str,
) -> None:
    """An ``emptyDir`` volume per path a read-only container still writes, mounted there."""
    names = _add_volumes(edits, change, spec, [p for _c, paths in containers for p in paths], label)
    if names is not None:
        _add_mounts(edits, change, containers, names, label)


def _add_mounts(
    edits: _Edits,
    change: Change,
    containers: list[tuple[CommentedMap, list[str]]],
    names: dict[str, str],
    label: str,
) -> None:
    """Each container's ``volumeMounts`` of the ``emptyDir`` volumes ``names`` made."""
    for container, paths in containers:
        mount: list[list[tuple[str, Tree]]] = [
            [("name", names[p]), ("mountPath", p)] for p in paths
        ]
        existing = container.get("volumeMounts")
        if isinstance(existing, CommentedSeq) and existing and not existing.fa.flow_style():
            edits.add_items(container, "volumeMounts", list[Tree](mount))
        elif "volumeMounts" not in container:
            edits.add_keys(container, [("volumeMounts", mount)])
        else:
            change.skipped.append(f"{label}: volumeMounts written in a form keelhaul cannot edit")


def _add_volumes(
    edits: _Edits, change: Change, spec: CommentedMap, paths: list[str], label: str
) -> dict[str, str] | None:
    """An ``emptyDir`` volume in ``spec.volumes`` per path: path -> volume name (None when
    ``volumes`` is written in a form keelhaul cannot edit)."""
    volumes = spec.get("volumes")
    taken = {str(v.get("name")) for v in volumes or [] if isinstance(v, dict)}
    names: dict[str, str] = {}
    for path in paths:
        if path not in names:
            names[path] = _volume_name(path, taken)
    new: list[list[tuple[str, Tree]]] = [
        [("name", name), ("emptyDir", "{}")] for name in names.values()
    ]
    if isinstance(volumes, CommentedSeq) and volumes and not volumes.fa.flow_style():
        ok = edits.add_items(spec, "volumes", list[Tree](new))
    elif "volumes" not in spec:
        ok = edits.add_keys(spec, [("volumes", new)])
    else:
        ok = False
    if not ok:
        change.skipped.append(f"{label}: volumes written in a form keelhaul cannot edit")
        return None
    for path, name in names.items():
        change.added.append(f"{label}: volume {name} (emptyDir) for {path}")
    return names


# --------------------------------------------------------------------------------------------


def _finish(edits: _Edits, change: Change, name: str, kind: str) -> Change:
    if not edits.ops:
        return change
    fixed = edits.apply()
    try:
        load_documents(fixed, name)
    except Exception:
        change.skipped.append("the fixed file would not parse: nothing changed (a keelhaul bug)")
        change.added = []
        return change
    change.text = fixed
    return change


def fix_docker_run(text: str | YamlFile, name: str = "", wanted: Wanted = None) -> Change:
    """``docker run``/``docker create`` lines hardened in place (shell scripts, Makefiles, CI
    files, README fences): the flags go right after ``run``, so line continuations, quoting
    and every other byte stay as written. ``--user`` is not added (see the module
    documentation); the image table decides capabilities added back and tmpfs paths."""
    from keelhaul.runtime.checks._common import capability
    from keelhaul.runtime.docker_run import command_insertion_point, commands_in, runs_of_argv

    source = yaml_file(text, name)
    change = Change(source.text)
    lines = source.text.split("\n")
    inserts: list[tuple[int, int, str]] = []
    for command, snippet in commands_in(source.text, source.name, source):
        run = runs_of_argv(command, snippet, source.name)
        if run is None:
            continue
        line = run.where.line

        def asked(code: str, line: int = line) -> bool:
            return wanted is None or wanted(code, line)

        flags: list[str] = []
        needs = needs_of(run.image.value if run.image is not None else None)
        dropped = {capability(v.value) for v in run.cap_drop}
        privileged = run.privileged is not None and run.privileged.value
        if "ALL" not in dropped and not privileged and asked(CAPABILITIES):
            flags.append("--cap-drop=ALL")
            back = list(needs.capabilities) if needs is not None and needs.starts_as_root else []
            if _low_port([p.container_port for p in run.ports]):
                back.append("NET_BIND_SERVICE")
            added = {capability(v.value) for v in run.cap_add}
            flags += [f"--cap-add={c}" for c in dict.fromkeys(back) if c not in added]
        if run.read_only_root is None and asked(READ_ONLY):
            covered = [m.target.rstrip("/") + "/" for m in run.mounts if m.target]
            unmounted = [
                p
                for p in ("/tmp", *(needs.scratch if needs else ()), *(needs.data if needs else ()))
                if not any((p.rstrip("/") + "/").startswith(c) for c in covered)
            ]
            data = [p for p in unmounted if needs is not None and p in needs.data]
            if data:
                change.skipped.append(
                    f"{run.workload}: --read-only not added: the image writes its data to "
                    f"{', '.join(data)}, which needs a volume of your choice first"
                )
            else:
                flags.append("--read-only")
                flags += [f"--tmpfs {p}" for p in unmounted]
        if run.no_new_privileges is None and not privileged and asked(ESCALATION):
            flags.append("--security-opt=no-new-privileges")
        if not flags:
            continue
        point = command_insertion_point(command, snippet)
        if point is None or not _ends_word(lines, point, command):
            change.skipped.append(f"{run.workload}: written in a form keelhaul cannot edit")
            continue
        inserts.append((point[0], point[1], " " + " ".join(flags)))
        change.added.append(f"{run.workload}: {' '.join(flags)}")
    for line_no, column, added_text in sorted(inserts, reverse=True):
        row = lines[line_no - 1]
        lines[line_no - 1] = row[: column - 1] + added_text + row[column - 1 :]
    if inserts:
        change.text = "\n".join(lines)
    return change


def _ends_word(lines: list[str], point: tuple[int, int], command: object) -> bool:
    """The file really has ``run`` or ``create`` right before the insertion point (the
    snippet maps one to one there)."""
    line_no, column = point
    if not 1 <= line_no <= len(lines):
        return False
    before = lines[line_no - 1][: column - 1]
    return before.endswith(("run", "create"))


def fix_runtime_text(source: YamlFile, kind: str, wanted: Wanted = None) -> Change:
    """Fix a file of kind ``kubernetes`` or ``compose``; other kinds are left as they are.

    ``wanted(code, line)`` says whether the finding ``code`` of the container (or service)
    whose ``ContainerRun.where`` is on ``line`` is to be fixed (None: every one): ``keelhaul
    fix`` hands in what ``keelhaul check`` reports under the same configuration, selection
    and suppressions, so nothing is added for a finding the user silenced.
    """
    if kind == "compose":
        return fix_compose(source, wanted=wanted)
    if kind == "kubernetes":
        return fix_kubernetes(source, wanted=wanted)
    if kind == "docker-run":
        return fix_docker_run(source, wanted=wanted)
    return Change(source.text)
