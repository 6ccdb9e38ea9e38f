"""Every check of hadolint, BuildKit, Trivy and Checkov is implemented or has a written reason."""

from __future__ import annotations

import pytest

from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.parity import NOT_IMPLEMENTED, TOOLS


def implemented() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {tool: set() for tool in TOOLS}
    for rule in dockerfile_rules():
        for tool, ids in rule.related.items():
            found.setdefault(tool, set()).update(ids)
    return found


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_every_check_is_implemented_or_explained(tool: str) -> None:
    done = implemented()[tool]
    missing = sorted(i for i in TOOLS[tool] if i not in done and i not in NOT_IMPLEMENTED)
    assert not missing, f"{tool} checks neither implemented nor explained: {missing}"


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_related_ids_exist_in_that_tool(tool: str) -> None:
    unknown = sorted(implemented()[tool] - set(TOOLS[tool]))
    assert not unknown, f"rules name {tool} ids that tool does not have: {unknown}"


def test_explained_ids_are_not_also_implemented() -> None:
    done = set().union(*implemented().values())
    assert not done & set(NOT_IMPLEMENTED)
    known = set().union(*(set(ids) for ids in TOOLS.values()))
    assert set(NOT_IMPLEMENTED) <= known
