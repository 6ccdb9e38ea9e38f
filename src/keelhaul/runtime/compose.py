"""Compose files read into :class:`ContainerRun` objects: one per service.

What is read: ``compose.yaml``/``docker-compose*.yml`` in the legacy 2.x and 3.x formats and
the Compose Specification (they agree on every field read here). YAML anchors and merge keys
(``<<``) are resolved by the loader; ``extends`` (a service of the same file, or of another
file with ``file:``) is applied the way Compose merges: the extending service's scalars win,
its sequences add to the base's, ``environment`` merges by name. ``x-`` fields are ignored.

Interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``) is understood but
not evaluated: a string that holds a variable is kept as written (checks that need its value
treat it as unknown: see :func:`has_variable`), and a boolean, whose value cannot be known,
is left unset and its field named in ``extra["unresolved"]``.

Every value keeps its line and column (ruamel's round-trip loader).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from keelhaul import limits
from keelhaul.errors import KeelhaulError, SyntaxProblem
from keelhaul.runtime.model import (
    ContainerRun,
    EnvVar,
    Mount,
    Port,
    Source,
    StoredValue,
    Value,
    Where,
)
from keelhaul.runtime.yaml_documents import YamlFile, load_documents, yaml_file
from keelhaul.secrets import is_reference

__all__ = ["has_variable", "looks_like_compose", "read_compose", "services_of", "stored_values"]

#: ``$VAR`` or ``${...}`` not escaped as ``$$``.
_VARIABLE = re.compile(r"(?<!\$)(?:\$\$)*\$(?:\{|[A-Za-z_])")
#: Keys only a service has; a mapping with one of them under ``services:`` is a service.
SERVICE_KEYS = frozenset(
    {
        "image",
        "build",
        "command",
        "entrypoint",
        "environment",
        "ports",
        "volumes",
        "depends_on",
        "restart",
        "container_name",
        "networks",
        "extends",
        "healthcheck",
        "deploy",
        "env_file",
        "expose",
        "labels",
        "user",
        "working_dir",
        "cap_add",
        "cap_drop",
        "privileged",
        "network_mode",
        "profiles",
        "platform",
        "logging",
        "secrets",
        "configs",
        "hostname",
        "tty",
        "stdin_open",
        "devices",
        "read_only",
        "security_opt",
        "pull_policy",
    }
)
#: Fields whose sequences add up across ``extends`` (the rest: the extending service wins).
_SEQUENCES = frozenset(
    {"cap_add", "cap_drop", "security_opt", "ports", "volumes", "devices", "tmpfs", "sysctls"}
)


def has_variable(text: str) -> bool:
    """Whether ``text`` holds a Compose variable (``$$`` is a literal ``$``)."""
    return "$" in text and _VARIABLE.search(text) is not None


def looks_like_compose(doc: object) -> bool:
    """A mapping with ``services:`` whose values look like services (or that is empty)."""
    if not isinstance(doc, dict):
        return False
    services = doc.get("services")
    if not isinstance(services, dict):
        return False
    if not services:
        return True
    return any(
        isinstance(v, dict) and (not v or any(str(k) in SERVICE_KEYS for k in v))
        for v in services.values()
    )


def services_of(doc: object) -> dict[str, CommentedMap]:
    """The service mappings of a Compose document, by name."""
    if not looks_like_compose(doc):
        return {}
    assert isinstance(doc, dict)
    return {
        str(name): svc
        for name, svc in doc["services"].items()
        if isinstance(svc, CommentedMap) and not str(name).startswith("x-")
    }


# --------------------------------------------------------------------------------------------
# one layer of a service: its mapping and the file it is written in


@dataclass(frozen=True)
class _Layer:
    node: CommentedMap
    file: str
    path: str
    """``services.web``: the key path of the service."""

    def where(self, key: str | int, sub: object | None = None, suffix: str = "") -> Where:
        parent = self.node if sub is None else sub
        path = f"{self.path}.{key}{suffix}" if sub is None else f"{self.path}{suffix}"
        try:
            if isinstance(parent, CommentedMap):
                line, col = parent.lc.value(key)
            elif isinstance(parent, CommentedSeq):
                line, col = parent.lc.item(key)
            else:
                line, col = self.node.lc.line, self.node.lc.col
        except (KeyError, IndexError, TypeError, AttributeError):
            # a key brought in by a merge key (<<) has no position of its own here
            line, col = self.node.lc.line, self.node.lc.col
        return Where(self.file, int(line or 0) + 1, int(col or 0) + 1, path)


def _layers(
    name: str,
    services: dict[str, CommentedMap],
    file: str,
    folder: Path | None,
    seen: frozenset[tuple[str, str]] = frozenset(),
) -> list[_Layer]:
    """The service and what it extends, base first."""
    svc = services[name]
    own = _Layer(svc, file, f"services.{name}")
    key = (file, name)
    if key in seen:  # a loop of extends: Compose refuses it; we read what is there
        return [own]
    ext = svc.get("extends")
    base_name: str | None = None
    base_file: str | None = None
    if isinstance(ext, str):
        base_name = ext
    elif isinstance(ext, dict):
        raw_service, raw_file = ext.get("service"), ext.get("file")
        base_name = str(raw_service) if raw_service is not None else None
        base_file = str(raw_file) if raw_file is not None else None
    if base_name is None:
        return [own]
    if base_file is None:
        if base_name in services and base_name != name:
            return [*_layers(base_name, services, file, folder, seen | {key}), own]
        return [own]
    other = _other_file(base_file, folder)
    if other is None:
        return [own]
    other_services, other_name = other
    if base_name not in other_services:
        return [own]
    return [
        *_layers(base_name, other_services, other_name, Path(other_name).parent, seen | {key}),
        own,
    ]


def _other_file(ref: str, folder: Path | None) -> tuple[dict[str, CommentedMap], str] | None:
    """The services of a file an ``extends.file`` names (None when it cannot be read)."""
    if folder is None or has_variable(ref):
        return None
    path = folder / ref
    try:
        text = path.read_text(encoding="utf-8")
        docs = load_documents(text, str(path))
    except (OSError, UnicodeDecodeError, SyntaxProblem):
        return None  # the base is not ours to judge: the service is read without it
    return (services_of(docs[0]) if docs else {}), str(path)


# --------------------------------------------------------------------------------------------
# reading


def read_compose(
    text: str | YamlFile, name: str = "", *, folder: Path | None = None
) -> list[ContainerRun]:
    """One :class:`ContainerRun` per service of every Compose document of ``text``.

    ``folder`` is where ``extends.file`` paths are relative to (default: the folder of
    ``name`` when it is a file on disk).
    """
    source = yaml_file(text, name)
    name = source.name
    if folder is None:
        candidate = Path(name).parent
        folder = candidate if name not in ("", "-") and candidate.is_dir() else None
    runs: list[ContainerRun] = []
    for doc in source.documents():
        services = services_of(doc)
        holder: Any = doc["services"] if services else None
        for service in services:
            run = _run_of(service, _layers(service, services, name, folder), name)
            _from_dockerfile(run, services[service], folder)
            try:  # the service's name, rather than its first key
                line, col = holder.lc.key(service)
                run.where = Where(name, line + 1, col + 1, f"services.{service}")
            except (KeyError, AttributeError, TypeError):
                pass
            runs.append(run)
    return runs


def _last(layers: list[_Layer], key: str) -> tuple[_Layer, Any] | None:
    for layer in reversed(layers):
        if key in layer.node and layer.node.get(key) is not None:
            return layer, layer.node.get(key)
    return None


def _items(layers: list[_Layer], key: str) -> Iterator[tuple[_Layer, object, int, Any]]:
    """Each item of a sequence field across the layers: (layer, sequence, index, item)."""
    for layer in layers:
        seq = layer.node.get(key)
        if isinstance(seq, list):
            for i, item in enumerate(seq):
                if item is not None:
                    yield layer, seq, i, item
        elif isinstance(seq, (str, int)) and key in ("tmpfs", "devices", "volumes"):
            yield layer, layer.node, -1, seq


def _item_where(layer: _Layer, seq: object, i: int, key: str) -> Where:
    """Where item ``i`` of a sequence field is (``i`` -1: the field holds one scalar)."""
    return layer.where(key) if i < 0 else layer.where(i, seq, f".{key}[{i}]")


def _scalar_text(raw: object) -> str | None:
    if raw is None or isinstance(raw, (dict, list)):
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0"})


def _bool(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = _scalar_text(raw)
    if text is None or has_variable(text):
        return None
    lowered = text.strip().lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


class _Run:
    """Fills one :class:`ContainerRun` from a service's layers."""

    def __init__(self, run: ContainerRun, layers: list[_Layer]) -> None:
        self.run = run
        self.layers = layers
        self.unresolved: list[str] = []

    def text(self, key: str) -> Value[str] | None:
        found = _last(self.layers, key)
        if found is None:
            return None
        layer, raw = found
        text = _scalar_text(raw)
        return None if text is None else Value(text, layer.where(key))

    def flag(self, key: str) -> Value[bool] | None:
        found = _last(self.layers, key)
        if found is None:
            return None
        layer, raw = found
        value = _bool(raw)
        if value is None:
            self.unresolved.append(key)
            return None
        return Value(value, layer.where(key))

    def strings(self, key: str) -> list[Value[str]]:
        out: list[Value[str]] = []
        for layer, seq, i, item in _items(self.layers, key):
            text = _scalar_text(item)
            if text is not None:
                where = _item_where(layer, seq, i, key)
                out.append(Value(text, where))
        return out


