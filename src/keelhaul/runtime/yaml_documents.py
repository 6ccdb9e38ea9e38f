"""The one YAML loader of the runtime files (Kubernetes manifests and Compose files), shared
by the checker and the fixer, so the two can never read different values.

Documents are loaded with ruamel's round-trip loader: every node keeps its line and column
(a finding points at the value; a fix inserts lines where the loader says), and YAML 1.2
scalars load as what they are. A mapping that repeats a key is an error that names both
places: Kubernetes' strict decoding (``kubectl apply``, the API server) refuses it, Compose
warns, and a reader that kept the first or the last value would judge a block the runtime
never sees.

:class:`YamlFile` is a file's text with its documents loaded at most once per form (the whole
text, or the text a reader has narrowed first): discovery, the reader and the fixer of one
command share it. :func:`loads` counts real loads, for the tests that prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from keelhaul.errors import SourcePosition, SyntaxProblem

__all__ = ["YamlFile", "load_documents", "loads", "yaml_file", "yaml_problem"]

#: How many texts were loaded (by this process): the parse-count tests read it.
_LOADS = [0]


class _DuplicateKey(YAMLError):
    """A mapping key written twice; carries both places."""

    def __init__(self, key: str, line: int, column: int, first: int | None) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first = first


class _UniqueKeys(RoundTripConstructor):
    """Refuses a mapping key written twice (see the module documentation)."""

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if key in mapping:
            first: int | None = None
            try:
                first = int(mapping.lc.key(key)[0]) + 1
            except (AttributeError, KeyError, TypeError):
                first = None
            mark = key_node.start_mark
            raise _DuplicateKey(str(key), mark.line + 1, mark.column + 1, first)
        return True


def yaml_problem(err: YAMLError, name: str) -> SyntaxProblem:
    """A YAML error as one line naming the file, line and column."""
    if isinstance(err, _DuplicateKey):
        where = f" (first at line {err.first})" if err.first is not None else ""
        return SyntaxProblem(
            f"invalid YAML: duplicate key {err.key!r}{where}; Kubernetes and Compose would "
            "read only one of them",
            SourcePosition(name, err.line, err.column),
        )
    if isinstance(err, MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else None
        problem = " ".join(str(err.problem or err.context or "invalid YAML").split())
        return SyntaxProblem(f"invalid YAML: {problem}", SourcePosition(name, line, column))
    message = " ".join(str(err).split())[:200]
    return SyntaxProblem(f"invalid YAML: {message}", SourcePosition(name, 1))


_LOADER: YAML | None = None


def load_documents(text: str, name: str) -> list[Any]:
    """Every non-empty document of ``text`` (ruamel round-trip nodes).

    Raises :class:`keelhaul.errors.SyntaxProblem` naming the file, line and column on YAML
    that does not load, a duplicate key included.
    """
    global _LOADER  # one loader: building a YAML() costs more than a small manifest's load
    if _LOADER is None:
        _LOADER = YAML(typ="rt")
        _LOADER.Constructor = _UniqueKeys
    _LOADS[0] += 1
    try:
        return [doc for doc in _LOADER.load_all(text) if doc is not None]
    except YAMLError as err:
        raise yaml_problem(err, name) from None
    except RecursionError:
        raise SyntaxProblem("invalid YAML: nested too deeply", SourcePosition(name, 1)) from None


def loads() -> int:
    """How many texts :func:`load_documents` has loaded so far in this process."""
    return _LOADS[0]


@dataclass
class YamlFile:
    """A runtime file's name and text, with its documents loaded once per form."""

    name: str
    text: str
    _loaded: dict[str, list[Any] | SyntaxProblem] = field(default_factory=dict, repr=False)

    def documents(self, narrow: Callable[[str], str] | None = None) -> list[Any]:
        """The documents of the text, or of ``narrow(text)`` (a reader's cheaper form of it,
        which must keep every line where it is); each form is loaded once. Raises
        :class:`keelhaul.errors.SyntaxProblem` as :func:`load_documents` does, every time."""
        key = "" if narrow is None else f"{narrow.__module__}.{narrow.__qualname__}"
        found = self._loaded.get(key)
        if found is None:
            try:
                text = self.text if narrow is None else narrow(self.text)
                found = load_documents(text, self.name)
            except SyntaxProblem as exc:
                found = exc
            self._loaded[key] = found
        if isinstance(found, SyntaxProblem):
            raise found
        return found


def yaml_file(text: str | YamlFile, name: str = "") -> YamlFile:
    """``text`` as a :class:`YamlFile` named ``name`` (a YamlFile is taken as it is)."""
    return text if isinstance(text, YamlFile) else YamlFile(name, text)
