"""How a container is told to run, whatever said it: a Kubernetes pod template, a Compose
service or a ``docker run`` command line all become :class:`ContainerRun` objects, and the
runtime checks read only those.

This is the contract between the readers (``kubernetes.py``, ``compose.py``, ``docker_run.py``)
and the checks. A reader fills what its format can say and leaves the rest ``None`` (unknown
or not set: the checks tell "not set" from "set to the default" where it matters, so a value
is ``None`` only when the file does not say it). Every value keeps where it was written
(:class:`Where`), so a finding points at the line, and a fix knows what to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Source(StrEnum):
    KUBERNETES = "kubernetes"
    COMPOSE = "compose"
    DOCKER_RUN = "docker-run"


@dataclass(frozen=True)
class Where:
    """A place in a file: 1-based line and column; ``path`` is the key path in the document
    (``spec.template.spec.containers[0].securityContext``) or the flag (``--cap-add``)."""

    file: str
    line: int
    column: int = 1
    path: str = ""


@dataclass(frozen=True)
class Value(Generic[T]):
    """A setting and where it was written."""

    value: T
    where: Where


@dataclass(frozen=True)
class Mount:
    """A volume or bind mount; ``host_path`` is set for hostPath volumes and bind mounts."""

    target: str
    host_path: str | None
    read_only: bool
    kind: str
    """``bind``, ``volume``, ``tmpfs``, ``hostPath``, ``emptyDir``, ``secret``, ``configMap``..."""
    where: Where


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None
    """The literal value; None when it comes from elsewhere (secretKeyRef, a file, the host).
    A literal ``$`` may be written ``$$``, as Compose, Kubernetes and env files escape it (a
    ``docker run`` word's ``$`` in single quotes too: :func:`keelhaul.dockerfile.shell.dollar_form`),
    so that :func:`keelhaul.secrets.is_reference` reads every value alike."""
    from_secret: bool
    where: Where


@dataclass(frozen=True)
class Port:
    container_port: int | None
    host_port: int | None
    protocol: str
    where: Where


@dataclass
class ContainerRun:
    """One container as its run configuration describes it, with the pod/service-level
    settings it inherits already applied (Kubernetes precedence: container over pod)."""

    source: Source
    file: str
    name: str
    """The container (Kubernetes), the service (Compose) or the image (docker run)."""
    workload: str
    """``Deployment/web``, ``service web``, ``docker run (line 12)``."""
    where: Where
    image: Value[str] | None = None
    pull_policy: Value[str] | None = None
    init: bool = False
    """An initContainer (Kubernetes)."""
    ephemeral: bool = False
    # who it runs as
    user: Value[str] | None = None
    """``runAsUser`` / ``user:`` / ``--user``, as written (``1000``, ``1000:1000``, ``app``)."""
    group: Value[str] | None = None
    run_as_non_root: Value[bool] | None = None
    # privileges
    privileged: Value[bool] | None = None
    allow_privilege_escalation: Value[bool] | None = None
    no_new_privileges: Value[bool] | None = None
    cap_add: list[Value[str]] = field(default_factory=list)
    cap_drop: list[Value[str]] = field(default_factory=list)
    read_only_root: Value[bool] | None = None
    seccomp: Value[str] | None = None
    """``RuntimeDefault``, ``Localhost``, ``Unconfined``, a profile path..."""
    apparmor: Value[str] | None = None
    selinux: Value[str] | None = None
    proc_mount: Value[str] | None = None
    sysctls: list[Value[str]] = field(default_factory=list)
    """``name=value`` each."""
    # host access
    host_network: Value[bool] | None = None
    host_pid: Value[bool] | None = None
    host_ipc: Value[bool] | None = None
    host_uts: Value[bool] | None = None
    userns: Value[str] | None = None
    devices: list[Value[str]] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    # configuration
    env: list[EnvVar] = field(default_factory=list)
    automount_service_account_token: Value[bool] | None = None
    # resources
    memory_limit: Value[str] | None = None
    cpu_limit: Value[str] | None = None
    pids_limit: Value[str] | None = None
    extra: dict[str, object] = field(default_factory=dict)
    """Format-specific facts a check may need (``windowsOptions``, ``hostProcess``...)."""


@dataclass(frozen=True)
class StoredValue:
    """A value a file keeps for containers outside their specs: an entry of a ConfigMap or of
    a committed ``Secret`` (``data`` decoded from base64, ``stringData``), a line of a Compose
    ``env_file`` or of the ``.env`` file beside a Compose file. The secret checks read them."""

    holder: str
    """``ConfigMap/app-config``, ``Secret/db``, ``env_file app.env``, ``.env``."""
    kind: str
    """``configmap``, ``secret``, ``env-file`` or ``dotenv``."""
    key: str
    value: str
    where: Where
    """Where the finding points, in the checked file (for a line of another file: the line
    that names or uses it)."""
    origin: str = ""
    """For a value kept in another file: that file and line (``app.env:3``)."""
