"""Which image runs: a tag that moves, no digest, and a pull policy that keeps a stale copy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Severity
from keelhaul.registry.reference import Reference, moving_tag
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import container_label, image_reference
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit

#: Pull policies that reuse an image already on the node (Kubernetes, Compose, docker run).
_REUSING = frozenset({"ifnotpresent", "never", "missing", "if_not_present"})


def mutable(ref: Reference) -> bool:
    """No digest, and a tag that moves: none at all, ``latest``, or a branch or channel name
    (``master``, ``nightly``, ``stable``...)."""
    return ref.digest is None and moving_tag(ref.tag)


def _pulled(run: ContainerRun) -> Reference | None:
    """The image ``run`` pulls, None when it has none or builds it: a Compose service with
    ``build:`` names the image its build makes (the tag it is built and pushed under)."""
    if run.extra.get("build"):
        return None
    return image_reference(run)


def _mutable_tag(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    ref = _pulled(run)
    if run.image is not None and ref is not None and mutable(ref):
        what = (
            "no tag (latest)"
            if ref.tag is None
            else "the tag latest"
            if ref.tag.lower() == "latest"
            else f"the tag {ref.tag}, a branch or channel name that moves"
        )
        yield RuntimeHit(
            run.image.where, f"{container_label(run)} runs image {run.image.value} with {what}"
        )


def _no_digest(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    ref = _pulled(run)
    if run.image is not None and ref is not None and ref.digest is None and not mutable(ref):
        yield RuntimeHit(
            run.image.where, f"{container_label(run)} runs image {run.image.value} without a digest"
        )


def _pull_policy(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    ref = _pulled(run)
    policy = run.pull_policy
    if ref is None or policy is None or not mutable(ref):
        return
    if policy.value.strip().lower().replace("-", "_") in _REUSING:
        yield RuntimeHit(
            policy.where,
            f"{container_label(run)} pulls {run.image.value if run.image else ''} with policy "
            f"{policy.value}: each node keeps whichever version it pulled first",
        )


def _pod(image: str, extra: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        f"    - name: web\n      image: {image}\n{extra}"
    )


_DIGEST = "example/web:1.2@sha256:" + "0" * 64

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH435",
        name="image-tag-mutable",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="The image has no tag, the tag latest, or a branch or channel tag",
        explanation=(
            "latest (or no tag, which means latest) is whatever was pushed last, and so is a "
            "tag named for a branch or a channel (master, main, nightly, edge, stable, lts...): "
            "two replicas "
            "started a day apart may run different code, a rollback cannot go back, and nobody "
            "can tell from the manifest what runs. Pin a version tag, better a digest "
            "(name:1.2@sha256:...), and let a bot such as Renovate bump it. A Compose service "
            "with `build:` is not checked: its `image` names what the build makes."
        ),
        bad=_pod("example/web"),
        good=_pod("example/web:1.2"),
        check=_mutable_tag,
        related={
            "checkov": ("CKV_K8S_14",),
            "trivy": ("KSV013",),
            "polaris": ("tagNotSpecified",),
            "kube-score": ("container-image-tag",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH436",
        name="image-without-digest",
        severity=Severity.INFO,
        category=Category.REPRODUCIBILITY,
        summary="The image is pinned by tag only, not by digest",
        explanation=(
            "A version tag can still be pushed again (a rebuild with a patched base, or a "
            "compromised registry account); only a digest names exactly one image. Adding "
            "@sha256:... keeps the tag readable and makes the deployment reproducible and "
            "tamper-evident."
        ),
        bad=_pod("example/web:1.2"),
        good=_pod(_DIGEST),
        check=_no_digest,
        related={"checkov": ("CKV_K8S_43",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH437",
        name="pull-policy-mutable-tag",
        severity=Severity.WARNING,
        category=Category.REPRODUCIBILITY,
        summary="A mutable tag is pulled with a policy that reuses a cached image",
        explanation=(
            "With imagePullPolicy IfNotPresent or Never (Compose pull_policy missing or never, "
            "docker run --pull missing or never) a node runs the latest it pulled once, maybe "
            "months ago, while another node pulls today's: replicas differ silently. Kubernetes "
            "defaults to Always for latest for this reason. Pin a version (best, a digest) or "
            "leave the policy at Always."
        ),
        bad=_pod("example/web:latest", "      imagePullPolicy: IfNotPresent\n"),
        good=_pod("example/web:1.2", "      imagePullPolicy: IfNotPresent\n"),
        check=_pull_policy,
        related={
            "checkov": ("CKV_K8S_15",),
            "kube-score": ("container-image-pull-policy",),
            "polaris": ("pullPolicyNotAlways",),
        },
    )
)
