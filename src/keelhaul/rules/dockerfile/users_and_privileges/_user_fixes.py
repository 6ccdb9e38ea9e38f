"""The fix of KH109 (root-user): end the final stage as an unprivileged user, by number.

Who the image then runs as, in this order:

1. a user the stage chain already creates with a UID (``useradd -u 1001 app`` in a builder
   stage the final stage is built FROM): ``USER 1001`` (with its GID when the Dockerfile gives
   it); else the last non-root USER the chain set before a ``USER root``, in numbers (from the
   base's documented IDs or the Dockerfile's useradd). A user made without a UID gets no fix:
   USER is written in numbers only (KH201; Kubernetes' runAsNonRoot needs them);
2. the base's own unprivileged user, from the one table of well-known images
   (:mod:`keelhaul.image.known`, with its sources): the user the base runs as by default
   (when a ``USER root`` overrode it), node's ``node`` (1000), php's ``www-data`` (33, 82 on
   Alpine), .NET 8+'s ``app`` (1654), distroless' and Chainguard's ``nonroot`` (65532),
   nginx-unprivileged's 101;
3. ``scratch``: ``USER 65532:65532``; a numeric user needs no /etc/passwd;
4. a new user ``app`` with UID and GID 10001, created as the base's distribution does it:
   ``groupadd``/``useradd`` on Debian, Ubuntu and the Enterprise Linux family, busybox
   ``addgroup``/``adduser`` on Alpine and busybox.

No fix (the finding stays, and its message says why) for a base keelhaul cannot place in a
family, for service images whose entrypoint needs root (nginx, postgres, php's Apache images,
WordPress, Nextcloud...: they start as root and drop privileges themselves; the table says
why), for an image with no shell when the app writes paths the fix would have to chown and images that install such a service (nginx, apache2, openssh-server, cron,
supervisor...), for bases whose container image lacks the tools (ubi-minimal and ubi-micro,
``*-minimal``/``*-slim`` Enterprise Linux, Fedora and Amazon Linux ship without shadow-utils
unless the Dockerfile installs it), for images made to be built upon (ONBUILD triggers, a CMD
that only opens a shell) or used for development, when the Dockerfile copies or edits
/etc/passwd itself (a new user could clash), and when the app lives under /root.

Where the edits go (all in one fix, final stage only):

- ``USER`` after the last RUN of the final stage, before the EXPOSE, CMD, ENTRYPOINT,
  HEALTHCHECK, STOPSIGNAL and VOLUME that close the stage; a ``USER root`` after the last RUN
  is replaced instead.
- the RUN that creates the user before the first instruction that brings files in (a
  COPY/ADD, a RUN that bind-mounts another stage), so that a change to those files does not
  re-run it, when the paths it gives the user exist there already; else before the first
  COPY/ADD that gets ``--chown``, else right before that USER (always after the last RUN when
  the tools come from a package the Dockerfile installs).
- ``--chown`` goes on the final stage's COPY/ADD into the app's folders: a destination inside
  /app, /srv, /code, /home, /usr/src, /var/www or /workspace, or inside the WORKDIR unless the
  WORKDIR is a system folder. Destinations in system folders (/usr/local/bin and the rest of
  /usr, /bin, /sbin, /lib, /etc, /var/lib, /tmp...) keep root's ownership: the app reads its
  binaries and configuration but need not rewrite them.
- the paths the app writes (:func:`written_paths`: the final WORKDIR when it is an app
  folder, the VOLUMEs, the folders the final stage's RUNs make) get ``mkdir -p`` and a numeric
  ``chown`` (no passwd entry needed) in the RUN that creates the user when they exist there
  already, else in one RUN right before the USER (and before the closing VOLUMEs: a change
  after VOLUME is discarded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from keelhaul.dockerfile.edits import indentation, line_ending, replace_instruction
from keelhaul.dockerfile.shell import SHELLS
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, LineRole, Trivia
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.image.known import needs_of
from keelhaul.rules.dockerfile.shared.images import (
    image_ref,
    is_alpine,
    is_base_for_others,
    is_dev_image,
)
from keelhaul.rules.dockerfile.shared.layers import places, resolve_path
from keelhaul.rules.dockerfile.shared.security import (
    UserSetting,
    all_runs,
    base_image,
    is_numeric,
    is_root_user,
    last_user,
    root_base,
)
from keelhaul.rules.dockerfile.users_and_privileges._users import account_options, user_facts
from keelhaul.rules.registry import DockerfileContext, fix_builder

UID = "10001"
NAME = "app"
#: The UID:GID of distroless' and Chainguard's ``nonroot``, also used for ``scratch``.
NONROOT = "65532:65532"

WHY_UNSAFE = (
    "the app then runs as UID {uid}: files it writes outside its own folders, ports below "
    "1024 (outside Docker) and root-owned paths may fail"
)


class Family(StrEnum):
    """How a distribution creates users."""

    DEBIAN = "debian"  # shadow's groupadd/useradd (package passwd)
    ALPINE = "alpine"  # busybox addgroup/adduser
    RHEL = "rhel"  # shadow-utils' groupadd/useradd


@dataclass(frozen=True, slots=True)
class NoFix:
    """Why the finding gets no fix."""

    reason: str


@dataclass(frozen=True, slots=True)
class Account:
    """The user the image should end as, and what it takes to have it."""

    user: str
    """The USER value: ``10001:10001``, ``65532:65532``, ``1000``, ``app``."""
    who: str
    """For the fix's description: ``a new user app (10001)``, ``distroless's nonroot``."""
    create: tuple[str, ...] = ()
    """The commands of the RUN that creates it; empty when it exists already."""
    late: bool = False
    """The tools that create it come from a package a RUN of the chain installs."""


# --------------------------------------------------------------------------------------------
# the base's family


#: Distributions by the last part of the image name (``debian``, ``quay.io/centos/centos``).
_DISTROS = {
    "debian": Family.DEBIAN, "ubuntu": Family.DEBIAN, "alpine": Family.ALPINE,
    "busybox": Family.ALPINE, "centos": Family.RHEL, "rockylinux": Family.RHEL,
    "almalinux": Family.RHEL, "oraclelinux": Family.RHEL, "fedora": Family.RHEL,
    "amazonlinux": Family.RHEL,
}  # fmt: skip
#: Container images of these ship without shadow-utils (no useradd) whatever the tag.
_NO_SHADOW = frozenset({"fedora", "amazonlinux"})
#: Official images built on Debian or Ubuntu unless the tag says otherwise.
_DEBIAN_IMAGES = frozenset(
    {"python", "pypy", "golang", "ruby", "rust", "perl", "php", "gcc", "buildpack-deps",
     "erlang", "elixir", "haskell", "julia", "clojure", "dart", "mono", "r-base", "swift",
     "eclipse-temurin", "ibm-semeru-runtimes", "sapmachine", "maven", "gradle", "groovy",
     "node", "openjdk"}
)  # fmt: skip
#: Tags that move an official image off Debian/Ubuntu (Oracle Linux, UBI, Amazon Linux...).
_OTHER_OS_TAG = re.compile(
    r"ubi|oracle|amazon|corretto|centos|rhel|fedora|rocky|alma|mariner|azurelinux|windows"
    r"|nanoserver|servercore|ibmjava|graal"
)
#: openjdk moved to Oracle Linux with 18; Debian tags say so.
_DEBIAN_TAG = re.compile(r"slim|buster|bullseye|bookworm|trixie|stretch|jessie|jammy|focal|noble")
#: Images whose entrypoint starts as root on purpose (privileged ports, dropping to a service
#: user with gosu, fixing volume ownership): a USER breaks them.
_SERVICES = frozenset(
    {"nginx", "httpd", "postgres", "mysql", "mariadb", "redis", "mongo", "rabbitmq",
     "memcached", "haproxy", "tomcat", "traefik", "caddy", "elasticsearch", "kibana",
     "logstash", "cassandra", "zookeeper", "solr", "couchdb", "influxdb", "telegraf", "neo4j",
     "odoo", "ghost", "wordpress", "nextcloud", "drupal", "joomla", "jenkins/jenkins",
     "sonarqube", "docker", "registry", "vault", "consul"}
)  # fmt: skip
#: Packages of daemons that start as root and switch to their own user (or need root).
_SERVICE_PACKAGES = re.compile(
    r"nginx(?:-\w+)?|apache2|httpd|lighttpd|postgresql(?:-?\d+)?(?:-server)?|mysql-server"
    r"|mariadb(?:-server)?|redis(?:-server)?|openssh(?:-server)?|supervisor|cron|cronie|squid"
    r"|bind9?|dnsmasq|haproxy|varnish|postfix|dovecot(?:-\w+)?|samba|vsftpd|proftpd"
    r"|tomcat\d*|systemd|docker(?:-ce|\.io)?|slapd|openldap(?:-servers)?"
)
_UBI = re.compile(r"(?:redhat/)?ubi\d+(?:/ubi)?(-minimal|-micro|-init)?(?:/.*)?")
_SMALL_EL = re.compile(r"minimal|micro|slim")


def family(reference: str, installed: set[str]) -> Family | NoFix:
    """How ``reference`` (an expanded FROM value) creates users; ``installed`` holds the
    packages the stage chain installs (shadow-utils brings useradd to minimal images)."""
    if not reference.strip() or "$" in reference:
        return NoFix("the base image comes from a build argument keelhaul does not know")
    ref = image_ref(reference)
    if ref is None:
        return NoFix(f"{reference} is not an image reference keelhaul can read")
    tag = (ref.tag or "").lower()
    last = ref.path.rsplit("/", 1)[-1]
    shadow = "shadow-utils" in installed
    needs = needs_of(reference)
    if needs is not None and needs.starts_as_root:
        return NoFix(
            f"{ref.path}:{tag or 'latest'} {needs.why_root or 'starts as root on purpose'}"
        )
    if ref.official and (ref.path in _SERVICES or (ref.path == "php" and "apache" in tag)):
        return NoFix(f"{ref.path} starts as root on purpose (a privileged port or a service "
                     "user its entrypoint switches to)")  # fmt: skip
    if ref.path in _SERVICES:
        return NoFix(f"{ref.path} starts as root on purpose")
    ubi = _UBI.fullmatch(ref.path)
    if ubi is not None and ref.registry in ("registry.access.redhat.com", "registry.redhat.io",
                                            "docker.io"):  # fmt: skip
        if ubi.group(1) in ("-minimal", "-micro") or _SMALL_EL.search(ref.path.rpartition("/")[2]):
            return Family.RHEL if shadow else NoFix(
                f"{ref.path} has no useradd (install shadow-utils first)")  # fmt: skip
        return Family.RHEL
    if last in _DISTROS:
        found = _DISTROS[last]
        if found is Family.RHEL and (last in _NO_SHADOW or _SMALL_EL.search(tag)):
            return Family.RHEL if shadow else NoFix(
                f"{last}:{tag or 'latest'} has no useradd (install shadow-utils first)")  # fmt: skip
        return found
    if ref.registry == "mcr.microsoft.com" and ref.path.startswith("dotnet/"):
        # dotnet/dotnet-docker: Debian unless the tag names Alpine, Ubuntu (both handled
        # like their distribution), Azure Linux/CBL-Mariner, a chiseled (shell-less) or
        # Windows image; 8.0 and later have their own user (keelhaul.image.known)
        if "alpine" in tag:
            return Family.ALPINE
        if re.search(r"chiseled|distroless|mariner|azurelinux|nanoserver|windowsservercore", tag):
            return NoFix(f"keelhaul does not know how {ref.path}:{tag} creates users")
        return Family.DEBIAN
    if ref.official and ref.path in _DEBIAN_IMAGES:
        if is_alpine(reference):
            return Family.ALPINE
        if _OTHER_OS_TAG.search(tag) or (ref.path == "openjdk" and not _DEBIAN_TAG.search(tag)):
            return NoFix(f"keelhaul does not know the distribution of {ref.path}:{tag}")
        return Family.DEBIAN
    return NoFix(f"keelhaul does not know how {reference} creates users")


def _create(which: Family) -> tuple[str, ...]:
    if which is Family.ALPINE:
        return (f"addgroup -S -g {UID} {NAME}", f"adduser -S -D -H -u {UID} -G {NAME} {NAME}")
    # Debian's and Enterprise Linux' shadow useradd both take these; --no-log-init keeps
    # /var/log/lastlog and faillog small.
    return (
        f"groupadd --system --gid {UID} {NAME}",
        f"useradd --system --uid {UID} --gid {NAME} --no-create-home --no-log-init {NAME}",
    )


# --------------------------------------------------------------------------------------------
# who to run as


@dataclass(frozen=True, slots=True)
class _Created:
    name: str
    uid: str | None
    gid: str | None
    stage: Stage
    line: int


def created_users(ctx: DockerfileContext, stages: list[Stage]) -> list[_Created]:
    """The users the chain's RUNs create, in file order (ONBUILD ones do not count)."""
    indexes = {s.index for s in stages}
    facts = user_facts(ctx, stages)
    out: list[_Created] = []
    for run in all_runs(ctx):
        if run.stage.index not in indexes or run.instruction.name == "ONBUILD":
            continue
        for cmd in run.script.commands:
            if cmd.name not in ("useradd", "adduser"):
                continue
            options, words = account_options(cmd)
            if not words or words[0].startswith("$"):
                continue
            name = words[0]
            values = dict(options)
            uid = values.get("-u") or values.get("--uid")
            group = (values.get("-g") or values.get("--gid") or values.get("--ingroup")
                     or (values.get("-G") if cmd.name == "adduser" else None) or name)  # fmt: skip
            gid = group if is_numeric(group) else facts.gids.get(group)
            out.append(_Created(name, uid if uid and is_numeric(uid) else None, gid, run.stage,
                                run.instruction.start_line))  # fmt: skip
    return out


