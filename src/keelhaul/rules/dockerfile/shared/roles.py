"""What each stage of a Dockerfile is for: the role rules read before they judge a stage.

A rule that is right about an application image is wrong about a stage nobody runs. The
roles:

- ``runs``: a container runs it: its CMD or ENTRYPOINT (or, when it sets none, its base's,
  for a base known to start a service) starts a program;
- ``export``: ``FROM scratch`` with no CMD or ENTRYPOINT anywhere in its chain: nothing can
  run it; its files are copied out (``docker build --output``, ``COPY --from``);
- ``build``: a stage the target does not end in, used by later stages;
- ``base``: an image meant to be built on or to run commands in: it has ONBUILD triggers,
  it ships docker-php-ext-install and docker-php-source (docker-library/php's own images),
  its CMD is an interactive shell or an interpreter's prompt (``bash``, ``python3``,
  ``node``: the official language images), it sets no CMD over a language, SDK or
  distribution base, or its file says so (``Dockerfile.base``, ``sdk.Dockerfile``), or it is
  a development environment by its name or folder (``dev.Dockerfile``, a ``dev-envs`` target
  stage, ``.devcontainer/Dockerfile``, ``hack/develop/Dockerfile``);
- ``test``: a test fixture or a test runner: its path says so (``testdata/``, ``tests/``,
  ``e2e/``, ``test-runner``, ``fixtures/``); the test suite builds and runs it;
- ``tool``: a packaged command-line program: its ENTRYPOINT is one installed program called by
  name or from a system folder (``aws``, ``/usr/bin/firefox``; not ``/app``, a script, an
  interpreter, a server told where to listen, or a program the Dockerfile COPYs in from the
  build context or from a stage built from it: that is the project's own application or
  worker; one built by a stage from an upstream release is a tool), or its CMD is alone a program that a package the file installs is named after
  (``apk add htop``, ``CMD ["htop"]``), or
  the default arguments only ask for ``--help``, and it exposes no port and has no
  HEALTHCHECK: ``docker run IMAGE ARGS`` runs it once on the caller's files, and the caller
  chooses the user (``docker run --user``); or a desktop app: the file mentions the X11
  socket or DISPLAY (its ``docker run`` usage comment, an ENV) or installs GTK/Qt libraries,
  and exposes no port. Also tools: a program the file copies into a folder of commands and
  calls by name from its ENTRYPOINT (``COPY trivy /usr/local/bin/``, ``ENTRYPOINT
  ["trivy"]``) unless its name says it serves (``api-server``, ``worker``); a CMD that runs
  a program the file installs (a package, or named in a RUN: ``cabal install brok``) with
  arguments that start no server (``emacs -f tetris``), or ``echo``'s usage text; a program
  the file fetches from its upstream in a RUN (``git clone URL /usr/src/its``, then
  ``ENTRYPOINT ["./start"]``). This role is assumed from the file's shape.

A target with no CMD or ENTRYPOINT of its own whose RUN steps check the build context
(``RUN --mount=type=bind ... shellcheck``) or whose name says so (``validate``, ``lint``,
``upload-artifact``) is a ``build`` stage: it is built for its steps and nothing runs it.

Each role comes with the reason, written for a message ("its CMD is bash: an image to build
on"), and whether that reason is known from the file or assumed. ``drops_privileges`` says
that the stage starts as root only to switch user (gosu, su-exec, setpriv...), the official
database images' pattern, or runs a server that drops its workers' privileges itself (nginx,
Apache httpd, php-fpm: the master keeps root to bind the port, the workers run as ``nginx`` or
``www-data``; mysqld and postgres, which refuse to run as root and are started by an
entrypoint that switches user), or an official service image's own entrypoint, which switches user before it
starts the service (postgres, mysql, redis...) when the Dockerfile keeps the base's command.
``drops_privileges`` also holds when the entrypoint script the file copies in from the build
context (when keelhaul reads that context) calls gosu, su-exec, setpriv..., and when the
file installs a daemon that drops to its own user itself (postfix, distcc, squid, dnsmasq,
exim, sendmail). ``needs_root`` says that the program itself needs root (dockerd in
docker:dind, buildkitd, sshd, which switches to each user who logs in; a kernel NFS server;
an image whose usage comment runs it ``--privileged``; a Docker CLI image that exposes no
port, which drives the host's Docker through its socket).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.images import image_ref, is_base_for_others
from keelhaul.rules.dockerfile.shared.security import (
    all_runs,
    final_chain,
    root_base,
    script_text,
)
from keelhaul.rules.dockerfile.shared.structure import chain
from keelhaul.rules.registry import DockerfileContext


class Role(StrEnum):
    RUNS = "runs"
    EXPORT = "export"
    BUILD = "build"
    BASE = "base"
    TOOL = "tool"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class StageRole:
    role: Role
    reason: str
    """Why, as a clause a message can use: "its CMD is bash (an image to build on)"."""
    assumed: bool = False
    """True when the role rests on an assumption (an unknown base's command)."""
    drops_privileges: bool = False
    needs_root: bool = False
    """The program run needs root (dockerd, buildkitd): a user would only break it."""


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
#: Servers whose master process drops its workers to an unprivileged user (nginx's ``user``
#: directive, Apache's ``User www-data``, php-fpm's pool ``user``).
_SELF_DROPPING_PROGRAMS = re.compile(
    r"^(?:nginx|openresty|httpd|apache2|apache2-foreground|apache2ctl|apachectl|php-fpm[\d.]*|"
    r"mysqld|mariadbd|postgres)$"
)
#: Official service images whose entrypoint switches user (gosu) or whose server drops its
#: workers, when the Dockerfile keeps their command.
_SELF_DROPPING_BASES = frozenset(
    {
        "nginx", "httpd", "postgres", "mysql", "mariadb", "mongo", "redis", "rabbitmq",
        "cassandra", "couchdb", "wordpress", "drupal", "joomla", "nextcloud", "percona",
        "elasticsearch", "solr", "zookeeper", "memcached",
    }
)  # fmt: skip
#: Programs that need root to do their job: a USER would only break them.
_ROOT_PROGRAMS = re.compile(
    r"^(?:dockerd|dockerd-entrypoint\.sh|dind|buildkitd|buildkitd-entrypoint|containerd|sshd)$"
)
#: Programs that are interpreters or runtimes: the image runs an application, not a tool.
_RUNTIMES = re.compile(
    r"^(?:java|dotnet|node|nodejs|deno|bun|python[\d.]*|pypy[\d.]*|ruby|php[\d.]*|perl|"
    r"bb|lua|Rscript|elixir|erl|mix|npm|yarn|pnpm|npx|sh|bash|ash|dash|zsh|uvicorn|"
    r"gunicorn|hypercorn|daphne|flask|streamlit|rails|puma|unicorn|bundle|mvn|gradle|"
    r"catalina\.sh|wasmedge|env)$"
)
#: Wrappers that start the real program (``tini --``, ``dumb-init``).
_WRAPPERS = frozenset({"tini", "dumb-init", "catatonit", "s6-svscan", "gosu", "su-exec"})
#: Arguments that tell a program where to listen: a server, not a tool.
_LISTENS = re.compile(
    r"0\.0\.0\.0|^--?(?:host|port|bind|listen|addr|address|http)\b|^-[bp]$|:\d{2,5}$"
)
#: Target stage names that say "built for its steps" (a check, a publication).
_STEP_NAME = re.compile(
    r"(?:^|[-_.])(?:validate|lint|check|shellcheck|shfmt|vet|upload|publish)(?:$|[-_.])"
)
#: Folders of test fixtures and test runners (``e2e/testdata/Dockerfile``), as whole path
#: components: a folder merely named like one (a ``test_x0`` temporary folder) is not one.
_TEST_DIRS = frozenset({"testdata", "test", "tests", "e2e", "fixture", "fixtures", "test-runner"})
#: File names that say test (``Dockerfile.test``, ``test-runner.Dockerfile``, ``e2e.dockerfile``).
_TEST_NAME = re.compile(r"(?:^|[._-])(?:tests?|e2e|test-runner|fixtures?)(?:[._-]|$)")


def _test_path(path: str) -> bool:
    """A test fixture or runner by its path (``__`` separates folders in flattened copies)."""
    parts = [p for p in re.split(r"/|__", path.lower()) if p]
    if not parts:
        return False
    return any(p in _TEST_DIRS for p in parts[:-1]) or bool(_TEST_NAME.search(parts[-1]))


#: Names of a Dockerfile (or a target stage) that say "a development environment".
_DEV_NAME = re.compile(r"(?:^|[-_.])(?:dev|devenv|dev-envs|develop|development)(?:$|[-_.])")
#: Folders of development images (``.devcontainer/Dockerfile``, ``hack/develop/Dockerfile``).
_DEV_FOLDER = re.compile(r"(?:^|/)(?:\.devcontainer|devcontainer|develop|dev)/[^/]*$")
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
    if found.role in (Role.RUNS, Role.TOOL):  # a tool image ships to its users too
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
    # from the first base to the target: the last CMD or ENTRYPOINT is the one that counts
    instructions = [i for s in reversed(stages) for i in s.instructions]
    if any(i.name == "ONBUILD" for i in instructions):
        return StageRole(Role.BASE, "it has ONBUILD triggers (an image to build on)", False, drops)
    commands = [i for i in instructions if i.name in ("CMD", "ENTRYPOINT")]
    first = root_base(ctx, stages[0]) if stages else stage
    if _ships_php_scripts(instructions):
        return StageRole(
            Role.BASE,
            "it ships docker-php-ext-install and docker-php-source: the php image, which "
            "others build on (their RUNs need root)",
            False,
            drops,
        )
    program = _target_program(commands)
    if program and _ROOT_PROGRAMS.match(program):
        return StageRole(Role.RUNS, f"it runs {program}, which needs root", False, drops, True)
    if not commands and _dind(first):
        return StageRole(Role.RUNS, "it runs docker:dind's dockerd, which needs root", False,
                         drops, True)  # fmt: skip
    if _self_dropping(first, commands, program):
        drops = True
    if _dropping_daemon(ctx):
        drops = True
    if _test_path(ctx.tree.path):
        return StageRole(
            Role.TEST, "its path says it is a test fixture or a test runner", False, drops
        )
    if _dev_named(ctx):
        return StageRole(
            Role.BASE,
            "its name says it is a development environment (not the image that ships)",
            False,
            drops,
        )
    root = _needs_root(ctx, instructions)
    if root:
        return StageRole(Role.RUNS, root, True, drops, True)
    if not commands and _check_stage(ctx, stage):
        return StageRole(
            Role.BUILD,
            "it is built for its RUN steps (a check or a publication) and sets no command: "
            "nothing runs it",
        )
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
    if entrypoint and _pass_through(entrypoint[-1]):
        entrypoint = []  # docker-entrypoint.sh runs its arguments: the CMD says what runs
    if entrypoint and not cmd:
        words = _words(entrypoint[-1])
        shell = os.path.basename(words[0]) if words else ""
        if shell in _PROMPTS and all(w.startswith("-") for w in words[1:]):
            return StageRole(
                Role.BASE,
                f"its ENTRYPOINT is {shell} (an image to run commands in)",
                False,
                drops,
            )
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
    if _desktop(ctx, instructions):
        return StageRole(
            Role.TOOL,
            "it runs on its user's X display (the file mentions /tmp/.X11-unix or DISPLAY) "
            "and exposes no port: a desktop app started with docker run",
            True,
            drops,
        )
    gui = _gui_packages(ctx, instructions)
    if gui:
        return StageRole(
            Role.TOOL,
            f"it installs {gui}, a graphical library, and exposes no port: a desktop app "
            "started with docker run on its user's display",
            True,
            drops,
        )
    entrypoints = [i for i in commands if i.name == "ENTRYPOINT"]
    tool = (
        _tool(ctx, instructions, entrypoint)
        or _cmd_tool(ctx, instructions, entrypoints, cmd)
        or _fetched_tool(ctx, instructions, commands)
    )
    if tool:
        return StageRole(
            Role.TOOL,
            f"it runs the program {tool} and exposes no port: a tool that "
            "`docker run` starts on the caller's files, as the user the caller chooses",
            True,
            drops,
        )
    return StageRole(Role.RUNS, "its CMD or ENTRYPOINT starts a program", False, drops)


def target_program(ctx: DockerfileContext) -> str:
    """The program the target stage starts (``sshd``, ``dockerd-entrypoint.sh``): its last
    ENTRYPOINT's (past init wrappers and docker-entrypoint.sh), else its CMD's; "" if none."""
    stages = final_chain(ctx)
    commands = [
        i for s in reversed(stages) for i in s.instructions if i.name in ("CMD", "ENTRYPOINT")
    ]
    return _target_program(commands)


def _target_program(commands: list[Instruction]) -> str:
    program = _program(commands)
    entry = [i for i in commands if i.name == "ENTRYPOINT"]
    if _entrypoint_script_name(program) and entry and len(_words(entry[-1])) == 1:
        # an entrypoint script that ends with exec "$@": the CMD names the program
        program = _program([i for i in commands if i.name == "CMD"]) or program
    return program


def _words(inst: Instruction) -> list[str]:
    eff = inst.effective
    return list(eff.values) if eff.json else " ".join(eff.values).split()


def _program(commands: list[Instruction]) -> str:
    """The program the last ENTRYPOINT (else the last CMD) starts, past any init wrapper."""
    entry = [i for i in commands if i.name == "ENTRYPOINT"]
    chosen = entry[-1] if entry else next((i for i in reversed(commands)), None)
    if chosen is None:
        return ""
    words = _words(chosen)
    while words and os.path.basename(words[0]) in _WRAPPERS:
        words = [w for w in words[1:] if w != "--"] if len(words) > 1 else []
        while words and words[0].startswith("-"):
            words = words[1:]
    return os.path.basename(words[0]) if words else ""


def _pass_through(entrypoint: Instruction) -> bool:
    """The docker-library entrypoint that runs its arguments (``exec "$@"``)."""
    words = _words(entrypoint)
    return len(words) == 1 and os.path.basename(words[0]) in (
        "docker-entrypoint.sh",
        "docker-php-entrypoint",  # docker-library/php: `set -- php "$@"` for flags, exec "$@"
    )


def _entrypoint_script_name(program: str) -> bool:
    """A script named as an entrypoint (``start.sh``, ``docker-php-entrypoint``)."""
    return program.endswith(".sh") or program.endswith("-entrypoint")


#: The scripts of docker-library/php that images built on it call (``RUN
#: docker-php-ext-install pdo_mysql``): a Dockerfile that ships them builds the php image.
_PHP_BUILD_SCRIPTS = re.compile(r"(?:^|/)docker-php-(?:ext-[\w*]+|ext-\*|source)$")


def _ships_php_scripts(instructions: list[Instruction]) -> bool:
    return any(
        inst.name in ("COPY", "ADD") and any(_PHP_BUILD_SCRIPTS.search(w) for w in inst.values[:-1])
        for inst in instructions
    )


def _self_dropping(first: Stage, commands: list[Instruction], program: str) -> bool:
    if program and _SELF_DROPPING_PROGRAMS.match(program):
        return True
    if commands:
        return False
    ref = image_ref(first.base)
    if ref is None:
        return False
    tag = ref.tag or ""
    return ref.path in _SELF_DROPPING_BASES or (
        ref.path == "php" and ("apache" in tag or "fpm" in tag)
    )


def _dind(first: Stage) -> bool:
    ref = image_ref(first.base)
    return ref is not None and ref.path == "docker" and "dind" in (ref.tag or "")


#: Programs that serve, whatever their arguments say (their port is their default one).
_SERVERS = frozenset(
    {
        "http-server", "serve", "live-server", "gunicorn", "uvicorn", "hypercorn", "daphne",
        "waitress-serve", "puma", "unicorn", "thin", "caddy", "nginx", "httpd", "apache2",
        "php-fpm", "lighttpd", "traefik", "envoy", "haproxy", "redis-server", "memcached",
        "mongod", "grafana-server", "prometheus", "node_exporter",
    }
)  # fmt: skip


def _tool(
    ctx: DockerfileContext, instructions: list[Instruction], entrypoint: list[Instruction]
) -> str:
    """The program of a tool image's ENTRYPOINT, or "" (see ``tool`` in the module's doc)."""
    if not entrypoint or any(i.name in ("EXPOSE", "HEALTHCHECK") for i in instructions):
        return ""
    last = entrypoint[-1].effective
    if not last.json:
        return ""  # shell form: a command line, often a server's
    words = list(last.values)
    if not words:
        return ""
    name = os.path.basename(words[0])
    program = words[0]
    if "/" in program and not program.startswith(_SYSTEM_BIN):
        return ""  # /app, /src/server: the project's own program
    if (
        name in _WRAPPERS
        or name in _SERVERS
        or _RUNTIMES.match(name)
        or re.search(
            r"\.(?:sh|py|rb|js|pl|jar|dll|wasm)$|entrypoint|^(?:start|run)(?:$|[-_.])", name
        )
        or any(_LISTENS.search(w) for w in words[1:])
        or (_copied_in(instructions, name, ctx) and not _installed_command(instructions, words[0]))
    ):
        return ""
    return name


#: Folders of commands: a program copied into one and called by name is installed as a command.
_COMMAND_FOLDERS = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin")
#: Words in a program's name that say it serves or works for others (not a command).
_SERVICE_WORDS = frozenset(
    {
        "worker", "server", "serve", "daemon", "agent", "operator", "controller", "manager",
        "api", "service", "svc", "proxy", "gateway", "exporter", "bot", "web", "app", "backend",
        "frontend", "consumer", "scheduler", "listener",
    }
)  # fmt: skip
#: Arguments that start a service (``celery -A proj worker``, ``rails server``, ``npm run``).
_SERVICE_ARGUMENTS = _SERVICE_WORDS | {"run", "start", "up", "serve", "listen"}


def _service_named(name: str) -> bool:
    words = re.split(r"[-_.]", name.lower())
    return bool(_SERVER_NAME.search(name)) or any(w in _SERVICE_WORDS for w in words)


def _installed_command(instructions: list[Instruction], program: str) -> bool:
    """``program`` (an ENTRYPOINT's first word) is one the Dockerfile copies into a folder of
    commands (``COPY trivy /usr/local/bin/trivy``, ``ENTRYPOINT ["trivy"]``): a command-line
    program shipped as a command, unless its name says it serves (``api-server``)."""
    name = os.path.basename(program)
    if ("/" in program and not program.startswith(_COMMAND_FOLDERS)) or _service_named(name):
        return False
    for inst in instructions:
        if inst.name not in ("COPY", "ADD") or len(inst.values) < 2:
            continue
        *sources, dest = inst.values
        folder = dest.rstrip("/") if dest.endswith("/") else os.path.dirname(dest)
        target = dest if not dest.endswith("/") else ""
        if folder not in _COMMAND_FOLDERS:
            continue
        if os.path.basename(target) == name or (
            not target and any(os.path.basename(v.rstrip("/")) == name for v in sources)
        ):
            return True
    return False


def _copied_in(
    instructions: list[Instruction], name: str, ctx: DockerfileContext | None = None
) -> bool:
    """A COPY or ADD puts ``name`` in the image: the project's own program (an application
    or a worker), not a packaged tool. With ``ctx``, a copy from a build stage counts only
    when that stage is built from the build context (``COPY . .``): a program a builder
    stage makes from an upstream release (``git clone --branch v1.2``) is the tool images'
    pattern."""
    for inst in instructions:
        if inst.name not in ("COPY", "ADD") or not inst.values:
            continue
        source = inst.flag("from")
        if ctx is not None and source is not None and not _from_context(ctx, source):
            continue
        *sources, dest = inst.values
        if any(os.path.basename(v.rstrip("/")) == name for v in sources):
            return True
        if os.path.basename(dest.rstrip("/")) == name and dest.startswith(_SYSTEM_BIN):
            return True
    return False


def _from_context(ctx: DockerfileContext, name: str) -> bool:
    """Stage ``name`` (or an image: False) copies files from the build context."""
    stage = next(
        (s for s in ctx.build.stages if s.name == name.lower() or str(s.index) == name), None
    )
    if stage is None:
        return False
    return any(
        inst.name in ("COPY", "ADD") and inst.flag("from") is None
        for st in chain(ctx.build, stage)
        for inst in st.instructions
    )


#: Where installed programs live (a packaged tool's ENTRYPOINT is one of these or a bare name).
_SYSTEM_BIN = ("/usr/", "/bin/", "/sbin/", "/opt/")


#: Program names of servers (``mysqld``, ``redis-server``, ``postgres``): not tools.
_SERVER_NAME = re.compile(
    r"(?:d|server|daemon|proxy)$|^(?:postgres|mongo|redis|memcached|haproxy|caddy|traefik|"
    r"envoy|nginx|openresty|java|catalina)"
)
#: A default CMD that only asks for help: the image waits for a subcommand.
_HELP = frozenset({"--help", "-h", "help", "-help"})


def _cmd_tool(
    ctx: DockerfileContext,
    instructions: list[Instruction],
    entrypoint: list[Instruction],
    cmd: list[Instruction],
) -> str:
    """A tool image known from its CMD: an installed program run alone (``CMD ["htop"]``),
    or any program whose default arguments only ask for help (``CMD ["ykman", "--help"]``
    behind an entrypoint script)."""
    if not cmd or any(i.name in ("EXPOSE", "HEALTHCHECK") for i in instructions):
        return ""
    last = cmd[-1].effective
    if not last.json or not last.values:
        return ""
    words = list(last.values)
    name = os.path.basename(words[0])
    if words[1:] and set(words[1:]) <= _HELP:
        return name
    if set(words) <= _HELP and entrypoint:
        first = _words(entrypoint[-1])
        if len(first) == 1:
            return os.path.basename(first[0])  # ENTRYPOINT ["transfer.sh"], CMD ["--help"]
    if entrypoint or _service_named(name):
        return ""
    if name in ("echo", "printf"):
        return name  # the default command prints how to use the image's programs
    if any(_LISTENS.search(w) or w.lower() in _SERVICE_ARGUMENTS for w in words[1:]):
        return ""
    if "/" in words[0] and not words[0].startswith(_SYSTEM_BIN):
        return ""
    if _RUNTIMES.match(name) or re.search(r"\.(?:sh|py|rb|js|pl|jar|dll|wasm)$", name):
        return ""
    if _copied_in(instructions, name):
        return ""
    if not _package_installed(ctx, name) and not _named_in_run(ctx, name):
        return ""
    return name


def _named_in_run(ctx: DockerfileContext, program: str) -> bool:
    """A RUN of the target's chain names ``program`` (``cabal install brok``, ``git clone
    https://github.com/abs0/wargames.git``, ``make install && lkp install``): the Dockerfile
    installs it from its upstream."""
    chain = {s.index for s in final_chain(ctx)}
    word = re.compile(rf"(?<![\w-]){re.escape(program)}(?![\w-])")
    return any(run.stage.index in chain and word.search(script_text(run)) for run in all_runs(ctx))


#: Commands of a RUN that fetch an upstream program (a release, a clone).
_FETCHES = re.compile(r"\bgit\s+clone\b|\bcurl\b|\bwget\b")


def _fetched_tool(
    ctx: DockerfileContext, instructions: list[Instruction], commands: list[Instruction]
) -> str:
    """A program the Dockerfile fetches from its upstream in a RUN (``git clone URL
    /usr/src/its`` then ``ENTRYPOINT ["./start"]``; ``curl -o /mars.jar`` then ``ENTRYPOINT
    ["java", "-jar", "/mars.jar"]``), run with no port exposed: a packaged upstream program
    started with docker run, not the project's own service (that comes from the build
    context)."""
    if not commands or any(i.name in ("EXPOSE", "HEALTHCHECK") for i in instructions):
        return ""
    entry = [i for i in commands if i.name == "ENTRYPOINT"]
    chosen = (entry or commands)[-1].effective
    if not chosen.json or not chosen.values:
        return ""
    words = list(chosen.values)
    path = words[0]
    if _RUNTIMES.match(os.path.basename(path)):
        path = next((w for w in words[1:] if not w.startswith("-")), "")
    if "/" not in path or any(_LISTENS.search(w) for w in words[1:]):
        return ""
    name = os.path.basename(path)
    if _service_named(name) or name in ("entrypoint.sh", "docker-entrypoint.sh"):
        return ""
    workdir = "/"
    for inst in instructions:
        if inst.name == "WORKDIR" and inst.values:
            value = inst.values[0].strip("'\"")
            workdir = os.path.normpath(os.path.join(workdir, value))
    full = os.path.normpath(os.path.join(workdir, path))
    if full == "/" or _copied_to(instructions, full, workdir):
        return ""
    places = {full, *(p for p in _parents(full) if p != "/")}
    chain = {s.index for s in final_chain(ctx)}
    for run in all_runs(ctx):
        text = script_text(run)
        if run.stage.index in chain and _FETCHES.search(text):
            tokens = {t.strip("'\"").rstrip("/") for t in text.split()}
            if tokens & places:
                return name
    return ""


def _parents(path: str) -> list[str]:
    out: list[str] = []
    while path not in ("/", ""):
        path = os.path.dirname(path)
        out.append(path)
    return out


def _copied_to(instructions: list[Instruction], path: str, workdir: str) -> bool:
    """A COPY or ADD from the build context writes ``path`` or a folder holding it."""
    for inst in instructions:
        if inst.name not in ("COPY", "ADD") or len(inst.values) < 2 or inst.flag("from"):
            continue
        dest = os.path.normpath(os.path.join(workdir, inst.values[-1]))
        if path == dest or path.startswith(dest.rstrip("/") + "/"):
            return True
    return False


def _installed_packages(ctx: DockerfileContext) -> set[str]:
    """Names of the packages the target's chain installs (lower case)."""
    chain = {s.index for s in final_chain(ctx)}
    found: set[str] = set()
    for run in all_runs(ctx):
        if run.stage.index in chain:
            for op in run.operations.packages:
                if op.action == "install":
                    found.update(spec.name.lower() for spec in op.packages)
    return found


#: Packages of daemons that start as root and drop to their own user themselves (postfix's
#: master(8) runs its children as mail_owner; distccd, run as root, switches to distcc; squid
#: to cache_effective_user; dnsmasq to nobody; exim and sendmail to their mail user).
_DROPPING_DAEMON_PACKAGES = frozenset(
    {"postfix", "exim4", "exim", "sendmail", "distcc", "squid", "dnsmasq"}
)
#: Packages whose program needs root: a kernel NFS server.
_ROOT_PACKAGES = frozenset({"nfs-utils", "nfs-kernel-server"})
#: Packages of the Docker CLI: an image that has it and serves nothing drives the host's Docker
#: through its socket (``-v /var/run/docker.sock:...``), which needs root or the socket's group.
_DOCKER_CLI = frozenset({"docker-cli", "docker-ce-cli", "docker.io", "docker-ce", "docker"})
#: A usage comment that runs the image privileged (``# docker run --privileged ...``).
_PRIVILEGED_USAGE = re.compile(r"^\s*#.*--privileged\b", re.MULTILINE)
#: Graphical libraries and desktop programs (GTK, Qt, an X client, PulseAudio for a desktop).
_GUI_PACKAGE = re.compile(
    r"^(?:libgtk[\w.-]*|gtk\d[\w.-]*|libqt\d[\w.-]*|qt\d-[\w.-]+|qml-module-[\w.-]+|"
    r"qtdeclarative\d[\w.-]*|libgl1-mesa-glx|xauth|x11-apps|virt-manager|virt-viewer|apulse|"
    r"pulseaudio|gir1\.2-[\w.-]*gtk[\w.-]*)$"
)


def _dropping_daemon(ctx: DockerfileContext) -> str:
    found = sorted(_installed_packages(ctx) & _DROPPING_DAEMON_PACKAGES)
    return found[0] if found else ""


def _needs_root(ctx: DockerfileContext, instructions: list[Instruction]) -> str:
    """Why the target's program needs root, as a role reason, or ""."""
    if _PRIVILEGED_USAGE.search(ctx.tree.render()):
        return "its usage comment runs it with docker run --privileged (it works on the host)"
    packages = _installed_packages(ctx)
    nfs = sorted(packages & _ROOT_PACKAGES)
    if nfs:
        return f"it installs {nfs[0]}, a kernel NFS server, which needs root"
    docker = sorted(packages & _DOCKER_CLI)
    if docker and not any(i.name == "EXPOSE" for i in instructions):
        return (
            f"it installs the Docker CLI ({docker[0]}) and exposes no port: it drives the "
            "host's Docker through its socket, which needs root or the socket's group"
        )
    return ""


def _gui_packages(ctx: DockerfileContext, instructions: list[Instruction]) -> str:
    """A graphical library the target installs when it exposes no port (a desktop app)."""
    if any(i.name in ("EXPOSE", "HEALTHCHECK") for i in instructions):
        return ""
    found = sorted(p for p in _installed_packages(ctx) if _GUI_PACKAGE.match(p))
    return found[0] if found else ""


def _package_installed(ctx: DockerfileContext, program: str) -> bool:
    """A package of the target's chain is named after ``program`` (``apk add htop``,
    ``apt-get install transmission-gtk``): the CMD runs a packaged program."""
    chain = {s.index for s in final_chain(ctx)}
    for run in all_runs(ctx):
        if run.stage.index not in chain:
            continue
        for op in run.operations.packages:
            if op.action == "install" and any(
                spec.name == program
                or spec.name.startswith(program + "-")
                or program.startswith(spec.name + "-")
                for spec in op.packages
            ):
                return True
    return False


#: The X11 socket or the DISPLAY variable: an app drawn on its user's desktop.
_X11 = re.compile(r"/tmp/\.X11-unix|\bDISPLAY\b")


def _desktop(ctx: DockerfileContext, instructions: list[Instruction]) -> bool:
    """A desktop app: the file mentions the X11 socket or DISPLAY (in its ``docker run``
    usage comment or an ENV) and the image exposes no port."""
    if any(i.name in ("EXPOSE", "HEALTHCHECK") for i in instructions):
        return False
    return _X11.search(ctx.tree.render()) is not None


def _dev_named(ctx: DockerfileContext) -> bool:
    if _DEV_FOLDER.search(ctx.tree.path.lower()):
        return True
    name = os.path.basename(ctx.tree.path).lower()
    for part in (name.removeprefix("dockerfile"), name.removesuffix("dockerfile")):
        if _DEV_NAME.search(part.strip(".-_")):
            return True
    stage = ctx.final_stage
    return stage is not None and stage.name is not None and bool(_DEV_NAME.search(stage.name))


def _check_stage(ctx: DockerfileContext, stage: Stage) -> bool:
    """A stage built for its RUN steps: a check over the build context, or named for one."""
    if stage.name is not None and _STEP_NAME.search(stage.name.lower()):
        return True
    runs = [i for i in stage.instructions if i.name == "RUN"]
    if not runs or any(_MAKES_ARTEFACT.search(" ".join(r.values)) for r in runs):
        return False  # a RUN that leaves a program in the image builds it, it checks nothing
    return all(
        any(f.startswith("--mount=") and ("type=bind" in f or "type=" not in f) for f in r.flags)
        for r in runs
    )


#: A RUN that writes a built artefact into the image (``go build -o /app``, ``make install``).
_MAKES_ARTEFACT = re.compile(r"(?:^|\s)(?:-o|--output)[\s=]+/|\bmake\s+install\b|\bgo\s+install\b")


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
    script = entrypoint_script(ctx)
    return script is not None and script[1] is not None and bool(PRIVILEGE_DROP.search(script[1]))


#: The most of an entrypoint script read from the build context.
_SCRIPT_BYTES = 65536


def entrypoint_script(ctx: DockerfileContext) -> tuple[str, str | None] | None:
    """The entrypoint script the target runs, when a COPY or ADD from the build context puts
    it in the image (``COPY docker-entrypoint.sh /usr/local/bin/``, ``ENTRYPOINT
    ["docker-entrypoint.sh"]``): (its name, its text; None when the build context is unknown
    or does not hold it), else None."""
    stages = final_chain(ctx)
    instructions = [i for s in reversed(stages) for i in s.instructions]
    entry = [i for i in instructions if i.name == "ENTRYPOINT"]
    if not entry:
        return None
    words = _words(entry[-1])
    while words and os.path.basename(words[0]) in _WRAPPERS:
        words = [w for w in words[1:] if not w.startswith("-")]
    if words and os.path.basename(words[0]) in _PROMPTS and len(words) > 1:
        words = words[1:]  # sh /entrypoint.sh
    if not words or (not words[0].endswith(".sh") and "entrypoint" not in words[0]):
        return None
    name = os.path.basename(words[0])
    for inst in instructions:
        if inst.name not in ("COPY", "ADD") or len(inst.values) < 2 or inst.flag("from"):
            continue
        *sources, dest = inst.values
        target = os.path.basename(dest.rstrip("/")) if not dest.endswith("/") else ""
        for source in sources:
            if target == name or (not target and os.path.basename(source) == name):
                return name, _read_context_file(ctx, source)
    return None


def _read_context_file(ctx: DockerfileContext, source: str) -> str | None:
    if ctx.build_context is None or "$" in source or "*" in source:
        return None
    root = ctx.build_context.root.resolve()
    path = (root / source.lstrip("/")).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return handle.read(_SCRIPT_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
