from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import final_chain, locate_key
from keelhaul.rules.dockerfile.shared.structure import expand, variable_names
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register
from keelhaul.secrets import assignment_secret, is_secret_name, redact


def _assignments(inst: Instruction) -> list[tuple[str, str | None]]:
    """(name, value as written or None) of an ENV or ARG, ONBUILD ones too."""
    eff = inst.effective
    if eff.name == "ENV":
        return list(inst.pairs())
    if eff.name == "ARG":
        return [(k, v if sep else None) for k, sep, v in (w.partition("=") for w in eff.values)]
    return []


def _literal(raw: str, escape: str) -> str | None:
    """The value with its quotes removed, or None when it refers to variables."""
    done = expand(raw, {}, escape)
    if done is None or done[1] or "$" in raw:
        return None
    return done[0]


def _where(inst: Instruction, stage: Stage, shipped: bool) -> str:
    if inst.name == "ONBUILD":
        return "the image config of every image built FROM this one"
    if inst.effective.name == "ARG":
        return "the Dockerfile and the history of the image" if shipped else "the Dockerfile"
    if shipped:
        return "the image config (docker inspect shows it)"
    return f"the Dockerfile and the build cache of stage {stage.label}"


def _runs_after(stage: Stage, inst: Instruction) -> bool:
    later = stage.instructions[stage.instructions.index(inst) + 1 :]
    return any(i.name == "RUN" for i in later)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    shipped = {s.index for s in final_chain(ctx)}
    escape = ctx.tree.escape
    for stage in ctx.build.stages:
        args: set[str] = set()
        for inst in stage.instructions:
            kind = inst.effective.name
            for name, raw in _assignments(inst):
                if kind == "ARG" and inst.name == "ARG":
                    args.add(name)
                if raw is None:
                    # ARG NPM_TOKEN: the value given with --build-arg is written into the
                    # history of every RUN after it (``|1 NPM_TOKEN=... /bin/sh -c ...``).
                    if stage.index in shipped and is_secret_name(name) and _runs_after(stage, inst):
                        yield Hit(inst, f"ARG {name}: a value given with --build-arg is recorded "
                                  "in the image history by every later RUN; use RUN "
                                  f"--mount=type=secret,id={name.lower()} instead", stage,
                                  locate_key(inst, name))  # fmt: skip
                    continue
                value = _literal(raw, escape)
                if value is None:
                    copied = variable_names(raw) & args
                    if kind == "ENV" and stage.index in shipped and copied and is_secret_name(name):
                        arg = sorted(copied)[0]
                        yield Hit(inst, f"ENV {name}={raw} copies the build argument {arg} into "
                                  "the image config (docker inspect shows it); read it from a "
                                  "secret mount in the RUN that needs it", stage,
                                  locate_key(inst, name))  # fmt: skip
                    continue
                label = assignment_secret(name, value)
                if label is not None:
                    yield Hit(inst, f"{kind} {name}={redact(value)} puts {label} into "
                              f"{_where(inst, stage, stage.index in shipped)}; pass it with RUN "
                              "--mount=type=secret, and give it to the container at run time",
                              stage, locate_key(inst, name))  # fmt: skip


register(
    Rule(
        code="KH110",
        name="secret-in-env",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A secret in ENV or ARG: a secret-looking name with a value, or a token format.",
        explanation=(
            "ENV values are stored in the image config and ARG values in its history (every "
            "RUN after an ARG records it: `|1 NPM_TOKEN=... /bin/sh -c ...`): anyone who can "
            "pull the image can read them, and a literal value is also in the Dockerfile, in "
            "version control. Flagged: a value in a known token format whatever the name (AWS "
            "`AKIA...`, GitHub `ghp_`/`github_pat_`, GitLab `glpat-`, Slack `xox?-`, Stripe "
            "`sk_live_`, Google `AIza`, npm `npm_`, private keys, JWTs, passwords in URLs); a "
            "name saying password, token, secret, API key or credentials with a real value; "
            "an `ARG` of such a name without a value when a RUN follows it in a shipped stage; "
            "and `ENV TOKEN=$TOKEN`, which copies a build argument into the image config. Not "
            "flagged: empty values, `$VAR` references, paths (`*_FILE=/run/secrets/x`), "
            "switches, placeholders, and names that only hold a key's place or a public key "
            "(`GPG_KEY` fingerprints of the official images, `*_KEY_ID`, `PUBLIC_KEY`, "
            "`*_KEY_FILE`). Inject build secrets with `RUN --mount=type=secret` and run-time "
            "secrets from the orchestrator. Messages show only a redacted form of the value."
        ),
        bad="FROM debian:12\nENV API_TOKEN=sk_live_abcdef123456\n",
        good="FROM debian:12\nENV API_TOKEN_FILE=/run/secrets/api_token\n",
        check=check,
        related={
            "hadolint": ("DL3064",),
            "buildkit": ("SecretsUsedInArgOrEnv",),
            "trivy": ("DS-0031",),
        },
    )
)
