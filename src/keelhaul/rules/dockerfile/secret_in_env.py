import re
from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:PASS(?:WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH)(?:_|$)"
)
NOT_SECRET_VALUE = re.compile(r"^(?:\$\{?\w+\}?|/.*|.*_FILE|true|false|yes|no|none|)$", re.I)


def redact(value: str) -> str:
    return value[:2] + "…" if len(value) > 6 else "…"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.name == "ENV":
                pairs = inst.pairs()
            elif inst.name == "ARG":
                pairs = tuple((k, v) for k, _, v in (w.partition("=") for w in inst.values))
            else:
                continue
            for key, raw in pairs:
                value = raw.strip("'\"")
                if SECRET_NAME.search(key) and not NOT_SECRET_VALUE.match(value):
                    yield Hit(inst, f"{inst.name} {key}={redact(value)} bakes a secret into the "
                              "image config and history; pass it with RUN --mount=type=secret",
                              stage, inst.locate(key))  # fmt: skip


register(
    Rule(
        code="KH110",
        name="secret-in-env",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A secret-looking value in ENV or ARG.",
        explanation=(
            "ENV values are stored in the image config and ARG values in its history: anyone "
            "who can pull the image can read them. Inject secrets at build time with "
            "`RUN --mount=type=secret` and at run time from the orchestrator. Messages show "
            "only a redacted form of the value."
        ),
        bad="FROM debian:12\nENV API_TOKEN=sk_live_abcdef123456\n",
        good="FROM debian:12\nENV API_TOKEN_FILE=/run/secrets/api_token\n",
        check=check,
        related={"buildkit": ("SecretsUsedInArgOrEnv",)},
    )
)
