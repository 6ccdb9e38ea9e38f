"""Host access: the host's namespaces, its files, its ports and its devices."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import container_label, is_kubernetes, spell
from keelhaul.runtime.model import ContainerRun, Mount
from keelhaul.runtime.rules import RuntimeHit

#: Host folders whose mount hands over the host: the folder itself, or anything below it.
SENSITIVE_TREES = ("/proc", "/sys", "/boot", "/dev")
#: Host folders sensitive as a whole, and below them when mounted writable (a read-only
#: /etc/localtime or /etc/ssl/certs is a common, harmless pattern).
SENSITIVE_FOLDERS = ("/", "/etc", "/lib", "/lib64", "/usr", "/bin", "/sbin", "/root", "/var/run",
                     "/run", "/var/lib/docker", "/var/lib/kubelet", "/var/lib/containerd")  # fmt: skip
#: Container runtime sockets: whoever can reach one starts privileged containers.
RUNTIME_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "podman.sock", "dockershim.sock")


def sensitive(mount: Mount) -> str | None:
    """Why a host path is sensitive, or None."""
    if mount.host_path is None or not mount.host_path.startswith("/"):
        return None
    path = posixpath.normpath(mount.host_path)
    path = "/" if path == "//" else path
    if posixpath.basename(path) in RUNTIME_SOCKETS:
        return "the container runtime's socket"
    for tree in SENSITIVE_TREES:
        if path == tree or path.startswith(tree + "/"):
            return f"the host's {tree}"
    if path in SENSITIVE_FOLDERS:
        return "the host's root filesystem" if path == "/" else f"the host's {path}"
    if not mount.read_only:
        for folder in SENSITIVE_FOLDERS[1:]:
            if path.startswith(folder + "/"):
                return f"a folder under the host's {folder}"
    return None


def _namespaces(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    for label, value in (
        (spell(run, "hostNetwork", "network_mode: host", "--network host"), run.host_network),
        (spell(run, "hostPID", "pid: host", "--pid host"), run.host_pid),
        (spell(run, "hostIPC", "ipc: host", "--ipc host"), run.host_ipc),
        (spell(run, "hostUTS", "uts: host", "--uts host"), run.host_uts),
    ):
        if value is not None and value.value:
            yield RuntimeHit(
                value.where, f"{container_label(run)} shares the host's namespace ({label})"
            )


def _host_paths(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if not is_kubernetes(run):  # bind mounts are Compose's normal way; only sensitive ones count
        return
    for mount in run.mounts:
        if mount.kind == "hostPath" and mount.host_path is not None and sensitive(mount) is None:
            mode = "read-only" if mount.read_only else "writable"
            yield RuntimeHit(
                mount.where,
                f"{container_label(run)} mounts host path {mount.host_path} ({mode}) at {mount.target}",
            )


def _sensitive_paths(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    for mount in run.mounts:
        why = sensitive(mount)
        if why is not None:
            mode = "read-only" if mount.read_only else "writable"
            yield RuntimeHit(
                mount.where,
                f"{container_label(run)} mounts {why} ({mount.host_path}, {mode}) at {mount.target}",
            )


def _host_ports(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if not is_kubernetes(run):  # publishing a port is how Compose and docker run expose one
        return
    for port in run.ports:
        if port.host_port:
            yield RuntimeHit(port.where, f"{container_label(run)} binds host port {port.host_port}")


def _devices(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    for device in run.devices:
        yield RuntimeHit(device.where, f"{container_label(run)} gets host device {device.value}")


_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
"""

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH425",
        name="host-namespace-shared",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="The container shares the host's network, PID, IPC or UTS namespace",
        explanation=(
            "hostNetwork (network_mode: host, --network host) gives the container the node's "
            "interfaces: it can listen on any port, reach services bound to localhost and sniff "
            "traffic. hostPID lets it see and signal every process of the host (and read their "
            "environment); hostIPC shares the host's shared memory. Keep the container in its "
            "own namespaces; expose a port instead of sharing the network."
        ),
        bad=_POD.replace("spec:\n  containers:", "spec:\n  hostNetwork: true\n  containers:"),
        good=_POD,
        check=_namespaces,
        related={
            "checkov": ("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
            "trivy": ("KSV008", "KSV009", "KSV010"),
            "kubesec": ("HostNetwork", "HostPID", "HostIPC"),
            "polaris": ("hostNetworkSet", "hostPIDSet", "hostIPCSet"),
            "pss": ("Host Namespaces",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH426",
        name="host-path-volume",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A hostPath volume mounts a folder of the node",
        explanation=(
            "A hostPath volume ties the pod to one node's files and lets the container read (or "
            "write) them; writable, it can plant files the node later runs. The Pod Security "
            "Standards forbid hostPath at the baseline level. Use an emptyDir, a ConfigMap, a "
            "Secret or a PersistentVolumeClaim. Kubernetes only: a Compose or docker run bind "
            "mount is reported only when its host path is sensitive (KH427)."
        ),
        bad=_POD
        + "      volumeMounts:\n        - {name: data, mountPath: /data}\n  volumes:\n    - name: data\n      hostPath: {path: /srv/data}\n",
        good=_POD
        + "      volumeMounts:\n        - {name: data, mountPath: /data}\n  volumes:\n    - name: data\n      emptyDir: {}\n",
        check=_host_paths,
        related={"trivy": ("KSV023",), "pss": ("HostPath Volumes",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH427",
        name="sensitive-host-path",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A sensitive host path (/, /etc, /proc, /sys, /dev, the Docker socket...) is mounted",
        explanation=(
            "Mounting /, /etc, /proc, /sys, /boot, /dev, /lib or /usr of the host, or the "
            "container runtime's socket (/var/run/docker.sock), hands the host over: the socket "
            "starts a privileged container, a writable /etc adds a user, /proc reaches every "
            "process. Mount only the file the program needs, read-only, or use an API instead "
            "of the socket. Subfolders of /etc, /lib, /usr count only when writable (a "
            "read-only /etc/localtime is harmless); anything under /proc, /sys, /boot or /dev "
            "always counts."
        ),
        bad=_POD
        + "      volumeMounts:\n        - {name: docker, mountPath: /var/run/docker.sock}\n  volumes:\n    - name: docker\n      hostPath: {path: /var/run/docker.sock}\n",
        good=_POD
        + "      volumeMounts:\n        - {name: tz, mountPath: /etc/localtime, readOnly: true}\n  volumes:\n    - name: tz\n      hostPath: {path: /etc/localtime}\n",
        check=_sensitive_paths,
        related={
            "checkov": ("CKV_K8S_27",),
            "trivy": ("KSV006", "KSV121"),
            "kubesec": ("DockerSock",),
            "pss": ("HostPath Volumes",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH428",
        name="host-port",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A hostPort binds a port of the node",
        explanation=(
            "hostPort opens the port on the node's own address: the pod can then run only where "
            "the port is free, bypasses NetworkPolicies on some CNIs, and is reachable from "
            "outside the cluster. Use a Service (ClusterIP, NodePort or LoadBalancer) instead. "
            "Kubernetes only: publishing ports is the normal way under Compose and docker run."
        ),
        bad=_POD + "      ports:\n        - {containerPort: 8080, hostPort: 8080}\n",
        good=_POD + "      ports:\n        - {containerPort: 8080}\n",
        check=_host_ports,
        related={
            "checkov": ("CKV_K8S_26",),
            "trivy": ("KSV024",),
            "polaris": ("hostPortSet",),
            "pss": ("Host Ports",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        code="KH429",
        name="host-device",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A host device is passed into the container",
        explanation=(
            "A device (Compose devices:, docker run --device) gives the container direct access "
            "to host hardware or kernel interfaces (/dev/mem, /dev/kvm, /dev/fuse, a disk); "
            "several are a way out of the container. Pass only the device the program needs, "
            "read-only (:r) where it can. Kubernetes pods get devices through device plugins, "
            "which this rule does not see."
        ),
        bad="services:\n  web:\n    image: example/web:1.2\n    devices:\n      - /dev/fuse\n",
        good="services:\n  web:\n    image: example/web:1.2\n",
        check=_devices,
        example_format="compose",
    )
)