def _earlier_user(ctx: DockerfileContext, stages: list[Stage]) -> Account | NoFix | None:
    """The last non-root USER the chain set before switching back to root (``USER app``, then
    ``USER root`` to install something): the user the author meant the image to run as. A
    name whose IDs the base documents (``node``, ``nobody``) or the Dockerfile gives
    (``useradd -u 1001 app``) becomes numbers; another name gets no fix (USER is written
    with numbers only, so that Kubernetes can verify runAsNonRoot)."""
    base = base_image(root_base(ctx, stages[0]).base)
    facts = user_facts(ctx, stages)
    found: Account | NoFix | None = None
    for stage in reversed(stages):
        for inst in stage.instructions:
            if inst.name != "USER" or not inst.values:
                continue
            value = inst.values[0]
            if "$" in value or _is_root(value, True):
                continue
            user, _, group = value.partition(":")
            ids = base.user_ids(user) if group in ("", user) else None
            if ids is None and not is_numeric(user):
                uid = facts.uids.get(user)
                gid = facts.gids.get(group or user)
                ids = (f"{uid}:{gid}" if gid else uid) if uid and (not group or gid) else None
            if ids is None and not is_numeric(user):
                found = NoFix(f"USER {value} earlier in the Dockerfile names a user whose UID "
                              "keelhaul cannot tell; end with its number")  # fmt: skip
                continue
            found = Account(ids or value, f"user {value}, as set earlier by the Dockerfile")
    return found


