"""Shared by the Dockerfile structure rules: stage chains, variable scopes, names and paths.

Variable scoping follows BuildKit's Dockerfile frontend: a stage starts with the variables of
the stage it is built FROM (or, for an image, with that image's ENV, which keelhaul cannot see,
plus PATH); ``ARG name=value`` and ``ENV`` add variables in order; an ARG without a value is
declared (a build arg may set it) but has no value; ARGs before the first FROM are visible to
FROM lines only. One ENV instruction expands all its values before setting any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache
from typing import TypeVar, cast

from immutables import Map

from keelhaul.dockerfile.lex import ExpansionError, Lexer
from keelhaul.dockerfile.stages import Build, Stage, platform_args
from keelhaul.dockerfile.syntax import (
    Dockerfile,
    Instruction,
    LineRole,
    Span,
    parse_heredoc_word,
)
from keelhaul.registry.reference import InvalidReference, parse_reference
from keelhaul.rules.registry import DockerfileContext

#: BuildKit's PATH for Linux stages whose base sets none (scratch included).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Build args BuildKit defines for FROM lines without any ARG (``defaultArgs``).
AUTOMATIC_ARGS = frozenset(
    {
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDOSVERSION",
        "BUILDARCH",
        "BUILDVARIANT",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETOSVERSION",
        "TARGETARCH",
        "TARGETVARIANT",
        "TARGETSTAGE",
    }
)
#: ARGs BuildKit reads itself and never puts in the environment; using them is fine.
NON_ENV_ARGS = frozenset({"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"})


@cache
def lexer(escape: str) -> Lexer:
    return Lexer(escape=escape)


@cache
def raw_lexer() -> Lexer:
    """BuildKit expands COPY heredoc bodies with quotes kept as text and ``\\`` as escape."""
    return Lexer(skip_process_quotes=True)


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> tuple[str, set[str]] | None:
    """``word`` expanded with ``env`` and the names it used that ``env`` lacks; None on error."""
    try:
        result, _, unmatched = lexer(escape).process_word_with_matches(word, env)
    except ExpansionError:
        return None
    return result, unmatched


# --- stages ----------------------------------------------------------------------------


def chain(build: Build, stage: Stage) -> list[Stage]:
    """The stage, then the earlier stage it is built FROM, and so on back to an image."""
    out = [stage]
    while out[-1].base_stage is not None and out[-1].base_stage < out[-1].index:
        out.append(build.stages[out[-1].base_stage])
    return out


def base_of(stage: Stage) -> int | None:
    """The earlier stage this one is built FROM, if any (a later name means an image)."""
    base = stage.base_stage
    return base if base is not None and base < stage.index else None


def inherited(stage: Stage, flags: Mapping[int, bool]) -> bool:
    """A per-stage flag computed in file order, as the stage's base stage left it."""
    base = base_of(stage)
    return flags.get(base, False) if base is not None else False


def rooted_at_scratch(build: Build, stage: Stage) -> bool:
    """True when every layer of the stage comes from this Dockerfile (nothing is unknown)."""
    return build.root(stage).is_scratch


def stage_of(build: Build) -> dict[int, Stage]:
    """id(instruction) -> the stage it belongs to."""
    return {id(inst): stage for stage in build.stages for inst in stage.instructions}


# --- variables -------------------------------------------------------------------------


class Overlay(Mapping[str, str]):
    """``top`` over ``below``, read-only, without copying ``below``: a RUN's own variables over
    its stage's scope cost the size of the script, not of the scope (a scope inherited down
    a deep FROM chain may hold thousands of names, and every RUN of the chain reads one)."""

    __slots__ = ("below", "top")

    def __init__(self, top: Mapping[str, str], below: Mapping[str, str]) -> None:
        self.top = top
        self.below = below

    def __getitem__(self, name: str) -> str:
        if name in self.top:
            return self.top[name]
        return self.below[name]

    def __contains__(self, name: object) -> bool:
        return name in self.top or name in self.below

    def __iter__(self) -> Iterator[str]:
        yield from self.top
        yield from (name for name in self.below if name not in self.top)

    def __len__(self) -> int:
        return len(self.top) + sum(1 for name in self.below if name not in self.top)


