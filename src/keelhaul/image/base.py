"""The base of an image: its distribution and release (from /etc/os-release), when that release
stops getting security updates, and which bottom layers are the base image's.

Which layers are the base's is told from history, best effort: a base image's history ends in
its CMD or ENTRYPOINT (every official image does), so the base ends at the last CMD/ENTRYPOINT
entry that is followed by a layer-making entry. A base made by ``docker import`` (a root
filesystem tarball: one layer whose history entry no instruction made, only the comment
``Imported from -`` or the ``-m`` message) has no CMD entry; the layers at the bottom of the
history that no instruction made are such a base, when a layer an instruction made follows
them. An image that is its own base (``FROM scratch``) or a history without either gives
"unknown": every byte counts as the user's.
"""

from __future__ import annotations

import datetime as dt
import re

from keelhaul.image.os_release import OS_RELEASE_PATHS, parse_os_release

#: Release -> the day security support ends (the vendor's standard support; Debian's LTS,
#: Ubuntu's standard support, Alpine's main repository, RHEL family's maintenance end).
END_OF_LIFE: dict[tuple[str, str], str] = {
    ("debian", "8"): "2020-06-30", ("debian", "9"): "2022-06-30",
    ("debian", "10"): "2024-06-30", ("debian", "11"): "2026-08-31",
    ("debian", "12"): "2028-06-30", ("debian", "13"): "2030-06-30",
    ("ubuntu", "14.04"): "2019-04-30", ("ubuntu", "16.04"): "2021-04-30",
    ("ubuntu", "18.04"): "2023-05-31", ("ubuntu", "20.04"): "2025-05-31",
    ("ubuntu", "22.04"): "2027-06-01", ("ubuntu", "23.04"): "2024-01-25",
    ("ubuntu", "23.10"): "2024-07-11", ("ubuntu", "24.04"): "2029-05-31",
    ("ubuntu", "24.10"): "2025-07-10", ("ubuntu", "25.04"): "2026-01-15",
    ("ubuntu", "25.10"): "2026-07-09",
    ("alpine", "3.12"): "2022-05-01", ("alpine", "3.13"): "2022-11-01",
    ("alpine", "3.14"): "2023-05-01", ("alpine", "3.15"): "2023-11-01",
    ("alpine", "3.16"): "2024-05-23", ("alpine", "3.17"): "2024-11-22",
    ("alpine", "3.18"): "2025-05-09", ("alpine", "3.19"): "2025-11-01",
    ("alpine", "3.20"): "2026-04-01", ("alpine", "3.21"): "2026-11-01",
    ("alpine", "3.22"): "2027-05-01",
    ("rhel", "7"): "2024-06-30", ("rhel", "8"): "2029-05-31", ("rhel", "9"): "2032-05-31",
    ("centos", "7"): "2024-06-30", ("centos", "8"): "2021-12-31",
    ("rocky", "8"): "2029-05-31", ("rocky", "9"): "2032-05-31",
    ("almalinux", "8"): "2029-03-01", ("almalinux", "9"): "2032-05-31",
    ("ol", "7"): "2024-12-31", ("ol", "8"): "2029-07-31", ("ol", "9"): "2032-06-30",
    ("amzn", "2"): "2026-06-30", ("amzn", "2023"): "2029-06-30",
}  # fmt: skip
__all__ = ["OS_RELEASE_PATHS", "parse_os_release"]  # read here by the image report
_CMD_ENTRY = re.compile(r"(?:^|#\(nop\)\s+)(?:CMD|ENTRYPOINT)\b")


def release_key(fields: dict[str, str]) -> tuple[str, str] | None:
    """(distribution, release) as :data:`END_OF_LIFE` names it."""
    os_id = fields.get("ID", "").lower()
    version = fields.get("VERSION_ID", "")
    if not os_id or not version:
        return None
    if os_id == "alpine":
        version = ".".join(version.split(".")[:2])
    elif os_id in ("debian", "rhel", "centos", "rocky", "almalinux", "ol"):
        version = version.split(".")[0]
    return os_id, version


def end_of_life(fields: dict[str, str]) -> str | None:
    key = release_key(fields)
    return END_OF_LIFE.get(key) if key is not None else None


def past(date: str | None, today: dt.date | None = None) -> bool | None:
    if date is None:
        return None
    return dt.date.fromisoformat(date) < (today or dt.date.today())


def base_history_end(history: list[tuple[str, bool]]) -> int | None:
    """Index of the base image's last history entry, from ``(created_by, empty_layer)``: the
    last CMD/ENTRYPOINT entry followed by a layer-making one, or, later, the last of the
    layer-making entries at the bottom that no instruction made (``docker import``) when an
    instruction's layer follows them."""
    last_layer = max((i for i, (_, empty) in enumerate(history) if not empty), default=-1)
    found = None
    for i, (created_by, empty) in enumerate(history):
        if empty and i < last_layer and _CMD_ENTRY.search(created_by.strip()):
            found = i
    imported = None
    for i, (created_by, empty) in enumerate(history):
        if created_by.strip():
            if not empty and imported is not None:
                return max(imported, found if found is not None else -1)
            if not empty:
                break
        elif not empty:
            imported = i
    return found


def base_layers(history: list[tuple[str, bool]], layer_count: int) -> tuple[int | None, int | None]:
    """How many bottom layers are the base image's, and the index of the base's last history
    entry: both None when history cannot tell (no base CMD/ENTRYPOINT entry nor imported layers
    below an instruction's, or a history that does not line up with the layers)."""
    end = base_history_end(history)
    if end is None or sum(1 for _, e in history if not e) != layer_count:
        return None, None
    return sum(1 for _, e in history[: end + 1] if not e), end