def _existing(ctx: DockerfileContext, stages: list[Stage]) -> Account | NoFix | None:
    """A non-root user the chain creates or set before, or that the base has."""
    final = stages[0]
    users = [u for u in created_users(ctx, stages)
             if u.name != "root" and (u.uid is None or int(u.uid) != 0)]  # fmt: skip
    if users:
        user = users[-1]
        if user.uid is not None:
            value = f"{user.uid}:{user.gid}" if user.gid is not None else user.uid
            return Account(value, f"user {user.name} ({user.uid}), created by the Dockerfile")
        return NoFix(f"the Dockerfile creates {user.name} without a UID; give it one "
                     f"(--uid) and end with that number")  # fmt: skip
    earlier = _earlier_user(ctx, stages)
    if earlier is not None:
        return earlier
    first = root_base(ctx, final)
    if first.is_scratch:
        return Account(NONROOT, "UID 65532, which needs no /etc/passwd on scratch")
    base = base_image(first.base)
    if base.default_user is not None:
        ids = base.user_ids(base.default_user)
        value = ids if ids is not None else base.default_user
        if not is_numeric(value.partition(":")[0]):
            return NoFix(f"{base.name} runs as {value}, whose UID keelhaul does not know; "
                         "end with that number")  # fmt: skip
        return Account(value, f"{base.name}'s own user {base.default_user}")
    needs = needs_of(first.base)
    if needs is not None and needs.app_user is not None:
        return Account(needs.app_user, f"{base.name}'s user {needs.app_name}, per {needs.source}")
    return None


