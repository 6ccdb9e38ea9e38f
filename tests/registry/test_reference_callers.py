"""One image-reference parser: every place keelhaul reads a reference agrees with
:func:`keelhaul.registry.reference.parse_reference` on the tricky ones.

Each row is a reference and what the parser makes of it: a (registry, repository, tag,
digest) tuple, or the reason it is refused. Then the Dockerfile rules (their view of images
and KH143's validity test, KH101/KH123 on a FROM line), the runtime checks (the image a
container runs, KH435/KH436), ``fix --pin`` and the registry image source must all read it
the same way. A reference holding a variable (``${VAR}``) is invalid to the parser; each
caller leaves it alone on its own terms (a build arg, a template), checked at the end.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from keelhaul.fix.pinning import pin_text
from keelhaul.image.sources.reference import REGISTRY, parse_source
from keelhaul.image.sources.registry_source import open_registry_image
from keelhaul.image.sources.streams import SourceLimits
from keelhaul.registry.reference import DOCKER_HUB, InvalidReference, Reference, parse_reference
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.structure import valid_image_reference
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.checks._common import image_reference
from keelhaul.runtime.kubernetes import read_kubernetes
from tests.rules.tables import lines

SHA = "sha256:" + "0123456789abcdef" * 4
PINNED = "sha256:" + "f" * 64

Parts = tuple[str, str, str | None, str | None]

CASES: list[tuple[str, Parts | str]] = [
    # a first part with '.', ':', capitals or 'localhost' is a registry, else a Hub namespace
    ("Registry/app:1", ("Registry", "app", "1", None)),
    ("REGISTRY.example.com/team/app", ("REGISTRY.example.com", "team/app", None, None)),
    ("ghcr.io/o/app", ("ghcr.io", "o/app", None, None)),
    ("ghcr.io/O/app", "must be lowercase"),
    ("user/App:1", "must be lowercase"),
    ("Python:3", "must be lowercase"),
    ("localhost:5000/a", ("localhost:5000", "a", None, None)),
    ("localhost/a:1", ("localhost", "a", "1", None)),
    ("[::1]:5000/a", ("[::1]:5000", "a", None, None)),
    ("my_host.com/a", "invalid registry host"),
    # Docker Hub: library/ for one-part names, index.docker.io is docker.io
    ("a", (DOCKER_HUB, "library/a", None, None)),
    ("docker.io/a", (DOCKER_HUB, "library/a", None, None)),
    ("index.docker.io/u/a:2", (DOCKER_HUB, "u/a", "2", None)),
    ("myhost:5000", (DOCKER_HUB, "library/myhost", "5000", None)),  # a tag, not a port
    # tags and digests
    (f"a:b@{SHA}", (DOCKER_HUB, "library/a", "b", SHA)),
    (f"a@{SHA}", (DOCKER_HUB, "library/a", None, SHA)),
    (f"gcr.io/distroless/static:nonroot@{SHA}", ("gcr.io", "distroless/static", "nonroot", SHA)),
    (f"image:{SHA}", "a digest follows '@'"),
    ("a@sha256:abc", "invalid digest"),
    ("a:-x", "invalid tag"),
    ("a:" + "t" * 129, "invalid tag"),
    ("0123456789abcdef" * 4, "image ID"),
    ("a//b", "invalid repository name"),
]

IDS = [text for text, _ in CASES]


def _pod(image: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        f"    - name: web\n      image: '{image}'\n"
    )


def _run(image: str) -> Any:
    (run,) = read_kubernetes(_pod(image), "pod.yaml")
    return run


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_the_parser(text: str, expected: Parts | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(InvalidReference, match=expected):
            parse_reference(text)
    else:
        assert parse_reference(text) == Reference(*expected)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_the_dockerfile_rules_agree(text: str, expected: Parts | str) -> None:
    valid = not isinstance(expected, str)
    assert valid_image_reference(text) is valid
    ref = image_ref(text)
    if isinstance(expected, str):
        assert ref is None
    else:
        registry, repository, tag, digest = expected
        assert ref is not None
        assert ref.registry == registry.lower()  # host names are not case-sensitive
        assert ref.path == (repository.removeprefix("library/") if ref.official else repository)
        assert (ref.tag, ref.digest) == (tag, digest)
    dockerfile = f'FROM {text}\nCMD ["/app"]\n'
    mutable = valid and expected[3] is None and expected[2] in (None, "latest")
    tag_only = valid and expected[3] is None and not mutable
    assert lines("KH101", dockerfile) == ([1] if mutable else [])
    assert lines("KH123", dockerfile) == ([1] if tag_only else [])


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_the_runtime_checks_agree(text: str, expected: Parts | str) -> None:
    run = _run(text)
    codes = [f.code for f in check_runs([run]) if f.code in ("KH435", "KH436")]
    if isinstance(expected, str):
        assert image_reference(run) is None
        assert codes == []
    else:
        assert image_reference(run) == Reference(*expected)
        _, _, tag, digest = expected
        if digest is not None:
            assert codes == []
        else:
            assert codes == (["KH435"] if tag in (None, "latest") else ["KH436"])


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_pinning_agrees(text: str, expected: Parts | str) -> None:
    asked: list[str] = []

    def resolver(reference: str) -> str:
        asked.append(reference)
        return PINNED

    source = f"FROM {text} AS app\n"
    if isinstance(expected, str):
        with pytest.raises(InvalidReference):
            pin_text(source, "Dockerfile", resolver, update=True)
        assert asked == []
    else:
        written = text.partition("@")[0]
        outcome = pin_text(source, "Dockerfile", resolver, update=True)
        assert asked == [written]  # the reference keeps its spelling
        assert outcome.text == f"FROM {written}@{PINNED} AS app\n"


class _Asked(Exception):
    pass


class _Client:
    """Records the reference the registry source asks for, and stops there."""

    def fetch_manifest(self, reference: Reference) -> NoReturn:
        raise _Asked(reference)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=IDS)
def test_the_registry_source_agrees(text: str, expected: Parts | str) -> None:
    source = parse_source(f"{REGISTRY}:{text}")
    assert (source.scheme, source.target) == (REGISTRY, text)  # the scheme split parses nothing

    def open_it() -> None:
        open_registry_image(
            _Client(),  # type: ignore[arg-type]
            source.target,
            source=source.text,
            platform="linux/amd64",
            limits=SourceLimits(),
        )

    if isinstance(expected, str):
        with pytest.raises(InvalidReference, match=expected):
            open_it()
    else:
        with pytest.raises(_Asked) as asked:
            open_it()
        ref = Reference(*expected)
        assert asked.value.args[0] == (ref.with_tag(None) if ref.digest else ref)


def test_variables_are_left_to_the_callers() -> None:
    text = "${REGISTRY}/app:${TAG}"
    with pytest.raises(InvalidReference):
        parse_reference(text)
    assert image_ref(text) is None
    # A build arg with a default is expanded before the rules see the reference ...
    assert lines("KH101", 'ARG TAG=latest\nFROM alpine:${TAG}\nCMD ["/app"]\n') == [2]
    # ... one without a default is unknown, not invalid: KH101 stays quiet and
    # fix --pin says why it leaves the line alone.
    assert lines("KH101", 'ARG TAG\nFROM alpine:${TAG}\nCMD ["/app"]\n') == []
    outcome = pin_text("ARG TAG\nFROM alpine:${TAG}\n", "Dockerfile", lambda r: PINNED)
    assert outcome.pinned == []
    assert "build arg" in outcome.skipped[0]
    # A templated image (Helm, Compose variables) is nothing to judge for the runtime checks.
    run = _run("{{ .Values.image }}")
    assert image_reference(run) is None
    assert [f.code for f in check_runs([run]) if f.code in ("KH435", "KH436")] == []
