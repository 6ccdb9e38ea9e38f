"""The settings schema: every key a keelhaul configuration may hold, declared once.

A configuration (``.keelhaul.toml``, ``[tool.keelhaul]`` in ``pyproject.toml``) has two kinds of
keys:

- the top-level keys (:data:`TOP_LEVEL_KEYS`): which rules run and how findings count
  (``select``, ``ignore``, ``fail-on``...), read by :mod:`keelhaul.config` against the rule
  catalogue;
- the ``[settings]`` table (:class:`Settings`): options of the rules and of ``keelhaul image``,
  ``sbom`` and ``vulns``. Each is a field of :class:`Settings` declared with :func:`_setting`:
  its key, its parser, its default, a one-line description and the commands that read it. A
  few (``trusted-registries``, the image sources' bounds...) may also be written at the top
  level, as before ``[settings]`` existed.

Reading a table checks every key: an unknown one is a :class:`~keelhaul.errors.ConfigError`
naming the file and the key, with the closest known key ("did you mean"); a value of the wrong
shape is one naming the file, the key and what was expected. Readers get typed values
(``settings.image_max_size`` is bytes or None) and the defaults for keys not written; the
:class:`Settings` object is also a read-only mapping of the keys as written, which is what
``keelhaul check --show-settings`` prints.

``python -m keelhaul.settings`` writes docs/settings.md from this schema (a test fails when the
page is stale).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from keelhaul import limits
from keelhaul.errors import ConfigError

__all__ = [
    "SCHEMA",
    "SOURCE_KEYS",
    "TOP_LEVEL_KEYS",
    "TOP_LEVEL_SETTINGS",
    "Setting",
    "Settings",
    "TopLevelKey",
    "check_host",
    "closest",
    "did_you_mean",
    "parse_ratio",
    "parse_size",
    "settings_markdown",
    "type_error",
]

T = TypeVar("T")

#: The commands that read a setting, as the docs list them.
CHECK = ("check", "fix")
IMAGE = ("image",)
SOURCES = ("image", "sbom", "vulns")
VERIFY = ("verify", "fix --verify")


# --- parsers: (value as written, where it was written) -> typed value ---------------------


def type_error(where: str, expected: str, value: object) -> ConfigError:
    """``where: expected X, got <type> <value>`` on one line."""
    got = type(value).__name__
    return ConfigError(f"{where}: expected {expected}, got {got} {value!r:.60}")


def closest(key: str, known: Iterable[str]) -> str | None:
    """The known key closest to ``key`` (``fail_on`` -> ``fail-on``), or None."""
    close = difflib.get_close_matches(key.replace("_", "-"), sorted(known), n=1)
    return close[0] if close else None


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the known key closest to ``key``, or nothing."""
    close = closest(key, known)
    return f" (did you mean {close!r}?)" if close else ""


_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$")
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 1 << 10, "mib": 1 << 20,
          "gib": 1 << 30, "tib": 1 << 40, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30}  # fmt: skip


def parse_size(value: object, where: str) -> int:
    """``500MB``, ``1.5GiB``, ``2000000`` -> bytes (decimal units as registries bill)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _UNITS:
        raise ConfigError(f"{where}: not a size: {value!r} (e.g. 500MB, 1.5GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def parse_ratio(value: object, where: str) -> float:
    """``0.9``, ``90%`` -> 0.9."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(f"{where}: not a ratio: {value!r} (e.g. 0.9 or 90%)") from None
    if not 0 <= number <= 1:
        raise ConfigError(f"{where}: a ratio between 0 and 1 (or 0% and 100%): {value!r}")
    return number


def check_host(host: str, where: str) -> None:
    """A registry ``host[:port]``, or a ConfigError naming ``where``."""
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    if not name or "/" in host or any(c.isspace() for c in host) or (port and not port.isdigit()):
        raise ConfigError(f"{where}: {host!r} is not a registry host[:port]")


def _optional(parse: Callable[[object, str], T]) -> Callable[[object, str], T | None]:
    def read(value: object, where: str) -> T | None:
        return parse(value, where)

    return read


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise type_error(where, "true or false", value)
    return value


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise type_error(where, "a list of strings", value)
    return tuple(value)


