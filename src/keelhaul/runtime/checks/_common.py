"""Helpers shared by the runtime checks: the source a run came from, how each format spells a
setting (for messages), and small Kubernetes manifests for the rules' examples."""

from __future__ import annotations

from keelhaul.registry.reference import InvalidReference, Reference, parse_reference
from keelhaul.runtime.model import ContainerRun, Source, Where

#: Template placeholders (Helm, Jinja, Compose/envsubst variables): the real image is unknown.
_PLACEHOLDER_MARKS = ("{{", "$", "<")


def image_reference(run: ContainerRun) -> Reference | None:
    """The image the container runs, read by keelhaul's one reference parser; None when
    there is none, when it is templated (``{{ .Values.image }}``, ``${TAG}``) or when it is
    not a valid reference (nothing to judge: the runtime refuses it)."""
    if run.image is None:
        return None
    text = run.image.value.strip()
    if not text or any(mark in text for mark in _PLACEHOLDER_MARKS):
        return None
    try:
        return parse_reference(text)
    except InvalidReference:
        return None


def is_kubernetes(run: ContainerRun) -> bool:
    return run.source is Source.KUBERNETES


def is_windows(run: ContainerRun) -> bool:
    """A Windows pod (``spec.os.name: windows``): Linux-only settings do not apply."""
    return run.extra.get("os") == "windows"


def container_label(run: ContainerRun) -> str:
    """``container app of Deployment/web``, ``service web``, ``docker run (line 3)``."""
    if is_kubernetes(run):
        kind = (
            "init container"
            if run.init
            else "ephemeral container"
            if run.ephemeral
            else "container"
        )
        return f"{kind} {run.name} of {run.workload}"
    return run.workload


def spell(run: ContainerRun, kubernetes: str, compose: str, docker_run: str) -> str:
    """The same setting as each format writes it."""
    if run.source is Source.KUBERNETES:
        return kubernetes
    if run.source is Source.COMPOSE:
        return compose
    return docker_run


def security_where(run: ContainerRun) -> Where:
    """Where a missing security setting belongs: the container's ``securityContext`` when it
    has one, else the container (service, command line) itself."""
    from keelhaul.runtime.kubernetes import SecurityContext

    sc = run.extra.get("security")
    if isinstance(sc, SecurityContext) and sc.where is not None:
        return sc.where
    return run.where


def capability(name: str) -> str:
    """``cap_sys_admin`` -> ``SYS_ADMIN``: Docker accepts either spelling and any case."""
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def numeric_id(text: str) -> int | None:
    """The UID of ``1000`` or ``1000:1000``; None for a name (``app``) or a variable."""
    first = text.strip().split(":", 1)[0].strip()
    return int(first) if first.isdigit() else None


def pod(spec: str, *, kind: str = "Pod", name: str = "web") -> str:
    """A minimal manifest around a pod spec (indented by four spaces) for rule examples."""
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{_indent(spec, 2)}"
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  template:\n"
        f"    spec:\n{_indent(spec, 6)}"
    )


def _indent(text: str, by: int) -> str:
    return "".join(
        " " * by + line + "\n" if line else "\n" for line in text.strip("\n").split("\n")
    )
