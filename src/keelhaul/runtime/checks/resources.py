"""Resource limits: memory, CPU and process count."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import container_label, is_kubernetes, spell
from keelhaul.runtime.grouping import DEVELOPMENT_TEXT
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit


def _skip(run: ContainerRun) -> bool:
    # an ephemeral (debug) container cannot have resources
    return run.ephemeral


def _memory(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if _skip(run) or run.memory_limit is not None:
        return
    how = spell(
        run, "resources.limits.memory", "mem_limit (or deploy.resources.limits.memory)", "--memory"
    )
    yield RuntimeHit(
        run.where,
        f"{container_label(run)} has no memory limit; set {how}",
    )


def _cpu(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if _skip(run) or run.cpu_limit is not None:
        return
    how = spell(run, "resources.limits.cpu", "cpus (or deploy.resources.limits.cpus)", "--cpus")
    yield RuntimeHit(
        run.where,
        f"{container_label(run)} has no CPU limit; set {how}",
    )


def _pids(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    # Kubernetes has no per-container pids limit: the kubelet's podPidsLimit sets it per node
    if is_kubernetes(run) or run.pids_limit is not None:
        return
    how = spell(run, "", "pids_limit", "--pids-limit")
    yield RuntimeHit(
        run.where,
        f"{container_label(run)} has no limit on its number of processes; set {how}",
    )


def _pod(resources: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        f"    - name: web\n      image: example/web:1.2\n{resources}"
    )


register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH440",
        name="memory-limit-missing",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="The container has no memory limit",
        explanation=(
            "Without a memory limit a leak or a load spike takes the node's memory until the "
            "kernel's OOM killer picks a victim, maybe another service. With a limit only the "
            "faulty container is restarted. Kubernetes: resources.limits.memory (and a "
            "request); Compose: mem_limit or deploy.resources.limits.memory; docker run: "
            "--memory." + DEVELOPMENT_TEXT
        ),
        bad=_pod(""),
        good=_pod("      resources:\n        limits: {memory: 256Mi, cpu: 500m}\n"),
        check=_memory,
        related={
            "checkov": ("CKV_K8S_13",),
            "trivy": ("KSV018",),
            "kubesec": ("LimitsMemory",),
            "polaris": ("memoryLimitsMissing",),
            "kube-score": ("container-resources",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH441",
        name="cpu-limit-missing",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="The container has no CPU limit",
        explanation=(
            "Without a CPU limit one busy container can starve its neighbours on the node. A "
            "limit also throttles the container when it bursts, so some teams prefer requests "
            "only: hence this is information, not a warning. Kubernetes: "
            "resources.limits.cpu; Compose: cpus or deploy.resources.limits.cpus; docker run: "
            "--cpus."
        ),
        bad=_pod(""),
        good=_pod("      resources:\n        limits: {memory: 256Mi, cpu: 500m}\n"),
        check=_cpu,
        related={
            "checkov": ("CKV_K8S_11",),
            "trivy": ("KSV011",),
            "kubesec": ("LimitsCPU",),
            "polaris": ("cpuLimitsMissing",),
            "kube-score": ("container-resources",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        code="KH442",
        name="pids-limit-missing",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="The container has no limit on its number of processes",
        explanation=(
            "A fork bomb or a thread leak in one container exhausts the host's PID table and "
            "stops every other container from starting a process. Compose pids_limit and docker "
            "run --pids-limit cap it (a few hundred suits most services). Compose and docker "
            "run only: Kubernetes has no container-level field; the kubelet's podPidsLimit "
            "sets it for every pod of a node." + DEVELOPMENT_TEXT
        ),
        bad="services:\n  web:\n    image: example/web:1.2\n",
        good="services:\n  web:\n    image: example/web:1.2\n    pids_limit: 200\n",
        check=_pids,
        example_format="compose",
    )
)
