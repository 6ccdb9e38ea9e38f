"""What a stage chain does to its users: who it creates, with which IDs, and whether keelhaul can
tell at all (a copied /etc/passwd or a script it cannot read may create anyone)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.rules.dockerfile.shared.security import all_runs
from keelhaul.rules.dockerfile.shared.toolchain import SYSTEM_MANAGERS
from keelhaul.rules.registry import DockerfileContext, Run

#: Commands that create users or groups, or change them (the names they take exist after).
_ACCOUNT_COMMANDS = frozenset(
    {"useradd", "adduser", "groupadd", "addgroup", "usermod", "groupmod", "gpasswd"}
)
#: Commands that fail unless the user or group they name exists.
_OWNER_COMMANDS = frozenset({"chown", "chgrp"})
#: Options of the account commands that take a value (the value is no user name).
_SHORT_VALUES = frozenset("ugGdsckefKpRPbZhn")
_LONG_VALUES = frozenset(
    {"--uid", "--gid", "--groups", "--home", "--home-dir", "--shell", "--comment", "--gecos",
     "--skel", "--expiredate", "--inactive", "--key", "--password", "--root", "--prefix",
     "--base-dir", "--ingroup", "--firstuid", "--lastuid", "--firstgid", "--lastgid",
     "--login", "--new-name", "--selinux-user"}
)  # fmt: skip
_UID_OPTIONS = ("-u", "--uid")
_GID_OPTIONS = ("-g", "--gid")
#: A passwd line written by hand: ``app:x:10001:10001::/home/app:/bin/sh``.
_PASSWD_LINE = re.compile(r"(?:^|[\s'\"])([a-z_][a-z0-9_.-]*\$?):[^:\s]*:(\d+):")
#: A command run from a file the Dockerfile cannot show (it may create users).
_SCRIPT = re.compile(r"(?:^\.{0,2}/|\.(?:sh|bash|py|pl|rb)$)")
_SYSTEM_PROGRAM = re.compile(r"^/(?:usr/)?(?:local/)?s?bin/")
#: Packages that create a user of another name than their own.
_PACKAGE_USERS = {"mariadb": "mysql", "openssh": "sshd", "apache2": "www-data", "httpd": "apache"}


@dataclass
class UserFacts:
    """What the stages of a chain do to users and groups."""

    names: set[str] = field(default_factory=set)
    """Users and groups created, changed or relied on (``chown app``) by the chain."""
    uids: dict[str, str] = field(default_factory=dict)
    """user name -> UID given at creation (``useradd -u 10001 app``)."""
    gids: dict[str, str] = field(default_factory=dict)
    """group name -> GID given at creation (``groupadd -g 10001 app``), and each user's own
    group when created with ``-g``/``--gid`` and a number."""
    packages: set[str] = field(default_factory=set)
    """Names of the distribution packages installed (a package may add its own user)."""
    opaque: bool = False
    """Something may create users where keelhaul cannot see: a copied /etc/passwd, a script."""

    def creates(self, name: str) -> bool:
        if name in self.names:
            return True
        return any(
            p.startswith(name) or _PACKAGE_USERS.get(p.split("-")[0]) == name for p in self.packages
        )


def account_options(cmd: SimpleCommand) -> tuple[list[tuple[str, str]], list[str]]:
    """(options with their values, other words) of useradd, adduser, groupadd and kin."""
    short_values = _SHORT_VALUES | ({"l"} if cmd.name == "usermod" else set())
    options: list[tuple[str, str]] = []
    words: list[str] = []
    args = cmd.argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg.partition("=")
            if not eq and name in _LONG_VALUES and i < len(args):
                value = args[i]
                i += 1
            options.append((name, value))
        elif arg.startswith("-") and len(arg) > 1:
            for at, letter in enumerate(arg[1:], start=1):
                if letter in short_values:
                    value = arg[at + 1 :]
                    if not value and i < len(args):
                        value = args[i]
                        i += 1
                    options.append(("-" + letter, value))
                    break
                options.append(("-" + letter, ""))
        else:
            words.append(arg)
    return options, words


def _account(cmd: SimpleCommand, facts: UserFacts) -> None:
    options, positional = account_options(cmd)
    named = [p for p in positional if p and not p.startswith("$")]
    facts.names.update(named)
    uid = next((v for k, v in options if k in _UID_OPTIONS and v), None)
    gid = next((v for k, v in options if k in _GID_OPTIONS and v), None)
    if cmd.name in ("useradd", "usermod"):  # -g names the user's group there
        facts.names.update(v for k, v in options if k in ("-g", "-G", "--gid", "--groups") and v)
    if not named:
        return
    name = named[0]
    if cmd.name in ("groupadd", "addgroup") and gid is not None and gid.isdigit():
        facts.gids.setdefault(name, gid)
    elif cmd.name in ("useradd", "adduser") and uid is not None and uid.isdigit():
        facts.uids.setdefault(name, uid)
        if cmd.name == "useradd" and gid is not None and gid.isdigit():
            facts.gids.setdefault(name, gid)


def _owner(cmd: SimpleCommand, facts: UserFacts) -> None:
    positional = [a for a in cmd.argv[1:] if not a.startswith("-")]
    if positional and not positional[0].startswith("$"):
        owner = positional[0]
        if cmd.name == "chgrp":
            facts.names.add(owner)
        else:
            user, _, group = owner.partition(":")
            facts.names.update(n for n in (user, group.partition(".")[0]) if n)


def _command(run: Run, cmd: SimpleCommand, facts: UserFacts) -> None:
    name = cmd.name
    if name in _ACCOUNT_COMMANDS:
        _account(cmd, facts)
    elif name in _OWNER_COMMANDS:
        _owner(cmd, facts)
    elif name == "install":
        for flag, value in zip(cmd.argv, cmd.argv[1:], strict=False):
            if flag in ("-o", "-g", "--owner", "--group"):
                facts.names.add(value)
    if any("/etc/passwd" in w or "/etc/group" in w for w in cmd.argv):
        facts.opaque = True
    for word in cmd.words:
        found = _PASSWD_LINE.search(word)
        if found is not None:
            facts.names.add(found.group(1))
    first = cmd.argv[0] if cmd.argv else ""
    if first and _SCRIPT.search(first) and not _SYSTEM_PROGRAM.match(first):
        facts.opaque = True
    if name in ("sh", "bash", "dash", "ash") and len(cmd.argv) > 1 and cmd.argv[1][:1] != "-":
        facts.opaque = True  # ``sh setup.sh``


def _copy(args: tuple[str, ...], chown: str | None, facts: UserFacts) -> None:
    if chown:
        user, _, group = chown.partition(":")
        facts.names.update(n for n in (user, group) if n and not n.isdigit())
    if any("passwd" in a or "group" in a.rpartition("/")[2] for a in args) or (
        args and args[-1].rstrip("/") in ("/etc", "")
    ):
        facts.opaque = True


def user_facts(ctx: DockerfileContext, stages: list[Stage]) -> UserFacts:
    """What ``stages`` (a chain) do to users, RUN, COPY and ADD alike."""
    facts = UserFacts()
    indexes = {s.index for s in stages}
    for run in all_runs(ctx):
        if run.stage.index not in indexes or run.instruction.name == "ONBUILD":
            continue
        if not run.script.parsed_exactly and not run.script.commands:
            facts.opaque = True
        for cmd in run.script.commands:
            _command(run, cmd, facts)
        for op in run.operations.packages:
            # the distribution's packages (pip's redis is a client library, not the server)
            if op.action == "install" and op.manager in SYSTEM_MANAGERS:
                facts.packages.update(p.name.lower() for p in op.packages)
    for stage in stages:
        for inst in stage.instructions:
            if inst.name in ("COPY", "ADD"):
                _copy(inst.values, inst.flag("chown"), facts)
            elif inst.name == "RUN" and inst.json:
                facts.opaque = True  # exec form: keelhaul does not read it
    return facts


def creators_elsewhere(ctx: DockerfileContext, stages: list[Stage], name: str) -> list[Stage]:
    """Stages outside the chain that create ``name`` (a classic multi-stage mistake)."""
    inside = {s.index for s in stages}
    out: list[Stage] = []
    for stage in ctx.build.stages:
        if stage.index in inside:
            continue
        if name in user_facts(ctx, [stage]).names:
            out.append(stage)
    return out
