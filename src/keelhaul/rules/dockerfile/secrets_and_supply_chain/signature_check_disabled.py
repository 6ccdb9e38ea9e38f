from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.secrets_and_supply_chain._bypass import SIGNATURE, bypasses
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: The Checkov checks of this family (see _bypass.py for which catches what).
CHECKOV = ("CKV2_DOCKER_7", "CKV2_DOCKER_8", "CKV2_DOCKER_9", "CKV2_DOCKER_10", "CKV2_DOCKER_11")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for found in bypasses(ctx):
        if found.family == SIGNATURE:
            yield Hit(found.instruction, f"{found.what} installs packages without checking "
                      "their signatures: a tampered mirror or repository goes unnoticed; import "
                      "the repository's signing key instead", found.stage,
                      found.span)  # fmt: skip


register(
    Rule(
        code="KH212",
        name="signature-check-disabled",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A package manager told not to verify package signatures.",
        explanation=(
            "Package signatures are what ties a package to its publisher: mirrors, proxies "
            "and caches in between cannot change it unnoticed. Switching the check off accepts "
            "whatever arrives, and it is installed as root. Caught: `apk --allow-untrusted`, "
            "`apt-get --allow-unauthenticated`, `--force-yes` and "
            "`--allow-insecure-repositories`, apt's `AllowUnauthenticated` and "
            "`AllowInsecureRepositories` options, `[trusted=yes]` in a sources line, yum/dnf "
            "`--nogpgcheck` and `gpgcheck=0`, `rpm -i --nosignature`/`--nodigest`/`--noverify`, "
            "`zypper --no-gpg-checks`, `GOSUMDB=off`, pacman `SigLevel = Never` — as options, "
            "ENV/ARG values and configuration files written by RUN or COPY heredocs, in every "
            "stage the build runs. Packages that are local files (built or checked earlier in the "
            "build) and `[trusted=yes]` on a local `file:` repository are not flagged. Checkov ids: CKV2_DOCKER_7 (apk), _8 (apt-get "
            "--allow-unauthenticated/--force-yes), _9 (yum/dnf --nogpgcheck), _10 (rpm), _11 "
            "(apt-get --force-yes). Import the repository's key (`rpm --import`, a keyring in "
            "/etc/apt/keyrings with `signed-by=`) instead."
        ),
        bad=(
            "FROM alpine:3.20\nRUN apk add --no-cache --allow-untrusted "
            "--repository https://packages.example.com/alpine example-tool\n"
        ),
        good=(
            "FROM alpine:3.20\nCOPY example.rsa.pub /etc/apk/keys/\n"
            "RUN apk add --no-cache --repository https://packages.example.com/alpine example-tool\n"
        ),
        check=check,
        related={"checkov": CHECKOV},
    )
)