def _run_of(service: str, layers: list[_Layer], file: str) -> ContainerRun:
    top = layers[-1]
    run = ContainerRun(
        source=Source.COMPOSE,
        file=file,
        name=service,
        workload=f"service {service}",
        where=Where(file, top.node.lc.line + 1, top.node.lc.col + 1, top.path),
    )
    reader = _Run(run, layers)
    run.image = reader.text("image")
    run.pull_policy = reader.text("pull_policy")
    _user(reader)
    run.privileged = reader.flag("privileged")
    run.read_only_root = reader.flag("read_only")
    run.cap_add = reader.strings("cap_add")
    run.cap_drop = reader.strings("cap_drop")
    _security_opts(reader)
    run.host_network = _host(reader, "network_mode")
    run.host_pid = _host(reader, "pid")
    run.host_ipc = _host(reader, "ipc")
    run.host_uts = _host(reader, "uts")
    run.userns = reader.text("userns_mode")
    run.devices = _devices(reader)
    run.mounts = _volumes(reader) + _tmpfs(reader)
    run.ports = _ports(reader)
    run.env = _environment(reader)
    run.sysctls = _sysctls(reader)
    _resources(reader)
    _extra(reader)
    if reader.unresolved:
        run.extra["unresolved"] = tuple(reader.unresolved)
    return run


