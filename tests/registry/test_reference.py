from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keelhaul.errors import KeelhaulError
from keelhaul.registry.reference import (
    InvalidReference,
    Reference,
    is_loopback,
    parse_digest,
    parse_reference,
)

SHA = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python", "docker.io", "library/python", None, None),
        ("python:3.12", "docker.io", "library/python", "3.12", None),
        ("python:3.12-slim@" + SHA, "docker.io", "library/python", "3.12-slim", SHA),
        ("python@" + SHA, "docker.io", "library/python", None, SHA),
        ("user/app", "docker.io", "user/app", None, None),
        ("user/app/sub:v_1.0", "docker.io", "user/app/sub", "v_1.0", None),
        ("docker.io/python", "docker.io", "library/python", None, None),
        ("docker.io/library/python:3", "docker.io", "library/python", "3", None),
        ("index.docker.io/python", "docker.io", "library/python", None, None),
        ("index.docker.io/user/app:1", "docker.io", "user/app", "1", None),
        ("registry-1.docker.io/library/x", "registry-1.docker.io", "library/x", None, None),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/app:tag", "localhost:5000", "app", "tag", None),
        ("127.0.0.1:5001/kh/app", "127.0.0.1:5001", "kh/app", None, None),
        ("ghcr.io/o/app@" + SHA, "ghcr.io", "o/app", None, SHA),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("Registry/app", "Registry", "app", None, None),  # upper case: a host, not a namespace
        ("example.com:443/a/b/c:t", "example.com:443", "a/b/c", "t", None),
        ("a__b/c---d/e.f_g", "docker.io", "a__b/c---d/e.f_g", None, None),
        ("localhost", "docker.io", "library/localhost", None, None),  # Docker's quirk
        ("myhost:5000", "docker.io", "library/myhost", "5000", None),  # a tag, not a port
    ],
)
def test_parse_normalises_like_docker(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert parse_reference(text) == Reference(registry, repository, tag, digest)


@pytest.mark.parametrize(
    ("text", "familiar", "api_host", "auth_key"),
    [
        ("python:3.12", "python:3.12", "registry-1.docker.io", "https://index.docker.io/v1/"),
        ("docker.io/user/app", "user/app", "registry-1.docker.io", "https://index.docker.io/v1/"),
        ("library/a/b", "library/a/b", "registry-1.docker.io", "https://index.docker.io/v1/"),
        (
            "localhost:5000/app@" + SHA,
            "localhost:5000/app@" + SHA,
            "localhost:5000",
            "localhost:5000",
        ),
        ("ghcr.io/o/app:1", "ghcr.io/o/app:1", "ghcr.io", "ghcr.io"),
        (
            "docker.io/a.b/c",
            "docker.io/a.b/c",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ),
    ],
)
def test_familiar_form_and_where_to_ask(
    text: str, familiar: str, api_host: str, auth_key: str
) -> None:
    ref = parse_reference(text)
    assert ref.familiar() == familiar
    assert ref.api_host == api_host
    assert ref.auth_key == auth_key


def test_canonical_string_and_pinning() -> None:
    ref = parse_reference("python:3.12")
    assert str(ref) == "docker.io/library/python:3.12"
    assert ref.manifest_reference == "3.12"
    assert str(ref.with_digest(SHA)) == f"docker.io/library/python:3.12@{SHA}"
    assert parse_reference("python").manifest_reference == "latest"
    assert parse_reference(f"python@{SHA}").manifest_reference == SHA
    # A pinned reference is refreshed through its tag.
    assert parse_reference(f"python:3@{SHA}").manifest_reference == "3"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Python", "lowercase"),
        ("user/App:1", "lowercase"),
        ("python:", "invalid tag"),
        ("python:a b", "invalid tag"),
        ("python:" + "a" * 129, "invalid tag"),
        ("-python", "invalid repository name"),
        ("a//b", "invalid repository name"),
        ("python@sha256:abc", "invalid digest"),
        ("python@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("python@sha256:" + "AB" * 32, "lower-case"),
        ("python@sha256:" + "ab" * 31, "64"),
        ("ab" * 32, "image ID"),
        ("a" * 256, "longer than 255"),
        ("localhost:abc/x", "invalid"),
        ("my_host.com/app", "invalid registry host"),
    ],
)
def test_invalid_references_name_themselves(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    message = str(caught.value)
    assert repr(text) in message
    assert reason in message
    assert isinstance(caught.value, KeelhaulError)


def test_parse_digest() -> None:
    assert parse_digest(SHA) == SHA
    assert parse_digest("sha512:" + "0" * 128).startswith("sha512:")
    with pytest.raises(InvalidReference):
        parse_digest("sha256:" + "0" * 63)


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5001", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("docker.io", False),
        ("127.0.0.1.example.com", False),
        ("localhost.example.com:5000", False),
    ],
)
def test_loopback(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback


# -- properties ----------------------------------------------------------------------------

_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--"])
_component = st.builds(
    lambda first, rest: first + "".join(s + a for s, a in rest),
    _alnum,
    st.lists(st.tuples(_separator, _alnum), max_size=2),
)
_path = st.lists(_component, min_size=1, max_size=3).map("/".join)
_host = st.sampled_from(
    [
        "docker.io",
        "ghcr.io",
        "localhost",
        "localhost:5000",
        "127.0.0.1:5001",
        "[::1]:5000",
        "r.example.com",
    ]
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.from_regex(r"[a-f0-9]{64}", fullmatch=True).map(lambda h: "sha256:" + h)


@st.composite
def references(draw: st.DrawFn) -> Reference:
    host = draw(_host)
    path = draw(_path)
    if host == "docker.io" and "/" not in path:
        path = "library/" + path
    return Reference(host, path, draw(st.none() | _tag), draw(st.none() | _digest))


@given(references())
def test_canonical_and_familiar_forms_parse_back(ref: Reference) -> None:
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.familiar()) == ref


@given(st.text(max_size=80))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as err:
        message = str(err)
        ref = None
    if ref is None:
        assert repr(text) in message
    else:
        assert parse_reference(str(ref)) == ref
