"""How an image's config and files stand against hardening practice (Dockle's ground): the
user it runs as, HEALTHCHECK, exposed ports, setuid/setgid and world-writable files, shells and
package managers in an image that says it is minimal, and /etc/passwd and /etc/shadow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from keelhaul.image.filesystem import Node
from keelhaul.image.tarstream import DIR, SYMLINK

#: Ports whose services should not face the network from a container (remote shells, file
#: sharing, the Docker API, desktops).
SENSITIVE_PORTS: dict[int, str] = {
    21: "FTP", 22: "SSH", 23: "telnet", 111: "rpcbind", 135: "MS RPC", 139: "NetBIOS",
    445: "SMB", 2375: "the Docker API without TLS", 2376: "the Docker API", 3389: "RDP",
    5900: "VNC", 6000: "X11",
}  # fmt: skip
SHELLS = ("bin/sh", "bin/bash", "bin/dash", "bin/ash", "bin/zsh", "usr/bin/bash", "bin/busybox")
PACKAGE_MANAGERS = (
    "usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "sbin/apk", "usr/bin/yum", "usr/bin/dnf",
    "usr/bin/microdnf", "usr/bin/rpm", "bin/rpm", "usr/bin/zypper", "usr/local/bin/pip",
    "usr/bin/pip", "usr/local/bin/npm", "usr/bin/npm",
)  # fmt: skip
#: Words in a tag, label or name that promise a minimal image.
MINIMAL_WORDS = ("distroless", "minimal", "micro", "static", "scratch", "chainguard", "wolfi")
#: World-writable places a system image legitimately has (sticky dirs are accepted anyway).
_WRITABLE_OK = ("dev/", "proc/", "sys/")


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    path: str | None = None
    """The file it concerns (absolute), if any."""
    layer: int | None = None


def config_of(config: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = config.get("config") or {}
    return inner if isinstance(inner, Mapping) else {}


def runs_as_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def check_config(config: Mapping[str, Any]) -> list[Issue]:
    inner = config_of(config)
    issues: list[Issue] = []
    user = str(inner.get("User") or "")
    if runs_as_root(user):
        shown = f"User {user!r}" if user else "no User"
        issues.append(Issue("runs-as-root", f"the image runs as root ({shown} in its config)"))
    health = inner.get("Healthcheck")
    test = health.get("Test") if isinstance(health, Mapping) else None
    if not test:  # `HEALTHCHECK NONE` is a decision (a command-line tool has nothing to probe)
        issues.append(Issue("no-healthcheck", "the image has no HEALTHCHECK"))
    ports = inner.get("ExposedPorts") or {}
    if isinstance(ports, Mapping):
        for port in ports:
            number = str(port).split("/", 1)[0]
            if number.isdigit() and int(number) in SENSITIVE_PORTS:
                service = SENSITIVE_PORTS[int(number)]
                issues.append(Issue("sensitive-port", f"port {port} ({service}) is exposed"))
    return issues


def claims_minimal(source: str, tags: Iterable[str], config: Mapping[str, Any]) -> str | None:
    """The word that makes the image claim to be minimal, if any."""
    labels = config_of(config).get("Labels") or {}
    scheme, colon, rest = source.partition(":")
    # a file or folder the image was read from says nothing of the image (scratch-space/x.tar)
    named = [] if scheme in ("docker-archive", "oci", "oci-archive") else [rest if colon and
             scheme in ("docker", "docker-daemon", "registry") else source]  # fmt: skip
    texts = [*named, *tags]
    if isinstance(labels, Mapping):
        texts += [f"{k}={v}" for k, v in labels.items()]
    for text in texts:
        lowered = str(text).lower()
        for word in MINIMAL_WORDS:
            if word in lowered:
                return word
    return None


def check_files(nodes: Mapping[str, Node], minimal: str | None) -> list[Issue]:
    issues: list[Issue] = []
    for path, node in nodes.items():
        if node.kind == SYMLINK:
            continue
        special = node.mode & 0o6000
        if special and node.kind != DIR:
            bits = "setuid and setgid" if special == 0o6000 else (
                "setuid" if special & 0o4000 else "setgid")  # fmt: skip
            issues.append(Issue("setuid-file", f"/{path} is {bits}", "/" + path, node.layer))
        sticky_dir = node.kind == DIR and node.mode & 0o1000
        if node.mode & 0o002 and not sticky_dir and not path.startswith(_WRITABLE_OK):
            what = "folder" if node.kind == DIR else "file"
            issues.append(Issue("world-writable", f"/{path}: a world-writable {what} "
                                f"(mode {node.mode:04o})", "/" + path, node.layer))  # fmt: skip
    if minimal is not None:
        for group, names in (("a shell", SHELLS), ("a package manager", PACKAGE_MANAGERS)):
            for name in names:
                tool = nodes.get(name)
                if tool is not None:
                    issues.append(Issue(
                        "tools-in-minimal-image",
                        f"/{name}: {group} in an image that claims to be minimal ({minimal!r})",
                        "/" + name, tool.layer,
                    ))  # fmt: skip
    return issues


def check_accounts(passwd: bytes | None, shadow: bytes | None) -> list[Issue]:
    """Empty passwords and duplicate UIDs."""
    issues: list[Issue] = []
    uids: defaultdict[str, list[str]] = defaultdict(list)
    for line in _lines(passwd):
        fields = line.split(":")
        if len(fields) < 4:
            continue
        name, password, uid = fields[0], fields[1], fields[2]
        uids[uid].append(name)
        if password == "":
            issues.append(Issue("empty-password",
                                f"user {name!r} has an empty password in /etc/passwd",
                                "/etc/passwd"))  # fmt: skip
    for uid, names in uids.items():
        if len(names) > 1:
            issues.append(Issue("duplicate-uid",
                                f"UID {uid} is shared by {', '.join(names)} in /etc/passwd",
                                "/etc/passwd"))  # fmt: skip
    for line in _lines(shadow):
        fields = line.split(":")
        if len(fields) >= 2 and fields[1] == "":
            issues.append(Issue("empty-password",
                                f"user {fields[0]!r} has an empty password in /etc/shadow",
                                "/etc/shadow"))  # fmt: skip
    return issues


def _lines(data: bytes | None) -> list[str]:
    if not data:
        return []
    text = data.decode("utf-8", "replace")
    return [line for line in text.splitlines() if line and not line.startswith("#")]