def _user(reader: _Run) -> None:
    user = reader.text("user")
    reader.run.user = user
    if user is not None and ":" in user.value:
        reader.run.group = Value(user.value.split(":", 1)[1], user.where)


def _host(reader: _Run, key: str) -> Value[bool] | None:
    mode = reader.text(key)
    if mode is None or has_variable(mode.value):
        return None
    return Value(mode.value.strip() == "host", mode.where)


_OPT = re.compile(r"^\s*([A-Za-z-]+)\s*[:=]?\s*(.*?)\s*$")


def _security_opts(reader: _Run) -> None:
    run = reader.run
    for opt in reader.strings("security_opt"):
        match = _OPT.match(opt.value)
        if match is None:
            continue
        name, rest = match.group(1).lower(), match.group(2)
        if name == "no-new-privileges":
            value = _bool(rest) if rest else True
            if value is not None:
                run.no_new_privileges = Value(value, opt.where)
        elif name == "seccomp":
            run.seccomp = Value("Unconfined" if rest == "unconfined" else rest, opt.where)
        elif name == "apparmor":
            run.apparmor = Value("Unconfined" if rest == "unconfined" else rest, opt.where)
        elif name == "label":
            run.selinux = Value(rest, opt.where)


def _devices(reader: _Run) -> list[Value[str]]:
    out: list[Value[str]] = []
    for layer, seq, i, item in _items(reader.layers, "devices"):
        where = _item_where(layer, seq, i, "devices")
        if isinstance(item, dict):
            source = item.get("source")
            target = item.get("target") or source
            if source is not None:
                out.append(Value(f"{source}:{target}", where))
        elif (text := _scalar_text(item)) is not None:
            out.append(Value(text, where))
    return out


def _is_path(source: str) -> bool:
    """Compose takes a volume source for a host path when it starts like one."""
    return (
        source.startswith(("/", ".", "~", "$")) or re.match(r"^[A-Za-z]:[\\/]", source) is not None
    )


