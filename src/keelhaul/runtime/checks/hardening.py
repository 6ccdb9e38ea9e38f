"""KH409: a container's hardening checklist as one finding.

The rule itself checks nothing: :func:`keelhaul.runtime.checking.check_runs` gathers the
findings of the member rules (:data:`keelhaul.runtime.grouping.ITEMS`) for each container
into one KH409 finding when KH409 runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.grouping import GROUP_CODE, GROUP_NAME, ITEMS
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit


def _nothing(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    """The members report; the pipeline groups them."""
    return iter(())


_MEMBERS = ", ".join(f"{code} ({what})" for code, what in ITEMS.items())

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code=GROUP_CODE,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Applies the fixes of the member findings it lists, each with its own reason "
            "(KH400 drops capabilities, KH405 makes the root filesystem read-only, KH410 sets a "
            "non-root user...): each is unsafe, so the group is too."
        ),
        name=GROUP_NAME,
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The container lacks several hardening settings (one finding lists them)",
        explanation=(
            "The hardening checklist, one finding per container: when two or more of its "
            f"member rules fire on one container ({_MEMBERS}), they are reported as one KH409 "
            "finding at the container that lists what is missing; a container missing one item "
            "gets that rule's own finding. The severity is the most severe member's, and the "
            "members' severity follows the container's risk: where it may run as root with the "
            "default capabilities (KH410 or KH411 with KH400, KH402 or KH415) the security items are warnings; "
            "where it runs as non-root or drops its capabilities they are info, defence in depth "
            "there (the message says so; `--pss restricted` or a severity override of their "
            "codes makes them gate); resource limits keep their severity. On a "
            "Compose service every member is info unless the setting `compose-stack` says "
            "`production` (by default a file named for production, `compose.production.yaml` or "
            "`docker-compose.prod.yml`, is production, any other development): the checklist "
            "is advice on a stack "
            "run on a developer's machine, so it does not fail the default gate there, and the "
            'finding\'s message says so; `compose-stack = "production"` (in `.keelhaul.toml` '
            "`[settings]`) makes it gate. In JSON each KH409 finding carries its `members` (code, severity, line, "
            "message each), in SARIF `properties.members`. The member codes keep working: "
            "`# keelhaul: ignore=KH405` at the member's line silences that item, a severity "
            "override or an ignore of a member code applies to it, the baseline records the "
            "members, and `keelhaul fix --unsafe-fixes` fixes each reported member. Selecting "
            "member codes without KH409 (or ignoring KH409) reports them one by one; KH409 "
            "checks nothing itself, so `--select KH409` alone reports nothing. Risks "
            "stay out of the group, each its own finding: privileged (KH415), host namespaces "
            "(KH425), host paths and the Docker socket (KH426, KH427), dangerous capabilities "
            "(KH402), secrets (KH430, KH432), an explicit root user (KH411); they keep their "
            "severity on every stack."
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
""",
        good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: web
      image: example/web:1.2
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
      resources:
        limits:
          memory: 256Mi
          cpu: 500m
""",
        check=_nothing,
    )
)