@dataclass(frozen=True, slots=True)
class Scope:
    """The variables in effect just before one instruction of a stage."""

    env: Mapping[str, str]
    """Names with a value: ENV, ARG with a value (or a global value), PATH."""
    args: AbstractSet[str]
    """Every ARG declared in the stage and the stages it is built on, with a value or not."""
    complete: bool
    """False when the base image's ENV (unknown to keelhaul) may define more names."""
    unknown: AbstractSet[str] = frozenset()
    """Names in ``env`` whose value depends on something unknown (``ENV D=$HOME/x``)."""

    def defines(self, name: str) -> bool:
        return name in self.env or name in self.args or name in NON_ENV_ARGS

    def uncertain(self, matched: AbstractSet[str], unmatched: AbstractSet[str]) -> bool:
        """Whether an expansion that used these names has a value only known at build time.

        An unset name is empty for sure in a stage built from scratch, unless an ARG declares
        it (a build arg may set it); on an image its ENV may set it.
        """
        if matched & self.unknown or unmatched & self.args:
            return True
        return bool(unmatched) and not self.complete


def meta_declared(tree: Dockerfile) -> dict[str, Instruction]:
    """ARGs declared before the first FROM, with the ARG instruction declaring each."""
    out: dict[str, Instruction] = {}
    for inst in tree.instructions:
        if inst.name == "FROM":
            break
        if inst.name == "ARG":
            for word in inst.values:
                out.setdefault(word.partition("=")[0], inst)
    return out


def meta_env(tree: Dockerfile, target: str = "default") -> dict[str, str]:
    """What FROM lines see with no build args: automatic platform args and ARG defaults."""
    env = platform_args()
    env.update({"BUILDOSVERSION": "", "TARGETOSVERSION": "", "TARGETSTAGE": target})
    for inst in tree.instructions:
        if inst.name == "FROM":
            break
        if inst.name != "ARG":
            continue
        for word in inst.values:
            key, sep, default = word.partition("=")
            if sep:
                done = expand(default, env, tree.escape)
                if done is not None:
                    env[key] = done[0]
    return env


def arg_words(inst: Instruction) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for word in inst.values:
        key, sep, value = word.partition("=")
        out.append((key, value if sep else None))
    return out


_T = TypeVar("_T")


class _Names(AbstractSet[str]):
    """A persistent set of names: adding or dropping one makes a new set that shares the
    rest with the old one, which stays as it was."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Map[str, None] | None = None) -> None:
        self._keys: Map[str, None] = keys if keys is not None else Map()

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def _from_iterable(cls, it: Iterable[_T]) -> AbstractSet[_T]:
        return frozenset(it)  # what ``set & names`` and the like return

    def add(self, name: str) -> _Names:
        return self if name in self._keys else _Names(self._keys.set(name, None))

    def discard(self, name: str) -> _Names:
        return _Names(self._keys.delete(name)) if name in self._keys else self


@dataclass
class _Walk:
    """The variables as a stage's walk has them. Persistent maps and sets: a scope handed
    out keeps its values when the walk goes on, without a copy per ARG or ENV (a copy each
    made n ARG lines cost n squared)."""

    env: Map[str, str]
    args: _Names
    complete: bool
    unknown: _Names

    def scope(self) -> Scope:
        return Scope(self.env, self.args, self.complete, self.unknown)

    def assign(self, key: str, raw: str, env: Mapping[str, str], escape: str) -> None:
        """Set ``key`` to ``raw`` expanded with ``env``, remembering whether it is certain."""
        self.store(key, _expand_matches(raw, env, escape))

    def store(self, key: str, expanded: tuple[str, set[str], set[str]]) -> None:
        """Set ``key`` to an expansion's value, remembering whether it is certain."""
        value, matched, unmatched = expanded
        self.env = self.env.set(key, value)
        if self.scope().uncertain(matched, unmatched):
            self.unknown = self.unknown.add(key)
        else:
            self.unknown = self.unknown.discard(key)


def _expand_matches(
    raw: str, env: Mapping[str, str], escape: str
) -> tuple[str, set[str], set[str]]:
    """``raw`` expanded with ``env``: the value, the names matched and the names unset."""
    try:
        return lexer(escape).process_word_with_matches(raw, env)
    except ExpansionError:
        return raw, set(), {"?"}


