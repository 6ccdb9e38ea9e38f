"""The shape an OSV record must have for keelhaul to read it (the parts of the OSV schema,
https://ossf.github.io/osv-schema/, that matching, severities and merging read).

A record of another shape is not imported: ``db import`` and ``db update`` skip it and say
which and why, so one malformed record in an export neither stops the import nor breaks every
later ``keelhaul vulns``. Records already in an older database are checked again when read.
"""

from __future__ import annotations

from typing import Any

__all__ = ["problem"]

_EVENT_KEYS = frozenset({"introduced", "fixed", "last_affected", "limit"})


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _severity(value: object, where: str) -> str | None:
    if not isinstance(value, list):
        return f"`{where}` is not a list"
    for n, each in enumerate(value):
        if not isinstance(each, dict):
            return f"`{where}[{n}]` is not an object"
        if not isinstance(each.get("type"), str) or not isinstance(each.get("score"), str):
            return f"`{where}[{n}]` needs a string `type` and `score`"
    return None


def _range(value: object, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"`{where}` is not an object"
    if not isinstance(value.get("type"), str):
        return f"`{where}.type` is not a string"
    events = value.get("events")
    if not isinstance(events, list):
        return f"`{where}.events` is not a list"
    for n, event in enumerate(events):
        if (not isinstance(event, dict) or len(event) != 1
                or not set(event) <= _EVENT_KEYS
                or not all(isinstance(v, str) for v in event.values())):  # fmt: skip
            return f"`{where}.events[{n}]` is not one of introduced/fixed/last_affected/limit"
    return None


def _affected(value: object, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"`{where}` is not an object"
    package = value.get("package")
    if package is not None:
        if not isinstance(package, dict):
            return f"`{where}.package` is not an object"
        for key in ("ecosystem", "name", "purl"):
            if package.get(key) is not None and not isinstance(package[key], str):
                return f"`{where}.package.{key}` is not a string"
    ranges = value.get("ranges") or []  # a real record may say null for an empty list
    if not isinstance(ranges, list):
        return f"`{where}.ranges` is not a list"
    for n, each in enumerate(ranges):
        found = _range(each, f"{where}.ranges[{n}]")
        if found:
            return found
    if value.get("versions") is not None and not _strings(value["versions"]):
        return f"`{where}.versions` is not a list of strings"
    if "severity" in value and value["severity"] is not None:
        found = _severity(value["severity"], f"{where}.severity")
        if found:
            return found
    for key in ("ecosystem_specific", "database_specific"):
        if value.get(key) is not None and not isinstance(value[key], dict):
            return f"`{where}.{key}` is not an object"
    return None


def problem(record: Any) -> str | None:
    """What makes ``record`` unreadable as an OSV record, or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("id"), str):
        return "no string `id`"
    for key in ("modified", "published", "withdrawn", "summary", "details"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"`{key}` is not a string"
    for key in ("aliases", "related", "upstream"):
        if record.get(key) is not None and not _strings(record[key]):
            return f"`{key}` is not a list of strings"
    if record.get("severity") is not None:
        found = _severity(record["severity"], "severity")
        if found:
            return found
    affected = record.get("affected")
    if affected is not None:
        if not isinstance(affected, list):
            return "`affected` is not a list"
        for n, each in enumerate(affected):
            found = _affected(each, f"affected[{n}]")
            if found:
                return found
    if record.get("database_specific") is not None and not isinstance(
        record["database_specific"], dict
    ):
        return "`database_specific` is not an object"
    return None
