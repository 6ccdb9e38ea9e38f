"""What each stage of a Dockerfile is for: the role rules read before they judge a stage.

A rule that is right about an application image is wrong about a stage nobody runs. The
roles:

- ``runs``: a container runs it: its CMD or ENTRYPOINT (or, when it sets none, its base's,
  for a base known to start a service) starts a program;
- ``export``: ``FROM scratch`` with no CMD or ENTRYPOINT anywhere in its chain: nothing can
  run it; its files are copied out (``docker build --output``, ``COPY --from``);
- ``build``: a stage the target does not end in, used by later stages;
- ``base``: an image meant to be built on or to run commands in: it has ONBUILD triggers,
  its CMD is an interactive shell or an interpreter's prompt (``bash``, ``python3``,
  ``node``: the official language images), it sets no CMD over a language, SDK or
  distribution base, or its file says so (``Dockerfile.base``, ``sdk.Dockerfile``).

Each role comes with the reason, written for a message ("its CMD is bash: an image to build
on"), and whether that reason is known from the file or assumed. ``drops_privileges`` says
that the stage starts as root only to switch user (gosu, su-exec, setpriv...), the official
database images' pattern.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from keelhaul.dockerfile.stages import Stage
from keelhaul.rules.dockerfile.shared.images import image_ref, is_base_for_others
from keelhaul.rules.dockerfile.shared.security import (
    all_runs,
    final_chain,
    root_base,
    script_text,
)
from keelhaul.rules.registry import DockerfileContext


class Role(StrEnum):
    RUNS = "runs"
    EXPORT = "export"
    BUILD = "build"
    BASE = "base"


@dataclass(frozen=True, slots=True)
class StageRole:
    role: Role
    reason: str
    """Why, as a clause a message can use: "its CMD is bash (an image to build on)"."""
    assumed: bool = False
    """True when the role rests on an assumption (an unknown base's command)."""
    drops_privileges: bool = False


#: Tools an entrypoint uses to start as root and drop to another user (the official images'
#: pattern: fix volume ownership as root, then ``exec gosu postgres "$@"``).
PRIVILEGE_DROP = re.compile(r"\b(?:gosu|su-exec|setpriv|runuser|s6-setuidgid|chpst|setuidgid)\b")

#: Commands that, alone as the CMD, open a prompt: the image is there to build on or to run
#: other commands in (the official language images end this way).
_PROMPTS = frozenset(
    {
        "sh", "bash", "ash", "zsh", "dash", "fish", "pwsh", "powershell", "cmd", "cmd.exe",
        "python", "python2", "python3", "pypy", "pypy3", "ipython", "node", "irb", "pry",
        "php", "perl", "jshell", "ghci", "iex", "erl", "julia", "R", "lua", "tclsh", "scala",
        "groovysh", "clojure", "guile", "racket", "sbcl", "ocaml", "swift", "dotnet",
    }
)  # fmt: skip
#: Bases that start a service when the Dockerfile sets no CMD (their CMD runs it).
_SERVICE_BASES = frozenset(
    {
        "nginx", "nginxinc/nginx-unprivileged", "httpd", "caddy", "traefik", "haproxy",
        "tomcat", "jetty", "postgres", "mysql", "mariadb", "mongo", "redis", "memcached",
        "rabbitmq", "elasticsearch", "kibana", "logstash", "cassandra", "couchdb", "influxdb",
        "grafana/grafana", "prom/prometheus", "registry", "wordpress", "nextcloud", "ghost",
        "odoo", "drupal", "joomla", "sonarqube", "jenkins/jenkins", "neo4j", "solr",
        "zookeeper", "telegraf", "vault", "consul", "nats", "eclipse-mosquitto", "minio/minio",
    }
)  # fmt: skip
#: Names of a Dockerfile (or a target stage) that say "a base to build on".
_BASE_NAME = re.compile(
    r"(?:^|[-_.])(?:base|sdk|builder|toolchain|devcontainer|buildenv)(?:$|[-_.])"
)


def stage_role(ctx: DockerfileContext, stage: Stage | None = None) -> StageRole:
    """The role of ``stage`` (default: the target stage) in ``ctx``'s build."""
    stage = stage if stage is not None else ctx.final_stage
    if stage is None:
        return StageRole(Role.BUILD, "the file has no stage")
    return ctx.memo(f"stage-role:{stage.index}", lambda c: _role(c, stage))


def ships_as_application(ctx: DockerfileContext) -> bool:
    """The target may ship as an application image (what the size rules KH120/121/124/125
    judge): it runs, or it sets no CMD over a language or distribution image (an application
    whose command `docker run` gives, as often as a base). Not an export stage, not an image
    made to be built on (ONBUILD, a prompt CMD, a base/SDK name), and not a command-less image
    over a toolchain (golang, rust, gcc, buildpack-deps, the .NET SDK...) that does not take
    the build context in (`COPY . .`, a bind mount): there the compiler is the image's
    purpose."""
    if is_base_for_others(ctx):
        return False  # a prompt CMD behind an entrypoint script (the official images)
    found = stage_role(ctx)
    if found.role is Role.RUNS:
        return True
    if found.role is not Role.BASE or not found.reason.startswith(_NO_COMMAND):
        return False
    stages = final_chain(ctx)
    ref = image_ref(root_base(ctx, stages[0]).base) if stages else None
    return ref is None or ref.path not in _TOOLCHAIN_BASES or _takes_context(stages)


def _takes_context(stages: list[Stage]) -> bool:
    """A stage copies (``COPY . .``) or bind-mounts the whole build context: sources to build."""
    for inst in (i for s in stages for i in s.instructions):
        sources = inst.values[:-1] if inst.name in ("COPY", "ADD") else ()
        if inst.flag("from") is None and any(v in (".", "./") for v in sources):
            return True
        if inst.name == "RUN":
            for flag in inst.flags:
                mount = flag.removeprefix("--mount=")
                if mount != flag and "type=bind" in mount and "from=" not in mount:
                    return True
    return False


_NO_COMMAND = "it sets no CMD or ENTRYPOINT"
#: Images that are a compiler or SDK whatever is added to them.
_TOOLCHAIN_BASES = frozenset(
    {
        "golang", "rust", "gcc", "buildpack-deps", "maven", "gradle", "openjdk", "swift",
        "haskell", "erlang", "elixir", "dotnet/sdk", "docker",
    }
)  # fmt: skip


def _role(ctx: DockerfileContext, stage: Stage) -> StageRole:
    if ctx.build.target is not None and stage.index != ctx.build.target:
        chain = {s.index for s in final_chain(ctx)}
        if stage.index not in chain:
            return StageRole(Role.BUILD, f"stage {stage.label} is a build stage")
        # a stage the target is built FROM: judged with the target
    drops = _drops_privileges(ctx)
    stages = final_chain(ctx)
    instructions = [i for s in stages for i in s.instructions]
    if any(i.name == "ONBUILD" for i in instructions):
        return StageRole(Role.BASE, "it has ONBUILD triggers (an image to build on)", False, drops)
    commands = [i for i in instructions if i.name in ("CMD", "ENTRYPOINT")]
    first = root_base(ctx, stages[0]) if stages else stage
    if not commands:
        if first.base.strip().lower() == "scratch":
            return StageRole(
                Role.EXPORT,
                "it is FROM scratch with no CMD or ENTRYPOINT (nothing runs it; its files are "
                "copied out)",
            )
        return _no_command(ctx, first, drops)
    entrypoint = [i for i in commands if i.name == "ENTRYPOINT"]
    cmd = [i for i in commands if i.name == "CMD"]
    if not entrypoint and cmd:
        last = cmd[-1].effective
        words = list(last.values) if last.json else " ".join(last.values).split()
        program = os.path.basename(words[0]) if words else ""
        if program in _PROMPTS and all(w.startswith("-") for w in words[1:]):
            return StageRole(
                Role.BASE,
                f"its CMD is {program} (an image to build on or to run commands in)",
                False,
                drops,
            )
    if _named_base(ctx):
        return StageRole(Role.BASE, "its name says it is a base or SDK image", False, drops)
    return StageRole(Role.RUNS, "its CMD or ENTRYPOINT starts a program", False, drops)


def _no_command(ctx: DockerfileContext, first: Stage, drops: bool) -> StageRole:
    """A target that sets no CMD or ENTRYPOINT runs its base's command."""
    ref = image_ref(first.base)
    name = ref.path if ref is not None else ""
    tag = (ref.tag or "") if ref is not None else ""
    if name in _SERVICE_BASES or (name == "php" and ("apache" in tag or "fpm" in tag)):
        return StageRole(Role.RUNS, f"it runs {name}'s service (the base's CMD)", False, drops)
    if _named_base(ctx) or name in _KNOWN_NON_SERVICE:
        return StageRole(
            Role.BASE,
            f"{_NO_COMMAND}, so it runs what {name or 'its base'} runs (a shell "
            "or a prompt) or the command `docker run` names: an image to build on or a tool "
            "image",
            False,
            drops,
        )
    return StageRole(Role.RUNS, f"it runs what {name or 'its base'} runs", True, drops)


#: Bases known to start no service of their own (distributions, languages, SDKs).
_KNOWN_NON_SERVICE = frozenset(
    {
        "alpine", "debian", "ubuntu", "busybox", "centos", "fedora", "rockylinux", "almalinux",
        "amazonlinux", "oraclelinux", "archlinux", "python", "pypy", "golang", "ruby", "rust",
        "perl", "php", "openjdk", "eclipse-temurin", "amazoncorretto", "gcc", "buildpack-deps",
        "maven", "gradle", "node", "erlang", "elixir", "haskell", "swift", "dart", "julia",
        "clojure", "mono", "docker", "dotnet/sdk", "dotnet/runtime", "dotnet/runtime-deps",
        "dotnet/aspnet",
    }
)  # fmt: skip


def _named_base(ctx: DockerfileContext) -> bool:
    name = os.path.basename(ctx.tree.path).lower()
    for part in (name.removeprefix("dockerfile"), name.removesuffix("dockerfile")):
        if _BASE_NAME.search(part.strip(".-_")):
            return True
    stage = ctx.final_stage
    return stage is not None and stage.name is not None and bool(_BASE_NAME.search(stage.name))


def _drops_privileges(ctx: DockerfileContext) -> bool:
    """The target starts as root only to switch user (gosu, su-exec, setpriv...)."""
    chain = {s.index for s in final_chain(ctx)}
    for run in all_runs(ctx):
        if run.stage.index in chain and PRIVILEGE_DROP.search(script_text(run)):
            return True
    for stage in final_chain(ctx):
        for inst in stage.instructions:
            if inst.name in ("ENTRYPOINT", "CMD") and PRIVILEGE_DROP.search(" ".join(inst.values)):
                return True
    return False
