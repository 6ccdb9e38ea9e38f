from collections.abc import Iterator, Mapping

from keelhaul.dockerfile.operations import PackageOperation, deleted_paths
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.build_cache._cache_mount_fixes import NO_CACHE, cache_mount_fix
from keelhaul.rules.dockerfile.build_cache._dependencies import (
    CacheDir,
    cache_dirs,
    mount_targets,
    mounted,
)
from keelhaul.rules.dockerfile.shared.layers import is_root_user, places
from keelhaul.rules.dockerfile.shared.packages import (
    APT,
    analysis,
    env_of,
    norm_path,
    operation_span,
    shown,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register


def _flag(place: CacheDir, user: str | None) -> str:
    target = place.target
    extra = ",sharing=locked" if place.locked else ""
    if target.startswith("~"):
        if is_root_user(user):
            target = "/root" + target[1:]
        else:
            name = (user or "").split(":", 1)[0]
            uid = name if name.isdigit() else f"<uid of {name}>"
            target = (f"/home/{name}" if not name.isdigit() else "<home>") + target[1:]
            extra += f",uid={uid}"
    return f"--mount=type=cache,target={target}{extra}"


def _notes(run: Run, ops: list[PackageOperation], missing: list[CacheDir], keeps_debs: bool,
           env: Mapping[str, str]) -> list[str]:  # fmt: skip
    notes: list[str] = []
    if (
        any(op.manager in APT for op in ops)
        and not keeps_debs
        and any(m.target == "/var/cache/apt" for m in missing)
    ):
        notes.append("on Debian and Ubuntu images also delete /etc/apt/apt.conf.d/docker-clean, "
                     "which empties /var/cache/apt after every install")  # fmt: skip
    dropped = [NO_CACHE[op.manager] for op in ops if op.manager in NO_CACHE and op.no_cache]
    for cmd in run.script.commands:
        if cmd.name != "rm":
            continue
        for path in deleted_paths(cmd):
            normal = norm_path(path, env)
            if any(mounted(normal, [norm_path(m.target, env)], env) for m in missing):
                dropped.append(f"rm {path}")
    if dropped:
        listed = ", ".join(f"`{d}`" for d in dict.fromkeys(dropped))
        notes.append(f"then drop {listed}, which would empty or bypass the cache")
    return notes


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    found = analysis(ctx)
    where = places(ctx)
    for run in found.runs:
        if run.instruction.name == "ONBUILD":
            continue
        facts = found.facts(run)
        env = env_of(run, facts)
        targets = mount_targets(run, env)
        missing: list[CacheDir] = []
        ops: list[PackageOperation] = []
        for op in run.operations.packages:
            wanted = [d for d in cache_dirs(op, env, facts) if not mounted(d.target, targets, env)]
            if wanted:
                ops.append(op)
                missing += [d for d in wanted if d not in missing]
        if not missing:
            continue
        user = where.at(run.instruction).user
        flags = " ".join(_flag(m, user) for m in missing)
        notes = _notes(run, ops, missing, facts.apt_keeps_debs, env)
        tail = f" ({'; '.join(notes)})" if notes else ""
        names = list(dict.fromkeys(f"`{shown(op)}`" for op in ops))
        one = len(names) == 1
        who = (
            " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + f" and {names[-1]}"
        )
        message = (f"{who} start{'s' if one else ''} with an empty cache whenever this layer "
                   f"is rebuilt; keep {'its' if one else 'their'} downloads across builds with "
                   f"`RUN {flags}`{tail}")  # fmt: skip
        fix = cache_mount_fix(ctx.tree, run, ops, missing, user, facts.apt_keeps_debs,
                              ctx.settings.fix_syntax_directive)  # fmt: skip
        yield Hit(run.instruction, message, run.stage, operation_span(run, ops[0]), fix)


register(
    Rule(
        code="KH184",
        name="missing-cache-mount",
        severity=Severity.INFO,
        category=Category.BUILD_CACHE,
        summary="A dependency install without a BuildKit cache mount for its downloads.",
        explanation=(
            "When a layer is rebuilt, its package manager downloads everything again. A "
            "BuildKit cache mount keeps the manager's download folder between builds, outside "
            "the image: `RUN --mount=type=cache,target=/root/.cache/pip pip install -r "
            "requirements.txt` re-uses the wheels and never puts them in a layer (so "
            "`--no-cache-dir` and cache cleanups become unnecessary). The message gives the "
            "exact flags: apt /var/cache/apt and /var/lib/apt (with `sharing=locked`, and "
            "docker-clean removed on Debian and Ubuntu), apk /etc/apk/cache (a folder there "
            "switches apk's package cache on), dnf/yum "
            "/var/cache/dnf or /var/cache/yum, zypper /var/cache/zypp, pip ~/.cache/pip, uv "
            "~/.cache/uv, poetry ~/.cache/pypoetry, npm ~/.npm, yarn "
            "/usr/local/share/.cache/yarn, pnpm ~/.local/share/pnpm/store, go ~/.cache/go-build "
            "and /go/pkg/mod, cargo $CARGO_HOME/registry, maven ~/.m2, gradle ~/.gradle, "
            "composer its cache folder, dotnet ~/.nuget/packages; ~ is /root for root, and a "
            "non-root USER needs its home and `uid=`. Folders set through ENV (PIP_CACHE_DIR, "
            "GOCACHE, GOMODCACHE, CARGO_HOME, npm_config_cache, YARN_CACHE_FOLDER...) are "
            "followed. A cache or tmpfs mount at, above or below the folder counts.\n\n"
            "A suggestion, off by default: select KH184 (or the build-cache category) to turn "
            "it on. Cache mounts need BuildKit, and CI runners that start empty only profit "
            "when they keep the builder's cache.\n\n"
            "Fix (unsafe: it needs BuildKit; the legacy builder rejects --mount): adds the flags "
            "after RUN (and `# syntax=docker/dockerfile:1` at the top only with the "
            "`fix-syntax-directive` setting: BuildKit's built-in frontend reads cache mounts, "
            "and the directive makes it pull a frontend image), and for apt `rm -f /etc/apt/apt.conf.d/docker-clean;` before the "
            "script (with the Keep-Downloaded-Packages setting for `apt`). It drops the "
            "options that bypass the cache (`--no-cache-dir`; apk's `--no-cache` becomes "
            "`--update-cache`) and keeps cleanup commands, which are only wasteful now. No fix "
            "for a non-root USER (its home and uid are not known), in ONBUILD, or where the "
            "apt prefix would go into a heredoc."
        ),
        bad="FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
        good=(
            "FROM python:3.12-slim\nCOPY requirements.txt .\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
        ),
        check=check,
        default_on=False,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Adds BuildKit cache mounts (and drops options that bypass the cache): the "
            "legacy builder rejects `--mount`; `# syntax=` is added only with the "
            "`fix-syntax-directive` setting."
        ),
    )
)