def _passwd_written(ctx: DockerfileContext, stages: list[Stage]) -> bool:
    """A COPY/ADD of a passwd or group file, or a RUN that edits /etc/passwd or /etc/group.

    Scripts keelhaul cannot read (``./configure``, ``install.sh``) are not counted: that one
    creates exactly ``app`` or ID 10001 is unlikely, and the build says so if it does.
    """
    indexes = {s.index for s in stages}
    for stage in stages:
        for inst in stage.instructions:
            if inst.name in ("COPY", "ADD") and any(
                w.rstrip("/").rsplit("/", 1)[-1] in ("passwd", "group") for w in inst.values
            ):
                return True
    for run in all_runs(ctx):
        if run.stage.index in indexes and run.instruction.name != "ONBUILD":
            for cmd in run.script.commands:
                if any("/etc/passwd" in w or "/etc/group" in w for w in cmd.argv):
                    return True
    return False


def account(ctx: DockerfileContext, stages: list[Stage]) -> Account | NoFix:
    """The user the final stage (``stages[0]``, then the stages it is built on) should end as."""
    if is_base_for_others(ctx):
        return NoFix("the image is a base for others (ONBUILD, or a CMD that opens a shell): "
                     "its children's RUNs need root")  # fmt: skip
    if is_dev_image(ctx):
        return NoFix("a development image often runs as root on purpose")
    facts = user_facts(ctx, stages)
    service = sorted(p for p in facts.packages if _SERVICE_PACKAGES.fullmatch(p))
    if service:
        return NoFix(f"the Dockerfile installs {service[0]}, a service that starts as root "
                     "(a privileged port, its own user)")  # fmt: skip
    found = _existing(ctx, stages)
    if isinstance(found, Account) and not found.create and not _has_shell(ctx, stages):
        # a VOLUME or a folder a RUN makes is data the app writes; a WORKDIR is only
        # likely to be, and stays root's there (the fix says so)
        made = _written_paths(ctx, stages[0])
        owned = [path for path, line in made.items() if not _is_workdir(stages[0], line)]
        if owned:
            return NoFix(f"the app writes {', '.join(owned)}, and the image has no shell to "
                         f"give it to {found.user} (chown it in a build stage and COPY "
                         "--chown it)")  # fmt: skip
    if found is not None:
        return found
    if _passwd_written(ctx, stages):
        return NoFix("the Dockerfile writes /etc/passwd or /etc/group itself; a new user "
                     "could clash")  # fmt: skip
    if NAME in facts.names or UID in facts.uids.values() or UID in facts.gids.values():
        return NoFix(f"the Dockerfile already names {NAME} or uses ID {UID}")
    first = root_base(ctx, stages[0])
    which = family(first.base, facts.packages)
    if isinstance(which, NoFix):
        return which
    late = which is Family.RHEL and "shadow-utils" in facts.packages
    return Account(f"{UID}:{UID}", f"a new user {NAME} ({UID})", _create(which), late=late)


# --------------------------------------------------------------------------------------------
# where the edits go

