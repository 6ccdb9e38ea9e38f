import re
from collections.abc import Iterator
from dataclasses import dataclass

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import all_runs, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register
from keelhaul.secrets import assignment_secret, find_secrets, redact

#: Instructions whose text ends up in the image config or history (ENV/ARG: secret-in-env).
_WHERE = {
    "RUN": "the Dockerfile and the image history",
    "LABEL": "the image config",
    "CMD": "the image config",
    "ENTRYPOINT": "the image config",
    "HEALTHCHECK": "the image config",
    "COPY": "a layer of the image",
    "ADD": "the Dockerfile and the image history",
    "SHELL": "the image config",
}
#: ``login`` commands whose ``-p``/``--password`` takes the password itself.
_LOGIN_TOOLS = frozenset({"docker", "podman", "buildah", "helm", "skopeo", "oras", "crane"})
_PASSWORD_OPTIONS = frozenset(
    {"--password", "--http-password", "--ftp-password", "--proxy-password", "--passwd"}
)
_NPM_AUTH_KEY = re.compile(r"(?:^|:)_(?:authToken|auth|password)$")
#: ``NAME=value`` in text a command writes (``echo "DB_PASSWORD=x" >> .env``).
_ASSIGNMENT = re.compile(
    r"(?<![\w$-])([A-Za-z_][A-Za-z0-9_]*)=(?:\"([^\"$`]*)\"|'([^'$]*)'|([^\s\"'$`;&|]+))"
)
_WRITERS = frozenset({"echo", "printf"})


@dataclass(frozen=True, slots=True)
class Found:
    label: str
    value: str
    """Only used to find where it is written; never shown."""


def _text(inst: Instruction) -> str:
    eff = inst.effective
    parts = list(eff.values) + [h.content for h in eff.heredocs]
    return "\n".join(parts)


def _literal(value: str) -> bool:
    return bool(value) and "$" not in value and value not in ("-", "*")


def _assigned_secrets(cmd: SimpleCommand) -> Iterator[Found]:
    """``DB_PASSWORD=x ./migrate``, ``export API_TOKEN=x``, ``echo "SECRET_KEY=x" >> .env``."""
    name = cmd.name
    if not cmd.env and name not in _WRITERS and name not in ("export", "declare", "readonly"):
        return
    pairs = list(cmd.env)
    if name in ("export", "declare", "readonly"):
        pairs += [tuple(w.split("=", 1)) for w in cmd.argv[1:] if "=" in w]  # type: ignore[misc]
    if name in _WRITERS:
        for word in cmd.argv[1:]:
            for m in _ASSIGNMENT.finditer(word):
                pairs.append((m.group(1), next(g for g in m.groups()[1:] if g is not None)))
    for name, value in pairs:
        label = assignment_secret(name, value) if "$" not in value else None
        if label is not None:
            yield Found(f"a secret in {name}" if label == "a secret" else label, value)


def _option_secrets(cmd: SimpleCommand) -> Iterator[Found]:
    """Passwords given as command-line options: curl -u user:pw, --password=pw, npm tokens."""
    argv = cmd.argv
    name = cmd.name
    scan = name == "curl" or name in _LOGIN_TOOLS or any("-pass" in w for w in argv)
    for i, word in enumerate(argv[1:] if scan else (), start=1):
        following = argv[i + 1] if i + 1 < len(argv) else ""
        key, eq, attached = word.partition("=")
        if name == "curl" and word in ("-u", "--user", "--proxy-user", "-U"):
            _, colon, password = following.partition(":")
            if colon and _literal(password):
                yield Found(f"a password on the {name} command line", password)
        elif key in _PASSWORD_OPTIONS:
            value = attached if eq else following
            if _literal(value) and not value.startswith("-"):
                yield Found(f"a password on the {name} command line", value)
        elif name in _LOGIN_TOOLS and "login" in argv and word == "-p" and _literal(following):
            yield Found(f"a password on the {name} login command line", following)
    if name in ("npm", "yarn", "pnpm") and "set" in argv:
        at = argv.index("set")
        rest = argv[at + 1 :]
        if rest:
            key, eq, value = rest[0].partition("=")
            value = value if eq else (rest[1] if len(rest) > 1 else "")
            if _NPM_AUTH_KEY.search(key) and _literal(value):
                yield Found("an npm registry token", value)
    aws_set = name == "aws" and argv[1:3] == ("configure", "set") and len(argv) > 4
    if aws_set and "secret" in argv[3].lower() and _literal(argv[4]):
        yield Found("an AWS secret access key", argv[4])


def _message(inst: Instruction, label: str, value: str) -> str:
    where = _WHERE.get(inst.effective.name, "the Dockerfile")
    if inst.name == "ONBUILD":
        where = "the Dockerfile and every image built FROM this one"
    return (
        f"{inst.effective.name} holds {label} ({redact(value)}), which stays in {where}; "
        "pass it with RUN --mount=type=secret"
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    runs: dict[int, list[Run]] = {}
    for run in all_runs(ctx):
        runs.setdefault(id(run.instruction), []).append(run)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.effective.name not in _WHERE:
                continue
            text = _text(inst)
            seen: list[str] = []
            for secret in find_secrets(text):
                value = text[secret.start : secret.end]
                seen.append(value)
                span = inst.locate(value.split("\n", 1)[0])
                yield Hit(inst, _message(inst, secret.label, value), stage, span)
            for run in runs.get(id(inst), []):
                for cmd in run.script.commands:
                    for found in (*_option_secrets(cmd), *_assigned_secrets(cmd)):
                        if any(found.value in v or v in found.value for v in seen):
                            continue
                        seen.append(found.value)
                        index = cmd.argv.index(found.value) if found.value in cmd.argv else 0
                        span = word_span(run, cmd, index) if found.value in cmd.argv else None
                        yield Hit(inst, _message(inst, found.label, found.value), stage,
                                  span or inst.locate(found.value))  # fmt: skip


register(
    Rule(
        code="KH206",
        name="hardcoded-secret",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A token, private key or password written into RUN, LABEL, CMD or a heredoc.",
        explanation=(
            "A secret written in the Dockerfile is in version control, and where the "
            "instruction leaves a trace it is in the image too: RUN commands in the image "
            "history (`docker history --no-trunc`), LABEL, CMD and ENTRYPOINT in its config, a "
            "COPY heredoc in a layer. Found by format (AWS, GitHub, GitLab, Slack, Stripe, "
            "Google, npm, PyPI, Docker Hub, OpenAI, Hugging Face tokens, PEM private keys, "
            "JWTs, `Authorization:` headers, `user:password@` in URLs, `_authToken=` lines) "
            "and by place (`curl -u user:password`, `--password=...`, `docker login -p`, "
            "`npm config set //registry/:_authToken ...`, `aws configure set "
            "aws_secret_access_key ...`). Values taken from variables are not flagged here. "
            "Give build steps their secrets with `RUN --mount=type=secret,id=...` (or "
            "`--mount=type=ssh` for git), and running containers theirs from the orchestrator. "
            "ENV and ARG values are the `secret-in-env` rule's. Messages show only a redacted "
            "form."
        ),
        bad=(
            "FROM alpine:3.20\nRUN git clone "
            "https://ci:glpat-AbCdEfGhIjKlMnOpQrSt@gitlab.example.com/team/app.git /src\n"
        ),
        good=(
            "FROM alpine:3.20\nRUN --mount=type=secret,id=gitlab_token git clone "
            '"https://ci:$(cat /run/secrets/gitlab_token)@gitlab.example.com/team/app.git" /src\n'
        ),
        check=check,
        related={"trivy": ("DS-0031",)},
    )
)
