"""Shared by the security rules: who the image runs as, what its base is known to hold, every
RUN (ONBUILD ones too), and where a piece of a RUN script stands in the Dockerfile.

Base images are judged from a small table of images whose users are documented (Docker Hub's
official images, distroless, Chainguard, Red Hat UBI, Microsoft's .NET images). An image missing
from the table is *unknown*: rules that need to know its users or its default user stay quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from keelhaul.dockerfile.shell import SHELLS, SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, LineRole, Span
from keelhaul.registry.reference import DOCKER_HUB
from keelhaul.rules.dockerfile.shared.expose import exposed
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.structure import chain, resolve_word, scopes
from keelhaul.rules.registry import DockerfileContext, Run, read_script

# --------------------------------------------------------------------------------------------
# stages


def final_chain(ctx: DockerfileContext) -> list[Stage]:
    """The target stage, then the earlier stage it is built FROM, and so on (empty: no stage)."""
    stage = ctx.final_stage
    return [] if stage is None else chain(ctx.build, stage)


def needed(ctx: DockerfileContext) -> frozenset[int]:
    """Indexes of the stages BuildKit builds for the target."""
    return frozenset(ctx.build.needed_stages())


# --------------------------------------------------------------------------------------------
# base images


@dataclass(frozen=True, slots=True)
class BaseImage:
    """What keelhaul knows of an image reference."""

    name: str
    """``node``, ``distroless/static-debian12``, ``chainguard/python``: registry and tag cut."""
    tag: str
    known: bool
    """Whether the table knows its users (False: any user may exist)."""
    users: frozenset[str]
    """Users it has beyond the system users every distribution has."""
    default_user: str | None
    """The user it runs as when it sets one other than root (``nonroot``), else None."""
    windows: bool = False

    def user_ids(self, user: str) -> str | None:
        """``UID:GID`` of one of its own users when documented (distroless ``nonroot``)."""
        return _BASE_IDS.get((self.name.partition("/")[0], user)) or _COMMON_IDS.get(user)


#: IDs of users some bases document: (image name or its first path part, user) -> UID:GID.
_BASE_IDS = {
    ("distroless", "nonroot"): "65532:65532",
    ("chainguard", "nonroot"): "65532:65532",
    ("node", "node"): "1000:1000",
    ("nginx", "nginx"): "101:101",
    ("nginxinc", "nginx"): "101:101",
    ("dotnet", "app"): "1654:1654",
    ("jenkins", "jenkins"): "1000:1000",  # jenkinsci/docker: ARG uid=1000, gid=1000
}
#: IDs the usual distributions agree on.
_COMMON_IDS = {"root": "0:0", "nobody": "65534:65534"}


#: Users (and same-named groups) the usual distribution bases all have.
SYSTEM_USERS = frozenset(
    {
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
        "proxy", "www-data", "backup", "list", "irc", "nobody", "nogroup", "_apt", "adm",
        "operator", "ftp", "halt", "shutdown", "users", "staff", "wheel", "tty", "disk",
    }
)  # fmt: skip

#: Docker Hub images whose users are documented: name -> users beyond the system ones.
_HUB_USERS: dict[str, frozenset[str]] = {
    name: frozenset(users.split())
    for name, users in {
        "alpine": "", "debian": "", "ubuntu": "ubuntu", "busybox": "", "centos": "",
        "fedora": "", "rockylinux": "", "almalinux": "", "amazonlinux": "", "oraclelinux": "",
        "archlinux": "", "python": "", "pypy": "", "golang": "", "ruby": "", "rust": "",
        "perl": "", "php": "", "openjdk": "", "eclipse-temurin": "ubuntu",
        "amazoncorretto": "", "ibm-semeru-runtimes": "ubuntu", "sapmachine": "ubuntu",
        "gcc": "", "buildpack-deps": "", "maven": "", "erlang": "", "elixir": "",
        "haskell": "", "swift": "", "dart": "", "julia": "", "clojure": "", "mono": "",
        "node": "node", "gradle": "gradle", "groovy": "groovy", "r-base": "docker",
        "nginx": "nginx", "httpd": "", "postgres": "postgres", "mysql": "mysql",
        "mariadb": "mysql", "redis": "redis", "mongo": "mongodb", "rabbitmq": "rabbitmq",
        "memcached": "memcache", "haproxy": "haproxy", "tomcat": "", "traefik": "",
        "caddy": "", "jenkins/jenkins": "jenkins", "sonarqube": "sonarqube",
        "elasticsearch": "elasticsearch", "kibana": "kibana", "logstash": "logstash",
        "cassandra": "cassandra", "zookeeper": "zookeeper", "solr": "solr",
        "couchdb": "couchdb", "influxdb": "influxdb", "telegraf": "telegraf", "neo4j": "neo4j",
        "odoo": "odoo", "ghost": "node", "wordpress": "", "nextcloud": "",
        "nginxinc/nginx-unprivileged": "nginx",
    }.items()
}  # fmt: skip
#: Images that run as a non-root user unless a Dockerfile says otherwise.
_HUB_DEFAULT_USER: dict[str, str] = {
    "jenkins/jenkins": "jenkins",
    "sonarqube": "sonarqube",
    "nginxinc/nginx-unprivileged": "nginx",
    "grafana/grafana": "472",
    "prom/prometheus": "nobody",
    "prom/alertmanager": "nobody",
    "prom/node-exporter": "nobody",
}
_WINDOWS = re.compile(r"(?:^|/)windows/|(?:^|/)(?:nanoserver|servercore)\b|windowsservercore")


def _split_reference(reference: str) -> tuple[str, str, str]:
    """``gcr.io/distroless/static:nonroot@sha256:..`` -> (``gcr.io``, ``distroless/static``,
    ``nonroot``); Docker Hub is ``""`` and its ``library/`` is dropped; a reference that is
    not valid (``docker:-dind`` from an ARG without a default) is nameless and unknown."""
    ref = image_ref(reference)
    if ref is None:
        return "", "", ""
    registry = "" if ref.registry == DOCKER_HUB else ref.registry
    return registry, ref.path, (ref.tag or "").lower()


@lru_cache(maxsize=512)
def base_image(reference: str) -> BaseImage:
    """What the table knows of ``reference`` (an expanded FROM value)."""
    registry, path, tag = _split_reference(reference)
    if _WINDOWS.search(path) or "windows" in tag or "nanoserver" in tag:
        return BaseImage(path, tag, False, frozenset(), None, windows=True)
    if registry == "gcr.io" and path.startswith("distroless/"):
        nonroot = "nonroot" in tag
        return BaseImage(path, tag, True, frozenset({"nonroot"}), "nonroot" if nonroot else None)
    if registry == "cgr.dev" and path.startswith("chainguard/"):
        default = None if "-dev" in tag or tag == "dev" else "nonroot"
        return BaseImage(path, tag, True, frozenset({"nonroot"}), default)
    if registry == "mcr.microsoft.com" and path.startswith("dotnet/"):
        default = "app" if ("chiseled" in tag or "distroless" in tag) else None
        return BaseImage(path, tag, True, frozenset({"app"}), default)
    if registry in ("registry.access.redhat.com", "") and re.fullmatch(
        r"(?:redhat/)?ubi\d+(?:/ubi)?(?:-minimal|-micro|-init)?", path
    ):
        return BaseImage(path, tag, True, frozenset(), None)
    if registry == "":
        if path in _HUB_USERS:
            return BaseImage(path, tag, True, _HUB_USERS[path], _HUB_DEFAULT_USER.get(path))
        if path.startswith("bitnami/"):
            return BaseImage(path, tag, False, frozenset(), "1001")
        if path.startswith("jupyter/"):
            return BaseImage(path, tag, False, frozenset({"jovyan"}), "jovyan")
        if path.startswith("cimg/"):
            return BaseImage(path, tag, False, frozenset({"circleci"}), "circleci")
        if path in _HUB_DEFAULT_USER:
            return BaseImage(path, tag, False, frozenset(), _HUB_DEFAULT_USER[path])
    return BaseImage(path, tag, False, frozenset(), None)


def root_base(ctx: DockerfileContext, stage: Stage) -> Stage:
    """The first stage of the chain: the one built FROM an image (or scratch)."""
    return ctx.build.root(stage)


# --------------------------------------------------------------------------------------------
# users

_NUMERIC = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class UserSetting:
    """The USER in effect at the end of a stage chain."""

    instruction: Instruction
    stage: Stage
    written: str
    """The USER value as written (``$APP_USER:app``)."""
    user: str | None
    """The user part, variables expanded; None when it depends on an unknown build arg."""
    group: str | None
    """The group part when given (expanded), else None."""

    @property
    def is_root(self) -> bool:
        return self.user is not None and is_root_user(self.user)

    @property
    def numeric(self) -> bool:
        return self.user is not None and _NUMERIC.fullmatch(self.user) is not None


def is_numeric(user: str) -> bool:
    return _NUMERIC.fullmatch(user) is not None


def is_root_user(user: str) -> bool:
    """``root``, ``0``, ``000``."""
    return user == "root" or (_NUMERIC.fullmatch(user) is not None and int(user) == 0)


def last_user(ctx: DockerfileContext, stages: list[Stage]) -> UserSetting | None:
    """The last USER of ``stages`` (a chain, last stage first); ONBUILD USER does not count."""
    known = scopes(ctx)
    for stage in stages:
        users = [i for i in stage.instructions if i.name == "USER" and i.values]
        if not users:
            continue
        inst = users[-1]
        written = inst.values[0]
        scope = known.at(inst)
        value = resolve_word(written, scope, ctx.tree.escape) if scope is not None else None
        if value is None:
            return UserSetting(inst, stage, written, None, None)
        user, sep, group = value.partition(":")
        return UserSetting(inst, stage, written, user, group if sep else None)
    return None


# --------------------------------------------------------------------------------------------
# RUN scripts


_parsed = read_script  # one cache of parsed scripts for every rule


def heredocs_are_script(inst: Instruction) -> bool:
    """``RUN <<EOF`` or ``RUN bash <<EOF``: the heredoc is the script. Otherwise (``RUN cat
    <<EOF > /etc/x.repo``, ``RUN python3 <<EOF``) it is data and the RUN line is the script."""
    eff = inst.effective
    words = eff.values[0].split() if eff.values else []
    if not words or not eff.heredocs:
        return False
    if words[0].startswith("<<"):
        return True
    return words[0].rsplit("/", 1)[-1] in SHELLS and words[-1].startswith("<<")


def all_runs(ctx: DockerfileContext) -> list[Run]:
    """Every shell-form RUN, then the ``ONBUILD RUN`` ones (they run in images built on this).

    A RUN whose heredoc is data (``RUN cat <<EOF > /etc/x.repo``) is read from its command
    line, not from the heredoc.
    """
    return ctx.memo("security.runs", _all_runs)


def _all_runs(ctx: DockerfileContext) -> list[Run]:
    out: list[Run] = []
    done: set[int] = set()
    for run in ctx.runs:
        inst = run.instruction
        if not inst.effective.heredocs or heredocs_are_script(inst):
            out.append(run)
        elif id(inst) not in done:
            done.add(id(inst))
            script, ops = _parsed(inst.effective.values[0])
            out.append(Run(inst, run.stage, script, ops))
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            eff = inst.effective
            if inst.name != "ONBUILD" or eff.name != "RUN" or eff.json:
                continue
            texts = list(eff.values[:1])
            if heredocs_are_script(inst):
                texts = [h.content for h in eff.heredocs]
            for text in texts:
                script, ops = _parsed(text)
                out.append(Run(inst, stage, script, ops))
    return out


def needed_runs(ctx: DockerfileContext) -> Iterator[Run]:
    """The RUNs of the stages the target needs (ONBUILD ones included)."""
    wanted = needed(ctx)
    return (run for run in all_runs(ctx) if run.stage.index in wanted)


def script_text(run: Run) -> str:
    """The script the commands of ``run`` were read from (a heredoc body or the RUN line)."""
    eff = run.instruction.effective
    if eff.heredocs and heredocs_are_script(run.instruction):
        probe = next((c for c in run.script.commands if c.raw), None)
        for doc in eff.heredocs:
            if probe is None or doc.content[probe.start : probe.end] == probe.raw:
                return doc.content
        return eff.heredocs[0].content
    return eff.values[0] if eff.values else ""


def _code_lines(inst: Instruction, heredoc: bool) -> Iterator[tuple[int, str, int]]:
    """(line number, text, first column to search) of the lines a script was read from."""
    if heredoc:
        for line in inst.lines:
            if line.role is LineRole.HEREDOC:
                yield line.number, line.content, 0
        return
    skip = 1 + (inst.sub is not None) + len(inst.effective.flags)
    for line in inst.lines:
        if line.role is not LineRole.CODE:
            continue
        start = 0
        if skip:
            for _ in range(skip):  # the keyword(s) and the flags are not part of the script
                while start < len(line.content) and line.content[start] in " \t":
                    start += 1
                while start < len(line.content) and line.content[start] not in " \t":
                    start += 1
            skip = 0
        yield line.number, line.content, start


def offset_span(run: Run, start: int, end: int) -> Span | None:
    """Where ``script_text(run)[start:end]`` stands in the Dockerfile (one line only)."""
    text = script_text(run)
    needle = text[start:end].split("\n", 1)[0].rstrip()
    if not needle:
        return None
    skip = text.count(needle, 0, start)
    heredoc = heredocs_are_script(run.instruction)
    for number, line, col in _code_lines(run.instruction, heredoc):
        pos = line.find(needle, col)
        while pos >= 0:
            if skip == 0:
                return Span(number, pos + 1, number, pos + 1 + len(needle))
            skip -= 1
            pos = line.find(needle, pos + len(needle))
    return run.instruction.locate(needle)


def word_span(run: Run, cmd: SimpleCommand, index: int) -> Span | None:
    """Where ``cmd.argv[index]`` is written."""
    if index < len(cmd.arg_spans):
        start, end = cmd.arg_spans[index]
        found = offset_span(run, start, end)
        if found is not None:
            return found
    return run.instruction.locate(cmd.argv[index]) if index < len(cmd.argv) else None


def command_span(run: Run, cmd: SimpleCommand) -> Span | None:
    """The command's first line, wrappers and assignments included (``sudo apt-get ...``)."""
    return offset_span(run, cmd.start, cmd.end) or word_span(run, cmd, 0)


