"""The image secret scan's keyword prefilter: the Aho-Corasick form must say yes exactly when
the plain regular expression it replaced does (a miss would hide a secret)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from keelhaul.image.secrets_in_image import has_keyword, scan_file

#: The specification: the regular expression the prefilter was first written as.
REFERENCE = re.compile(
    rb"AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|cbt|oas|ft)-|xox"
    rb"|hooks\.slack|_live_|AIza|npm_|pypi-|dckr_pat_|sk-|hf_|SG\.|PRIVATE KEY|eyJ"
    rb"|(?i:secret|authorization|token|api-key|_auth|_password|machine|accountkey|://[^/\s]+@)"
)
PIECES = [
    b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"ghx_",
    b"github_pat_", b"glpat-", b"gldt-", b"glrt-", b"glptt-", b"glcbt-", b"gloas-", b"glft-",
    b"glxx-", b"xox", b"hooks.slack", b"hooksXslack", b"_live_", b"AIza", b"npm_", b"pypi-",
    b"dckr_pat_", b"sk-", b"hf_", b"SG.", b"SGx", b"PRIVATE KEY", b"eyJ", b"secret", b"token",
    b"authorization", b"api-key", b"_auth", b"_password", b"machine", b"accountkey", b"://",
    b"@", b"/", b" ", b"\n", b"https://user:pw@host", b"https://host/a@b", b"\xff", b"\x00",
]  # fmt: skip


def _case(data: bytes, flips: list[bool]) -> bytes:
    return bytes(
        (b ^ 0x20) if flip and 65 <= (b & ~0x20) <= 90 else b
        for b, flip in zip(data, flips + [False] * len(data), strict=False)
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=6)), max_size=12),
    st.lists(st.booleans(), max_size=200),
)
def test_prefilter_agrees_with_the_regular_expression(
    parts: list[bytes], flips: list[bool]
) -> None:
    head = _case(b"".join(parts), flips)
    assert has_keyword(head) == (REFERENCE.search(head) is not None)


def test_a_token_far_into_the_head_is_still_found() -> None:
    head = b"# settings\n" + b"x = 1\n" * 5000 + b"GITHUB_TOKEN=ghp_" + b"a" * 36 + b"\n"
    hits = list(scan_file("app/config.env", head, 2))
    assert hits
    assert hits[0].where in ("file", "content")
    assert "ghp_" + "a" * 36 not in hits[0].redacted  # redacted, never the whole value
