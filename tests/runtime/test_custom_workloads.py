"""Pod templates inside custom resources, found by their shape. Each manifest is written for
the test after the project's documented example (the fields that matter kept)."""

from __future__ import annotations

import pytest

from keelhaul.runtime.discover import kind_of
from keelhaul.runtime.kubernetes import read_kubernetes
from keelhaul.runtime.yaml_documents import YamlFile

RAYCLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: raycluster-kuberay
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers:
          - name: ray-head
            image: rayproject/ray:2.9.0
            securityContext:
              privileged: true
  workerGroupSpecs:
    - groupName: small
      replicas: 1
      template:
        spec:
          containers:
            - name: ray-worker
              image: rayproject/ray:2.9.0
"""
JOBSET = """\
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: paralleljobs
spec:
  replicatedJobs:
    - name: workers
      template:
        spec:
          parallelism: 4
          template:
            spec:
              containers:
                - name: worker
                  image: bash:latest
                  command: ["bash", "-xc", "sleep 1000"]
"""
PYTORCHJOB = """\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: pytorch-simple
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727
"""
ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 5
  template:
    spec:
      containers:
        - name: rollouts-demo
          image: argoproj/rollouts-demo:blue
"""
KNATIVE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: helloworld-go
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "Go Sample v1"
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          properties:
            spec:
              properties:
                containers:
                  type: array
"""


@pytest.mark.parametrize(
    ("text", "workloads"),
    [
        (
            RAYCLUSTER,
            [
                "RayCluster/raycluster-kuberay (spec.headGroupSpec.template)",
                "RayCluster/raycluster-kuberay (spec.workerGroupSpecs[0].template)",
            ],
        ),
        (JOBSET, ["JobSet/paralleljobs (spec.replicatedJobs[0].template.spec.template)"]),
        (
            PYTORCHJOB,
            [
                "PyTorchJob/pytorch-simple (spec.pytorchReplicaSpecs.Master.template)",
                "PyTorchJob/pytorch-simple (spec.pytorchReplicaSpecs.Worker.template)",
            ],
        ),
        (ROLLOUT, ["Rollout/rollouts-demo (spec.template)"]),
        (KNATIVE, ["Service/helloworld-go (spec.template)"]),
    ],
)
def test_pod_templates_of_custom_resources(text: str, workloads: list[str]) -> None:
    source = YamlFile("crd.yaml", text)
    assert kind_of(source) == "kubernetes"
    runs = read_kubernetes(source)
    assert [r.workload for r in runs] == workloads


def test_a_privileged_ray_head_is_seen() -> None:
    (head, _worker) = read_kubernetes(RAYCLUSTER, "ray.yaml")
    assert head.privileged is not None
    assert head.privileged.value is True
    assert head.privileged.where.line == 14


def test_a_crd_schema_is_no_workload() -> None:
    assert kind_of(YamlFile("crd.yaml", CRD)) is None
    assert read_kubernetes(CRD, "crd.yaml") == []