class Scopes:
    """The scope before each instruction of every stage, computed once per build."""

    def __init__(self, tree: Dockerfile, build: Build) -> None:
        self.escape = tree.escape
        self.globals = dict(build.resolved_global_args)
        self.global_names = set(build.global_args) | AUTOMATIC_ARGS
        self.before: dict[int, Scope] = {}
        self.end: dict[int, Scope] = {}
        for stage in build.stages:
            self._walk(stage)

    def _start(self, stage: Stage) -> _Walk:
        base = stage.base_stage
        if base is not None and base < stage.index and base in self.end:
            done = self.end[base]
            return _Walk(cast(Map[str, str], done.env), cast(_Names, done.args), done.complete,
                         cast(_Names, done.unknown))  # fmt: skip
        # An image's PATH may differ from the default: known only from scratch.
        unknown = _Names() if stage.is_scratch else _Names().add("PATH")
        return _Walk(Map(PATH=DEFAULT_PATH), _Names(), stage.is_scratch, unknown)

    def _walk(self, stage: Stage) -> None:
        walk = self._start(stage)
        scope = walk.scope()
        for inst in stage.instructions:
            self.before[id(inst)] = scope
            if inst.name == "ARG":
                for key, default in arg_words(inst):
                    walk.args = walk.args.add(key)
                    if default is not None:
                        walk.assign(key, default, walk.env, self.escape)
                    elif key in self.global_names and key in self.globals:
                        walk.env = walk.env.set(key, self.globals[key])
                        walk.unknown = walk.unknown.discard(key)
                scope = walk.scope()
            elif inst.name == "ENV":
                # every pair reads the values from before the ENV
                env = walk.env
                done = [(key, _expand_matches(raw, env, self.escape)) for key, raw in inst.pairs()]
                for key, expanded in done:
                    walk.store(key, expanded)
                scope = walk.scope()
        self.end[stage.index] = scope

    def at(self, inst: Instruction) -> Scope | None:
        return self.before.get(id(inst))


def scopes(ctx: DockerfileContext) -> Scopes:
    """The build's scopes, walked once per Dockerfile however many rules ask."""
    return ctx.memo("structure.scopes", lambda c: Scopes(c.tree, c.build))


def resolve_word(word: str, scope: Scope, escape: str) -> str | None:
    """The word's value at build time, or None when it depends on something unknown."""
    try:
        value, matched, unmatched = lexer(escape).process_word_with_matches(word, scope.env)
    except ExpansionError:
        return None
    return None if scope.uncertain(matched, unmatched) else value


_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def locate_variable(inst: Instruction, name: str) -> Span | None:
    """Where ``$name`` or ``${name`` first appears in the instruction."""
    return inst.locate("${" + name) or inst.locate("$" + name)


def variable_names(text: str) -> set[str]:
    """Names referenced as ``$NAME`` or ``${NAME...}`` in text (a rough scan, no quoting)."""
    return {m.group(1) or m.group(2) for m in _VAR_REF.finditer(text)}


# --- suggestions -------------------------------------------------------------------------


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning ``limit``) once it cannot stay below it."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) >= limit:
            return limit
        previous = current
    return previous[-1]


def suggest(name: str, options: Iterable[str], case_sensitive: bool = True) -> str | None:
    """The closest option at edit distance 1 or 2 (as BuildKit's suggestions), or None."""
    key = name if case_sensitive else name.lower()
    best: str | None = None
    best_distance = 3
    for option in options:
        candidate = option if case_sensitive else option.lower()
        if candidate == key:
            return None
        d = _distance(key, candidate, best_distance)
        if d < best_distance:
            best, best_distance = option, d
    return best


# --- COPY and ADD ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transfer:
    """A COPY or ADD: its sources (heredocs apart) and destination, as written."""

    instruction: Instruction
    sources: tuple[str, ...]
    heredocs: int
    dest: str


def transfer(inst: Instruction) -> Transfer | None:
    eff = inst.effective
    if eff.name not in ("COPY", "ADD") or len(eff.values) < 2:
        return None
    *sources, dest = eff.values
    plain = tuple(s for s in sources if not (eff.heredocs and parse_heredoc_word(s) is not None))
    return Transfer(inst, plain, len(sources) - len(plain), dest)


