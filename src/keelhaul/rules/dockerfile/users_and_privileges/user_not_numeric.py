from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import (
    UserSetting,
    base_image,
    final_chain,
    is_numeric,
    last_user,
)
from keelhaul.rules.dockerfile.users_and_privileges._users import user_facts
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _numbers(ctx: DockerfileContext, setting: UserSetting, stages: list[Stage]) -> str | None:
    """``UID[:GID]`` for the USER's names, when the Dockerfile or the base says them."""
    facts = user_facts(ctx, stages)
    user = setting.user or ""
    group = setting.group
    base = base_image(stages[-1].base)
    uid = facts.uids.get(user)
    if uid is None:
        ids = None if facts.names and user in facts.names else base.user_ids(user)
        if ids is None:
            return None
        uid, _, own_gid = ids.partition(":")
        return f"{uid}:{own_gid}" if group in (None, user) else None
    gid = group if group is not None and is_numeric(group) else facts.gids.get(group or user)
    return f"{uid}:{gid}" if gid is not None else uid


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    setting = last_user(ctx, stages)
    if setting is None or setting.user is None or setting.is_root or setting.numeric:
        return
    if base_image(stages[-1].base).windows:
        return  # Windows users are names (ContainerUser), and Kubernetes checks them otherwise
    numbers = _numbers(ctx, setting, stages)
    better = f"USER {numbers}" if numbers is not None else "its UID and GID (USER 10001:10001)"
    yield Hit(setting.instruction, f"USER {setting.written} is a name: Kubernetes "
              "runAsNonRoot can only verify a numeric user, and the UID behind a name depends "
              f"on the image's /etc/passwd; write {better}", setting.stage,
              setting.instruction.locate(setting.written))  # fmt: skip


register(
    Rule(
        code="KH201",
        name="user-not-numeric",
        severity=Severity.INFO,
        category=Category.SECURITY,
        summary="The final USER is a name, not a numeric UID:GID.",
        explanation=(
            "Kubernetes' `runAsNonRoot: true` refuses to start a container whose image user "
            'is a name ("image has non-numeric user, cannot verify user is non-root"), and a '
            "name's UID changes whenever the base image's /etc/passwd does, which breaks the "
            "ownership of volumes and files written by an earlier version. Create the user with "
            "a fixed UID (`useradd --uid 10001 app`) and end with `USER 10001:10001`; the name "
            "stays for humans. The message gives the numbers to write when the Dockerfile "
            "creates the user with `-u`/`-g`, or when the base documents them (distroless and "
            "Chainguard `nonroot` 65532, node's `node` 1000, nginx's `nginx` 101, `nobody` "
            "65534). Windows images are not checked."
        ),
        bad="FROM debian:12\nRUN useradd --uid 10001 app\nUSER app\n",
        good="FROM debian:12\nRUN useradd --uid 10001 app\nUSER 10001:10001\n",
        check=check,
        related={"hadolint": ("DL3066",)},
    )
)
