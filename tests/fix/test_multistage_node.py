"""KH125's unsafe fix for a front-end bundle: node build stage, then nginx-unprivileged."""

from __future__ import annotations

import pytest

from keelhaul.dockerfile.edits import apply_edits
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import ConfigError
from keelhaul.findings import Safety
from keelhaul.rules.dockerfile.multistage._node import STATIC_SERVER
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.registry import DockerfileContext, Hit
from tests.corpus import corpus_bytes, corpus_files
from tests.fix.test_fixing import fix

KH125 = next(r for r in dockerfile_rules() if r.code == "KH125")
NGINX = f"FROM {STATIC_SERVER}\n"
HEAD = "FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
BUILD = "FROM node:20 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"


def hits(src: str, settings: dict[str, object] | None = None) -> list[Hit]:
    return list(KH125.check(DockerfileContext.of(parse(src), settings=settings)))


def fixed(src: str, settings: dict[str, object] | None = None) -> str | None:
    found = hits(src, settings)
    assert len(found) == 1, "KH125 must flag the case"
    f = found[0].fix
    return None if f is None else apply_edits(src, f.edits)


def buildkit_parses(text: str) -> None:
    """BuildKit's own parser (the `dockerfile` package) reads the result, when installed."""
    try:
        import dockerfile as buildkit
    except ImportError:
        pytest.skip("the `dockerfile` package (BuildKit's parser) is not installed")
    commands = buildkit.parse_string(text)
    assert [c.cmd for c in commands].count("FROM") == 2


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "FROM node:20\nLABEL org.opencontainers.image.title=web\nWORKDIR /app\n"
            "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
            'RUN npm install -g serve\nUSER node\nEXPOSE 3000\nCMD ["serve", "-s", "build"]\n',
            "FROM node:20 AS build\nWORKDIR /app\n"
            "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
            f"RUN npm install -g serve\n{NGINX}LABEL org.opencontainers.image.title=web\n"
            "COPY --from=build /app/build /usr/share/nginx/html\nEXPOSE 8080\n",
            id="npm-serve-spa-label-user",
        ),
        pytest.param(
            "FROM node:18-alpine\nWORKDIR /usr/src/app\nCOPY package.json yarn.lock ./\n"
            "RUN yarn install --frozen-lockfile\nCOPY . .\nRUN yarn build\nEXPOSE 8080\n"
            "CMD npx http-server ./dist -p 8080\n",
            "FROM node:18-alpine AS build\nWORKDIR /usr/src/app\nCOPY package.json yarn.lock ./\n"
            "RUN yarn install --frozen-lockfile\nCOPY . .\nRUN yarn build\n"
            f"{NGINX}COPY --from=build /usr/src/app/dist /usr/share/nginx/html\nEXPOSE 8080\n",
            id="yarn-http-server-shell-form",
        ),
        pytest.param(
            "FROM node:20-slim\nRUN npm i -g pnpm\nWORKDIR /srv\nCOPY . .\n"
            "RUN pnpm install && pnpm run build\n"
            'ENTRYPOINT ["npx", "--yes", "serve@14", "dist", "-l", "tcp://0.0.0.0:5000"]\n',
            "FROM node:20-slim AS build\nRUN npm i -g pnpm\nWORKDIR /srv\nCOPY . .\n"
            "RUN pnpm install && pnpm run build\n"
            f"{NGINX}COPY --from=build /srv/dist /usr/share/nginx/html\nEXPOSE 8080\n",
            id="pnpm-npx-serve-entrypoint-listen",
        ),
        pytest.param(
            "FROM node:20\nWORKDIR /work\nCOPY . .\nRUN npm install\nWORKDIR web\n"
            "RUN npx vite build --outDir ../public\n"
            'ENTRYPOINT ["http-server"]\nCMD ["../public", "-c-1", "--gzip"]\n',
            "FROM node:20 AS build\nWORKDIR /work\nCOPY . .\nRUN npm install\nWORKDIR web\n"
            "RUN npx vite build --outDir ../public\n"
            f"{NGINX}COPY --from=build /work/public /usr/share/nginx/html\nEXPOSE 8080\n",
            id="relative-workdir-entrypoint-plus-cmd",
        ),
        pytest.param(
            "FROM node:20@sha256:" + "b" * 64 + "\r\nWORKDIR /app\r\nCOPY . .\r\n"
            "RUN npm ci && \\\r\n    npm run build\r\nEXPOSE 3000\r\n"
            "CMD serve -s build\r\n",
            "FROM node:20@sha256:" + "b" * 64 + " AS build\r\nWORKDIR /app\r\nCOPY . .\r\n"
            "RUN npm ci && \\\r\n    npm run build\r\n"
            f"FROM {STATIC_SERVER}\r\nCOPY --from=build /app/build /usr/share/nginx/html\r\n"
            "EXPOSE 8080\r\n",
            id="crlf-digest-continuation",
        ),
        pytest.param(
            HEAD + "ENV NODE_ENV=production\nRUN npx ng build\n# serve it\n"
            "ENV PORT=4200\nHEALTHCHECK NONE\nCMD ./node_modules/.bin/serve dist/app -n\n",
            BUILD + "ENV NODE_ENV=production\nRUN npx ng build\n"
            f"{NGINX}COPY --from=build /app/dist/app /usr/share/nginx/html\nEXPOSE 8080\n"
            "# serve it\nENV PORT=4200\nHEALTHCHECK NONE\n",
            id="ng-comment-env-healthcheck-none",
        ),
        pytest.param(
            "FROM node:20\nCOPY . .\nRUN yarn && yarn build\nLABEL stage=web\n"
            "ENV PATH=/usr/local/bin:$PATH\nCMD serve -s build",
            "FROM node:20 AS build\nCOPY . .\nRUN yarn && yarn build\n"
            f"{NGINX}COPY --from=build /build /usr/share/nginx/html\nEXPOSE 8080\n"
            "LABEL stage=web\nENV PATH=/usr/local/bin:$PATH\n",
            id="no-workdir-no-final-newline-label-after",
        ),
    ],
)
def test_fix(before: str, after: str) -> None:
    assert fixed(before) == after
    found = hits(before)[0].fix
    assert found is not None
    assert found.safety is Safety.UNSAFE
    assert "8080" in found.why_unsafe
    # the result parses (ours and BuildKit's), has one more stage, and KH125 is quiet on it
    tree = parse(after)
    assert not tree.errors
    assert len(resolve(tree).stages) == 2
    assert hits(after) == []
    buildkit_parses(after)


