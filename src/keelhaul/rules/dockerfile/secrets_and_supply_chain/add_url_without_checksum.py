import re
from collections.abc import Iterator

from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import all_runs, needed
from keelhaul.rules.dockerfile.shared.structure import locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

_HTTP = re.compile(r"^https?://", re.IGNORECASE)
_GIT = re.compile(r"^(?:git@[^:]+:|git://|ssh://|[a-z+]*://[^#?]*\.git(?:[#?/]|$))", re.IGNORECASE)
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: Commands that check a file's checksum or signature.
_VERIFY = re.compile(
    r"\b(?:sha(?:1|224|256|384|512)sum|shasum|md5sum|b2sum|gpgv|cosign|minisign|signify)\b"
    r"|\bgpg\b.*--verify|\bopenssl\s+dgst"
)


def _git_pinned(url: str, inst: Instruction) -> bool:
    """``...git#<commit>`` or ``?ref=<commit>``/``?checksum=`` (or ``--checksum``)."""
    if inst.flag("checksum"):
        return True
    fragment = url.partition("#")[2].partition(":")[0]
    query = dict(p.partition("=")[::2] for p in url.partition("?")[2].split("&") if p)
    ref = fragment or query.get("ref", "") or query.get("commit", "")
    return bool(_COMMIT.fullmatch(ref)) or "checksum" in query


def _verified_later(ctx: DockerfileContext, inst: Instruction, stage_index: int) -> bool:
    """A later RUN of the same stage checks a checksum or signature (the file is verified)."""
    after = False
    for run in all_runs(ctx):
        if run.stage.index != stage_index:
            continue
        if run.instruction is inst:
            continue
        if run.instruction.start_line > inst.start_line:
            after = True
        if after and any(_VERIFY.search(" ".join(c.argv)) for c in run.script.commands):
            return True
    return False


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    wanted = needed(ctx)
    for stage in ctx.build.stages:
        if stage.index not in wanted:
            continue
        for inst in stage.instructions:
            if inst.effective.name != "ADD" or len(inst.effective.values) < 2:
                continue
            for source in inst.effective.values[:-1]:
                if _GIT.match(source):
                    if not _git_pinned(source, inst):
                        yield Hit(inst, f"ADD {source} follows a branch or tag, which can move "
                                  "to other code at any time; pin the commit (#<sha>) or use "
                                  "--checksum", stage,
                                  locate_source(inst, source))  # fmt: skip
                elif _HTTP.match(source) and not inst.effective.flag("checksum"):
                    if _verified_later(ctx, inst, stage.index):
                        continue
                    how = " over plain HTTP" if source.lower().startswith("http:") else ""
                    yield Hit(inst, f"ADD {source} takes whatever the server sends{how}; add "
                              "--checksum=sha256:<digest> so that a changed or tampered file "
                              "fails the build", stage, locate_source(inst, source))  # fmt: skip


register(
    Rule(
        code="KH210",
        name="add-url-without-checksum",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="`ADD https://...` without `--checksum`, or ADD of a git URL not pinned to a commit.",
        explanation=(
            "ADD downloads its URL on every build that misses the cache and trusts the "
            "answer: a compromised server, a replaced release asset or a moved tag puts "
            "different code into the image without any error. `ADD "
            "--checksum=sha256:<digest> <url>` (Dockerfile syntax 1.6 and later) makes BuildKit "
            "refuse anything else; for a git source, name the commit (`ADD "
            "https://github.com/org/repo.git#<sha>`) or give `--checksum`. Quiet when a later "
            "RUN of the same stage checks a checksum or signature (sha256sum, gpg --verify, "
            "cosign...). Every stage the build runs is checked."
        ),
        bad="FROM alpine:3.20\nADD https://example.com/tool-1.2.3.tar.gz /tmp/\n",
        good=(
            "FROM alpine:3.20\nADD --checksum=sha256:"
            "24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2015d0d7b7d3d0cf "
            "https://example.com/tool-1.2.3.tar.gz /tmp/\n"
        ),
        check=check,
    )
)