#: Instructions that only describe how the container runs: the USER goes before them.
_RUNTIME = frozenset({"EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL", "VOLUME"})
#: Folders an app's own files go to (they get --chown).
_APP_FOLDERS = ("/app", "/srv", "/code", "/home", "/usr/src", "/var/www", "/workspace")
#: System folders: what is copied there stays root's (binaries, configuration, libraries).
_SYSTEM_FOLDERS = (
    "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/boot", "/dev",
    "/proc", "/sys", "/run", "/tmp", "/var/lib", "/var/cache", "/var/log", "/var/run",
    "/var/spool", "/var/tmp", "/var/mail", "/var/opt", "/var/backups",
)  # fmt: skip


def _inside(path: str, folders: tuple[str, ...] | str) -> bool:
    if isinstance(folders, str):
        folders = (folders,)
    return any(path == f or path.startswith(f + "/") for f in folders)


def _destination(ctx: DockerfileContext, inst: Instruction) -> tuple[str | None, str]:
    """(where a COPY/ADD writes, absolute; None when unknown) and the WORKDIR before it."""
    place = places(ctx).at(inst)
    if len(inst.values) < 2 or inst.values[-1].startswith("<<"):
        return None, place.cwd
    found = resolve_path(inst.values[-1], place.cwd, place.env, None)
    if found is None or found.startswith("%"):
        return None, place.cwd
    return found, place.cwd


def needs_chown(destination: str, workdir: str) -> bool:
    """The heuristic of the module docstring: the app's own folders, never system ones."""
    if _inside(destination, _APP_FOLDERS):
        return True
    if _inside(destination, _SYSTEM_FOLDERS) or workdir.startswith("%") or workdir == "/":
        return False
    return not _inside(workdir, _SYSTEM_FOLDERS) and _inside(destination, workdir)


#: Folders whose subfolders are an app's own data (``/var/lib/myapp``, ``/var/log/myapp``).
_DATA_PARENTS = ("/var/lib", "/var/log", "/var/cache", "/var/run", "/run", "/var/spool")


def _writable(path: str) -> bool:
    """A path the app may write to that root would otherwise own: its folders, its data."""
    if path in ("", "/") or path.startswith("%") or _inside(path, ("/tmp", "/var/tmp", "/root")):
        return False
    if any(path.startswith(parent + "/") for parent in _DATA_PARENTS):
        return True
    if any(path.startswith(folder + "/") for folder in _APP_FOLDERS):
        return True  # /usr/src/app: an app's folder, though /usr is a system one
    return not _inside(path, _SYSTEM_FOLDERS)


def written_paths(ctx: DockerfileContext, final: Stage) -> list[str]:
    """The paths the app writes (see :func:`_written_paths`)."""
    return list(_written_paths(ctx, final))


def _written_paths(ctx: DockerfileContext, final: Stage) -> dict[str, int]:
    """The paths the app writes, which the fix gives to its user: the final WORKDIR (an app
    folder: WORKDIR makes it root's), the VOLUMEs (a new volume takes the image's ownership of
    its path) and the folders the final stage's RUNs make (``mkdir -p /data``); each with the
    line of the instruction that makes it (0: a VOLUME path nothing else makes)."""
    found: dict[str, int] = {}
    all_places = places(ctx)
    for inst in final.instructions:
        place = all_places.at(inst)
        if inst.name == "VOLUME":
            words = list(inst.values) if inst.json else " ".join(inst.values).split()
            for word in words:
                path = resolve_path(word.strip("'\""), place.cwd, place.env, None)
                if path is not None:
                    found.setdefault(path.rstrip("/") or "/", 0)
    for run in all_runs(ctx):
        if run.stage.index != final.index or run.instruction.name == "ONBUILD":
            continue
        place = all_places.at(run.instruction)
        for cmd in run.script.commands:
            if cmd.name != "mkdir":
                continue
            for word in cmd.argv[1:]:
                if word.startswith("-") or word.startswith("{") or "*" in word:
                    continue
                path = resolve_path(word, place.cwd, place.env, None)
                if path is not None:
                    found[path.rstrip("/") or "/"] = run.instruction.start_line
    for path in _argument_folders(ctx, final):
        found.setdefault(path, 0)
    if final.instructions:
        last = final.instructions[-1]
        cwd = all_places.at(last).cwd
        if last.name == "WORKDIR" and last.values:
            place = all_places.at(last)
            cwd = resolve_path(last.values[0], place.cwd, place.env, None) or cwd
        workdirs = [i for i in final.instructions if i.name == "WORKDIR"]
        if workdirs and needs_chown(cwd, cwd):
            found.setdefault(cwd.rstrip("/") or "/", workdirs[-1].start_line)
    return {path: line for path, line in found.items() if _writable(path)}


#: An option that names a folder the program writes (``--data_dir /data``, ``--config=/cfg``).
_FOLDER_OPTION = re.compile(
    r"--?[\w-]*(?:data|dir|home|conf|config|storage|cache|state|db|logs?)[\w-]*", re.IGNORECASE
)