@pytest.mark.parametrize(
    ("cmd", "port", "spa"),
    [
        ('CMD ["serve", "-s", "build"]', "from 3000 to 8080", True),
        ('CMD ["serve", "build", "-p", "5000"]', "from 5000 to 8080", False),
        ('CMD ["http-server", "build"]', "stays 8080", False),
    ],
)
def test_why_unsafe_names_the_port_and_the_spa_fallback(cmd: str, port: str, spa: bool) -> None:
    found = hits(HEAD + f"RUN npm run build\n{cmd}\n")[0].fix
    assert found is not None
    assert port in found.why_unsafe
    assert ("try_files" in found.why_unsafe) is spa


def test_server_image_setting() -> None:
    src = HEAD + 'RUN npm run build\nCMD ["serve", "build"]\n'
    out = fixed(src, {"static-server-base": "registry.example.com/nginx-unpriv:1.26"})
    assert out is not None
    assert "\nFROM registry.example.com/nginx-unpriv:1.26\n" in out
    # a value that is not an image reference is a located error (keelhaul.settings)
    with pytest.raises(ConfigError, match=r"settings\.static-server-base: expected an image"):
        fixed(src, {"static-server-base": "nginx; rm -rf /"})


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(HEAD + 'RUN npm run build\nCMD ["npm", "start"]\n', id="npm-start"),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["node", "server.js"]\n', id="node-server"),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["npx", "vite", "preview"]\n', id="preview"),
        pytest.param(
            HEAD + 'RUN npm run build && npm run build:ssr\nCMD ["serve", "-s", "build"]\n',
            id="two-builds",
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nRUN npx tsc -p server\nCMD ["serve", "-s", "build"]\n',
            id="two-build-runs",
        ),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["serve", "-s", "$OUT"]\n', id="variable"),
        pytest.param(HEAD + "RUN npm run build\nCMD serve -s ${OUT}\n", id="shell-variable"),
        pytest.param(
            HEAD + "RUN npm run build\nCMD serve -s build && echo done\n", id="shell-operators"
        ),
        pytest.param(
            HEAD + "RUN npm run build\nHEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\n"
            'CMD ["serve", "-s", "build"]\n',
            id="healthcheck-curl",
        ),
        pytest.param(
            "FROM node:20 AS web\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n"
            'CMD ["serve", "-s", "build"]\n',
            id="named-stage",
        ),
        pytest.param(
            "FROM node:20 AS build\nRUN echo\nFROM node:20\nWORKDIR /app\nCOPY . .\n"
            'RUN npm ci\nRUN npm run build\nCMD ["serve", "-s", "build"]\n',
            id="build-name-taken",
        ),
        pytest.param(
            "FROM \\\n  node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n"
            'CMD ["serve", "-s", "build"]\n',
            id="multi-line-from",
        ),
        pytest.param(
            "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n"
            'CMD ["serve", "-s", "build"]\n',
            id="not-node",
        ),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["serve", "-s"]\n', id="no-folder"),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["serve", "-s", "."]\n', id="project-root"),
        pytest.param(HEAD + 'RUN npm run build\nCMD ["serve", "/"]\n', id="root"),
        pytest.param(
            HEAD + 'RUN npm run build\nCMD ["serve", "-c", "serve.json", "build"]\n', id="config"
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nCMD ["http-server", "-s", "dist"]\n', id="minimist-flag"
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nCMD ["http-server", "dist", "-P", "http://api"]\n',
            id="proxy",
        ),
        pytest.param(
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm run build\n"
            'CMD ["serve", "-s", "build"]\n',
            id="no-dependency-install",
        ),
        pytest.param(
            HEAD
            + 'RUN npm run build\nCOPY nginx.conf /etc/\nSTOPSIGNAL SIGINT\nCMD ["serve", "build"]\n',
            id="stopsignal",
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nVOLUME /data\nCMD ["serve", "build"]\n', id="volume"
        ),
        pytest.param(HEAD + "RUN npm run build\n", id="no-cmd"),
        pytest.param(
            "FROM node:20\nARG VERSION\nLABEL version=$VERSION\nWORKDIR /app\nCOPY . .\n"
            'RUN npm ci\nRUN npm run build\nCMD ["serve", "build"]\n',
            id="label-variable",
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nENV PATH /app/bin\nCMD ["serve", "build"]\n',
            id="env-path-replaced",
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nCMD ["serve", "build", "-l", "3000", "-l", "3001"]\n',
            id="two-listens",
        ),
        pytest.param(
            "FROM node:20\nWORKDIR /app/web\nCOPY . .\nRUN npm ci\nRUN npm run build\n"
            'WORKDIR /app\nCMD ["serve", "-s", "."]\n',
            id="folder-holds-project",
        ),
        pytest.param(
            HEAD + 'RUN npm run build\nENTRYPOINT serve\nCMD ["build"]\n',
            id="shell-entrypoint-ignores-cmd",
        ),
    ],
)
def test_no_fix(src: str) -> None:
    found = hits(src)
    assert len(found) == 1
    assert found[0].fix is None


