"""Pod templates inside custom resources, found by their shape. Each manifest is written for
the test after the project's documented example (the fields that matter kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.runtime.discover import kind_of
from keelhaul.runtime.kubernetes import read_kubernetes
from keelhaul.runtime.yaml_documents import YamlFile, load_documents

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


# Tekton (tektoncd/pipeline docs/tasks.md "Configuring a Task", docs/taskruns.md and the
# examples steps-run-in-order and pipelinerun-with-pipelinespec): each task spec runs as a
# pod whose containers are its steps (and sidecars).
TEKTON_TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: example-task-name
spec:
  params:
    - name: pathToDockerFile
      type: string
  steps:
    - name: ubuntu-example
      image: ubuntu
      args: ["ubuntu-build-example", "SECRETS-example.md"]
      securityContext:
        privileged: true
    - image: gcr.io/example-builders/build-example
      command: ["echo"]
      args: ["$(params.pathToDockerFile)"]
      computeResources:
        limits:
          memory: 1Gi
  sidecars:
    - name: docker
      image: docker:24-dind
"""
TEKTON_TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  generateName: steps-run-in-order-
spec:
  podTemplate:
    hostNetwork: true
  taskSpec:
    steps:
    - image: mirror.gcr.io/busybox
      args: ['-c', 'sleep 3 && touch foo']
    - image: mirror.gcr.io/busybox
      args: ['-c', 'ls', 'foo']
"""
TEKTON_PIPELINERUN = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: pipelinerun-echo-greetings
spec:
  pipelineSpec:
    tasks:
      - name: echo-good-morning
        taskSpec:
          steps:
            - name: echo
              image: ubuntu
              script: echo "Good Morning!"
    finally:
      - name: echo-good-night
        taskSpec:
          steps:
            - name: echo
              image: ubuntu
              script: echo "Good Night!"
"""
# Crossplane v2 (docs.crossplane.io get-started-with-composition): a Composition in Pipeline
# mode whose function-patch-and-transform input composes a Deployment.
CROSSPLANE = """\
apiVersion: apiextensions.crossplane.io/v1
kind: Composition
metadata:
  name: app-yaml
spec:
  compositeTypeRef:
    apiVersion: example.crossplane.io/v1
    kind: App
  mode: Pipeline
  pipeline:
  - step: create-deployment-and-service
    functionRef:
      name: function-patch-and-transform
    input:
      apiVersion: pt.fn.crossplane.io/v1beta1
      kind: Resources
      resources:
      - name: deployment
        base:
          apiVersion: apps/v1
          kind: Deployment
          spec:
            replicas: 2
            template:
              spec:
                containers:
                - name: app
                  ports:
                  - containerPort: 80
                  image: nginx
                  securityContext:
                    privileged: true
        patches:
        - type: FromCompositeFieldPath
          fromFieldPath: spec.image
          toFieldPath: spec.template.spec.containers[0].image
"""


@pytest.mark.parametrize(
    ("text", "workloads", "names"),
    [
        (
            TEKTON_TASK,
            ["Task/example-task-name"] * 3,
            ["ubuntu-example", "?", "docker"],
        ),
        (TEKTON_TASKRUN, ["TaskRun/steps-run-in-order- (spec.taskSpec)"] * 2, ["?", "?"]),
        (
            TEKTON_PIPELINERUN,
            [
                "PipelineRun/pipelinerun-echo-greetings (spec.pipelineSpec.tasks[0].taskSpec)",
                "PipelineRun/pipelinerun-echo-greetings (spec.pipelineSpec.finally[0].taskSpec)",
            ],
            ["echo", "echo"],
        ),
        (
            CROSSPLANE,
            ["Composition/app-yaml (spec.pipeline[0].input.resources[0].base.spec.template)"],
            ["app"],
        ),
    ],
)
def test_tekton_steps_and_crossplane_compositions(
    text: str, workloads: list[str], names: list[str]
) -> None:
    source = YamlFile("ci.yaml", text)
    assert kind_of(source) == "kubernetes"
    runs = read_kubernetes(source)
    assert [r.workload for r in runs] == workloads
    assert [r.name for r in runs] == names


