"""What ``keelhaul fix`` would make of the Dockerfile, computed in memory, nothing written.

It is keelhaul's own fix loop (:func:`keelhaul.fix.fixing.fix_target`) with the user's
configuration; ``codes`` narrows it to a set of rule codes (``--select`` on the command line
does the same), which is how the bisection applies a subset of the fixes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keelhaul.catalogue import all_rules
from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.errors import KeelhaulError
from keelhaul.fix.fixing import fix_target
from keelhaul.selection import Vocabulary


@dataclass(frozen=True)
class Proposal:
    """The Dockerfile as the fixes leave it."""

    text: str
    codes: tuple[str, ...] = ()
    """The codes whose fixes were applied, in the order they first applied."""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    """Code -> what its fix does (the first one applied)."""
    files: Mapping[Path, str] = field(default_factory=dict)
    """Other files the fixes write (a ``.dockerignore``), by their path on disk."""
    bug: str | None = None


@dataclass
class Fixer:
    """Fixes of one Dockerfile, with its configuration and build context."""

    dockerfile: Path
    context: Path
    unsafe: bool = False
    config_file: Path | None = None
    isolated: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)

    def propose(self, codes: Collection[str] | None = None) -> Proposal:
        """The fixed text; with ``codes``, only the fixes of those rules."""
        text = self.dockerfile.read_bytes().decode("utf-8", "surrogateescape")
        if codes is not None and not codes:
            return Proposal(text)
        rules = all_rules()
        vocabulary = Vocabulary(rules)
        overrides = Overrides(select=tuple(sorted(codes)) if codes is not None else None,
                              shellcheck=False)  # fmt: skip
        finder = ConfigFinder(vocabulary, config_file=self.config_file, isolated=self.isolated,
                              overrides=overrides)  # fmt: skip
        checker = Checker(finder, vocabulary, rules, build_args=dict(self.build_args),
                          context=self.context, shellcheck=None)  # fmt: skip
        target = Target(self.dockerfile, str(self.dockerfile), True,
                        text.encode("utf-8", "surrogateescape"))  # fmt: skip
        outcome = fix_target(checker, target, text, self.unsafe)
        if outcome.broken is not None:
            raise KeelhaulError(outcome.broken)
        order: list[str] = []
        descriptions: dict[str, str] = {}
        for finding in outcome.applied:
            if finding.code not in descriptions:
                order.append(finding.code)
                descriptions[finding.code] = finding.fix.description if finding.fix else ""
        files = {Path(name): content for name, content in outcome.files.items()}
        return Proposal(outcome.after, tuple(order), descriptions, files, outcome.bug)
