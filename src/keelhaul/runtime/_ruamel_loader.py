"""ruamel's round-trip loader as :mod:`keelhaul.runtime.yaml_documents` uses it: its own module,
imported on the first load, so a command that meets no YAML does not import ruamel (~20 ms)."""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from keelhaul.errors import SourcePosition, SyntaxProblem

__all__ = ["load_all", "yaml_problem"]


class _DuplicateKey(YAMLError):
    """A mapping key written twice; carries both places."""

    def __init__(self, key: str, line: int, column: int, first: int | None) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first = first


class _UniqueKeys(RoundTripConstructor):
    """Refuses a mapping key written twice (see :mod:`keelhaul.runtime.yaml_documents`)."""

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


def load_all(text: str, name: str) -> list[Any]:
    """Every non-empty document of ``text``; a :class:`SyntaxProblem` on YAML that does not
    load (see :func:`keelhaul.runtime.yaml_documents.load_documents`)."""
    global _LOADER  # one loader: building a YAML() costs more than a small manifest's load
    if _LOADER is None:
        _LOADER = YAML(typ="rt")
        _LOADER.Constructor = _UniqueKeys
    try:
        return [doc for doc in _LOADER.load_all(_without_comment_runs(text)) if doc is not None]
    except YAMLError as err:
        raise yaml_problem(err, name) from None
    except RecursionError:
        raise SyntaxProblem("invalid YAML: nested too deeply", SourcePosition(name, 1)) from None
    finally:
        # ruamel's YAML keeps a DocInfo for every document it ever loaded (doc_infos, read
        # only while loading): the one loader would grow with every file checked
        _LOADER.doc_infos.clear()


#: Comment lines past which a text's comment lines are blanked before ruamel reads it.
COMMENT_LINES = 1_000
_COMMENT_LINE = re.compile(r"^[ \t]*#", re.M)


def _without_comment_runs(text: str) -> str:
    """``text`` with every line that is only a comment made empty, when it has more than
    :data:`COMMENT_LINES` of them: ruamel's round-trip scanner joins a run of comment lines
    one string at a time (quadratic: 40,000 lines took 8 s, a 64 MiB named manifest of them
    would take about half an hour), and keelhaul reads no comment through ruamel (inline
    pragmas are read from the text). Lines, columns and values are unchanged: a line that
    starts with ``#`` inside a value (a block scalar, a quoted string over lines) is found
    with libyaml's scanner and kept. Where libyaml finds the text wrong, the lines from that
    place (or the start of the value it is in) on are left as written, and ruamel says where
    it is wrong as it would have."""
    # every load passes here: the count of '#' (C speed) spares nearly every file the regex
    if text.count("#") <= COMMENT_LINES or len(_COMMENT_LINE.findall(text)) <= COMMENT_LINES:
        return text
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    inside: set[int] = set()
    lines = text.split("\n")
    stop = len(lines)
    try:
        for token in yaml.scan(text, Loader=loader):
            start, end = token.start_mark, token.end_mark
            inside.update(range(start.line, end.line + 1 if end.column else end.line))
    except yaml.MarkedYAMLError as err:
        # lines from the error (or the value it is in) on are left as written
        marks = [m.line for m in (err.context_mark, err.problem_mark) if m is not None]
        stop = min(marks, default=0)
    except yaml.YAMLError:
        return text
    for index, line in enumerate(lines[:stop]):
        if index not in inside and line.lstrip(" \t").startswith("#"):
            lines[index] = ""
    return "\n".join(lines)


def value_interiors(text: str) -> set[int]:
    """The 0-based lines that continue a value begun on an earlier line: a multi-line quoted
    or plain scalar, a block scalar (``|``, ``>``), a flow collection (``[...]``, ``{...}``)
    spread over lines. A line inserted before one of them would land inside the value.
    Raises :class:`YAMLError` on text that does not scan."""
    from ruamel.yaml.tokens import (
        FlowMappingEndToken,
        FlowMappingStartToken,
        FlowSequenceEndToken,
        FlowSequenceStartToken,
        ScalarToken,
    )

    inside: set[int] = set()

    def span(start: int, end_line: int, end_column: int) -> None:
        last = end_line - 1 if end_column == 0 else end_line  # a block scalar ends at a line start
        inside.update(range(start + 1, last + 1))

    depth, opened = 0, 0
    for token in YAML(typ="rt").scan(text):
        if isinstance(token, (FlowSequenceStartToken, FlowMappingStartToken)):
            if depth == 0:
                opened = token.start_mark.line
            depth += 1
        elif isinstance(token, (FlowSequenceEndToken, FlowMappingEndToken)):
            depth -= 1
            if depth == 0:
                span(opened, token.end_mark.line, token.end_mark.column)
        elif isinstance(token, ScalarToken) and token.end_mark.line > token.start_mark.line:
            span(token.start_mark.line, token.end_mark.line, token.end_mark.column)
    return inside
