from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.expose import PROTOCOLS, exposed, range_problem
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage, inst, spec in exposed(ctx):
        where = inst.locate(spec.written)
        problem = range_problem(spec.port)
        if spec.protocol and spec.protocol.lower() not in PROTOCOLS:
            problem = f"{spec.protocol} is not a protocol (tcp, udp or sctp)"
        if problem is not None:
            yield Hit(inst, f"EXPOSE {spec.value}: {problem}; docker build stops here",
                      stage, where)  # fmt: skip
        elif spec.ip or spec.host_port:
            yield Hit(inst, f"EXPOSE {spec.value} names a host address or port, which an "
                      "image cannot choose; expose the container port only "
                      f"({spec.port}{'/' + spec.protocol if spec.protocol else ''}) and publish "
                      "it with `docker run -p`", stage, where)  # fmt: skip


register(
    Rule(
        code="KH131",
        name="expose-invalid-port",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="EXPOSE of a port that is not a number from 0 to 65535, or with a host mapping.",
        explanation=(
            "EXPOSE takes container ports: `8080`, `8080/udp` or a range such as `8000-8010`. "
            "A port above 65535, a reversed range, a word that is not a number or an unknown "
            "protocol stops `docker build`. An IP address or host port (`127.0.0.1:80:80`, "
            "`5000:5000`) is ignored today and BuildKit warns it will become an error: which "
            "host port to use is decided when the container runs (`docker run -p`, Compose "
            "`ports:`), never by the image. Words with variables the linter cannot resolve are "
            "not judged."
        ),
        bad="FROM nginx:1.27\nEXPOSE 80800\n",
        good="FROM nginx:1.27\nEXPOSE 8080\n",
        check=check,
        related={
            "hadolint": ("DL3011",),
            "buildkit": ("ExposeInvalidFormat",),
            "trivy": ("DS-0008",),
        },
    )
)
