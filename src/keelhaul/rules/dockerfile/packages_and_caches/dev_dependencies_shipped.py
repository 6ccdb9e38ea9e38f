import os
import re
from collections.abc import Iterator, Mapping

from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.images import image_ref
from keelhaul.rules.dockerfile.shared.packages import NODE, analysis, operation_span, shown
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role
from keelhaul.rules.dockerfile.shared.security import final_chain, root_base
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

FIX = {
    "npm": "add --omit=dev",
    "yarn": "add --production",
    "pnpm": "add --prod",
}
_TRUE = ("1", "true", "yes")


def _production(op: PackageOperation, env: Mapping[str, str]) -> bool:
    """Whether the install leaves devDependencies out."""
    if env.get("NODE_ENV", "").lower() == "production":
        return True  # npm, yarn and pnpm all omit devDependencies then
    if op.has("--production", "--prod", "-P") and "false" not in op.values("--production"):
        return True
    if "dev" in op.values("--omit") or any(v.startswith("prod") for v in op.values("--only")):
        return True
    if op.manager == "npm":
        omit = env.get("npm_config_omit", env.get("NPM_CONFIG_OMIT", ""))
        production = env.get("npm_config_production", env.get("NPM_CONFIG_PRODUCTION", ""))
        return "dev" in omit or production.lower() in _TRUE
    if op.manager == "yarn":
        return env.get("YARN_PRODUCTION", "").lower() in _TRUE
    return False


def _pruned_after(run: Run, op: PackageOperation) -> bool:
    """A later command of the same RUN drops the devDependencies again."""
    for other in run.operations.packages:
        if other.command.start <= op.command.start or other.manager not in NODE:
            continue
        if other.subcommand == "prune" or (
            other.action in ("install", "ci") and _production(other, {})
        ):
            return True
    return any(
        cmd.name == "rm" and cmd.start > op.command.start
        and any(a.rstrip("/").endswith("node_modules") for a in cmd.argv[1:])
        for cmd in run.script.commands
    )  # fmt: skip


#: Programs that are devDependencies themselves: an image whose command runs one of them (a
#: test runner, a code generator, a dev server) needs the devDependencies it installed.
_DEV_TOOLS = frozenset(
    {
        "cypress", "jest", "mocha", "vitest", "playwright", "karma", "ava", "tap", "jasmine",
        "nyc", "c8", "nodemon", "ts-node", "tsx", "tsc", "webpack", "webpack-dev-server",
        "vite", "ng", "eslint", "prettier", "storybook", "start-storybook", "protoc",
        "grpc_tools_node_protoc", "buf", "pbjs", "pbts", "gulp", "grunt", "lerna", "nx",
        "wdio", "testcafe", "cucumber-js", "newman", "lighthouse",
    }
)  # fmt: skip
#: `npm test`, `npm run dev`, `yarn test`...: scripts that run dev tools.
_DEV_SCRIPTS = re.compile(
    r"\b(?:npm|yarn|pnpm)\s+(?:run\s+)?(?:test|e2e|dev|develop|watch|lint|storybook|cy:run"
    r"|cypress|serve)\b|\bnpm\s+t\b"
)
#: Images made to run tests or tools with what the Dockerfile installs.
_TOOL_BASES = re.compile(r"(?:^|/)(?:cypress|playwright|puppeteer)(?:/|$)|^cypress/")


def _runs_dev_tools(ctx: DockerfileContext) -> str | None:
    """Why the image needs its devDependencies (what it runs), or None."""
    role = stage_role(ctx)
    if role.role in (Role.EXPORT, Role.BUILD):
        return role.reason
    stages = final_chain(ctx)
    if stages:
        ref = image_ref(root_base(ctx, stages[-1]).base)
        if ref is not None and _TOOL_BASES.search(ref.path):
            return f"it is built on {ref.path}, a test-runner image"
    for stage in stages:
        for inst in stage.instructions:
            if inst.name not in ("CMD", "ENTRYPOINT"):
                continue
            words = list(inst.values) if inst.json else " ".join(inst.values).split()
            for word in words[:3]:
                if os.path.basename(word) in _DEV_TOOLS:
                    return f"its {inst.name} runs {os.path.basename(word)}"
            if _DEV_SCRIPTS.search(" ".join(words)):
                return f"its {inst.name} runs a development script"
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    if _runs_dev_tools(ctx) is not None:
        return
    found = analysis(ctx)
    for run in found.shipped_runs():
        for op in run.operations.packages:
            if op.manager not in NODE or op.action not in ("install", "ci"):
                continue
            if op.packages or op.global_install or op.subcommand in ("dedupe", "link", "add"):
                continue
            env = {**found.facts(run).env, **dict(op.command.env)}
            if _production(op, env) or _pruned_after(run, op):
                continue
            yield Hit(run.instruction, f"`{shown(op)}` in a stage that ships also installs the "
                      f"devDependencies; {FIX[op.manager]} (or set NODE_ENV=production), or "
                      "build in an earlier stage and copy only what runs", run.stage,
                      operation_span(run, op))  # fmt: skip


register(
    Rule(
        code="KH171",
        name="dev-dependencies-shipped",
        severity=Severity.INFO,
        category=Category.SIZE,
        summary="`npm ci`/`npm install` (yarn, pnpm) with devDependencies in the final image.",
        explanation=(
            "Test runners, bundlers, type checkers and linters are often most of "
            "node_modules (hundreds of MB) and more code to patch. In a stage that ships, "
            "install with `--omit=dev` (npm), `--production` (yarn 1) or `--prod` (pnpm), or "
            "with NODE_ENV=production. When the build needs them, build in an earlier stage "
            "and copy the output plus a production install into the final one; a prune in a "
            "later RUN does not help, the earlier layer keeps them. Only stages that end up "
            "in the image are checked, and not images that run what the devDependencies "
            "bring: a test runner (a `cypress/*` or Playwright base, a CMD running cypress, "
            "jest, `npm test`...), a code generator or tool image (`protoc`, `tsc`), a dev "
            "server (`npm run dev`, nodemon, vite), nor export stages. Information only, since "
            "keelhaul cannot see whether package.json has devDependencies."
        ),
        bad=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci && npm cache clean --force\n"
        ),
        good=(
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci --omit=dev && npm cache clean --force\n"
        ),
        check=check,
    )
)
