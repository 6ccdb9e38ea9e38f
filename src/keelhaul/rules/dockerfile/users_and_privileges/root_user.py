from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role
from keelhaul.rules.dockerfile.shared.security import base_image, final_chain, last_user, root_base
from keelhaul.rules.dockerfile.users_and_privileges._user_fixes import user_fix
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = final_chain(ctx)
    if not stages:
        return
    stage = stages[0]
    setting = last_user(ctx, stages)
    if setting is not None:
        if setting.is_root:
            who = setting.written
            if setting.user is not None and setting.user not in who:
                who = f"{who} ({setting.user})"  # USER $RUNAS where RUNAS=root
            yield Hit(setting.instruction, f"the final stage runs as {who}; switch "
                      "to an unprivileged user (a numeric UID such as 10001)", stage,
                      fix=user_fix(ctx, stages, setting))  # fmt: skip
        return
    base = base_image(root_base(ctx, stage).base)
    role = stage_role(ctx, stage)
    if base.windows or base.default_user is not None or role.drops_privileges:
        return
    if role.needs_root:
        return  # dockerd, buildkitd: the program needs root
    if role.role is not Role.RUNS:
        return  # an export, build, base or tool image: nothing runs it as a service
    first = root_base(ctx, stage)
    if _runs_wasm(stages):
        return  # a Wasm module: the Wasm runtime runs it, Linux users do not apply
    if first.is_scratch:
        yield Hit(stage.from_instruction, "the final stage sets no USER, so the container runs "
                  "as UID 0; add USER 65532:65532 (scratch needs no /etc/passwd for a numeric "
                  "user)", stage, fix=user_fix(ctx, stages, None))  # fmt: skip
        return
    if base.known and not role.assumed:
        runs = f" and {base.name} runs as root, so the container does too"
    elif base.known:
        runs = (f" and {base.name} runs as root, so the container does too, assuming "
                f"{role.reason.removeprefix('it ')}")  # fmt: skip
    else:
        runs = f", so the container runs as root unless {base.name or 'its base'} sets a user"
    yield Hit(stage.from_instruction, f"the final stage sets no USER{runs}; add a user and "
              "end with USER 10001:10001", stage, fix=user_fix(ctx, stages, None))  # fmt: skip


def _runs_wasm(stages: list[Stage]) -> bool:
    for st in stages:
        for inst in reversed(st.instructions):
            if inst.name in ("ENTRYPOINT", "CMD"):
                words = list(inst.values) if inst.json else " ".join(inst.values).split()
                return bool(words) and words[0].endswith(".wasm")
    return False


register(
    Rule(
        code="KH109",
        name="root-user",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The final stage runs as root.",
        explanation=(
            "A process running as root in a container is root on the host's kernel: one escape "
            "or one writable host mount away from the node. Create a user and end with "
            "`USER 10001:10001`; numeric IDs also let Kubernetes verify runAsNonRoot. The last "
            "USER of the final stage counts, inherited from the stages it is built on; "
            "`ONBUILD USER` does not (it applies to images built from this one), and `USER "
            "$NAME` is expanded from the stage's ARG and ENV values. No USER at all is fine "
            "when the base image runs as another user (distroless `:nonroot`, Chainguard, "
            "`nginx-unprivileged`, Bitnami...) or when the image starts as root only to drop "
            "to another user with gosu, su-exec or setpriv, as the official database images "
            "do. Servers that drop their workers' privileges themselves (nginx, Apache httpd, php-fpm; "
            "mysqld and postgres, which refuse root and are started by an entrypoint that "
            "switches user; the official service images' entrypoints when their command is "
            "kept) and programs that need root (dockerd in docker:dind, buildkitd, sshd) are "
            "left alone too. Only stages "
            "a container runs are checked: not export stages (`FROM scratch` with no command), "
            "check stages built for their RUN steps, base and SDK images meant to be built on "
            "(ONBUILD, a shell or interpreter prompt as CMD, docker-entrypoint.sh running "
            "`node` or `sh`), development images (`dev.Dockerfile`, a `dev-envs` target) and "
            "tool images (an ENTRYPOINT that is one program, with no port exposed: `docker run` "
            "starts it on the caller's files, with the caller's `--user`); this rule measured "
            "mostly noise on those in the judged corpus. Wasm modules are not checked either. "
            "When the base image is unknown the message says the container runs as root "
            "unless that base sets a user. Windows images are not checked. `FROM scratch` runs as UID 0 too: "
            "`USER 65532` works there without any /etc/passwd. The unsafe fix reuses a user "
            "the Dockerfile or the base already has (distroless `nonroot`, node's `node`) or "
            "creates `app` with UID and GID 10001 as the base's distribution does "
            "(groupadd/useradd on Debian, Ubuntu and Enterprise Linux, addgroup/adduser on "
            "Alpine and busybox), ends the final stage with a numeric USER and adds `--chown` "
            "to the COPYs into the app's folders (the WORKDIR, /app, /srv...); it leaves "
            "service images (nginx, postgres...) and bases it cannot place alone."
        ),
        bad='FROM debian:12\nCMD ["sleep", "infinity"]\n',
        good=(
            "FROM debian:12\nRUN useradd --uid 10001 --no-create-home app\nUSER 10001:10001\n"
            'CMD ["sleep", "infinity"]\n'
        ),
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Adds a non-root USER (and creates it): the program loses root's rights, so "
            "writes to root-owned paths, ports below 1024 and entrypoints that switch users "
            "themselves may fail."
        ),
        related={
            "hadolint": ("DL3002",),
            "trivy": ("DS-0002",),
            "checkov": ("CKV_DOCKER_3", "CKV_DOCKER_8"),
            "dockle": ("CIS-DI-0001",),
        },
    )
)