def _volumes(reader: _Run) -> list[Mount]:
    out: list[Mount] = []
    for layer, seq, i, item in _items(reader.layers, "volumes"):
        where = _item_where(layer, seq, i, "volumes")
        if isinstance(item, dict):
            kind = str(item.get("type") or "volume")
            source = _scalar_text(item.get("source"))
            target = _scalar_text(item.get("target")) or ""
            read_only = _bool(item.get("read_only")) is True
            host = source if kind == "bind" else None
            out.append(Mount(target, host, read_only, kind, where))
            continue
        text = _scalar_text(item)
        if text is None:
            continue
        parts = _split_volume(text)
        if len(parts) == 1:
            out.append(Mount(parts[0], None, False, "volume", where))
            continue
        source, target = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) > 2 else []
        read_only = "ro" in options or "readonly" in options
        if _is_path(source):
            out.append(Mount(target, source, read_only, "bind", where))
        else:
            out.append(Mount(target, None, read_only, "volume", where))
    return out


def _split_volume(text: str) -> list[str]:
    """``src:dst:mode`` split on colons, a Windows drive letter (``C:\\x``) kept whole."""
    parts = text.split(":")
    if len(parts) > 1 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1][:1] in "\\/":
        parts = [parts[0] + ":" + parts[1], *parts[2:]]
    return parts


def _tmpfs(reader: _Run) -> list[Mount]:
    out: list[Mount] = []
    for tmp in reader.strings("tmpfs"):
        target = tmp.value.split(":", 1)[0].strip()
        out.append(Mount(target, None, False, "tmpfs", tmp.where))
    return out


_PORT = re.compile(
    r"^(?:(?P<ip>\[[^\]]*\]|[^:\[\]]*):)??(?:(?P<host>[^:]*):)?(?P<cont>[^:/]+)(?:/(?P<proto>\w+))?$"
)
#: A range is expanded into its ports up to this many; a longer one gives its first and last.
_RANGE_LIMIT = 64


def _port_numbers(text: str | None) -> list[int | None]:
    if text is None or text == "" or has_variable(text):
        return [None]
    low, _, high = text.partition("-")
    if not low.strip().isdigit():
        return [None]
    first = int(low)
    last = int(high) if high.strip().isdigit() else first
    if last < first:
        return [first]
    if last - first >= _RANGE_LIMIT:
        return [first, last]
    return list(range(first, last + 1))


def _ports(reader: _Run) -> list[Port]:
    out: list[Port] = []
    for layer, seq, i, item in _items(reader.layers, "ports"):
        where = _item_where(layer, seq, i, "ports")
        if isinstance(item, dict):
            target = _port_numbers(_scalar_text(item.get("target")))
            published = _port_numbers(_scalar_text(item.get("published")))
            proto = _scalar_text(item.get("protocol")) or "tcp"
            for n, cont in enumerate(target):
                host = published[n] if n < len(published) else published[0]
                out.append(Port(cont, host, proto, where))
            continue
        text = _scalar_text(item)
        if text is None:
            continue
        match = _PORT.match(text.strip())
        if match is None:
            out.append(Port(None, None, "tcp", where))
            continue
        conts = _port_numbers(match.group("cont"))
        hosts = _port_numbers(match.group("host")) if match.group("host") else [None]
        proto = match.group("proto") or "tcp"
        for n, cont in enumerate(conts):
            host = hosts[n] if n < len(hosts) else hosts[0]
            out.append(Port(cont, host, proto, where))
    return out


def _environment(reader: _Run) -> list[EnvVar]:
    by_name: dict[str, EnvVar] = {}
    for layer in reader.layers:
        env = layer.node.get("environment")
        if isinstance(env, dict):
            for key, raw in env.items():
                text = _scalar_text(raw)
                where = layer.where(key, env, f".environment.{key}")
                by_name[str(key)] = EnvVar(str(key), _literal(text), False, where)
        elif isinstance(env, list):
            for i, item in enumerate(env):
                text = _scalar_text(item)
                if text is None:
                    continue
                key, eq, value = text.partition("=")
                where = layer.where(i, env, f".environment[{i}]")
                by_name[key.strip()] = EnvVar(
                    key.strip(), _literal(value) if eq else None, False, where
                )
    return list(by_name.values())


def _literal(value: str | None) -> str | None:
    """An environment value as a literal, or None when it comes from a variable (the value is
    then the host's or the ``.env`` file's, not written here). A ``$`` inside a run of letters
    and digits (``Xk9#mQ2$vL7pR4wZ``) keeps the value as written: Compose would read a
    variable there, but it is a character of a random password far more often than a variable
    glued to text, and the password is committed either way (:func:`keelhaul.secrets.is_reference`)."""
    if value is None or (has_variable(value) and is_reference(value)):
        return None
    return value


