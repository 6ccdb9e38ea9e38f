from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.roles import Role, entrypoint_script, stage_role
from keelhaul.rules.dockerfile.shared.security import (
    UserSetting,
    base_image,
    final_chain,
    last_user,
    root_base,
)
from keelhaul.rules.dockerfile.users_and_privileges._user_fixes import (
    NoFix,
    created_users,
    plan_user_fix,
    user_fix,
)
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
            fix = user_fix(ctx, stages, setting)
            yield Hit(setting.instruction, f"the final stage runs as {who}; "
                      f"{_advice(ctx, stages, setting)}", stage, fix=fix)  # fmt: skip
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
    fix = user_fix(ctx, stages, None)
    advice = _advice(ctx, stages, None)
    if first.is_scratch:
        yield Hit(stage.from_instruction, "the final stage sets no USER, so the container runs "
                  f"as UID 0; {advice}", stage, fix=fix)  # fmt: skip
        return
    name = base.name or "its base"
    script = entrypoint_script(ctx)
    created = _created_user(ctx, stages)
    if script is not None and script[1] is None and created is not None:
        # the official images' pattern: the Dockerfile makes the user, the entrypoint switches
        yield Hit(stage.from_instruction, f"the final stage creates user {created} but sets no "
                  f"USER: the container runs as root unless {script[0]} (not in the build "
                  f"context keelhaul read) switches to {created} (gosu, su-exec, setpriv); if "
                  f"it does not, {advice}", stage, fix=fix, severity=Severity.INFO)  # fmt: skip
        return
    if role.assumed and not base.known and role.reason.startswith("it runs what"):
        # no CMD or ENTRYPOINT over a base keelhaul does not know: both the program and its
        # user come from that base
        yield Hit(stage.from_instruction, f"the final stage sets no USER and no command: it "
                  f"runs what {name} runs, and runs as root unless {name} sets a user; {advice}", stage,
                  fix=fix, severity=Severity.INFO)  # fmt: skip
        return
    if base.known and not role.assumed:
        runs = f" and {base.name} runs as root, so the container does too"
    elif base.known:
        runs = (f" and {base.name} runs as root, so the container does too, assuming "
                f"{role.reason.removeprefix('it ')}")  # fmt: skip
    else:
        runs = f", so the container runs as root unless {name} sets a user"
    yield Hit(stage.from_instruction, f"the final stage sets no USER{runs}; {advice}", stage,
              fix=fix)  # fmt: skip


def _created_user(ctx: DockerfileContext, stages: list[Stage]) -> str | None:
    """A user the chain's RUNs create (not root), by name."""
    names = [u.name for u in created_users(ctx, stages) if u.name != "root"]
    return names[-1] if names else None


def _advice(ctx: DockerfileContext, stages: list[Stage], setting: UserSetting | None) -> str:
    """What to do, as the fix does it (the same plan writes both), or why there is no fix."""
    planned = plan_user_fix(ctx, stages, setting)
    if isinstance(planned, NoFix):
        return (f"switch to an unprivileged user with a numeric USER (no automatic fix: "
                f"{planned.reason})")  # fmt: skip
    return planned.advice()


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
            "or one writable host mount away from the node. End the final stage with a numeric "
            "`USER` (numeric IDs let Kubernetes verify runAsNonRoot). The last USER of the "
            "final stage counts, inherited from the stages it is built on; `ONBUILD USER` does "
            "not (it applies to images built from this one), and `USER $NAME` is expanded from "
            "the stage's ARG and ENV values. No USER at all is fine when the base image runs as "
            "another user (distroless `:nonroot`, Chainguard, `nginx-unprivileged`, Bitnami...) "
            "or when the image starts as root only to drop to another user with gosu, su-exec, "
            "setpriv, runuser or s6-setuidgid (in the Dockerfile, or in an entrypoint script "
            "keelhaul reads from the build context), as the official database images do. "
            "Servers that drop their workers' privileges themselves (nginx, Apache httpd, "
            "php-fpm, postfix, distccd, squid, dnsmasq; mysqld and postgres, which refuse root "
            "and are started by an entrypoint that switches user; the official service images' "
            "entrypoints when their command is kept) and programs that need root (dockerd in "
            "docker:dind, buildkitd, sshd, a kernel NFS server, an image whose usage comment "
            "runs it `--privileged`, a Docker CLI image that exposes no port and drives the "
            "host's Docker through its socket) are left alone too. Only stages a container "
            "runs are checked: not export stages (`FROM scratch` with no command), check "
            "stages built for their RUN steps, base and SDK images meant to be built on "
            "(ONBUILD, a shell or interpreter prompt as CMD, docker-entrypoint.sh running "
            "`node` or `sh`), development images (`dev.Dockerfile`, a `dev-envs` target) and "
            "tool images, which `docker run` starts on the caller's files with the caller's "
            "`--user`: an ENTRYPOINT that is one installed program (also one the Dockerfile "
            "copies into a folder of commands and calls by name, as trivy's and dockle's "
            "images do, unless its name says it serves), a CMD that runs a program the "
            "Dockerfile installs with arguments that start no server, a program fetched from "
            "its upstream in a RUN (`git clone`, `curl -o`), a desktop app (the X11 socket, "
            "DISPLAY, or GTK/Qt libraries), each with no port exposed; this rule measured "
            "mostly noise on those in the judged corpus. Wasm modules are not checked either. "
            "Messages say what is known and what is assumed: when the base image is unknown "
            "the container runs as root *unless that base sets a user*; with no command over "
            "an unknown base, or a created user and an entrypoint script keelhaul cannot read "
            "(which may switch to it), the finding is reported at info. Windows images are not "
            "checked. `FROM scratch` runs as UID 0 too: `USER 65532:65532` works there without "
            "any /etc/passwd. The message says what the unsafe fix writes (the same plan "
            "makes both: its USER, the user it creates, the paths it gives away, a port below "
            "1024 the user may not bind outside Docker), or why there is none. The fix reuses a user the Dockerfile creates with a UID or set earlier, or "
            "the one the base provides, by number, from one table with its sources "
            "(`keelhaul.image.known`, also read by the Kubernetes, Compose and `docker run` "
            "checks): node's `node` (1000), php's `www-data` (33; 82 on Alpine), .NET 8+'s "
            "`app` (`$APP_UID`, 1654), distroless' and Chainguard's `nonroot` (65532), "
            "nginx-unprivileged's 101. Otherwise it creates `app` with UID and GID 10001 as the "
            "base's distribution does (groupadd/useradd on Debian, Ubuntu and Enterprise Linux, "
            "addgroup/adduser on Alpine and busybox). It ends the final stage with a numeric "
            "USER, adds `--chown` to the COPYs into the app's folders (the WORKDIR, /app, "
            "/srv...) and gives the paths the app writes to that user (`mkdir -p` and a "
            "numeric `chown` in the RUN that creates the user, or in one RUN before USER): "
            "the final WORKDIR when it is an app folder, the declared VOLUMEs, the folders the "
            "final stage's RUNs make and those its command is told to keep data in "
            "(`--data_dir /data`). It leaves the file alone, and says why, for service "
            "images that start as root (nginx, httpd, php's Apache images, WordPress and "
            "Nextcloud, whose entrypoints copy files into www-data's /var/www/html, "
            "postgres...) or that install such a daemon (apache2, slapd...: distribution "
            "packages, not pip's redis client), a user created without a UID (USER is only written in numbers), "
            "bases it cannot place, and an image without a shell whose written paths it "
            "cannot give away."
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