def _argument_folders(ctx: DockerfileContext, final: Stage) -> list[str]:
    """Absolute folders the final CMD and ENTRYPOINT pass to an option that names where the
    program keeps its data (``CMD ["--data_dir", "/data"]``): the app writes them."""
    out: list[str] = []
    commands = [i for i in final.instructions if i.name in ("CMD", "ENTRYPOINT")]
    for name in ("ENTRYPOINT", "CMD"):
        chosen = [i for i in commands if i.name == name]
        if not chosen:
            continue
        eff = chosen[-1].effective
        words = list(eff.values) if eff.json else " ".join(eff.values).split()
        for before, word in zip(["", *words], words, strict=False):
            option, equals, value = word.partition("=")
            if equals and _FOLDER_OPTION.fullmatch(option):
                word, before = value, option
            if word.startswith("/") and "$" not in word and _FOLDER_OPTION.fullmatch(before):
                out.append(word.rstrip("/") or "/")
    return out


def _is_workdir(final: Stage, line: int) -> bool:
    return any(i.name == "WORKDIR" and i.start_line == line for i in final.instructions)


def _has_shell(ctx: DockerfileContext, stages: list[Stage]) -> bool:
    """The final stage's base has a shell and chown (not scratch, distroless, Chainguard's
    non-dev images or .NET's chiseled images)."""
    first = root_base(ctx, stages[0])
    if first.is_scratch:
        return False
    base = base_image(first.base)
    vendor = base.name.partition("/")[0]
    if vendor == "distroless":
        return "debug" in base.tag
    if vendor == "chainguard":
        return "dev" in base.tag
    return "chiseled" not in base.tag and "distroless" not in base.tag


def _is_root(written: str | None, default_root: bool) -> bool:
    """Whether a USER value (as written; None: the base's default) is root."""
    if written is None:
        return default_root
    return is_root_user(written.split(":", 1)[0])


@dataclass(frozen=True, slots=True)
class _Layout:
    """The final stage's instructions and the facts the edits need."""

    body: tuple[Instruction, ...]
    users_before: tuple[bool, ...]
    """Whether root runs before each instruction (one more entry: the stage's end)."""
    last_run: int


def _layout(ctx: DockerfileContext, stages: list[Stage]) -> _Layout:
    final = stages[0]
    body = final.instructions
    inherited = last_user(ctx, stages[1:])
    first = root_base(ctx, final)
    default_root = first.is_scratch or base_image(first.base).default_user is None
    current = inherited.written if inherited is not None else None
    roots: list[bool] = []
    last_run = -1
    for at, inst in enumerate(body):
        roots.append(_is_root(current, default_root))
        if inst.name == "USER" and inst.values:
            current = inst.values[0]
        elif inst.name == "RUN":
            last_run = at
    roots.append(_is_root(current, default_root))
    return _Layout(body, tuple(roots), last_run)


class _Writer:
    """Builds the edits in the file's own style: line breaks, keyword case, indentation."""

    def __init__(self, ctx: DockerfileContext, final: Stage) -> None:
        self.eol = line_ending(final.from_instruction) or "\n"
        self.lower = final.from_instruction.keyword.islower()
        self.escape = ctx.tree.escape
        self.comments = {
            item.line.number
            for item in ctx.tree.items
            if isinstance(item, Trivia) and item.line.role is LineRole.COMMENT
        }
        self.last_line = max((line.number for line in ctx.tree.lines()), default=0)

    def keyword(self, name: str) -> str:
        return name.lower() if self.lower else name

    def run(self, commands: tuple[str, ...], indent: str) -> str:
        joint = f" && {self.escape}{self.eol}{indent}    "
        return f"{indent}{self.keyword('RUN')} {joint.join(commands)}{self.eol}"

    def user(self, value: str, indent: str) -> str:
        return f"{indent}{self.keyword('USER')} {value}{self.eol}"

    def insert_before(self, inst: Instruction, text: str) -> Edit:
        """Insert above ``inst`` and the comment lines directly above it."""
        line = inst.start_line
        while line - 1 in self.comments:
            line -= 1
        return Edit(line, line - 1, text)

    def insert_after(self, inst: Instruction, text: str) -> Edit | None:
        last = inst.lines[-1]
        if last.role is LineRole.CODE and last.content.rstrip().endswith(self.escape):
            return None  # the file ends inside a continuation: a new line would join it
        if last.number == self.last_line and not last.text.endswith("\n"):
            # The file ends without a line break: keep it so, after the new lines.
            return Edit(last.number, last.number, last.text + self.eol + text[: -len(self.eol)])
        return Edit(last.number + 1, last.number, text)

    def chown(self, inst: Instruction, owner: str) -> Edit | None:
        """``COPY src dst`` -> ``COPY --chown=owner src dst`` on the first line only."""
        first = inst.lines[0].text
        start = len(indentation(inst)) + len(inst.keyword)
        if first[start : start + 1] not in (" ", "\t"):
            return None
        return Edit(inst.start_line, inst.start_line,
                    f"{first[:start]} --chown={owner}{first[start:]}")  # fmt: skip


def _posix_shell(ctx: DockerfileContext, stages: list[Stage]) -> bool:
    """Every SHELL of the chain is a POSIX-style shell (the RUN is written for one)."""
    for stage in stages:
        for inst in stage.instructions:
            program = inst.values[0].replace("\\", "/").rsplit("/", 1)[-1] if inst.values else ""
            if inst.name == "SHELL" and program not in SHELLS:
                return False
    return True


