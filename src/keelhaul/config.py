"""Settings for ``keelhaul check``: found beside each Dockerfile, read once per folder.

Where settings come from, for a Dockerfile (the first that applies wins, nothing is merged):

1. ``--no-config``: the built-in defaults. ``--config FILE``: that file, for every Dockerfile
   (a ``.keelhaul.toml``-style file, a ``pyproject.toml``, or a ``.hadolint.yaml``/``.yml``).
2. The nearest keelhaul configuration from the Dockerfile's folder upward: a
   ``.keelhaul.toml`` (its keys at the top level) or a ``pyproject.toml`` with a
   ``[tool.keelhaul]`` table (a ``pyproject.toml`` without one does not count, and in one
   folder ``.keelhaul.toml`` wins). The search goes up to the file system root, as ruff's does;
   a ``.git`` folder does not stop it.
3. Where no keelhaul configuration exists on the way up, the nearest ``.hadolint.yaml`` (or
   ``.hadolint.yml``), read through the catalogue's hadolint aliases, so that a project moving
   from hadolint keeps its ignores and thresholds. hadolint's per-user files
   (``~/.config/hadolint.yaml`` and kin) are not read: results must not depend on whose
   machine runs the check.
4. Otherwise the defaults.

The command line (``--select``, ``--extend-select``, ``--ignore``, ``--fail-on``,
``--[no-]shellcheck``) goes over whichever configuration applies.

Anything wrong in a file (TOML or YAML that does not parse, an unknown key, ``[settings]``
included, a value of the wrong type, an unknown rule) is a :class:`~keelhaul.errors.ConfigError`
naming the file and the key, with the closest known key for an unknown one. Every key, its
type, default and meaning is declared once in :mod:`keelhaul.settings` (docs/settings.md).
In a ``.hadolint.yaml`` only the keys keelhaul uses are checked, and DL codes no keelhaul
rule covers are noted (``-v``) and otherwise skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from keelhaul import limits
from keelhaul.errors import ConfigError, FileMissing
from keelhaul.findings import Severity
from keelhaul.reading import read_limited
from keelhaul.rule import Rule
from keelhaul.selection import (
    HADOLINT_CODE,
    SHELLCHECK_CODE,
    THRESHOLD_WORDS,
    Layer,
    Selector,
    Specificity,
    Threshold,
    Vocabulary,
    decide,
    most_specific_severity,
)
from keelhaul.settings import (
    BY_KEY,
    TOP_LEVEL_KEYS,
    TOP_LEVEL_SETTINGS,
    Settings,
    closest,
)
from keelhaul.settings import type_error as _type_error

if TYPE_CHECKING:  # imported where used: a file with no YAML or patterns needs neither
    import pathspec
    import yaml

T = TypeVar("T")

CONFIG_NAME = ".keelhaul.toml"
PYPROJECT_NAME = "pyproject.toml"
HADOLINT_NAMES = (".hadolint.yaml", ".hadolint.yml")
#: A configuration file bigger than this is refused unread.
MAX_CONFIG_BYTES = limits.CONFIG_BYTES

#: The top-level keys of a keelhaul table (the schema in :mod:`keelhaul.settings` lists them
#: all, with the ``[settings]`` keys that may also be written at the top level).
_KEYS = frozenset({*(k.key for k in TOP_LEVEL_KEYS), *TOP_LEVEL_SETTINGS})
#: hadolint keys keelhaul reads; the rest of hadolint's keys (format, no-color...) are
#: about hadolint's own output and are skipped.
_HADOLINT_READ = frozenset(
    {
        "ignored",
        "override",
        "trustedRegistries",
        "failure-threshold",
        "label-schema",
        "strict-labels",
        "disable-ignore-pragma",
        "no-fail",
    }
)
_HADOLINT_SKIPPED = frozenset({"format", "no-color", "verbose", "notrustedRegistries"})
#: hadolint checks that a hadolint setting switches on; keelhaul switches on the rules that
#: alias them, so a migrated project keeps those checks.
_HADOLINT_SWITCHES = {
    "label-schema": ("DL3049", "DL3050", "DL3051", "DL3052", "DL3053", "DL3054", "DL3055",
                     "DL3056", "DL3058"),
    "trustedRegistries": ("DL3026",),
}  # fmt: skip


def shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Overrides:
    """What the command line says over the configuration (words as typed)."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str | None = None
    shellcheck: bool | None = None

    def layer(self, vocabulary: Vocabulary) -> Layer | None:
        if self.select is None and not self.extend_select and not self.ignore:
            return None

        def resolve(option: str, words: Iterable[str]) -> tuple[Selector, ...]:
            return tuple(_selector(vocabulary, w, option) for w in _split_words(words))

        return Layer(
            select=None if self.select is None else resolve("--select", self.select),
            extend_select=resolve("--extend-select", self.extend_select),
            ignore=resolve("--ignore", self.ignore),
        )


