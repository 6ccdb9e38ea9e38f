"""Shell-less base images (distroless, .NET chiseled) and the ENTRYPOINT their images set,
for KH117 and the exec-form fix of KH113.

Sources: GoogleContainerTools/distroless README ("Entrypoints" section: the ``nodejs``,
``python3`` and ``java`` images set ENTRYPOINT to their interpreter, ``/nodejs/bin/node``,
``/usr/bin/python3``, ``/usr/bin/java -jar``; ``static``, ``base`` and ``cc`` set none; the
``:debug`` tags add a busybox shell), https://github.com/GoogleContainerTools/distroless;
dotnet/dotnet-docker's chiseled images (no shell, no package manager, no ENTRYPOINT),
https://github.com/dotnet/dotnet-docker/blob/main/documentation/ubuntu-chiseled.md.
"""

from __future__ import annotations

import os

from keelhaul.rules.dockerfile.shared.images import image_ref

#: Tools a HEALTHCHECK usually calls that a shell-less image does not have.
MISSING_TOOLS = frozenset({"sh", "bash", "curl", "wget", "nc", "netcat", "grep", "test", "["})


def shell_less(reference: str) -> bool:
    """The image has no /bin/sh: distroless (not a ``debug`` tag) or a .NET chiseled image."""
    ref = image_ref(reference)
    if ref is None:
        return False
    tag = (ref.tag or "").lower()
    if ref.registry == "gcr.io" and ref.path.startswith("distroless/"):
        return "debug" not in tag
    return ref.registry == "mcr.microsoft.com" and "chiseled" in tag


def entrypoint(reference: str) -> tuple[str, ...]:
    """The ENTRYPOINT a distroless image sets (empty when none or not distroless)."""
    ref = image_ref(reference)
    if ref is None or ref.registry != "gcr.io" or not ref.path.startswith("distroless/"):
        return ()
    flavour = ref.path.removeprefix("distroless/")
    if flavour.startswith("nodejs"):
        return ("/nodejs/bin/node",)
    if flavour.startswith("python3"):
        return ("/usr/bin/python3",)
    if flavour.startswith("java"):
        return ("/usr/bin/java", "-jar")
    return ()


def _program(word: str) -> str:
    name = os.path.basename(word)
    return {"nodejs": "node", "python": "python3"}.get(name, name).rstrip("0123456789.")


def after_entrypoint(reference: str, argv: list[str]) -> list[str] | None:
    """The CMD that, appended to the base's ENTRYPOINT, runs ``argv``: ``["app.js"]`` for
    ``node app.js`` on a distroless nodejs image; None when ``argv`` does not start with the
    entrypoint's program (the image would run ``node ./server``); ``argv`` itself when the
    base sets no ENTRYPOINT."""
    base = entrypoint(reference)
    if not base:
        return argv
    if not argv or _program(argv[0]) != _program(base[0]):
        return None
    rest = argv[1:]
    for flag in base[1:]:  # java's -jar
        if not rest or rest[0] != flag:
            return None
        rest = rest[1:]
    return rest or None