def wrapper_span(run: Run, cmd: SimpleCommand, wrapper: str) -> Span | None:
    """Where a wrapper word (``sudo``) of ``cmd`` is written."""
    at = re.search(rf"(?<![\w/.-]){re.escape(wrapper)}(?![\w.-])", cmd.raw)
    if at is None:
        return command_span(run, cmd)
    return offset_span(run, cmd.start + at.start(), cmd.start + at.end())


def locate_key(inst: Instruction, name: str) -> Span | None:
    """Where the variable ``name`` of an ENV or ARG is declared (not inside the keyword)."""
    pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?=[=\s]|$)")
    first = True
    for line in inst.lines:
        if line.role is not LineRole.CODE:
            continue
        start = 0
        if first:  # skip the keyword (and ONBUILD)
            first = False
            start = len(line.content) - len(line.content.lstrip())
            for _ in range(1 + (inst.sub is not None)):
                start = line.content.find(" ", start)
                start = len(line.content) if start < 0 else start + 1
        found = pattern.search(line.content, start)
        if found is not None:
            return Span(line.number, found.start() + 1, line.number, found.end() + 1)
    return inst.locate(name)


def quoted(words: tuple[str, ...] | list[str], limit: int = 6) -> str:
    """``apt-get install -y sudo``, cut after ``limit`` words."""
    shown = " ".join(words[:limit])
    return shown + (" ..." if len(words) > limit else "")


# --------------------------------------------------------------------------------------------
# ports


@dataclass(frozen=True, slots=True)
class ExposedPort:
    """A port or range the shipped image exposes."""

    stage: Stage
    instruction: Instruction
    written: str
    low: int
    high: int
    protocol: str

    def covers(self, port: int) -> bool:
        return self.low <= port <= self.high

    def shown(self, port: int) -> str:
        """``22``, or ``20-30 (the range includes 22)``."""
        if self.low == self.high:
            return self.written
        return f"{self.written} (the range includes {port})"


def exposed_ports(ctx: DockerfileContext) -> Iterator[ExposedPort]:
    """EXPOSE of the final stage and the stages it is built on, variables expanded; words
    whose value keelhaul cannot know or that are no valid port are skipped."""
    shipped = {s.index for s in final_chain(ctx)}
    for stage, inst, spec in exposed(ctx):
        if stage.index not in shipped:
            continue
        low, dash, high = spec.port.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            continue
        first, last = int(low), int(high) if dash else int(low)
        if first > last or last > 65535:
            continue
        yield ExposedPort(stage, inst, spec.written, first, last, spec.protocol.lower())
