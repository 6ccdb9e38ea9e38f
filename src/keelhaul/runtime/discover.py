"""Telling the files that say how containers run, by their content.

A file's kind (:func:`kind_of`):

- ``kubernetes``: a YAML document with ``apiVersion`` and a ``kind`` that holds a pod template
  (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob,
  PodTemplate, DeploymentConfig) or a ``*List`` of them, or a custom resource in which the
  reader finds a pod template by its shape (KubeRay, JobSet, Kubeflow, Argo Rollouts,
  Knative, Crossplane Compositions...) or a Tekton object with ``steps``;
- ``compose``: a YAML mapping with ``services:`` whose values look like services;
- ``docker-run``: a shell script, Makefile, CI file (GitHub Actions, GitLab CI) or Markdown
  file with a ``docker run``/``docker create`` command line.

The name only decides which files are opened when a folder is walked (:func:`is_candidate`):
YAML files, shell scripts, Makefiles and Markdown; the content decides the rest. A walk skips
what git ignores and the folders :mod:`keelhaul.dockerfile.discover` skips, like the Dockerfile
walk does, and templates (a line that starts with ``{{``: Helm charts), which are not YAML
until rendered. Kustomize overlays and Helm charts met are reported to the caller, which
renders them when it can (:mod:`keelhaul.runtime.render`) or says what to run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keelhaul import limits
from keelhaul.dockerfile.discover import _inherited, is_dockerfile_name, walk_files
from keelhaul.errors import FileMissing, KeelhaulError
from keelhaul.reading import read_limited
from keelhaul.runtime.yaml_documents import YamlFile

if TYPE_CHECKING:
    from keelhaul.runtime.model import ContainerRun, StoredValue

__all__ = [
    "COMPOSE",
    "DOCKER_RUN",
    "KUBERNETES",
    "KUSTOMIZATION_NAMES",
    "RuntimeFile",
    "helm_notice",
    "is_candidate",
    "kind_of",
    "kustomize_notice",
    "read_runs",
    "read_stored",
    "runtime_kind",
    "runtime_targets",
]

KUBERNETES = "kubernetes"
COMPOSE = "compose"
DOCKER_RUN = "docker-run"

_WORKLOADS = (
    "Pod|PodTemplate|Deployment|StatefulSet|DaemonSet|ReplicaSet|ReplicationController|Job|"
    "CronJob|DeploymentConfig|[A-Za-z]*List"
)
# at the top level of a document (column 0): a nested ``kind: Pod`` (in a ConfigMap's data,
# a CRD's schema) does not make a workload
_API_VERSION = re.compile(r"""^["']?apiVersion["']?[ \t]*:""", re.M)
_KIND = re.compile(
    rf"""^["']?kind["']?[ \t]*:[ \t]*["']?(?:{_WORKLOADS})["']?[ \t]*(?:#.*)?\r?$""", re.M
)
_CONTAINERS = re.compile(r"""^[ \t-]*["']?containers["']?[ \t]*:""", re.M)
_ANY_KIND = re.compile(r"""^["']?kind["']?[ \t]*:""", re.M)
_SERVICES = re.compile(r"""^["']?services["']?[ \t]*:""", re.M)
#: A line that is template logic (``{{- if .Values.x }}``, ``{{ include "x" . | nindent 4 }}``).
_TEMPLATE_LINE = re.compile(r"^[ \t]*(?:- )?\{\{", re.M)
_YAML_ENDINGS = (".yml", ".yaml")
_SCRIPT_ENDINGS = (".sh", ".bash", ".zsh", ".ksh")
_MARKDOWN_ENDINGS = (".md", ".markdown")
#: Files larger than this are not opened by a walk (generated bundles, data).
MAX_WALK_BYTES = limits.WALKED_FILE_BYTES
#: The most of a named file read (a rendered chart can be large).
MAX_NAMED_BYTES = limits.NAMED_RUNTIME_FILE_BYTES


@dataclass(frozen=True, slots=True)
class RuntimeFile:
    """A file to check with the runtime rules; ``named`` when the user named it. ``source``
    holds its text and (once loaded) its documents, for the reader and the fixer."""

    path: Path
    kind: str
    named: bool
    source: YamlFile


def kind_of(source: YamlFile) -> str | None:
    """The kind of a file (see the module documentation), or None when it is none of them.

    A YAML file that does not parse is None here (unless its name says Compose): the reader
    reports its error when the file is checked anyway. The documents loaded to tell stay in
    ``source`` for the reader.
    """
    name, text = source.name, source.text
    lowered = os.path.basename(name).lower()
    yaml_name = lowered.endswith(_YAML_ENDINGS)
    if lowered.endswith(_MARKDOWN_ENDINGS + _SCRIPT_ENDINGS):
        # a README or a script may quote a manifest or a Compose file in its text; only its
        # `docker run` lines are its own
        return _docker_run_kind(source, name, yaml_name)
    if _API_VERSION.search(text) and _KIND.search(text):
        return KUBERNETES
    if _API_VERSION.search(text) and _ANY_KIND.search(text) and _holds_containers(text):
        # a custom resource (KubeRay, JobSet, Kubeflow, Argo Rollouts...): kubernetes when
        # the reader finds a pod template in it
        from keelhaul.runtime.kubernetes import custom_workload, read_kubernetes

        try:
            if custom_workload(text) and read_kubernetes(source):
                return KUBERNETES
        except KeelhaulError:
            pass  # not YAML that loads: not a manifest keelhaul can read
    if _API_VERSION.search(text):
        from keelhaul.runtime.kubernetes import holds_stored_values

        if holds_stored_values(text):  # a ConfigMap or a Secret: checked for secrets
            return KUBERNETES
    if _SERVICES.search(text) and (yaml_name or not _looks_like_shell(lowered, text)):
        from keelhaul.runtime.compose import looks_like_compose

        try:
            docs = source.documents()
        except KeelhaulError:
            # a broken Compose file: the reader reports where when it is checked
            return COMPOSE if yaml_name and "compose" in lowered else None
        if any(looks_like_compose(doc) for doc in docs):
            return COMPOSE
    return _docker_run_kind(source, name, yaml_name)


def _docker_run_kind(source: YamlFile, name: str, yaml_name: bool) -> str | None:
    """DOCKER_RUN when the file holds a ``docker run`` line keelhaul can read."""
    from keelhaul.runtime.docker_run import has_docker_run, kind_of_name

    if not has_docker_run(source.text):
        return None
    from keelhaul.runtime.docker_run import read_docker_run

    if yaml_name and kind_of_name(name) == "ci-yaml" and not _is_ci(source.text):
        return None
    try:
        if read_docker_run(source):
            return DOCKER_RUN
    except KeelhaulError:
        return None
    return None


def _holds_containers(text: str) -> bool:
    """``containers:``, or a Tekton object's ``steps:``."""
    if _CONTAINERS.search(text):
        return True
    from keelhaul.runtime.kubernetes import tekton_steps

    return tekton_steps(text)


def _looks_like_shell(lowered: str, text: str) -> bool:
    return lowered.endswith(_SCRIPT_ENDINGS) or text.startswith("#!")


def _is_ci(text: str) -> bool:
    """A CI YAML outside ``.github/``: GitLab CI, or a workflow with ``steps`` and ``run``."""
    return ("script:" in text) or ("steps:" in text and "run:" in text)


def is_candidate(name: str, parts: tuple[str, ...] = ()) -> bool:
    """Whether a walk opens a file of this name (``parts``: the folders above it)."""
    lowered = name.lower()
    if lowered.endswith(_YAML_ENDINGS + _SCRIPT_ENDINGS + _MARKDOWN_ENDINGS):
        return True
    return lowered in ("makefile", "gnumakefile") or lowered.endswith(".mk")


def _candidate(entry: os.DirEntry[str]) -> bool:
    return is_candidate(entry.name)


#: How much of a walked file over :data:`MAX_WALK_BYTES` is read to tell whether it is a
#: runtime file that a notice should name.
_HEAD_BYTES = 64 * 1024


def _looks_runtime(text: str) -> bool:
    """Whether ``text`` (perhaps only a file's head) reads like a manifest, a Compose file or
    a script with ``docker run``: what a notice about a file left unchecked is for."""
    from keelhaul.runtime.docker_run import has_docker_run

    return bool(
        (_API_VERSION.search(text) and _ANY_KIND.search(text))
        or _SERVICES.search(text)
        or has_docker_run(text)
    )


def _where_not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    before = data[: error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    return f"not UTF-8 (byte 0x{data[error.start]:02x} at line {line}, column {column})"


def _read(path: Path, named: bool, unreadable: list[tuple[Path, str, bool]]) -> str | None:
    """The file's text; a walked file must be a regular one (a FIFO in a repository never
    hangs the walk), a named one may be a pipe (``<(helm template ...)``).

    A file that cannot be judged is not passed over in silence (issue 23 item 19): a named
    one too large or not UTF-8, and a walked one over :data:`MAX_WALK_BYTES` or not UTF-8
    whose text reads like a runtime file, go to ``unreadable`` with the reason."""
    limit = MAX_NAMED_BYTES if named else MAX_WALK_BYTES
    # a named Dockerfile's own reading reports what is wrong with it
    judged = not named or (is_candidate(path.name) and not is_dockerfile_name(path.name))
    try:
        if not named and os.stat(path).st_size > limit:  # only its head: is it a manifest?
            data = read_limited(path, _HEAD_BYTES) + b"\0" * (limit + 1)
        else:
            data = read_limited(path, limit, pipes=named)
    except OSError:
        return None
    if len(data) > limit:
        if named and judged:
            unreadable.append((path, f"larger than {_mib(limit)}, the most keelhaul reads of "
                               "a runtime file; not checked", True))  # fmt: skip
        elif not named and _looks_runtime(data[:_HEAD_BYTES].decode("utf-8", "replace")):
            unreadable.append((path, f"larger than {_mib(limit)}, the most a folder walk "
                               "reads of a file; not checked (name the file to check it)",
                               False))  # fmt: skip
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if (named and judged) or (not named and _looks_runtime(data.decode("utf-8", "replace"))):
            unreadable.append((path, f"{_where_not_utf8(data, error)}; not checked", named))
        return None


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


def runtime_kind(source: YamlFile) -> str | None:
    """:func:`kind_of` for a file the user named (or stdin): a Dockerfile is never a runtime
    file (its ``RUN docker run`` lines belong to the Dockerfile rules)."""
    if source.name not in ("", "-") and is_dockerfile_name(os.path.basename(source.name)):
        return None
    return kind_of(source)


def read_runs(kind: str, source: YamlFile) -> list[ContainerRun]:
    """What the reader of ``kind`` makes of the file (raises KeelhaulError, located, on YAML
    that does not load)."""
    if kind == KUBERNETES:
        from keelhaul.runtime.kubernetes import read_kubernetes

        return read_kubernetes(source)
    if kind == COMPOSE:
        from keelhaul.runtime.compose import read_compose

        return read_compose(source)
    if kind == DOCKER_RUN:
        from keelhaul.runtime.docker_run import read_docker_run

        return read_docker_run(source)
    raise ValueError(f"unknown runtime file kind {kind!r}")


def read_stored(kind: str, source: YamlFile) -> list[StoredValue]:
    """The values the file keeps for containers outside their specs (ConfigMaps, Secrets,
    Compose env files), for the secret checks; read after :func:`read_runs` (no second
    load)."""
    if kind == KUBERNETES:
        from keelhaul.runtime.kubernetes import stored_values

        return stored_values(source)
    if kind == COMPOSE:
        from keelhaul.runtime.compose import stored_values as compose_values

        return compose_values(source)
    return []


def _rendered(kind: str, source: YamlFile) -> str | None:
    """``kind`` when a file with template lines reads anyway; None for a Helm or Go template,
    which is not YAML until rendered (``helm template | keelhaul check -`` checks that)."""
    try:
        read_runs(kind, source)
    except KeelhaulError:
        return None
    return kind


#: What renders Helm charts and kustomize overlays, and where to get them.
HELM_INSTALL = "https://helm.sh/docs/intro/install/"
KUSTOMIZE_INSTALL = "https://kubectl.docs.kubernetes.io/installation/"
KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def _helm_run() -> str:
    run = "run `helm template CHART [-f values.yaml] | keelhaul check -`"
    if shutil.which("helm") is None:
        return f"{run} (helm is not installed: {HELM_INSTALL})"
    return run


def helm_notice(named: bool) -> str:
    """The one line for a Helm chart (or a template of it, ``named``): what to run, and what
    to install when ``helm`` is not on PATH."""
    if named:
        return (
            "a Helm chart template, not YAML until rendered: not rendered (keelhaul renders charts "
            "with helm on PATH, unless --no-render); " + _helm_run()
        )
    return (
        "a Helm chart: its templates are not YAML until rendered, so they were not checked; "
        + _helm_run()
    )


def kustomize_notice(folder: str = "DIR") -> str:
    """The one line for a kustomize overlay: its resources are checked as written; what to
    run to check what it deploys, and what to install when neither kubectl nor kustomize is
    on PATH."""
    line = (
        "a kustomize overlay: its resource files are checked as written, without its patches; "
        f"to check what it deploys run `kubectl kustomize {folder} | keelhaul check -`"
    )
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        line += f" (kubectl is not installed: {KUSTOMIZE_INSTALL})"
    return line


def chart_of(path: Path) -> Path | None:
    """The Helm chart whose ``templates/`` folder holds ``path`` (the folder with
    ``Chart.yaml``), or None."""
    absolute = Path(os.path.abspath(path))
    if "templates" not in absolute.parts:
        return None
    for parent in absolute.parents:
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return parent.parent
    return None


def runtime_targets(
    paths: Iterable[Path],
    *,
    gitignore: bool = True,
    charts: list[tuple[Path, bool]] | None = None,
    overlays: list[tuple[Path, bool]] | None = None,
    unreadable: list[tuple[Path, str, bool]] | None = None,
) -> list[RuntimeFile]:
    """The runtime files among ``paths``: folders are walked and each candidate file is
    judged by its content; a file the user names is judged by content too (a Dockerfile or
    an unrelated file is not one). Each file comes once.

    Helm chart templates are never read as YAML; ``charts`` receives each chart met (its
    folder, and whether a template of it was named), for the one notice that says how to
    check it; ``overlays`` each kustomization file met (and whether it was named);
    ``unreadable`` each file that could not be judged (too large, not UTF-8), why, and
    whether it was named (see :func:`_read`)."""
    if unreadable is None:
        unreadable = []
    found: list[RuntimeFile] = []
    met: set[Path] = set()
    seen: set[str] = set()
    for path in paths:
        if str(path) == "-":
            continue
        if path.is_dir():
            start = os.path.abspath(path)
            rules = _inherited(start) if gitignore else None
            candidates: Iterable[tuple[Path, bool]] = (
                (p, False) for p in walk_files(start, path, rules, _candidate)
            )
        elif path.exists():
            candidates = [(path, True)]
        else:
            raise FileMissing(path)
        for each, named in candidates:
            key = os.path.abspath(each)
            if key in seen:
                continue
            chart = chart_of(each)
            if chart is not None:
                if charts is not None and (chart not in met or named):
                    met.add(chart)
                    if named:
                        shown = each
                    else:  # the chart, named the way the user named the folder walked
                        shown = chart if path.is_absolute() else Path(os.path.relpath(chart))
                    charts.append((shown, named))
                continue
            if each.name in KUSTOMIZATION_NAMES:
                if overlays is not None:
                    overlays.append((each, named))
                continue
            text = _read(each, named, unreadable)
            if text is None:
                continue
            source = YamlFile(str(each), text)
            kind = kind_of(source) if not named else runtime_kind(source)
            if kind is not None and not named and _TEMPLATE_LINE.search(text):
                kind = _rendered(kind, source)
            if kind is not None:
                seen.add(key)
                found.append(RuntimeFile(each, kind, named, source))
    return found