def _hosts(value: object, where: str) -> tuple[str, ...]:
    hosts = _str_list(value, where)
    for host in hosts:
        check_host(host, where)
    return hosts


def _str_table(value: object, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise type_error(where, "a table of strings", value)
    return MappingProxyType({str(k): v for k, v in value.items()})


def _whole(least: int) -> Callable[[object, str], int]:
    def read(value: object, where: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise type_error(where, f"a whole number of at least {least}", value)
        return value

    return read


def _number(least: float) -> Callable[[object, str], float]:
    def read(value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
            raise type_error(where, f"a number of at least {least:g}", value)
        return float(value)

    return read


def _count(value: object, where: str) -> int:
    """A number >= 0 taken whole (``image-nodes``, ``image-regions``)."""
    return int(_number(0)(value, where))


def _positive_size(value: object, where: str) -> int:
    size = parse_size(value, where)
    if size <= 0:
        raise ConfigError(f"{where}: must be more than 0: {value!r}")
    return size


def _choice(*words: str) -> Callable[[object, str], str]:
    def read(value: object, where: str) -> str:
        if not isinstance(value, str) or value.lower() not in words:
            raise type_error(where, f"one of {', '.join(words)}", value)
        return value.lower()

    return read


_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)


def _image(value: object, where: str) -> str:
    if not isinstance(value, str) or not _IMAGE.fullmatch(value):
        raise type_error(where, "an image reference", value)
    return value


# --- the schema ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One ``[settings]`` key: how it is read and what it means."""

    key: str
    parse: Callable[[object, str], T]
    default: T
    shape: str
    """What may be written, for people: ``a size (500MB, 1.5GiB)``."""
    doc: str
    """One line: what the setting does."""
    commands: tuple[str, ...]
    """The keelhaul commands that read it."""
    top_level: bool = False
    """Also accepted at the top level of the configuration (not only in ``[settings]``)."""
    default_text: str | None = None
    """The default as the docs show it (when the value itself reads badly)."""

    @property
    def attribute(self) -> str:
        """The :class:`Settings` attribute holding the typed value."""
        return self.key.replace("-", "_")

    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        if self.default is None or self.default == ():
            return "none"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, str):
            return f'"{self.default}"'
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


def _setting(
    key: str,
    parse: Callable[[object, str], T],
    default: T,
    shape: str,
    doc: str,
    commands: tuple[str, ...],
    *,
    top_level: bool = False,
    default_text: str | None = None,
) -> T:
    """A :class:`Settings` field: its default, with the :class:`Setting` in its metadata."""
    spec = Setting(key, parse, default, shape, doc, commands, top_level, default_text)
    found: T = field(default=default, metadata={"setting": spec})
    return found


_MiB, _GiB = 1 << 20, 1 << 30


@dataclass(frozen=True, eq=False)
class Settings(Mapping[str, object]):
    """The ``[settings]`` of one configuration: a typed value (or its default) for every key.

    As a mapping it holds the keys as written (what ``--show-settings`` prints); the attributes
    are what readers use.
    """

    # the Dockerfile rules
    trusted_registries: tuple[str, ...] | None = _setting(
        "trusted-registries", _optional(_str_list), None, "a list of strings",
        "Registry hosts images may come from (globs: `*.gcr.io`; `docker.io` for Docker Hub); "
        "KH128 flags others.",
        CHECK, top_level=True)  # fmt: skip
    allowed_base_images: tuple[str, ...] | None = _setting(
        "allowed-base-images", _optional(_str_list), None, "a list of strings",
        "Glob patterns of the image names allowed (`gcr.io/distroless/*`, `python:3.12-*`); "
        "KH128 flags others.",
        CHECK, top_level=True)  # fmt: skip
    label_schema: Mapping[str, str] | None = _setting(
        "label-schema", _optional(_str_table), None, "a table of strings",
        "Label -> type (text, url, rfc3339, spdx, hash, semver, email): labels the final image "
        "must carry, in that format (KH152).", CHECK, top_level=True)  # fmt: skip
    strict_labels: bool = _setting(
        "strict-labels", _bool, False, "true or false",
        "With `label-schema`: a label outside the schema is a finding (KH152).", CHECK, top_level=True)  # fmt: skip
    useradd_uid_limit: int = _setting(
        "useradd-uid-limit", _whole(1), 100_000, "a whole number",
        "The smallest UID KH190 flags in `useradd` without `-l`.", CHECK)  # fmt: skip
    static_base: str = _setting(
        "static-base", _choice("distroless", "scratch"), "distroless", "distroless or scratch",
        "The runtime image of KH125's fix for a Go program: distroless (static-debian12:nonroot) or scratch.", CHECK)  # fmt: skip
    static_server_base: str | None = _setting(
        "static-server-base", _optional(_image), None, "an image reference",
        "The image serving a front-end's files in the multi-stage fix (default "
        "nginxinc/nginx-unprivileged:1.27-alpine).", CHECK)  # fmt: skip
    fix_syntax_directive: bool = _setting(
        "fix-syntax-directive", _bool, False, "true or false",
        "Let a fix that writes newer Dockerfile syntax (KH184's cache mounts) add "
        "`# syntax=docker/dockerfile:1` at the top. Off by default: BuildKit's built-in "
        "frontend reads cache mounts already, and the directive makes every build pull the "
        "frontend image from a registry (a build that worked offline no longer does).",
        CHECK)  # fmt: skip
    # the runtime rules
    compose_stack: str = _setting(
        "compose-stack", _choice("auto", "development", "production"), "auto",
        "auto, development or production",
        "What the Compose files describe. `auto` (the default): a file whose name says "
        "`prod` or `production` (`compose.production.yaml`, `docker-compose.prod.yml`, "
        "`production.yml`) is production, any other development. On a `development` stack "
        "the hardening checklist (KH409 and its members: capabilities not dropped, writable "
        "root filesystem, no non-root user, no-new-privileges, resource limits) is info, so it "
        "does not fail the default gate; `production` gives those rules their own severity (warning; "
        "the security items are info where the service runs as non-root or drops its "
        "capabilities, defence in depth there). Risks "
        "(privileged, host namespaces, the Docker socket and host paths, dangerous "
        "capabilities, secrets, an explicit root user) keep their severity on either.",
        CHECK)  # fmt: skip
    # bounds on hostile input
    max_expanded_size: int = _setting(
        "max-expanded-size", _positive_size, limits.EXPANDED_CHARS, "a size (500MB, 1.5GiB)",
        "Characters ARG/ENV variable expansion may produce for one Dockerfile; past it the "
        "expansion is a located error (KH115), not gigabytes (`parse` and `dump` use the default).",
        CHECK, default_text="4MiB")  # fmt: skip
    shellcheck_timeout: float = _setting(
        "shellcheck-timeout", _number(0.1), limits.SHELLCHECK_SECONDS, "a number of seconds",
        "How long one ShellCheck process may run; past it, it is killed and the check stops "
        "with an error naming the RUN scripts it was given (exit 2).", CHECK)  # fmt: skip
    shellcheck_max_memory: int = _setting(
        "shellcheck-max-memory", _positive_size, limits.SHELLCHECK_MEMORY_BYTES,
        "a size (500MB, 1.5GiB)",
        "Address space one ShellCheck process may map (an rlimit); past it, it stops and the "
        "check stops with an error naming the RUN scripts it was given (exit 2).", CHECK,
        default_text="2GiB")  # fmt: skip

    # keelhaul image: CI thresholds (exit 1)
    image_max_size: int | None = _setting(
        "image-max-size", _optional(parse_size), None, "a size (500MB, 1.5GiB)",
        "Exit 1 when the uncompressed layers add up to more (`--max-size`).", IMAGE)  # fmt: skip
    image_max_waste: int | None = _setting(
        "image-max-waste", _optional(parse_size), None, "a size (500MB, 1.5GiB)",
        "Exit 1 when the waste is more (`--max-waste`).", IMAGE)  # fmt: skip
    image_min_efficiency: float | None = _setting(
        "image-min-efficiency", _optional(parse_ratio), None, "a ratio (0.9 or \"90%\")",
        "Exit 1 when the efficiency is under this (`--min-efficiency`).", IMAGE)  # fmt: skip
    image_max_layers: int | None = _setting(
        "image-max-layers", _optional(_whole(0)), None, "a whole number",
        "Exit 1 with more layers (`--max-layers`).", IMAGE)  # fmt: skip
    image_waste_min_bytes: int = _setting(
        "image-waste-min-bytes", parse_size, _MiB, "a size (500MB, 1.5GiB)",
        "Hidden bytes below this are not counted as waste.", IMAGE, default_text="1MiB")  # fmt: skip
    image_skip_base: bool = _setting(
        "image-skip-base", _bool, False, "true or false",
        "Leave out the findings from the base image's layers (`--skip-base`).", IMAGE)  # fmt: skip
    # keelhaul image: cost
    image_storage_price: float = _setting(
        "image-storage-price", _number(0), 0.10, "a number",
        "Dollars per GB-month stored (`--storage-price`).", IMAGE)  # fmt: skip
    image_transfer_price: float = _setting(
        "image-transfer-price", _number(0), 0.09, "a number",
        "Dollars per GB pulled (`--transfer-price`).", IMAGE)  # fmt: skip
    image_bandwidth_mbps: float = _setting(
        "image-bandwidth-mbps", _number(0), 100.0, "a number",
        "Megabits per second a node pulls at (`--bandwidth-mbps`).", IMAGE)  # fmt: skip
    image_pulls_per_day: float = _setting(
        "image-pulls-per-day", _number(0), 1.0, "a number",
        "Pulls per node per day (`--pulls-per-day`).", IMAGE)  # fmt: skip
    image_nodes: int = _setting(
        "image-nodes", _count, 10, "a number (taken whole)", "Nodes pulling the image (`--nodes`).", IMAGE)  # fmt: skip
    image_regions: int = _setting(
        "image-regions", _count, 1, "a number (taken whole)",
        "Registries (regions) the image is replicated to (`--regions`).", IMAGE)  # fmt: skip
    vulns_db_max_age: float = _setting(
        "vulns-db-max-age", _number(0), 7.0, "a number of days",
        "`keelhaul vulns` warns when the vulnerability database was last updated (or found "
        "current by `db update`) longer ago than this; 0 never warns.", ("vulns",))  # fmt: skip
    # keelhaul verify
    verify_base_map: Mapping[str, str] | None = _setting(
        "verify-base-map", _optional(_str_table), None, "a table of strings",
        "Image -> local image: FROM lines naming an image (`python:3.11`, or `python` for "
        "every tag) are built from the local one in verify's temporary copies "
        "(`--base-map IMAGE=LOCAL` adds).", VERIFY)  # fmt: skip
    # the image sources: they refuse an image beyond these (exit 2)
    image_insecure_registries: tuple[str, ...] = _setting(
        "image-insecure-registries", _hosts, (), "a list of host[:port]",
        "Registries spoken to over plain HTTP without TLS verification (loopback ones always "
        "are; `--insecure-registry` adds).", SOURCES, top_level=True)  # fmt: skip
    image_max_layer_bytes: int = _setting(
        "image-max-layer-bytes", _positive_size, 64 * _GiB, "a size (500MB, 1.5GiB)",
        "Uncompressed bytes of one layer.", SOURCES, top_level=True, default_text="64GiB")  # fmt: skip
    image_max_blob_bytes: int = _setting(
        "image-max-blob-bytes", _positive_size, 64 * _GiB, "a size (500MB, 1.5GiB)",
        "Bytes of one blob as stored or sent.", SOURCES, top_level=True, default_text="64GiB")  # fmt: skip
    image_max_ratio: float = _setting(
        "image-max-ratio", _number(1), limits.DECOMPRESSION_RATIO, "a number",
        "Uncompressed bytes per compressed byte (a decompression bomb beyond).", SOURCES,
        top_level=True)  # fmt: skip
    image_max_layer_count: int = _setting(
        "image-max-layer-count", _whole(1), 1000, "a whole number",
        "Layers (and index entries) of one image.", SOURCES, top_level=True)  # fmt: skip
    image_max_config_bytes: int = _setting(
        "image-max-config-bytes", _positive_size, 16 * _MiB, "a size (500MB, 1.5GiB)",
        "Bytes of the image config.", SOURCES, top_level=True, default_text="16MiB")  # fmt: skip
    image_max_manifest_bytes: int = _setting(
        "image-max-manifest-bytes", _positive_size, 4 * _MiB, "a size (500MB, 1.5GiB)",
        "Bytes of one manifest or index.", SOURCES, top_level=True, default_text="4MiB")  # fmt: skip
    image_max_archive_members: int = _setting(
        "image-max-archive-members", _whole(1), 200_000, "a whole number",
        "Members of a docker-archive or oci-archive tar.", SOURCES, top_level=True)  # fmt: skip
    image_registry_timeout: float = _setting(
        "image-registry-timeout", _number(0.1), 30.0, "a number of seconds",
        "How long a registry may stay silent; a manifest or token must arrive within four times "
        "this, and a blob must bring 16 KiB per this many seconds.", SOURCES, top_level=True)  # fmt: skip

    written: Mapping[str, object] = field(default_factory=dict, repr=False)
    """The keys as written in the configuration, in order."""

    @classmethod
    def read(cls, values: Mapping[str, object], where: Callable[[str], str]) -> Settings:
        """``values`` checked key by key; ``where(key)`` names a key in messages."""
        changes: dict[str, Any] = {}
        for key, value in values.items():
            spec = BY_KEY.get(key)
            if spec is None:
                hint = did_you_mean(str(key), BY_KEY)
                raise ConfigError(f"{where(str(key))}: unknown key{hint}")
            changes[spec.attribute] = spec.parse(value, where(key))
        return cls(**changes, written=MappingProxyType(dict(values)))

    @classmethod
    def of(cls, values: Mapping[str, object] | None) -> Settings:
        """``values`` as settings (checked, named ``settings.KEY`` in messages); a
        :class:`Settings` is returned as it is."""
        if isinstance(values, Settings):
            return values
        return cls.read(values or {}, lambda key: f"settings.{key}")

    def __getitem__(self, key: str) -> object:
        return self.written[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.written)

    def __len__(self) -> int:
        return len(self.written)


#: Every ``[settings]`` key, in the order they are documented.
SCHEMA: tuple[Setting[Any], ...] = tuple(
    f.metadata["setting"] for f in fields(Settings) if "setting" in f.metadata
)
BY_KEY: dict[str, Setting[Any]] = {s.key: s for s in SCHEMA}
#: The ``[settings]`` keys that may also be written at the top level.
TOP_LEVEL_SETTINGS = tuple(s.key for s in SCHEMA if s.top_level)
#: The keys that bound or point the image sources (``image``, ``sbom``, ``vulns``).
SOURCE_KEYS = tuple(s.key for s in SCHEMA if s.commands == SOURCES)


@dataclass(frozen=True)
class TopLevelKey:
    """A top-level key of a configuration; :mod:`keelhaul.config` reads it against the rules."""

    key: str
    shape: str
    default: str
    doc: str
    commands: tuple[str, ...] = CHECK


#: The top-level keys besides the settings allowed there (:data:`TOP_LEVEL_SETTINGS`).
TOP_LEVEL_KEYS: tuple[TopLevelKey, ...] = (
    TopLevelKey("select", "a list of rule codes, names or categories", "the rules on by default",
                "The rules that run (`ALL` leaves opt-in rules out; name one to run it); "
                "`--select` starts over.", (*CHECK, "image")),
    TopLevelKey("extend-select", "a list of rule codes, names or categories", "none",
                "Rules run besides `select`'s.", (*CHECK, "image")),
    TopLevelKey("ignore", "a list of rule codes, names or categories", "none",
                "Rules that do not run; the more specific of select and ignore wins.",
                (*CHECK, "image")),
    TopLevelKey("severity", "a table: rule, name or category = severity", "the rules' own",
                "The severity a rule's findings get (the most specific selector wins)."),
    TopLevelKey("fail-on", "error, warning, info, style or none", '"warning"',
                "Exit 1 when a finding is at least this severe (`--fail-on`)."),
    TopLevelKey("per-path-ignores", "a table: gitignore pattern = list of rules", "none",
                "Rules ignored for the files a pattern matches (relative to the file's folder)."),
    TopLevelKey("exclude", "a list of gitignore patterns", "none",
                "Files discovery leaves out (a file named on the command line is checked)."),
    TopLevelKey("shellcheck", "true or false", "true",
                "Run ShellCheck on RUN scripts when it is installed (`--[no-]shellcheck`)."),
    TopLevelKey("inline-ignores", "true or false", "true",
                "Honour `# keelhaul: ignore=...` comments in the files."),
    TopLevelKey("settings", "a table", "none",
                "Options of the rules and of `keelhaul image`, `sbom` and `vulns` (below).",
                (*CHECK, *SOURCES)),
)  # fmt: skip


# --- docs ----------------------------------------------------------------------------------

HEADER = "<!-- generated by `python -m keelhaul.settings`; do not edit -->\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_markdown() -> str:
    """docs/settings.md: every key of a configuration, from the schema."""
    lines = [
        HEADER,
        "# Settings",
        "",
        "Every key a `.keelhaul.toml` (or `[tool.keelhaul]` in `pyproject.toml`) may hold. An "
        "unknown key, in `[settings]` too, stops keelhaul with exit code 2 and the closest known "
        "key (`settings.image-max-sise: unknown key (did you mean 'image-max-size'?)`); so does "
        "a value of the wrong type. Where keelhaul looks for the file, and how a "
        "`.hadolint.yaml` is read, is in the [configuration](configuration.md) page.",
        "",
        "## Top-level keys",
        "",
        "| key | value | default | read by | meaning |",
        "|---|---|---|---|---|",
    ]
    for top in TOP_LEVEL_KEYS:
        lines.append(
            f"| `{top.key}` | {_cell(top.shape)} | {_cell(top.default)} | "
            f"{', '.join(top.commands)} | {_cell(top.doc)} |"
        )
    listed = ", ".join(f"`{k}`" for k in TOP_LEVEL_SETTINGS)
    lines += [
        "",
        "## `[settings]`",
        "",
        f"These may also be written at the top level: {listed} (not both).",
        "",
        "| key | value | default | read by | meaning |",
        "|---|---|---|---|---|",
    ]
    for spec in SCHEMA:
        lines.append(
            f"| `{spec.key}` | {_cell(spec.shape)} | {_cell(spec.shown_default())} | "
            f"{', '.join(spec.commands)} | {_cell(spec.doc)} |"
        )
    lines += [
        "",
        "Sizes are written like `500MB` (decimal units, as registries bill) or `1.5GiB` "
        "(binary units), or as a number of bytes. The image sources' bounds refuse to read an image (exit code 2); the "
        "thresholds read it and exit 1. The command line's options win over the settings.",
        "",
        "## Limits",
        "",
        "How much of hostile or huge input keelhaul reads, each set in one place "
        "(`keelhaul.limits`); hitting one gives a message naming the file (and line), never "
        "a hang or unbounded memory. These settings are limits: "
        + ", ".join(f"`{key}`" for key in limits.SETTINGS)
        + ". The rest are fixed:",
        "",
        "| limit | value | bounds | when hit |",
        "|---|---|---|---|",
    ]
    for name, limit in limits.LIMITS.items():
        value = f"{limit.value:,}" if isinstance(limit.value, int) else f"{limit.value:g}"
        lines.append(f"| `{name}` | {value} {limit.unit} | {_cell(limit.bounds)} | "
                     f"{_cell(limit.hit)} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    target.write_text(settings_markdown(), encoding="utf-8")
    print(f"wrote {target}")