def _split_words(words: Iterable[str]) -> list[str]:
    """``--ignore KH101,KH102 --ignore KH103``: commas and repeats both work."""
    return [w.strip() for word in words for w in word.split(",") if w.strip()]


def _selector(vocabulary: Vocabulary, word: str, where: str) -> Selector:
    found = vocabulary.selector(word)
    if found is None:
        raise ConfigError(f"{where}: {vocabulary.unknown(word)}")
    return found


@dataclass(frozen=True)
class PathRule:
    """One per-path ignore: a gitignore-style pattern and what it turns off below it."""

    pattern: str
    spec: pathspec.GitIgnoreSpec
    selectors: tuple[Selector, ...]


@dataclass(frozen=True, eq=False)
class Config:
    """The settings that apply to one Dockerfile (shared by every file they apply to)."""

    vocabulary: Vocabulary = field(repr=False)
    source: Path | None = None
    """The file the settings came from; None for the defaults."""
    kind: str = "default"
    """``keelhaul``, ``pyproject``, ``hadolint`` or ``default``."""
    root: Path = field(default_factory=Path.cwd)
    """Patterns in ``per-path-ignores`` and ``exclude`` are relative to this folder."""
    layers: tuple[Layer, ...] = (Layer(),)
    severity: tuple[tuple[Selector, Severity], ...] = ()
    fail_on: Threshold = field(default_factory=Threshold)
    per_path_ignores: tuple[PathRule, ...] = ()
    exclude: pathspec.GitIgnoreSpec | None = None
    shellcheck: bool = True
    inline_ignores: bool = True
    settings: Settings = field(default_factory=Settings)
    """The ``[settings]`` (and the top-level rule options), checked against the schema."""
    notes: tuple[str, ...] = ()
    """Things worth a line under ``-v`` (hadolint codes no rule covers, skipped keys)."""
    _decided: dict[str, bool] = field(default_factory=dict, repr=False)
    _path_rules: dict[str, tuple[PathRule, ...]] = field(default_factory=dict, repr=False)
    _codes: dict[tuple[int, ...], frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return "defaults" if self.source is None else shown(self.source)

    def relative(self, path: Path | str) -> str | None:
        """``path`` relative to :attr:`root` with ``/`` separators, or None when outside it."""
        rel = os.path.relpath(os.path.abspath(path), self.root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            return None
        return rel.replace(os.sep, "/")

    def _matching_path_rules(self, path: Path | str | None) -> tuple[PathRule, ...]:
        if path is None or not self.per_path_ignores:
            return ()
        key = str(path)
        found = self._path_rules.get(key)
        if found is None:
            rel = self.relative(path)
            found = () if rel is None else tuple(
                r for r in self.per_path_ignores if r.spec.match_file(rel)
            )  # fmt: skip
            self._path_rules[key] = found
        return found

    def _selected(self, rule: Rule) -> bool:
        on = self._decided.get(rule.code)
        if on is None:
            on = self._decided[rule.code] = decide(self.layers, rule)
        return on

    def enabled(self, code: str, path: Path | str | None = None) -> bool:
        """Whether findings of ``code`` are wanted for the Dockerfile at ``path``."""
        rule = self.vocabulary.rule(code)
        if not self._selected(rule):
            return False
        return not any(
            s.matches(rule) for r in self._matching_path_rules(path) for s in r.selectors
        )

    def enabled_codes(self, path: Path | str | None = None) -> frozenset[str]:
        """The catalogue codes that run on the Dockerfile at ``path``."""
        rules = self._matching_path_rules(path)
        key = tuple(id(r) for r in rules)
        codes = self._codes.get(key)
        if codes is None:
            codes = frozenset(c for c in self.vocabulary.rules if self.enabled(c, path))
            self._codes[key] = codes
        return codes

    @property
    def runs_shellcheck(self) -> bool:
        """Whether ShellCheck is on and some ShellCheck code can be reported."""
        if not self.shellcheck:
            return False
        if self.enabled("SC0000"):  # the codes nobody named: the group or a category decides
            return True
        return any(
            s.value.startswith("SC")
            for layer in self.layers
            for s in (*(layer.select or ()), *layer.extend_select)
        )

    def severity_of(self, code: str) -> Severity | None:
        """The severity ``[severity]`` gives ``code``, or None to keep the rule's own."""
        if not self.severity:
            return None
        return most_specific_severity(self.severity, self.vocabulary.rule(code))

    def excludes(self, path: Path | str) -> bool:
        """Whether ``exclude`` leaves this (discovered, not named) file out."""
        if self.exclude is None:
            return False
        rel = self.relative(path)
        return rel is not None and self.exclude.match_file(rel)

    def with_overrides(self, overrides: Overrides) -> Config:
        layer = overrides.layer(self.vocabulary)
        changed: dict[str, Any] = {"_decided": {}, "_path_rules": {}, "_codes": {}}
        if layer is not None:
            changed["layers"] = (*self.layers, layer)
        if overrides.fail_on is not None:
            threshold = Threshold.parse(overrides.fail_on)
            if threshold is None:
                raise ConfigError(f"--fail-on: expected one of {', '.join(THRESHOLD_WORDS)}")
            changed["fail_on"] = threshold
        if overrides.shellcheck is not None:
            changed["shellcheck"] = overrides.shellcheck
        return replace(self, **changed)

    def describe(self, path: Path | str | None = None) -> dict[str, object]:
        """The settings for the file at ``path`` as plain data (``check --show-settings``)."""
        return {
            "source": None if self.source is None else str(self.source),
            "kind": self.kind,
            "root": str(self.root),
            "rules": sorted(self.enabled_codes(path)),
            "severity": {s.text: sev.value for s, sev in self.severity},
            "fail-on": str(self.fail_on),
            "per-path-ignores": {
                r.pattern: [s.text for s in r.selectors] for r in self.per_path_ignores
            },
            "shellcheck": self.shellcheck,
            "inline-ignores": self.inline_ignores,
            "settings": dict(self.settings),
            "notes": list(self.notes),
        }


# --- reading files -----------------------------------------------------------------------


def _present(path: Path) -> bool:
    """A configuration file is there, even when it cannot be read: a folder, a broken link or
    a link loop under a configuration's name is an error (exit 2) when it is loaded, never a
    configuration silently passed over."""
    return os.path.lexists(path)


def _read_text(path: Path, *, named: bool) -> str:
    """The text of a configuration file. Only a file the user ``named`` may be a pipe
    (``--config <(make-config)``); one found beside the files is refused at once when it is
    not a regular file, never waited on."""
    try:
        data = read_limited(path, MAX_CONFIG_BYTES, pipes=named)
    except FileNotFoundError:
        raise FileMissing(path) from None
    except IsADirectoryError:
        raise ConfigError(f"{shown(path)}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{shown(path)}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{shown(path)}: bigger than {MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown(path)}: not UTF-8 text") from None


def _parse_toml(path: Path, *, named: bool = False) -> dict[str, Any]:
    import tomllib  # here: a file checked without a configuration file needs no TOML reader

    try:
        return tomllib.loads(_read_text(path, named=named))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown(path)}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{shown(path)}: invalid TOML: nested too deeply") from None


#: A ``.hadolint.yaml`` holds a few dozen values; these bound what a hostile one costs. Nodes
#: are counted with every alias expanded (``&a [*b, *b, ...]`` nests doubling lists: 336 bytes
#: made a structure of billions), so a bomb is refused before anything walks it.
MAX_YAML_NODES = limits.CONFIG_YAML_NODES
MAX_YAML_ALIASES = limits.CONFIG_YAML_ALIASES
MAX_YAML_DEPTH = limits.CONFIG_YAML_DEPTH


def _yaml_bounds(node: yaml.Node, path: Path) -> None:
    """A ConfigError when the document, aliases expanded, is too big, too deep or too linked."""
    import yaml

    sizes: dict[int, int] = {}
    aliases = 0

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(
                f"{shown(path)}: YAML nested more than {MAX_YAML_DEPTH} levels deep "
                f"(line {node.start_mark.line + 1})"
            )
        known = sizes.get(id(node))
        if known is not None:  # the same node again: an alias
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise ConfigError(f"{shown(path)}: more than {MAX_YAML_ALIASES} YAML aliases")
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_YAML_NODES:
                raise ConfigError(
                    f"{shown(path)}: more than {MAX_YAML_NODES} YAML values (aliases expanded; "
                    f"line {child.start_mark.line + 1})"
                )
        sizes[id(node)] = total
        return total

    size(node, 0)


def _parse_yaml(path: Path, *, named: bool = False) -> object:
    import yaml

    text = _read_text(path, named=named)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _yaml_bounds(node, path)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise ConfigError(f"{shown(path)}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"{shown(path)}: invalid YAML: {problem}{where}") from None


def load_file(path: Path, vocabulary: Vocabulary) -> Config:
    """A configuration file named on the command line; its name says its kind."""
    name = path.name.lower()
    if name.endswith((".yaml", ".yml")):
        return _from_hadolint(_parse_yaml(path, named=True), path, vocabulary)
    if name == PYPROJECT_NAME:
        table = _parse_toml(path, named=True).get("tool", {}).get("keelhaul")
        if table is None:
            raise ConfigError(f"{shown(path)}: has no [tool.keelhaul] table")
        return _from_table(table, path, "tool.keelhaul.", "pyproject", vocabulary)
    return _from_table(_parse_toml(path, named=True), path, "", "keelhaul", vocabulary)


class _Place:
    """How messages name a key of one file."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self.prefix = prefix

    def __call__(self, key: str) -> str:
        return f"{shown(self.path)}: {self.prefix}{key}"


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _type_error(where, "a list of strings", value)
    return list(value)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(where, "true or false", value)
    return value


def _str_table(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _type_error(where, "a table of strings", value)
    return {str(k): v for k, v in value.items()}


def _threshold(value: object, where: str) -> Threshold:
    threshold = Threshold.parse(value) if isinstance(value, str) else None
    if threshold is None:
        raise _type_error(where, f"one of {', '.join(THRESHOLD_WORDS)}", value)
    return threshold


def _severity(value: object, where: str) -> Severity:
    words = tuple(s.value for s in Severity)
    if not isinstance(value, str) or value.lower() not in words:
        raise _type_error(where, f"one of {', '.join(words)}", value)
    return Severity(value.lower())


def _patterns(patterns: list[str], where: str) -> pathspec.GitIgnoreSpec:
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: bad pattern: {exc}") from None


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(where, "a table", value)
    return value


def _from_table(
    table: object, path: Path, prefix: str, kind: str, vocabulary: Vocabulary
) -> Config:
    """A keelhaul table (``.keelhaul.toml`` or ``[tool.keelhaul]``) checked key by key."""
    where = _Place(path, prefix)
    checked = _table(table, where("").rstrip(": ."))
    for key in checked:
        if key not in _KEYS:
            if key in BY_KEY:
                raise ConfigError(f"{where(key)}: not a top-level key; write it in [settings]")
            close = closest(key, {*_KEYS, *BY_KEY})
            hint = "" if close is None else f" (did you mean {close!r}?)"
            if close is not None and close not in _KEYS:  # a [settings]-only key, misspelt
                hint = f" (did you mean {close!r} in [settings]?)"
            raise ConfigError(f"{where(key)}: unknown key{hint}")
    reader = _TableReader(checked, where, vocabulary)
    return Config(
        vocabulary,
        source=path.absolute(),
        kind=kind,
        root=path.parent.absolute(),
        layers=(reader.layer(),),
        severity=reader.severity(),
        fail_on=reader.get("fail-on", _threshold, Threshold()),
        per_path_ignores=reader.per_path_ignores(),
        exclude=reader.get("exclude", lambda v, at: _patterns(_str_list(v, at), at), None),
        shellcheck=reader.get("shellcheck", _bool, True),
        inline_ignores=reader.get("inline-ignores", _bool, True),
        settings=reader.settings(),
    )


class _TableReader:
    """Reads the keys of one checked keelhaul table; every error names its key."""

    def __init__(self, table: dict[str, Any], where: _Place, vocabulary: Vocabulary) -> None:
        self.table = table
        self.where = where
        self.vocabulary = vocabulary

    def get(self, key: str, read: Callable[[object, str], T], default: T) -> T:
        return read(self.table[key], self.where(key)) if key in self.table else default

    def selectors(self, key: str) -> tuple[Selector, ...]:
        at = self.where(key)
        return tuple(_selector(self.vocabulary, w, at) for w in _str_list(self.table[key], at))

    def layer(self) -> Layer:
        return Layer(
            select=self.selectors("select") if "select" in self.table else None,
            extend_select=self.selectors("extend-select") if "extend-select" in self.table else (),
            ignore=self.selectors("ignore") if "ignore" in self.table else (),
        )

    def subtable(self, key: str) -> dict[str, Any]:
        return _table(self.table[key], self.where(key)) if key in self.table else {}

    def severity(self) -> tuple[tuple[Selector, Severity], ...]:
        found = []
        for word, value in self.subtable("severity").items():
            at = self.where(f"severity.{word}")
            found.append((_selector(self.vocabulary, word, at), _severity(value, at)))
        return tuple(found)

    def per_path_ignores(self) -> tuple[PathRule, ...]:
        found = []
        for pattern, words in self.subtable("per-path-ignores").items():
            at = self.where(f"per-path-ignores.{pattern!r}")
            chosen = tuple(_selector(self.vocabulary, w, at) for w in _str_list(words, at))
            found.append(PathRule(pattern, _patterns([pattern], at), chosen))
        return tuple(found)

    def settings(self) -> Settings:
        found: dict[str, object] = dict(self.subtable("settings"))
        places = {key: self.where(f"settings.{key}") for key in found}
        for key in TOP_LEVEL_SETTINGS:
            if key in self.table:
                if key in found:
                    raise ConfigError(f"{self.where(key)}: set both here and in [settings]")
                found[key] = self.table[key]
                places[key] = self.where(key)
        return Settings.read(found, lambda key: places.get(key) or self.where(f"settings.{key}"))


def _hadolint_selectors(
    vocabulary: Vocabulary, words: Iterable[str], notes: list[str], where: str
) -> list[Selector]:
    """hadolint ids as keelhaul selectors: DL codes through the aliases, SC codes as they are."""
    found: list[Selector] = []
    for word in words:
        code = word.strip().upper()
        if SHELLCHECK_CODE.fullmatch(code):
            found.append(Selector(word, Specificity.RULE, code))
        elif HADOLINT_CODE.fullmatch(code) and code in vocabulary.hadolint:
            found += [Selector(word, Specificity.RULE, c) for c in vocabulary.hadolint[code]]
        else:
            notes.append(f"{where}: {word}: no keelhaul rule covers it; skipped")
    return found


def _from_hadolint(data: object, path: Path, vocabulary: Vocabulary) -> Config:
    """A hadolint configuration, read through the catalogue's hadolint aliases."""
    where = _Place(path, "")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _type_error(shown(path), "a mapping", data)
    notes: list[str] = []
    for key in data:
        if key not in _HADOLINT_READ and key not in _HADOLINT_SKIPPED:
            notes.append(f"{where(str(key))}: not a hadolint key keelhaul reads; skipped")
    ignore = _hadolint_selectors(
        vocabulary, _str_list(data.get("ignored", []) or [], where("ignored")), notes,
        where("ignored"),
    )  # fmt: skip
    severity: dict[str, tuple[Selector, Severity]] = {}
    override = data.get("override") or {}
    if not isinstance(override, dict):
        raise _type_error(where("override"), "a mapping", override)
    for level, words in override.items():
        at = where(f"override.{level}")
        sev = _severity(level, where("override"))
        for sel in _hadolint_selectors(vocabulary, _str_list(words or [], at), notes, at):
            old = severity.get(sel.value)
            if old is None or sev.rank > old[1].rank:  # two DL codes of one rule: the stricter
                severity[sel.value] = (sel, sev)
    settings: dict[str, object] = {}
    switched: list[str] = []
    if "trustedRegistries" in data:
        value = data["trustedRegistries"]
        value = [value] if isinstance(value, str) else value
        settings["trusted-registries"] = _str_list(value, where("trustedRegistries"))
        switched.append("trustedRegistries")
    if "label-schema" in data:
        settings["label-schema"] = _str_table(data["label-schema"], where("label-schema"))
        switched.append("label-schema")
    if "strict-labels" in data:
        settings["strict-labels"] = _bool(data["strict-labels"], where("strict-labels"))
    extend = [
        Selector(key, Specificity.RULE, code)
        for key in switched
        for dl in _HADOLINT_SWITCHES[key]
        for code in vocabulary.hadolint.get(dl, ())
    ]
    threshold = Threshold()
    if "failure-threshold" in data:
        threshold = _threshold(data["failure-threshold"], where("failure-threshold"))
    if "no-fail" in data and _bool(data["no-fail"], where("no-fail")):
        threshold = Threshold(None)
    inline = True
    if "disable-ignore-pragma" in data:
        inline = not _bool(data["disable-ignore-pragma"], where("disable-ignore-pragma"))
    return Config(
        vocabulary,
        source=path.absolute(),
        kind="hadolint",
        root=path.parent.absolute(),
        layers=(Layer(extend_select=tuple(extend), ignore=tuple(ignore)),),
        severity=tuple(severity.values()),
        fail_on=threshold,
        inline_ignores=inline,
        settings=Settings.read(settings, where),
        notes=tuple(notes),
    )


# --- finding the file for a Dockerfile -----------------------------------------------------


class ConfigFinder:
    """The configuration of each Dockerfile; every folder and file is looked at once."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        *,
        config_file: Path | None = None,
        isolated: bool = False,
        overrides: Overrides | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.overrides = overrides or Overrides()
        self.overrides.layer(vocabulary)  # an unknown rule on the command line fails here, early
        self._fixed: Config | None = None
        if isolated:
            self._fixed = self._finish(Config(vocabulary))
        elif config_file is not None:
            self._fixed = self._finish(load_file(config_file, vocabulary))
        self._nearest: dict[str, tuple[Path | None, Path | None]] = {}
        self._loaded: dict[Path, Config] = {}
        self._pyproject: dict[Path, dict[str, Any] | None] = {}
        self._default: Config | None = None

    def _finish(self, config: Config) -> Config:
        return config.with_overrides(self.overrides)

    def for_path(self, path: Path | str) -> Config:
        """The configuration for the Dockerfile at ``path`` (it need not exist)."""
        if self._fixed is not None:
            return self._fixed
        folder = os.path.dirname(os.path.abspath(path))
        own, hadolint = self._lookup(folder)
        chosen = own or hadolint
        if chosen is None:
            if self._default is None:
                self._default = self._finish(Config(self.vocabulary))
            return self._default
        config = self._loaded.get(chosen)
        if config is None:
            config = self._finish(self._load(chosen))
            self._loaded[chosen] = config
        return config

    def _load(self, path: Path) -> Config:
        if path.name in HADOLINT_NAMES:
            return _from_hadolint(_parse_yaml(path), path, self.vocabulary)
        if path.name == PYPROJECT_NAME:
            table = (self._pyproject_tool(path) or {})["keelhaul"]
            return _from_table(table, path, "tool.keelhaul.", "pyproject", self.vocabulary)
        return _from_table(_parse_toml(path), path, "", "keelhaul", self.vocabulary)

    def _pyproject_tool(self, path: Path) -> dict[str, Any] | None:
        if path not in self._pyproject:
            tool = _parse_toml(path).get("tool")
            self._pyproject[path] = tool if isinstance(tool, dict) else None
        return self._pyproject[path]

    def _own(self, folder: str) -> tuple[Path | None, Path | None]:
        """The keelhaul and the hadolint configuration files in ``folder`` itself."""
        own: Path | None = None
        candidate = Path(folder, CONFIG_NAME)
        if _present(candidate):
            own = candidate
        else:
            candidate = Path(folder, PYPROJECT_NAME)
            if _present(candidate):
                tool = self._pyproject_tool(candidate)
                if tool is not None and "keelhaul" in tool:
                    own = candidate
        hadolint = next(
            (Path(folder, n) for n in HADOLINT_NAMES if _present(Path(folder, n))), None
        )
        return own, hadolint

    def _lookup(self, folder: str) -> tuple[Path | None, Path | None]:
        """The nearest keelhaul and hadolint files from ``folder`` upward (memoised per folder)."""
        chain: list[str] = []
        current = folder
        found: tuple[Path | None, Path | None] = (None, None)
        while True:
            if current in self._nearest:
                found = self._nearest[current]
                break
            chain.append(current)
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for each in reversed(chain):
            own, hadolint = self._own(each)
            found = (own or found[0], hadolint or found[1])
            self._nearest[each] = found
        return found
