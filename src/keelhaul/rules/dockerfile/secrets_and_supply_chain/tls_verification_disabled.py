from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.secrets_and_supply_chain._bypass import TLS, bypasses
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: The Checkov checks of this family (see _bypass.py for which catches what).
#: CKV2_DOCKER_18 (GOINSECURE) is caught too but is missing from keelhaul's parity table.
CHECKOV = tuple(f"CKV2_DOCKER_{n}" for n in (2, 3, 4, 5, 6, 12, 13, 14, 15, 16))


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for found in bypasses(ctx):
        if found.family == TLS:
            yield Hit(found.instruction, f"{found.what} turns off TLS certificate checks: anyone "
                      "on the network path can serve their own files; trust the right CA "
                      "instead (copy it in and run update-ca-certificates)", found.stage,
                      found.span)  # fmt: skip


register(
    Rule(
        code="KH211",
        name="tls-verification-disabled",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A download or package manager told not to verify TLS certificates.",
        explanation=(
            "Without certificate checks, HTTPS is no better than HTTP: a proxy, a hostile "
            "Wi-Fi or a poisoned DNS answer can hand the build any package or script, and it "
            "runs as root in the image. Caught: `curl -k`/`--insecure`, `wget "
            "--no-check-certificate`, `pip --trusted-host` and `PIP_TRUSTED_HOST`, "
            "`PYTHONHTTPSVERIFY=0`, `NODE_TLS_REJECT_UNAUTHORIZED=0`, npm/yarn `strict-ssl "
            "false` (command, `NPM_CONFIG_STRICT_SSL`, `.npmrc` text), `GIT_SSL_NO_VERIFY` (git "
            "turns checks off whatever its value) and `git config http.sslVerify false`, "
            "yum/dnf `sslverify=0`, `GOINSECURE`, `GOFLAGS=-insecure`, `uv "
            "--allow-insecure-host`, conda `ssl_verify false`, composer `secure-http false`, "
            "apt `Acquire::https::Verify-Peer false`, `--insecure-skip-tls-verify` and "
            "`--tls-verify=false` — in ENV, ARG defaults, RUN commands and the configuration "
            "files RUN writes, in every stage the build runs. Checkov ids: CKV2_DOCKER_2 (curl), "
            "_3 (wget), _4 (pip), _5 (PYTHONHTTPSVERIFY), _6 (NODE_TLS_REJECT_UNAUTHORIZED), "
            "_12 (NPM_CONFIG_STRICT_SSL), _13 (npm/yarn strict-ssl), _14 (GIT_SSL_NO_VERIFY), "
            "_15 (yum/dnf sslverify), _16 (PIP_TRUSTED_HOST), _18 (GOINSECURE). Behind a "
            "TLS-intercepting proxy, add its CA to the image's trust store instead."
        ),
        bad="FROM python:3.12-slim\nRUN pip install --trusted-host pypi.org flask\n",
        good="FROM python:3.12-slim\nRUN pip install flask\n",
        check=check,
        related={"checkov": CHECKOV},
    )
)
