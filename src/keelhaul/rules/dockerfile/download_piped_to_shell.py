from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

INTERPRETERS = (
    "sh",
    "bash",
    "dash",
    "ash",
    "zsh",
    "ksh",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        for dl in run.operations.downloads:
            target = dl.piped_into or ""
            if target in INTERPRETERS or target.startswith("python"):
                url = dl.urls[0] if dl.urls else "a download"
                yield Hit(run.instruction, f"{dl.tool} output from {url} runs in {target} "
                          "unverified; download, check a checksum or signature, then run",
                          run.stage, run.instruction.locate(dl.tool))  # fmt: skip


register(
    Rule(
        code="KH108",
        name="download-piped-to-shell",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="`curl ... | sh` and kin: running what a server sends, unverified.",
        explanation=(
            "Whatever the server (or anyone between it and the builder) sends is executed as "
            "root during the build, and a partial download can run half a script. Download to a "
            "file, verify a pinned checksum or signature, then run it."
        ),
        bad="FROM debian:12\nRUN curl -fsSL https://example.com/install.sh | sh\n",
        good=(
            "FROM debian:12\nRUN curl -fsSLo /tmp/install.sh https://example.com/install.sh "
            "&& echo 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  "
            "/tmp/install.sh' | sha256sum -c - && sh /tmp/install.sh\n"
        ),
        check=check,
        related={},
    )
)
