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
from typing import TYPE_CHECKING, Any

from keelhaul.errors import SyntaxProblem

if TYPE_CHECKING:
    from ruamel.yaml.error import YAMLError

__all__ = ["YamlFile", "load_documents", "loads", "value_interiors", "yaml_file", "yaml_problem"]

#: How many texts were loaded (by this process): the parse-count tests read it.
_LOADS = [0]


def yaml_problem(err: YAMLError, name: str) -> SyntaxProblem:
    """A YAML error as one line naming the file, line and column."""
    from keelhaul.runtime import _ruamel_loader

    return _ruamel_loader.yaml_problem(err, name)


def load_documents(text: str, name: str) -> list[Any]:
    """Every non-empty document of ``text`` (ruamel round-trip nodes).

    Raises :class:`keelhaul.errors.SyntaxProblem` naming the file, line and column on YAML
    that does not load, a duplicate key included.
    """
    from keelhaul.runtime import _ruamel_loader  # here: ruamel is imported by a first load

    _LOADS[0] += 1
    return _ruamel_loader.load_all(text, name)


def value_interiors(text: str) -> set[int]:
    """The lines of ``text`` that continue a multi-line value (a quoted, plain or block
    scalar, a flow collection): where an inserted line would land inside a string. Empty
    when the text does not scan (it was loaded first, so it does)."""
    from ruamel.yaml.error import YAMLError

    from keelhaul.runtime import _ruamel_loader

    try:
        return _ruamel_loader.value_interiors(text)
    except (YAMLError, RecursionError):
        return set()


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