@dataclass(frozen=True, slots=True)
class Planned:
    """The fix of KH109 and what it does, in words for the finding's message."""

    fix: Fix
    account: Account
    owned: tuple[str, ...]
    """The paths the fix gives to the user (mkdir -p and chown)."""
    kept: tuple[str, ...] = ()
    """The paths the app may write that stay root's (no shell to chown them)."""
    low_ports: tuple[str, ...] = ()
    """The ports below 1024 the stage EXPOSEs."""

    def advice(self) -> str:
        """What the fix writes, for the message: the same USER value, the same paths."""
        kept = (f" ({', '.join(self.kept)} stays root's: the image has no shell to chown it)"
                if self.kept else "")  # fmt: skip
        if self.low_ports:
            kept += (f"; it listens on {', '.join(self.low_ports)}, which a non-root user may "
                     "bind under Docker (unprivileged ports since Engine 20.10) but not where "
                     "the runtime keeps ports below 1024 privileged")  # fmt: skip
        if self.account.create:
            name = self.account.who.removeprefix("a new user ")
            given = f", give it {', '.join(self.owned)}" if self.owned else ""
            return f"create user {name}{given} and end with USER {self.account.user}{kept}"
        given = f"; give {', '.join(self.owned)} to it" if self.owned else ""
        return f"end with USER {self.account.user} ({self.account.who}){given}{kept}"


@fix_builder
def user_fix(
    ctx: DockerfileContext, stages: list[Stage], setting: UserSetting | None
) -> Fix | None:
    """The fix of KH109 for the final stage chain ``stages``; ``setting`` is its last USER
    (root) or None. None when no fix is sure enough (see :func:`plan_user_fix`)."""
    planned = plan_user_fix(ctx, stages, setting)
    return planned.fix if isinstance(planned, Planned) else None


def plan_user_fix(
    ctx: DockerfileContext, stages: list[Stage], setting: UserSetting | None
) -> Planned | NoFix:
    """The fix of KH109 and its description, or why there is none (see :func:`account`).
    The message and the fix both come from here, so the message names what the fix writes."""
    plan = account(ctx, stages)
    if isinstance(plan, NoFix):
        return plan
    final = stages[0]
    layout = _layout(ctx, stages)
    body = layout.body
    if any(_inside(p, "/root") for p in _app_paths(ctx, body)):
        return NoFix("the app lives under /root, which only root may enter")
    if plan.create and not _posix_shell(ctx, stages):
        return NoFix("the stage's SHELL is not a POSIX shell, so keelhaul cannot write the RUN "
                     "that creates the user")  # fmt: skip
    write = _Writer(ctx, final)
    # USER replaces a USER root that no RUN follows, else goes before the runtime block.
    replace: Instruction | None = None
    if (
        setting is not None
        and setting.stage.index == final.index
        and body.index(setting.instruction) > layout.last_run
    ):
        replace = setting.instruction
    if replace is not None:
        user_at = body.index(replace)
    else:
        user_at = len(body)  # before the closing EXPOSE/CMD/ENTRYPOINT..., after every RUN
        while user_at - 1 > layout.last_run and body[user_at - 1].name in _RUNTIME:
            user_at -= 1
    edits: list[Edit] = []
    chowned: list[int] = []
    for inst in _chown_copies(ctx, body, plan):
        edit = write.chown(inst, plan.user)
        if edit is not None:
            edits.append(edit)
            chowned.append(body.index(inst))
    run_text = ""
    made = _written_paths(ctx, final)
    kept: list[str] = []  # written paths that stay root's: no shell to chown them
    if not _has_shell(ctx, stages):
        kept = list(made)
        made = {}
    owned = list(made)
    own: tuple[str, ...] = ()
    if owned:
        # numeric IDs: chown needs no passwd entry, so it may run before the user exists
        if not layout.users_before[user_at] or not _posix_shell(ctx, stages):
            # root does not run there, or the RUN would not be a shell's
            return NoFix(f"the app writes {', '.join(owned)}, and keelhaul cannot write the "
                         "RUN that gives it to the user there")  # fmt: skip
        if any(i.name == "VOLUME" for i in body[:user_at]) or (
            replace is not None and any(i.name == "VOLUME" for i in body[user_at:])
        ):  # a change after VOLUME is discarded
            return NoFix(f"the app writes {', '.join(owned)}, which a VOLUME declares before "
                         "a RUN could give it to the user (a change after VOLUME is "
                         "discarded)")  # fmt: skip
        paths = " ".join(owned)
        own = (f"mkdir -p {paths}", f"chown {plan.user} {paths}")
    if plan.create:
        run_at = _run_position(layout, chowned, user_at, plan.late, list(made.values()))
        if run_at is None:
            return NoFix("root does not run where the RUN that creates the user would go")
        if run_at == user_at and replace is None:
            run_text = write.run(plan.create + own, _indent(body, user_at, final))
            own = ()
        else:  # before an instruction of the body (a COPY, or the USER root replaced)
            # the paths go in the same RUN when they exist there already (the WORKDIR)
            early = all(line < body[run_at].start_line for line in made.values())
            text = write.run(plan.create + (own if early else ()), indentation(body[run_at]))
            edits.append(write.insert_before(body[run_at], text))
            own = () if early else own
    if own:
        if replace is not None:
            edits.append(write.insert_before(replace, write.run(own, indentation(replace))))
        else:
            run_text += write.run(own, _indent(body, user_at, final))
    if replace is not None:
        edits.append(replace_instruction(replace, f"{replace.keyword} {plan.user}"))
    else:
        text = run_text + write.user(plan.user, _indent(body, user_at, final))
        if user_at < len(body):
            edits.append(write.insert_before(body[user_at], text))
        else:
            edit = write.insert_after(body[-1] if body else final.from_instruction, text)
            if edit is None:
                return NoFix("the file ends inside a line continuation")
            edits.append(edit)
    what = f"run as {plan.who}: USER {plan.user}"
    if plan.create:
        what += f", created with {plan.create[0].split()[0]} and {plan.create[1].split()[0]}"
    if chowned:
        what += f", --chown on {len(chowned)} COPY/ADD"
    if owned:
        what += f", {', '.join(owned)} given to it"
    if kept:
        what += f" ({', '.join(kept)} stays root's: the image has no shell to chown it)"
    uid = plan.user.split(":", 1)[0]
    fix = Fix(tuple(edits), what, Safety.UNSAFE, WHY_UNSAFE.format(uid=uid))
    return Planned(fix, plan, tuple(owned), tuple(kept), _low_ports(final))


