"""keelhaul's parser against BuildKit's own, on every Dockerfile of the shared corpus.

The oracle is the PyPI package ``dockerfile``, which wraps moby/buildkit's Go parser (it pins
BuildKit v0.12.5). keelhaul follows current BuildKit, so the comparison forgives the few
places where BuildKit changed since v0.12.5, each named in ``_normalise``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from keelhaul.dockerfile.syntax import Dockerfile, Instruction, parse
from tests.conftest import corpus_stats
from tests.corpus import (
    ParsedDockerfile,
    check_every_file,
    corpus_files,
    corpus_id,
    parsed_dockerfiles,
)

dockerfile_oracle = pytest.importorskip("dockerfile")


def _official(path: Path, data: bytes) -> tuple[list[Any] | None, str | None]:
    try:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return list(dockerfile_oracle.parse_file(str(path))), None
        return list(dockerfile_oracle.parse_string(text)), None
    except dockerfile_oracle.GoParseError as exc:
        return None, str(exc)


def _trailing_json(rest: str) -> bool:
    """v0.12.5 read JSON with a streaming decoder that ignored text after the array."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return False
    try:
        json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return False
    try:
        json.loads(rest)
    except ValueError:
        return True
    return False


def _old_decoder_rejects(tree: Dockerfile) -> bool:
    """v0.12.5 also refused ``["a", 1] trailing`` (a non-string array before other text)."""
    for inst in tree.instructions:
        rest = inst.effective.args.lstrip()
        if _trailing_json(rest):
            value, _ = json.JSONDecoder().raw_decode(rest)
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                return True
    return False


#: ``${V#p}``, ``${V%p}``, ``${V/p/r}``: pattern forms that BuildKit's lexer gained after
#: v0.12. The old lexer fails on them, and the heredoc scan of that line gives up.
_PATTERN_FORM = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(#|%|/)")


def _new_heredoc_scan(inst: Instruction) -> bool:
    return bool(inst.heredocs) and _PATTERN_FORM.search(inst.original) is not None


def _ours_as_official(inst: Instruction) -> dict[str, Any]:
    eff = inst.effective
    values = list(eff.values)
    if eff.name in ("ENV", "LABEL"):
        # v0.12.5 had (key, value) pairs; BuildKit now adds the separator as a third node.
        values = [v for i, v in enumerate(values) if i % 3 != 2]
    original = inst.original
    heredocs = [(h.name, h.file_descriptor, h.content) for h in inst.heredocs]
    if inst.sub is not None:
        heredocs = []  # the wrapper reads heredocs off the ONBUILD's child, which has none
    elif inst.heredocs:
        original += "\n" + "".join(h.content + h.name + "\n" for h in inst.heredocs)
    return {
        "cmd": inst.keyword or None,
        "sub_cmd": inst.sub.keyword if inst.sub is not None else None,
        "json": eff.json,
        "original": original or None,  # the wrapper gives None for an empty string
        "start_line": inst.start_line,
        "end_line": inst.end_line,
        "flags": list(inst.flags),
        "value": values,
        "heredocs": heredocs,
    }


def _c_string(value: Any) -> Any:
    """The wrapper hands strings to Python as C strings, which end at the first NUL."""
    if isinstance(value, str):
        return value.split("\x00", 1)[0]
    if isinstance(value, list):
        return [_c_string(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_c_string(v) for v in value)
    return value


def _official_as_dict(cmd: Any) -> dict[str, Any]:
    return {
        "cmd": cmd.cmd,
        "sub_cmd": cmd.sub_cmd,
        "json": cmd.json,
        "original": cmd.original,
        "start_line": cmd.start_line,
        "end_line": cmd.end_line,
        "flags": list(cmd.flags),
        "value": list(cmd.value),
        "heredocs": [(h.name, h.file_descriptor, h.content) for h in cmd.heredocs],
    }


def _explained_difference(ours: dict[str, Any], theirs: dict[str, Any], inst: Instruction) -> bool:
    return bool(theirs["json"] and not ours["json"] and _trailing_json(inst.effective.args))


def compare(path: Path, data: bytes, ours: Dockerfile | None = None) -> str:
    """Compare one file; returns the outcome's name, raises AssertionError on a difference.
    ``ours`` is keelhaul's tree of ``data`` when the caller has it already."""
    official, official_error = _official(path, data)
    if ours is None:
        ours = parse(data, str(path))
    if official is None:
        if "JSON array" in (official_error or "") and _old_decoder_rejects(ours):
            return "rejected by BuildKit v0.12 only (JSON decoder change)"
        assert ours.errors, f"BuildKit rejects {path} ({official_error}) but keelhaul does not"
        assert ours.errors[0].message == official_error
        return "rejected by both"
    if any(_new_heredoc_scan(i) for i in ours.instructions):
        return "differs as BuildKit now differs from v0.12 (heredoc after ${V##p})"
    assert not ours.errors, f"keelhaul rejects {path}: {ours.errors[0]}; BuildKit accepts it"
    assert len(ours.instructions) == len(official), "instruction counts differ"
    for inst, cmd in zip(ours.instructions, official, strict=True):
        mine = {k: _c_string(v) for k, v in _ours_as_official(inst).items()}
        theirs = _official_as_dict(cmd)
        if mine != theirs and not _explained_difference(mine, theirs, inst):
            assert mine == theirs, f"{path}:{inst.start_line}"
    return "identical"


def _name(file: ParsedDockerfile) -> str:
    return corpus_id(file.path)


@pytest.mark.corpus
def test_same_instructions_as_buildkit() -> None:
    """Every corpus Dockerfile reads as BuildKit's parser reads it; every differing file is
    named in the failure."""
    stats = corpus_stats("dockerfiles compared with BuildKit's parser")

    def one(file: ParsedDockerfile) -> None:
        stats[compare(file.path, file.data, file.tree)] += 1

    check_every_file(parsed_dockerfiles(), one, _name)


@pytest.mark.corpus
def test_round_trip_is_exact() -> None:
    stats = corpus_stats("dockerfiles round-tripped")

    def one(file: ParsedDockerfile) -> None:
        assert file.tree.to_bytes() == file.data
        stats["byte-identical"] += 1

    check_every_file(parsed_dockerfiles(), one, _name)


def test_corpus_present_in_ci() -> None:
    """CI runs with ../shared beside the clone: the comparison must not silently skip there."""
    import os

    if os.environ.get("CI") and not corpus_files("dockerfiles"):
        pytest.fail("CI has no shared corpus: the BuildKit comparison compared nothing")
