"""Property tests: mutated corpus files never crash the parser and always round-trip.

Where a mutant is text BuildKit's wrapper can take (UTF-8, no NUL), keelhaul must also
read it as BuildKit does: the same instructions, or an error where BuildKit has one.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from tests.corpus import corpus_bytes, corpus_files

FALLBACK = b'FROM alpine:3.20\nRUN apk add --no-cache curl \\\n  # c\n  && echo ok\nCMD ["sh"]\n'


@functools.cache
def samples() -> list[bytes]:
    """About 120 corpus files spread over the corpus (read on first use, not at import)."""
    files = corpus_files("dockerfiles")
    return [corpus_bytes(p) for p in files[:: max(1, len(files) // 120)]] or [FALLBACK]


INSERTS = [
    b"\\\n",
    b"\\",
    b"`\n",
    b"'",
    b'"',
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\r",
    b"\r\n",
    b"\n",
    b"<<EOF\n",
    b"<<-'EOT' bash\n",
    b"EOF\n",
    b"[",
    b'["a", 1]',
    b"# escape=`\n",
    b"# syntax=x\n",
    b"\t",
    b"ONBUILD ",
    b"ENV ",
    b"=",
    b"${",
    b"}",
    b"$(",
    b"\xef\xbb\xbf",
]


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(samples())))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "truncate", "delete", "random"]))
        pos = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[pos:pos] = draw(st.sampled_from(INSERTS))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        else:
            data[pos:pos] = draw(st.binary(max_size=8))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutants_round_trip_and_never_crash(data: bytes) -> None:
    tree = parse(data, "mutant")
    assert tree.to_bytes() == data
    resolve(tree)  # the stage model copes with whatever the parser kept


oracle = pytest.importorskip("dockerfile")


def _comparable(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutants_read_like_buildkit(data: bytes) -> None:
    from tests.dockerfile.test_buildkit_parity import compare

    if _comparable(data) is None:
        return
    compare(Path("mutant"), data)
