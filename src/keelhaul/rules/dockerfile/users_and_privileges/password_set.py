import re
from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import needed_runs, word_span
from keelhaul.rules.dockerfile.users_and_privileges._users import account_options
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Password fields that lock an account rather than set a password.
LOCKED = frozenset({"*", "!", "!!", "x", "!*", ""})


#: A password made up at build time from random bytes (``$(head -c32 /dev/urandom |
#: base64)``, ``$(openssl rand -base64 32)``): nobody knows it; it only unlocks the account
#: (OpenSSH refuses key logins to a locked account on Alpine's shadow).
_RANDOM = re.compile(r"^\$\(.*(?:/dev/u?random|openssl\s+rand|pwgen|mkpasswd\s+-R|uuidgen)")


def _random(value: str) -> bool:
    return _RANDOM.search(value.strip("'\"")) is not None


def _fed_by_pipe(run: Run, cmd: SimpleCommand) -> bool:
    return any(c.pipe_to[:1] == cmd.argv[:1] for c in run.script.commands if c.pipe_to)


def _user_of_chpasswd(run: Run, cmd: SimpleCommand) -> str | None:
    """``echo 'root:pw' | chpasswd`` -> root (the password is never kept)."""
    for other in run.script.commands:
        if other.pipe_to[:1] == cmd.argv[:1] and other.name in ("echo", "printf"):
            for word in other.argv[1:]:
                user, colon, _ = word.partition(":")
                if colon and user and not user.startswith("-"):
                    return user
    return None


def _finding(run: Run, cmd: SimpleCommand) -> tuple[str, int] | None:
    """What the command does to passwords, and the argv index to point at."""
    name = cmd.name
    if name == "chpasswd":
        user = _user_of_chpasswd(run, cmd)
        return (f"chpasswd sets the password of {user}" if user else "chpasswd sets a password"), 0
    if name == "passwd":
        args = cmd.argv[1:]
        if "-d" in args or "--delete" in args:
            target = next((a for a in args if not a.startswith("-")), "the user")
            return f"passwd -d leaves {target} without any password", 0
        if "--stdin" in args or _fed_by_pipe(run, cmd):
            target = next((a for a in args if not a.startswith("-")), "root")
            return f"passwd sets the password of {target}", 0
        return None
    if name in ("useradd", "usermod"):
        options, words = account_options(cmd)
        value = next((v for k, v in options if k in ("-p", "--password")), None)
        if value is not None and value.strip("'\"") not in LOCKED and not _random(value):
            target = words[0] if words else "a user"
            flag = "-p" if "-p" in cmd.argv else "--password"
            return f"{name} {flag} sets the password of {target}", cmd.argv.index(flag) if (
                flag in cmd.argv
            ) else 0
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in needed_runs(ctx):
        for cmd in run.script.commands:
            found = _finding(run, cmd)
            if found is None:
                continue
            what, index = found
            yield Hit(run.instruction, f"{what} in the image: its hash ships in /etc/shadow and "
                      "the clear text stays in the Dockerfile or build history; rely on a "
                      "non-root USER and docker exec, not on a password", run.stage,
                      word_span(run, cmd, index))  # fmt: skip


register(
    Rule(
        code="KH204",
        name="password-set",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A RUN sets or removes an account password (chpasswd, passwd, useradd -p).",
        explanation=(
            "A password set at build time is the same in every container started from the "
            "image, its hash is readable by anyone who pulls it (and cracked offline at "
            "leisure), and its clear text is in the Dockerfile or the build history. `passwd "
            "-d` is worse: a login with no password at all. Containers need no passwords: run "
            "as a non-root USER, get a shell with docker exec or kubectl exec, and give "
            "services their credentials at run time. Flagged: `chpasswd`, `passwd --stdin` or "
            "fed by a pipe, `passwd -d`, and `useradd`/`usermod -p` with a real hash (`-p '*'` "
            "locks the account and is fine; so is a password made of random bytes at build time, "
            '`-p "$(head -c32 /dev/urandom | base64)"`, which nobody knows and which only '
            "unlocks the account for SSH key logins). Messages never show the password."
        ),
        bad="FROM debian:12\nRUN echo 'root:hunter2' | chpasswd\n",
        good="FROM debian:12\nRUN useradd --uid 10001 app\nUSER 10001\n",
        check=check,
        related={"checkov": ("CKV2_DOCKER_17",)},
    )
)
