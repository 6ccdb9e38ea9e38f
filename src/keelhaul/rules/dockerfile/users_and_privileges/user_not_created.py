from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import (
    SYSTEM_USERS,
    base_image,
    final_chain,
    is_numeric,
    last_user,
)
from keelhaul.rules.dockerfile.users_and_privileges._users import creators_elsewhere, user_facts
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    setting = last_user(ctx, stages)
    if setting is None or setting.user is None or setting.is_root:
        return
    wanted = [("user", setting.user), ("group", setting.group or "")]
    wanted = [(what, name) for what, name in wanted if name and not is_numeric(name)]
    if not wanted:
        return
    first = stages[-1]
    base = base_image(first.base)
    if not (first.is_scratch or base.known):
        return  # an image keelhaul does not know may have any user
    have = frozenset() if first.is_scratch else SYSTEM_USERS | base.users
    facts = user_facts(ctx, stages)
    if facts.opaque:
        return
    missing = [
        (what, name) for what, name in wanted if name not in have and not facts.creates(name)
    ]
    if not missing:
        return
    names = " and ".join(f"{what} {name}" for what, name in missing)
    them = "them" if len(missing) > 1 else "it"
    origin = "scratch has no /etc/passwd" if first.is_scratch else f"{base.name} lacks {them}"
    elsewhere = creators_elsewhere(ctx, stages, missing[0][1])
    hint = (
        f"; stage {elsewhere[0].label} creates {them}, but this stage is not built on that one"
        if elsewhere
        else ""
    )
    yield Hit(setting.instruction, f"USER {setting.written}: nothing in this stage creates the "
              f"{names} and {origin}, so the container fails to start (unable to find "
              f"{missing[0][0]} {missing[0][1]}){hint}; create {them} or use numeric IDs",
              setting.stage, setting.instruction.locate(setting.written))  # fmt: skip


register(
    Rule(
        code="KH200",
        name="user-not-created",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="`USER name` names a user nothing in the image creates.",
        explanation=(
            'The build succeeds, but every `docker run` fails with "unable to find user app: '
            "no matching entries in passwd file\": a user name is looked up in the image's "
            "/etc/passwd when the container starts. keelhaul looks for the user (and the group "
            "of `USER user:group`) in the stage and the stages it is built on: `useradd`, "
            "`adduser`, `groupadd`, `addgroup`, a passwd line written by hand, a package of that "
            "name, and commands that would fail without it (`chown app`, `COPY --chown=app`). "
            "It checks only bases whose users it knows (official distribution and language "
            "images, node's `node`, nginx's `nginx`, postgres' `postgres`, distroless and "
            "Chainguard's `nonroot`, .NET's `app`...) and `scratch`, and stays quiet when a "
            "stage copies an /etc/passwd or runs a script it cannot read. A numeric "
            "`USER 10001:10001` needs no passwd entry at all."
        ),
        bad="FROM python:3.12-slim\nUSER app\n",
        good="FROM python:3.12-slim\nRUN useradd --uid 10001 app\nUSER app\n",
        check=check,
    )
)