def _low_ports(final: Stage) -> tuple[str, ...]:
    """The ports below 1024 the final stage EXPOSEs (``80``, ``443/tcp``)."""
    out: list[str] = []
    for inst in final.instructions:
        if inst.name == "EXPOSE":
            for word in " ".join(inst.values).split():
                number = word.partition("/")[0]
                if number.isdigit() and 0 < int(number) < 1024 and word not in out:
                    out.append(word)
    return tuple(out)


def _indent(body: tuple[Instruction, ...], at: int, final: Stage) -> str:
    """The indentation of the instruction new lines go before (or of the stage's last one)."""
    if at < len(body):
        return indentation(body[at])
    return indentation(body[-1] if body else final.from_instruction)


def _app_paths(ctx: DockerfileContext, body: tuple[Instruction, ...]) -> list[str]:
    """Where the final stage copies to and works in (to spot an app under /root)."""
    out: list[str] = []
    for inst in body:
        if inst.name in ("COPY", "ADD"):
            dest, _ = _destination(ctx, inst)
            if dest is not None:
                out.append(dest)
    if body:
        place = places(ctx).at(body[-1])
        cwd = place.cwd
        if body[-1].name == "WORKDIR" and body[-1].values:
            found = resolve_path(body[-1].values[0], cwd, place.env, None)
            cwd = found if found is not None else cwd
        out.append(cwd)
    return out


def _chown_copies(
    ctx: DockerfileContext, body: tuple[Instruction, ...], plan: Account
) -> list[Instruction]:
    out: list[Instruction] = []
    for inst in body:
        if inst.name not in ("COPY", "ADD") or inst.flag("chown") is not None:
            continue
        dest, cwd = _destination(ctx, inst)
        if dest is not None and needs_chown(dest, cwd):
            out.append(inst)
    return out


def _brings_files(inst: Instruction) -> bool:
    """A COPY or ADD, or a RUN that mounts another stage or the build context."""
    if inst.name in ("COPY", "ADD"):
        return True
    if inst.name != "RUN":
        return False
    for flag in inst.flags:
        key, _, value = flag[2:].partition("=")
        kind = dict(p.partition("=")[::2] for p in value.split(",")).get("type", "bind")
        if key == "mount" and kind == "bind":
            return True
    return False


def _run_position(
    layout: _Layout, chowned: list[int], user_at: int, late: bool, made: list[int]
) -> int | None:
    """Before which instruction of the body the user-creating RUN goes (len(body): the end).

    Root must be running there. Before the first instruction that brings files in (a COPY or
    ADD, a RUN that mounts another stage: a change there then does not re-run it) when that is
    no later than the first COPY that gets --chown and the paths it gives the user (``made``,
    their lines) exist there already (else they would need a RUN of their own), else before
    that COPY (the layer then stays cached), else at the USER; after every RUN when a RUN
    installs the tools.
    """
    body = layout.body
    brings = next((i for i, inst in enumerate(body) if _brings_files(inst)), None)
    first = [i for i in chowned[:1] if i <= user_at and not late]
    candidates = []
    if (
        brings is not None
        and brings <= min(first or [user_at])
        and all(line < body[brings].start_line for line in made)
    ):
        candidates.append(brings)
    candidates += first
    candidates.append(user_at)
    for at in candidates:
        if late and at <= layout.last_run:
            continue
        if layout.users_before[at]:
            return at
    return None