def test_onbuild_image_is_not_flagged_nor_converted() -> None:
    """An image with ONBUILD triggers is a base for others: KH125 stays quiet, no fix."""
    src = HEAD + 'RUN npm run build\nONBUILD COPY . .\nCMD ["serve", "-s", "build"]\n'
    assert hits(src) == []
    assert fix(src, ("KH125",), unsafe=True) == src


SRC = (
    "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm install\n"
    'COPY . .\nRUN npm run build\nEXPOSE 3000\nCMD ["npx", "serve", "-s", "build"]\n'
)


def test_composes_with_other_fixes_and_is_idempotent() -> None:
    once = fix(SRC, ("KH125",), unsafe=True)
    assert once.startswith("FROM node:20 AS build\n")
    assert fix(once, ("KH125",), unsafe=True) == once
    # with every rule: still parses (BuildKit too), and the final stage is the nginx one
    everything = fix(SRC, None, unsafe=True)
    tree = parse(everything)
    assert not tree.errors
    final = resolve(tree).stages[-1]
    assert final.base == STATIC_SERVER
    assert "COPY --from=build /app/build /usr/share/nginx/html\n" in everything
    assert fix(everything, None, unsafe=True) == everything
    buildkit_parses(everything)


def test_safe_mode_leaves_it() -> None:
    assert fix(SRC, ("KH125",), unsafe=False) == SRC


@pytest.mark.corpus
def test_corpus_conversions_parse() -> None:
    """Every corpus Dockerfile this fix converts re-parses with BuildKit's parser."""
    files = corpus_files("dockerfiles")
    if not files:
        pytest.skip("no corpus")
    for path in files:
        text = corpus_bytes(path).decode("utf-8", "surrogateescape")
        tree = parse(text)
        for hit in KH125.check(DockerfileContext.of(tree)):
            if hit.fix is None or STATIC_SERVER not in hit.fix.description:
                continue
            after = apply_edits(text, hit.fix.edits)
            assert not parse(after).errors, path
            buildkit_parses(after)