def test_tekton_step_settings_are_read() -> None:
    privileged, limited, sidecar = read_kubernetes(TEKTON_TASK, "task.yaml")
    assert privileged.privileged is not None
    assert privileged.privileged.value is True
    assert privileged.privileged.where.line == 14
    assert limited.memory_limit is not None
    assert limited.memory_limit.value == "1Gi"
    assert sidecar.image is not None
    assert sidecar.image.value == "docker:24-dind"
    first, _ = read_kubernetes(TEKTON_TASKRUN, "taskrun.yaml")
    assert first.host_network is not None  # the TaskRun's podTemplate
    assert first.host_network.value is True
    assert first.host_network.where.line == 7
    (app,) = read_kubernetes(CROSSPLANE, "composition.yaml")
    assert app.privileged is not None
    assert app.privileged.where.line == 32


# Tekton's stepTemplate (tektoncd/pipeline docs/tasks.md "Specifying a Step template": the
# template is "the starting point for all of the Steps ... Individual configurations
# specified within Steps supersede the template wherever overlap occurs"; merged by
# MergeStepsWithStepTemplate, a strategic merge). The documented env example, with the
# hardening a CI team would put in the template.
STEP_TEMPLATE = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: step-template-example
spec:
  stepTemplate:
    env:
      - name: "FOO"
        value: "bar"
    securityContext:
      runAsNonRoot: true
      runAsUser: 10001
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    computeResources:
      limits:
        memory: 256Mi
        cpu: 500m
  steps:
    - name: first
      image: ubuntu:24.04
      command: [echo]
      args: ["FOO is ${FOO}"]
    - name: second
      image: ubuntu:24.04
      command: [echo]
      args: ["FOO is ${FOO}"]
      env:
        - name: "FOO"
          value: "baz"
      securityContext:
        allowPrivilegeEscalation: true
  sidecars:
    - name: side
      image: busybox:1.36
"""


def test_a_step_template_is_merged_under_every_step() -> None:
    first, second, side = read_kubernetes(STEP_TEMPLATE, "task.yaml")
    # the template's env, and the step's own FOO winning by name
    assert [(e.name, e.value, e.where.line) for e in first.env] == [("FOO", "bar", 9)]
    assert [(e.name, e.value, e.where.line) for e in second.env] == [("FOO", "baz", 34)]
    # securityContext merged field by field: the template's values, placed at the template
    for run in (first, second):
        assert run.run_as_non_root is not None
        assert run.run_as_non_root.where.line == 11
        assert run.read_only_root is not None
        assert run.read_only_root.value is True
        assert [c.value for c in run.cap_drop] == ["ALL"]
        assert run.memory_limit is not None
        assert run.memory_limit.where.line == 21
    assert first.allow_privilege_escalation is not None
    assert first.allow_privilege_escalation.value is False
    assert second.allow_privilege_escalation is not None  # the step's own value wins
    assert second.allow_privilege_escalation.value is True
    assert second.allow_privilege_escalation.where.line == 36
    # a sidecar is no step: the template does not reach it
    assert side.run_as_non_root is None
    assert side.memory_limit is None


def test_a_step_template_hardening_is_not_reported_per_step() -> None:
    from keelhaul.runtime.checking import check_runs

    found = check_runs(read_kubernetes(STEP_TEMPLATE, "task.yaml"))
    by_line: dict[int, set[str]] = {}
    for f in found:
        for m in f.members or (f,):
            by_line.setdefault(m.location.line, set()).add(m.code)
    steps = {c for line in (24, 28) for c in by_line.get(line, set())}
    assert steps & {"KH400", "KH405", "KH409", "KH410", "KH418", "KH440", "KH441"} == set()
    assert by_line[36] == {"KH416"}  # the second step turns escalation back on
    assert {"KH400", "KH405", "KH410", "KH416", "KH418"} <= by_line[38]  # the sidecar


NO_TEMPLATE = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  steps:
    - name: a
      image: ubuntu:24.04
      script: echo a
    - name: b
      image: ubuntu:24.04
      script: echo b
      securityContext:
        runAsUser: 0
"""