def _sysctls(reader: _Run) -> list[Value[str]]:
    out: list[Value[str]] = []
    for layer in reader.layers:
        raw = layer.node.get("sysctls")
        if isinstance(raw, dict):
            for key, value in raw.items():
                where = layer.where(key, raw, f".sysctls.{key}")
                out.append(Value(f"{key}={_scalar_text(value) or ''}", where))
        elif isinstance(raw, list):
            for i, item in enumerate(raw):
                text = _scalar_text(item)
                if text is not None:
                    out.append(Value(text, layer.where(i, raw, f".sysctls[{i}]")))
    return out


def _resources(reader: _Run) -> None:
    run = reader.run
    for layer in reader.layers:
        deploy = layer.node.get("deploy")
        resources = deploy.get("resources") if isinstance(deploy, dict) else None
        limits = resources.get("limits") if isinstance(resources, dict) else None
        if isinstance(limits, CommentedMap):

            def at(key: str, limits: CommentedMap = limits, layer: _Layer = layer) -> Where:
                return layer.where(key, limits, f".deploy.resources.limits.{key}")

            for key, setter in _LIMIT_SETTERS.items():
                text = _scalar_text(limits.get(key))
                if text is not None:
                    setter(run, Value(text, at(key)))
    for key, setter in (("mem_limit", _set_memory), ("cpus", _set_cpu), ("pids_limit", _set_pids)):
        value = reader.text(key)
        if value is not None:
            setter(run, value)


def _set_memory(run: ContainerRun, value: Value[str]) -> None:
    run.memory_limit = value


def _set_cpu(run: ContainerRun, value: Value[str]) -> None:
    run.cpu_limit = value


def _set_pids(run: ContainerRun, value: Value[str]) -> None:
    run.pids_limit = value


_LIMIT_SETTERS: dict[str, Callable[[ContainerRun, Value[str]], None]] = {
    "memory": _set_memory,
    "cpus": _set_cpu,
    "pids": _set_pids,
}


def _extra(reader: _Run) -> None:
    """Facts for the checks and the fixes that have no field of their own."""
    run = reader.run
    env_files: list[str] = []
    for layer in reader.layers:
        raw = layer.node.get("env_file")
        items = raw if isinstance(raw, list) else [raw] if raw is not None else []
        for item in items:
            path = item.get("path") if isinstance(item, dict) else item
            if path is not None:
                env_files.append(str(path))
    if env_files:
        run.extra["env_file"] = tuple(env_files)
    if _last(reader.layers, "build") is not None:
        run.extra["build"] = True
    network = reader.text("network_mode")
    if network is not None and network.value.startswith(("service:", "container:")):
        run.extra["network_mode"] = network.value
    secrets = _last(reader.layers, "secrets")
    if secrets is not None and isinstance(secrets[1], list):
        run.extra["secrets"] = tuple(
            str(s.get("source") if isinstance(s, dict) else s) for s in secrets[1]
        )


# --------------------------------------------------------------------------------------------
# a service built from a Dockerfile: what its final stage says


#: A Dockerfile larger than this is not read for a Compose service.
_MAX_DOCKERFILE_BYTES = limits.COMPOSE_DOCKERFILE_BYTES


def _from_dockerfile(run: ContainerRun, node: object, folder: Path | None) -> None:
    """A service with ``build:`` runs what its Dockerfile's target stage says where the
    Compose file is silent: the user (``USER``) and the ports it listens on (``EXPOSE``).
    The values keep the service's place (the finding belongs to the Compose file) and say
    where they came from."""
    build = node.get("build") if isinstance(node, dict) else None
    if build is None or folder is None:
        return
    context, dockerfile, target = build, "Dockerfile", None
    if isinstance(build, dict):
        context = build.get("context", ".")
        dockerfile = str(build.get("dockerfile") or "Dockerfile")
        target = build.get("target")
    if not isinstance(context, str) or has_variable(context) or has_variable(dockerfile):
        return
    path = (
        (folder / context / dockerfile) if not Path(dockerfile).is_absolute() else Path(dockerfile)
    )
    try:
        if not path.is_file() or path.stat().st_size > _MAX_DOCKERFILE_BYTES:
            return
        from keelhaul.dockerfile.stages import resolve
        from keelhaul.dockerfile.syntax import read_dockerfile

        tree = read_dockerfile(path)
        built = resolve(tree, target=str(target) if isinstance(target, str) else None)
    except (OSError, KeelhaulError):
        return
    if tree.errors or built.target is None:
        return
    chain = []
    stage: Any = built.stages[built.target]
    while stage is not None:
        chain.append(stage)
        stage = built.stages[stage.base_stage] if stage.base_stage is not None else None
    instructions = [i for s in reversed(chain) for i in s.instructions]
    shown = f"{run.where.path}.build ({path.name}:%d)"
    if run.user is None:
        users = [i for i in instructions if i.name == "USER" and i.values]
        if users:
            last = users[-1]
            run.user = Value(last.values[0], Where(run.file, run.where.line, run.where.column,
                                                   shown % last.span.line))  # fmt: skip
    known = {p.container_port for p in run.ports}
    for inst in instructions:
        if inst.name != "EXPOSE":
            continue
        for word in inst.values:
            number = word.split("/", 1)[0]
            if number.isdigit() and int(number) not in known:
                known.add(int(number))
                where = Where(run.file, run.where.line, run.where.column, shown % inst.span.line)
                run.ports.append(Port(int(number), None, "tcp", where))