_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@[^:]+:)")


def is_remote(source: str) -> bool:
    """A URL or git reference (``https://``, ``git://``, ``git@host:repo``)."""
    return _REMOTE.match(source) is not None


def is_directory_path(dest: str) -> bool:
    """A destination that names a directory: ends with ``/`` or is ``.``/``..``-like."""
    return dest.endswith(("/", "\\")) or dest in (".", "..") or dest.endswith(("/.", "/.."))


_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:)?[\\/]")


def is_absolute(path: str) -> bool:
    """Absolute on Linux (``/x``) or Windows (``C:\\x``, ``C:/x``, ``\\x``)."""
    return _WINDOWS_ABSOLUTE.match(path) is not None


# --- images ------------------------------------------------------------------------------

#: Docker Hub's official images ("library/"): a bare name among these is an image, not a
#: mistyped stage. Not exhaustive; names missing here are only judged when nothing else fits.
_OFFICIAL_IMAGE_NAMES = """
    adminer aerospike almalinux alpine alt amazoncorretto amazonlinux api-firewall arangodb
    archlinux backdrop bash bonita buildpack-deps busybox caddy cassandra chronograf cirros
    clearlinux clefos clickhouse clojure composer convertigo couchbase couchdb crate dart
    debian docker drupal eclipse-mosquitto eclipse-temurin eggdrop elasticsearch elixir emqx
    erlang fedora flink fluentd friendica gazebo gcc geonetwork ghost golang gradle groovy
    haproxy haskell haxe hello-world hitch hylang ibm-semeru-runtimes ibmjava influxdb
    irssi jetty joomla jruby julia kapacitor kibana kong krakend liquibase logstash mageia
    mariadb matomo maven mediawiki memcached mongo mongo-express monica mono mysql nats neo4j
    neurodebian nextcloud nginx node notary odoo open-liberty openjdk oraclelinux orientdb
    perl photon php php-zendserver phpmyadmin plone postfixadmin postgres pypy python
    r-base rabbitmq rakudo-star redis redmine registry rethinkdb rocket.chat rockylinux ruby
    rust sapmachine satosa silverpeas solr sonarqube spark spiped storm swift teamspeak
    telegraf tomcat tomee traefik ubuntu unit varnish websphere-liberty wordpress xwiki
    yourls znc zookeeper centos jenkins java nats-streaming express-gateway httpd percona
    sentry consul vault owncloud ros
"""
OFFICIAL_IMAGES = frozenset(_OFFICIAL_IMAGE_NAMES.split())


def valid_image_reference(ref: str) -> bool:
    """Whether BuildKit could read ``ref`` as an image name (``reference.ParseNormalizedNamed``),
    by keelhaul's one reference parser."""
    try:
        parse_reference(ref)
    except InvalidReference:
        return False
    return True


def locate_word(inst: Instruction, word: str, last: bool = False) -> Span | None:
    """Where ``word`` stands as a whole blank-separated word (the first, or the last one)."""
    pattern = re.compile(rf"(?<!\S){re.escape(word)}(?!\S)")
    found: Span | None = None
    for line in inst.lines:
        if line.role is not LineRole.CODE:
            continue
        for m in pattern.finditer(line.content):
            found = Span(line.number, m.start() + 1, line.number, m.end() + 1)
            if not last:
                return found
    return found


def locate_source(inst: Instruction, word: str) -> Span | None:
    """Where the source ``word`` stands on the instruction's lines (a whole word, not in a flag)."""
    found = re.compile(r"(?:(?<=\s)|(?<=[\"\[,]))" + re.escape(word) + r"(?=[\s\",\]]|\Z)")
    for line in inst.lines:
        if line.role is LineRole.CODE:
            match = found.search(line.content)
            if match is not None:
                return Span(line.number, match.start() + 1, line.number, match.end() + 1)
    return None


def first_line_of(inst: Instruction) -> Span:
    """The keyword's line only, for instructions whose body spans many lines."""
    span = inst.span
    return Span(span.line, span.column, span.line, len(inst.lines[0].content) + 1)