def test_the_fix_goes_into_the_step_template() -> None:
    from keelhaul.runtime.checking import check_runs
    from keelhaul.runtime.fixing import fix_kubernetes

    fixed = fix_kubernetes(NO_TEMPLATE, "task.yaml")
    (doc,) = load_documents(fixed.text, "task.yaml")
    spec = doc["spec"]
    template = spec["stepTemplate"]["securityContext"]
    assert template == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["stepTemplate"]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    # runAsNonRoot stays with step a: under step b's runAsUser: 0 it would never start
    a, b = spec["steps"]
    assert a["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001}
    assert b["securityContext"] == {"runAsUser": 0}
    assert fixed.text.startswith(NO_TEMPLATE.split("    - name: a")[0])  # the rest untouched
    left = {
        m.code for f in check_runs(read_kubernetes(fixed.text, "t.yaml")) for m in f.members or (f,)
    }
    assert left & {"KH400", "KH405", "KH410", "KH416", "KH418"} == set()
    assert fix_kubernetes(fixed.text, "task.yaml").text == fixed.text  # nothing more to add


def test_an_existing_step_template_gets_the_fix() -> None:
    from keelhaul.runtime.fixing import fix_kubernetes

    text = STEP_TEMPLATE.replace("      allowPrivilegeEscalation: false\n", "").replace(
        "      securityContext:\n        allowPrivilegeEscalation: true\n", ""
    )
    (doc,) = load_documents(fix_kubernetes(text, "task.yaml").text, "task.yaml")
    spec = doc["spec"]
    assert spec["stepTemplate"]["securityContext"]["allowPrivilegeEscalation"] is False
    assert all("securityContext" not in step for step in spec["steps"])
    assert spec["sidecars"][0]["securityContext"]["allowPrivilegeEscalation"] is False


def test_a_step_that_silences_a_finding_keeps_its_choice(tmp_path: Path) -> None:
    """``keelhaul fix`` (every pass of its loop): a step whose pragma silences KH405 gets no
    read-only root, neither on itself nor through the stepTemplate the fix makes."""
    task = tmp_path / "task.yaml"
    task.write_text(
        NO_TEMPLATE.replace(
            "    - name: a\n", "    - name: a  # keelhaul: ignore=KH405 -- writes /\n"
        ).replace("      securityContext:\n        runAsUser: 0\n", "")
    )
    from click.testing import CliRunner

    from keelhaul.cli.app import cli

    done = CliRunner().invoke(cli, ["fix", "--unsafe-fixes", str(task)], standalone_mode=False)
    assert done.exception is None, done.output
    assert done.return_value == 0, done.output
    (doc,) = load_documents(task.read_text(), "task.yaml")
    spec = doc["spec"]
    assert "readOnlyRootFilesystem" not in spec["stepTemplate"]["securityContext"]
    assert spec["stepTemplate"]["securityContext"]["runAsNonRoot"] is True
    a, b = spec["steps"]
    assert "securityContext" not in a
    assert b["securityContext"] == {"readOnlyRootFilesystem": True}
    assert [v["name"] for v in spec["volumes"]] == ["tmp"]


# Steps whose images need different things (the image table: nginx writes /var/cache/nginx
# and /var/run and starts as root; postgres starts as root and writes its data folder; an
# unknown image gets the defaults): no setting goes into a stepTemplate, each step gets its own.
MIXED_STEPS = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: mixed
spec:
  steps:
    - name: proxy
      image: nginx:1.27
      script: nginx -t
    - name: db
      image: postgres:16.4
      script: pg_isready
    - name: tool
      image: example/tool:1.0
      script: tool run
"""
#: The template already mounts a scratch volume at /tmp for every step.
TMP_IN_TEMPLATE = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: tmpl
spec:
  stepTemplate:
    volumeMounts:
      - name: scratch
        mountPath: /tmp
  volumes:
    - name: scratch
      emptyDir: {}
  steps:
    - name: proxy
      image: nginx:1.27
      script: nginx -t
    - name: tool
      image: example/tool:1.0
      script: tool run
"""


def _merged_steps(spec: dict[str, object]) -> list[dict[str, object]]:
    """Each step as Tekton runs it (MergeStepsWithStepTemplate): the template under the step,
    securityContext field by field, volumeMounts by name; as a Kubernetes container."""
    template = dict(spec.get("stepTemplate") or {})  # type: ignore[call-overload]
    out = []
    for step in spec["steps"]:  # type: ignore[attr-defined]
        merged = {**template, **step}
        merged["securityContext"] = {
            **(template.get("securityContext") or {}),
            **(step.get("securityContext") or {}),
        }
        mounts = {m["name"]: m for m in template.get("volumeMounts") or []}
        mounts.update({m["name"]: m for m in step.get("volumeMounts") or []})
        merged["volumeMounts"] = list(mounts.values())
        merged.pop("script", None)
        out.append(merged)
    return out


def _assert_startable(spec: dict[str, object]) -> None:
    """The steps as a pod: the Kubernetes 1.30 schema accepts it, no two mounts of a step
    share a path (the API server refuses that), every mount names a volume of the task."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    steps = _merged_steps(spec)
    volumes = spec.get("volumes") or []
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "steps"},
        "spec": {"containers": steps, "volumes": volumes},
    }
    kubernetes_validate.validate(pod, "1.30.0", strict=True)
    names = {v["name"] for v in volumes}  # type: ignore[index]
    for step in steps:
        paths = [m["mountPath"] for m in step["volumeMounts"]]  # type: ignore[attr-defined]
        assert len(paths) == len(set(paths)), step
        assert {m["name"] for m in step["volumeMounts"]} <= names, step  # type: ignore[attr-defined]


def test_steps_whose_images_need_different_things_are_fixed_each_as_its_image_needs() -> None:
    from keelhaul.runtime.fixing import fix_kubernetes

    fixed = fix_kubernetes(MIXED_STEPS, "task.yaml")
    (doc,) = load_documents(fixed.text, "task.yaml")
    spec = doc["spec"]
    assert "stepTemplate" not in spec  # the images differ: nothing every step can share
    proxy, db, tool = spec["steps"]
    # nginx: read-only with its writable paths, its entrypoint's capabilities, not non-root
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in proxy["volumeMounts"]} == {
        "/tmp",
        "/var/cache/nginx",
        "/var/run",
    }
    assert "runAsNonRoot" not in proxy["securityContext"]
    assert {"CHOWN", "SETGID", "SETUID"} <= set(proxy["securityContext"]["capabilities"]["add"])
    # postgres: no read-only root (its data folder needs a volume first), its capabilities
    assert "readOnlyRootFilesystem" not in db["securityContext"]
    assert "volumeMounts" not in db
    assert {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"} == set(
        db["securityContext"]["capabilities"]["add"]
    )
    # an image the table does not know: non-root with a UID, read-only with /tmp, no add-back
    assert tool["securityContext"]["runAsUser"] == 10001
    assert [m["mountPath"] for m in tool["volumeMounts"]] == ["/tmp"]
    assert "add" not in tool["securityContext"]["capabilities"]
    assert any("postgres:16.4 writes its data" in s for s in fixed.skipped)
    _assert_startable(spec)


def test_a_tmp_the_step_template_mounts_is_not_mounted_again() -> None:
    from keelhaul.runtime.fixing import fix_kubernetes

    fixed = fix_kubernetes(TMP_IN_TEMPLATE, "task.yaml")
    (doc,) = load_documents(fixed.text, "task.yaml")
    spec = doc["spec"]
    proxy, tool = spec["steps"]
    for step in (proxy, tool):
        assert step["securityContext"]["readOnlyRootFilesystem"] is True
        assert "/tmp" not in {m["mountPath"] for m in step.get("volumeMounts") or []}
    assert [m["mountPath"] for m in proxy["volumeMounts"]] == ["/var/cache/nginx", "/var/run"]
    assert "volumeMounts" not in tool
    assert sorted(v["name"] for v in spec["volumes"]) == ["scratch", "var-cache-nginx", "var-run"]
    _assert_startable(spec)
