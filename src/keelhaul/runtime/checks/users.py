"""Who the process runs as: not root, and with an ID that does not collide with the host's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import (
    container_label,
    is_kubernetes,
    is_windows,
    numeric_id,
    security_where,
    spell,
)
from keelhaul.runtime.grouping import DEPTH_TEXT, DEVELOPMENT_TEXT
from keelhaul.runtime.model import ContainerRun, Value
from keelhaul.runtime.rules import RuntimeHit

#: kube-score and kubesec want IDs above this, out of the range of the host's own users.
HIGH_ID = 10000
_ROOT_NAMES = frozenset({"0", "root"})


def _is_root(user: Value[str]) -> bool:
    return user.value.strip().split(":", 1)[0].strip() in _ROOT_NAMES


def _no_user(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if is_windows(run) or run.ephemeral:
        return
    if run.user is not None:  # root is KH411; a name or a UID says who
        return
    if is_kubernetes(run):
        if run.run_as_non_root is not None and run.run_as_non_root.value:
            return
        where = run.run_as_non_root.where if run.run_as_non_root else security_where(run)
        yield RuntimeHit(
            where,
            f"{container_label(run)} may run as root: set runAsNonRoot: true and a runAsUser "
            "(pod or container securityContext)",
        )
        return
    how = spell(run, "", "user: 10001:10001", "--user 10001:10001")
    yield RuntimeHit(
        run.where,
        f"{container_label(run)} runs as the image's user (root unless the image sets USER); "
        f"set {how}",
    )


def _root(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.user is not None and _is_root(run.user) and not is_windows(run):
        yield RuntimeHit(
            run.user.where, f"{container_label(run)} runs as root (user {run.user.value})"
        )


def _low_ids(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if is_windows(run) or (run.user is not None and _is_root(run.user)):
        return  # root is KH411's: one finding, not two
    low: list[str] = []
    where = None
    uid = numeric_id(run.user.value) if run.user is not None else None
    if run.user is not None and uid is not None and 0 < uid < HIGH_ID:
        low.append(f"UID {uid}")
        where = run.user.where
    gid: int | None = None
    if run.group is not None:
        gid = numeric_id(run.group.value)
        gid_where = run.group.where
    elif run.user is not None and ":" in run.user.value:
        gid = numeric_id(run.user.value.split(":", 1)[1])
        gid_where = run.user.where
    if gid is not None and gid < HIGH_ID:
        low.append(f"GID {gid}")
        where = where or gid_where
    if low and where is not None:
        yield RuntimeHit(
            where, f"{container_label(run)} runs as {' and '.join(low)}, below {HIGH_ID}"
        )


_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
  containers:
    - name: web
      image: example/web:1.2
"""

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH410",
        fix=Safety.UNSAFE,
        fix_reason=(
            "Sets runAsNonRoot: an image that runs as root (or by user name) no longer starts."
        ),
        name="may-run-as-root",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="Nothing says the container runs as a non-root user",
        explanation=(
            "Without runAsNonRoot/runAsUser (Kubernetes, at pod or container level: the "
            "container's value wins) or user: (Compose) or --user (docker run), the process runs "
            "as the image's USER, which is root for most images. Root in a container is root on "
            "the host's kernel: one kernel or runtime bug from owning the node, and free to "
            "rewrite the image's files. Set runAsNonRoot: true (the kubelet then refuses to start "
            "an image that would run as root) and a runAsUser/runAsGroup above 10000."
            + DEVELOPMENT_TEXT
            + DEPTH_TEXT
        ),
        bad=_POD.replace("    runAsNonRoot: true\n    runAsUser: 10001\n", ""),
        good=_POD,
        check=_no_user,
        related={
            "checkov": ("CKV_K8S_23",),
            "trivy": ("KSV012",),
            "kubesec": ("RunAsNonRoot",),
            "polaris": ("runAsRootAllowed",),
            "pss": ("Running as Non-root",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH411",
        name="runs-as-root",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="The container is told to run as root (UID 0)",
        explanation=(
            "runAsUser: 0, user: root or --user 0 asks for root explicitly, whatever the image "
            "chose. Root inside the container shares UID 0 with the host: every kernel or runtime "
            "escape becomes root on the node, and a hostPath or bind mount is writable as root. "
            "Use a dedicated UID above 10000 (and fix file ownership in the image)."
        ),
        bad=_POD.replace("runAsUser: 10001", "runAsUser: 0").replace(
            "runAsNonRoot: true", "runAsNonRoot: false"
        ),
        good=_POD,
        check=_root,
        related={"trivy": ("KSV105",), "pss": ("Running as Non-root user",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH412",
        name="low-uid-gid",
        severity=Severity.INFO,
        category=Category.SECURITY,
        summary="The UID or GID is below 10000 and may match a user of the host",
        explanation=(
            "Without user namespaces a container's UID is the host's UID. IDs below 10000 are "
            "where hosts keep their own users and services (1000 is often the first human); if "
            "the container escapes or shares a mount, it acts as that user. An ID above 10000 "
            "is very unlikely to match one. kube-score and kubesec score this the same way."
        ),
        bad=_POD.replace("10001", "1000"),
        good=_POD,
        check=_low_ids,
        related={
            "kube-score": ("container-security-context-user-group-id",),
            "kubesec": ("RunAsUser",),
            "checkov": ("CKV_K8S_40",),
            "trivy": ("KSV020", "KSV021"),
        },
    )
)
