"""The root filesystem: read-only, with writable mounts only where the process writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import (
    container_label,
    image_reference,
    security_where,
    spell,
)
from keelhaul.runtime.grouping import DEPTH_TEXT, DEVELOPMENT_TEXT
from keelhaul.runtime.images import writable_paths as image_writes
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit


def writable_paths(run: ContainerRun) -> list[str]:
    """The paths the image is known to write to that no writable mount covers yet."""
    image = run.image.value if run.image is not None and image_reference(run) else None
    wanted = list(image_writes(image))
    covered = [m.target.rstrip("/") + "/" for m in run.mounts if not m.read_only and m.target]
    return [p for p in wanted if not any((p + "/").startswith(c) for c in covered)]


def _writable_root(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.read_only_root is not None and run.read_only_root.value:
        return
    if run.ephemeral:  # a debugging container is attached by hand, not declared
        return
    how = spell(
        run,
        "securityContext.readOnlyRootFilesystem: true",
        "read_only: true",
        "--read-only",
    )
    mount = spell(run, "an emptyDir", "a tmpfs", "--tmpfs")
    paths = writable_paths(run)
    hint = f" and mount {mount} at {', '.join(paths)}" if paths else ""
    where = run.read_only_root.where if run.read_only_root is not None else security_where(run)
    yield RuntimeHit(
        where, f"{container_label(run)} can write to its root filesystem; set {how}{hint}"
    )


register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH405",
        fix=Safety.UNSAFE,
        fix_reason=(
            "Makes the root filesystem read-only with a writable /tmp: a program that "
            "writes elsewhere fails."
        ),
        name="root-filesystem-writable",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The root filesystem is writable: make it read-only",
        explanation=(
            "A writable root filesystem lets an attacker who gets code execution drop tools, "
            "change the application's code or configuration, and keep them until the container "
            "is replaced. A read-only root (Kubernetes readOnlyRootFilesystem: true, Compose "
            "read_only: true, docker run --read-only) stops that and shows where the process "
            "really writes: give those paths a writable emptyDir or tmpfs (/tmp nearly always; "
            "nginx /var/cache/nginx and /var/run; postgres /var/run/postgresql; the message "
            "names the known paths of common images). It costs a few lines of configuration."
            + DEVELOPMENT_TEXT
            + DEPTH_TEXT
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
""",
        good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
      securityContext:
        readOnlyRootFilesystem: true
      volumeMounts:
        - {name: tmp, mountPath: /tmp}
        - {name: cache, mountPath: /var/cache/nginx}
  volumes:
    - {name: tmp, emptyDir: {}}
    - {name: cache, emptyDir: {}}
""",
        check=_writable_root,
        related={
            "checkov": ("CKV_K8S_22",),
            "trivy": ("KSV014",),
            "kubesec": ("ReadOnlyRootFilesystem",),
            "polaris": ("notReadOnlyRootFilesystem",),
            "kube-score": ("container-security-context-readonlyrootfilesystem",),
        },
    )
)