# --------------------------------------------------------------------------------------------
# values kept in other files: env_file entries and the .env file beside the Compose file

#: An env file larger than this is not read.
_MAX_ENV_FILE_BYTES = limits.COMPOSE_ENV_FILE_BYTES
_ENV_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*=(.*)$")


def env_file_entries(text: str) -> Iterator[tuple[int, str, str]]:
    """``(line, name, value)`` of each ``NAME=value`` line of an env file (Compose's syntax:
    ``#`` comments, ``export``, quotes); ``NAME`` alone (taken from the host) has no value."""
    for number, line in enumerate(text.splitlines(), 1):
        match = _ENV_LINE.match(line)
        if match is None:
            continue
        value = match.group(2).strip()
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split(" #", 1)[0].strip()
        if value:
            yield number, match.group(1), value


def _read_env_file(path: Path) -> str | None:
    """The env file's text; None when it is missing, too large, not text, or ignored by git
    (kept out of version control, as it should be)."""
    try:
        if not path.is_file() or path.stat().st_size > _MAX_ENV_FILE_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return None if _ignored_by_git(path) else text


def _ignored_by_git(path: Path) -> bool:
    """``git check-ignore`` says so (False outside a repository or without git)."""
    try:
        done = subprocess.run(
            ["git", "check-ignore", "-q", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _first_use(text: str, name: str, file: str) -> Where:
    """The first line of the Compose file that uses ``${NAME}`` (or ``$NAME``); else line 1."""
    match = re.search(
        rf"\$\{{{re.escape(name)}(?=[}}:?\-])|\${re.escape(name)}(?![A-Za-z0-9_])", text
    )
    if match is None:
        return Where(file, 1, 1)
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    return Where(file, line, column)


def stored_values(
    text: str | YamlFile, name: str = "", *, folder: Path | None = None
) -> list[StoredValue]:
    """The values of the services' ``env_file``s and of the ``.env`` file beside the Compose
    file (what Compose reads for ``${VAR}``), each at the line of the Compose file that names
    the env file or first uses the variable. Files that are missing, too large or not text
    are left out. Read from the documents already loaded."""
    source = yaml_file(text, name)
    name = source.name
    if folder is None:
        candidate = Path(name).parent
        folder = candidate if name not in ("", "-") and candidate.is_dir() else None
    if folder is None:
        return []
    out: list[StoredValue] = []
    seen: set[str] = set()
    for doc in source.documents():
        for service, node in services_of(doc).items():
            layer = _Layer(node, name, f"services.{service}")
            raw = node.get("env_file")
            items = raw if isinstance(raw, list) else [raw] if raw is not None else []
            for i, item in enumerate(items):
                ref = item.get("path") if isinstance(item, dict) else item
                if not isinstance(ref, str) or ref in seen:
                    continue
                seen.add(ref)
                where = layer.where(i, raw) if isinstance(raw, list) else layer.where("env_file")
                content = _read_env_file(folder / ref)
                if content is None:
                    continue
                for line, key, value in env_file_entries(content):
                    out.append(
                        StoredValue(
                            f"env_file {ref}", "env-file", key, value, where, f"{ref}:{line}"
                        )
                    )
    dotenv = _read_env_file(folder / ".env")
    if dotenv is not None:
        for line, key, value in env_file_entries(dotenv):
            where = _first_use(source.text, key, name)
            out.append(StoredValue(".env", "dotenv", key, value, where, f".env:{line}"))
    return out
