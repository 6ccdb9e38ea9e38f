"""Which rules run: the words a user selects rules with, and how select and ignore combine.

A *selector* is what a user writes in ``select``, ``ignore``, ``[severity]``, per-path ignores
and pragmas: a rule code (``KH101``), a rule name (``mutable-base-tag``), a category
(``security``), ``shellcheck`` (every ShellCheck code), one ShellCheck code (``SC2086``) or
``ALL``. Selectors are resolved once, against the catalogue, into a :class:`Selector`.

How ``select`` and ``ignore`` combine (ruff's model): within one layer of settings the most
specific selector that matches a rule decides (a code or name beats ``shellcheck``, which beats
a category, which beats ``ALL``; on a tie ``ignore`` wins). The configuration file is the
first layer; the command line the second. A layer that has its own ``select`` starts afresh;
one without keeps what the earlier layer chose where none of its selectors match.

Opt-in rules (``default_on=False``) are chosen only by their code, name or category, never by
``ALL`` or the default selection.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from keelhaul.findings import Category, Severity
from keelhaul.rule import Rule

SHELLCHECK_CODE = re.compile(r"SC\d{4}")
HADOLINT_CODE = re.compile(r"DL\d{4}")
#: ShellCheck codes off by default in Dockerfiles (wrong or not actionable there); the reason
#: for each is in :data:`keelhaul.rules.shellcheck.OFF_BY_DEFAULT`. ``ALL`` leaves them out;
#: naming one (``select = ["SC2046"]``) or the ``shellcheck`` group brings it back.
SHELLCHECK_OFF_BY_DEFAULT = frozenset({"SC2016", "SC2046", "SC2185"})

#: The group name that stands for every ShellCheck code.
SHELLCHECK_GROUP = "shellcheck"
ALL = "ALL"
#: A check of the suppressions themselves (see :mod:`keelhaul.suppression`); off by default.
UNUSED_SUPPRESSION_CODE = "KH001"
UNUSED_SUPPRESSION_NAME = "unused-suppression"


class Specificity(IntEnum):
    ALL = 0
    CATEGORY = 1
    GROUP = 2
    RULE = 3


def _pseudo_rule(code: str, name: str, category: Category, default_on: bool = True) -> Rule:
    """A rule selection can reason about that the catalogue does not hold (a ShellCheck code,
    a code no rule has): selection reads only code, name, category and default_on."""
    return Rule(code, name, Severity.WARNING, category, name, "", default_on=default_on)


@dataclass(frozen=True, slots=True)
class Selector:
    """One resolved selector; ``text`` is how the user wrote it (for messages)."""

    text: str
    specificity: Specificity
    value: str
    """The code for a rule, the category's value for a category, empty otherwise."""

    def matches(self, rule: Rule, *, choosing: bool = False) -> bool:
        """Whether this selector covers ``rule``.

        ``choosing`` is True for ``select``: then ``ALL`` leaves opt-in rules out. Everywhere
        else (ignore, severity, per-path ignores) ``ALL`` means every rule.
        """
        if self.specificity is Specificity.ALL:
            return rule.default_on or not choosing
        if self.specificity is Specificity.CATEGORY:
            return rule.category.value == self.value
        if self.specificity is Specificity.GROUP:
            return SHELLCHECK_CODE.fullmatch(rule.code) is not None
        return rule.code == self.value


def shellcheck_rule(code: str) -> Rule:
    """ShellCheck codes select like a rule of category correctness, on by default unless
    :data:`SHELLCHECK_OFF_BY_DEFAULT` holds it."""
    return _pseudo_rule(
        code,
        SHELLCHECK_GROUP,
        Category.CORRECTNESS,
        default_on=code not in SHELLCHECK_OFF_BY_DEFAULT,
    )


UNUSED_SUPPRESSION = _pseudo_rule(
    UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME, Category.MAINTAINABILITY, default_on=False
)
"""KH001, known to selection even before the Dockerfile catalogue is loaded."""


class Vocabulary:
    """Every word a selector can be, from the catalogue, and the other tools' ids for them."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: dict[str, Rule] = {}
        self.names: dict[str, str] = {}
        hadolint: dict[str, list[str]] = {}
        buildkit: dict[str, list[str]] = {}
        for rule in rules:
            self._add(rule)
            for dl in rule.related.get("hadolint", ()):
                hadolint.setdefault(dl.upper(), []).append(rule.code)
            for check in rule.related.get("buildkit", ()):
                buildkit.setdefault(check.lower(), []).append(rule.code)
        if UNUSED_SUPPRESSION_CODE not in self.rules:
            self._add(UNUSED_SUPPRESSION)
        self.hadolint = {k: tuple(v) for k, v in hadolint.items()}
        """hadolint DL code -> the keelhaul codes that alias it."""
        self.buildkit = {k: tuple(v) for k, v in buildkit.items()}
        """BuildKit check name (lower-cased) -> the keelhaul codes that alias it."""
        self._categories = {c.value for c in Category}

    def _add(self, rule: Rule) -> None:
        self.rules[rule.code] = rule
        self.names[rule.name] = rule.code

    def rule(self, code: str) -> Rule:
        """The rule of a finding's code (ShellCheck codes are made up on the fly)."""
        found = self.rules.get(code)
        if found is not None:
            return found
        if SHELLCHECK_CODE.fullmatch(code):
            return shellcheck_rule(code)
        return _pseudo_rule(code, code.lower(), Category.CORRECTNESS)

    def selector(self, word: str) -> Selector | None:
        """``word`` resolved, or None when it names nothing keelhaul knows."""
        text = word.strip()
        upper = text.upper()
        if upper == ALL:
            return Selector(text, Specificity.ALL, "")
        if upper in self.rules:
            return Selector(text, Specificity.RULE, upper)
        if text.lower() in self.names:
            return Selector(text, Specificity.RULE, self.names[text.lower()])
        if text.lower() in self._categories:
            return Selector(text, Specificity.CATEGORY, text.lower())
        if text.lower() == SHELLCHECK_GROUP:
            return Selector(text, Specificity.GROUP, "")
        if SHELLCHECK_CODE.fullmatch(upper):
            return Selector(text, Specificity.RULE, upper)
        return None

    def unknown(self, word: str) -> str:
        """Why ``word`` is not a selector, with the nearest right word when there is one."""
        upper = word.strip().upper()
        if HADOLINT_CODE.fullmatch(upper):
            codes = self.hadolint.get(upper)
            if codes:
                named = ", ".join(f"{c} ({self.rules[c].name})" for c in codes)
                return f"{word!r} is a hadolint code; keelhaul's is {named}"
            return f"{word!r} is a hadolint code no keelhaul rule covers"
        words = [*self.rules, *self.names, *self._categories, SHELLCHECK_GROUP, ALL]
        close = difflib.get_close_matches(word, words, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown rule or category {word!r}{hint}"

    def pragma_codes(self, word: str) -> tuple[str, ...] | None:
        """The codes a word in a keelhaul pragma stands for (a code, a name, a ShellCheck code)."""
        sel = self.selector(word)
        if sel is None or sel.specificity is not Specificity.RULE:
            return None
        return (sel.value,)


class DeferredVocabulary(Vocabulary):
    """A vocabulary that knows the ``now`` rules at once and reads the ``later`` catalogue only
    when a word or code outside them must be resolved. ``keelhaul image`` knows its own codes
    without importing every Dockerfile rule (a fifth of a second); a configuration that names
    a Dockerfile rule still resolves, by loading the catalogue then."""

    def __init__(self, now: Iterable[Rule], later: Callable[[], Iterable[Rule]]) -> None:
        self._now_rules = list(now)
        self._now = Vocabulary(self._now_rules)
        self._later = later

    def _complete(self) -> None:
        Vocabulary.__init__(self, [*self._now_rules, *self._later()])

    def __getattr__(self, name: str) -> Any:
        """The catalogue's tables (``rules``, ``hadolint``...), loaded on first use."""
        if name in ("rules", "names", "hadolint", "buildkit", "_categories"):
            self._complete()
            return self.__dict__[name]
        raise AttributeError(name)

    @property
    def loaded(self) -> bool:
        """Whether the ``later`` catalogue has been read."""
        return "rules" in self.__dict__

    def rule(self, code: str) -> Rule:
        if not self.loaded:
            found = self._now.rules.get(code)
            if found is not None:
                return found
        return super().rule(code)

    def selector(self, word: str) -> Selector | None:
        if not self.loaded:
            found = self._now.selector(word)
            if found is not None:
                return found
        return super().selector(word)


@dataclass(frozen=True)
class Layer:
    """One level of settings: the configuration file, or the command line."""

    select: tuple[Selector, ...] | None = None
    """None: keep what earlier layers chose. The first layer's None means ``ALL``."""
    extend_select: tuple[Selector, ...] = ()
    ignore: tuple[Selector, ...] = ()

    def decision(self, rule: Rule, first: bool) -> bool | None:
        """On, off, or None when no selector of this layer speaks about ``rule``."""
        select = self.select
        if select is None and first:
            select = (Selector(ALL, Specificity.ALL, ""),)
        chosen = [s.specificity for s in (*(select or ()), *self.extend_select)
                  if s.matches(rule, choosing=True)]  # fmt: skip
        dropped = [s.specificity for s in self.ignore if s.matches(rule)]
        if not chosen and not dropped:
            return None if select is None else False
        return max(chosen, default=-1) > max(dropped, default=-1)


def decide(layers: Sequence[Layer], rule: Rule) -> bool:
    """Whether ``rule`` runs under ``layers`` (earliest first)."""
    on = False
    for i, layer in enumerate(layers):
        choice = layer.decision(rule, first=i == 0)
        if choice is not None:
            on = choice
    return on


def most_specific_severity(
    overrides: Sequence[tuple[Selector, Severity]], rule: Rule
) -> Severity | None:
    """The severity the most specific matching override gives (a later one wins a tie)."""
    best: tuple[int, Severity] | None = None
    for selector, severity in overrides:
        if selector.matches(rule) and (best is None or selector.specificity >= best[0]):
            best = (selector.specificity, severity)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Threshold:
    """``fail-on``: the least severity that makes ``check`` exit 1; None never does."""

    severity: Severity | None = Severity.WARNING

    @classmethod
    def parse(cls, text: str) -> Threshold | None:
        word = text.strip().lower()
        if word in ("none", "never", "ignore"):
            return cls(None)
        try:
            return cls(Severity(word))
        except ValueError:
            return None

    def reached_by(self, severity: Severity) -> bool:
        return self.severity is not None and severity.rank >= self.severity.rank

    def __str__(self) -> str:
        return "none" if self.severity is None else self.severity.value


THRESHOLD_WORDS = (*(s.value for s in Severity), "none")
