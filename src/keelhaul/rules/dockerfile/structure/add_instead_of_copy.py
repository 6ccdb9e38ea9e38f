import re
from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    is_remote,
    resolve_word,
    scopes,
    stage_of,
    transfer,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Names ADD may unpack (it detects tar by content; compressed files may hold a tar).
ARCHIVE = re.compile(
    r"\.(?:tar|tgz|tbz2?|tb2|txz|tzst|tlz|taz|tz|tpz|gz|bz2|xz|zst|lz|lzma|lz4|z)$", re.I
)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        move = transfer(inst)
        if move is None or inst.effective.name != "ADD":
            continue
        eff = inst.effective
        if eff.flag("checksum") is not None or eff.flag("keep-git-dir") is not None:
            continue  # remote sources: the supply-chain rules judge those
        scope = known.at(inst) if inst.name != "ONBUILD" else None
        sources = [resolve_word(s, scope, ctx.tree.escape) if scope else s for s in move.sources]
        # Unknown (variable) sources, URLs, git refs and archives are what ADD is for.
        if any(s is None or "$" in s or is_remote(s) or ARCHIVE.search(s) for s in sources):
            continue
        shown = " ".join(move.sources) or "a heredoc"
        yield Hit(inst, f"ADD of {shown} only copies: use COPY, which does nothing else",
                  stages.get(id(inst)), inst.locate(eff.keyword))  # fmt: skip


register(
    Rule(
        code="KH155",
        name="add-instead-of-copy",
        severity=Severity.WARNING,
        category=Category.MAINTAINABILITY,
        summary="ADD of local files or directories that COPY would copy the same way.",
        explanation=(
            "ADD also unpacks local tar archives and fetches URLs and git repositories. For "
            "plain files that magic is a trap: a file that happens to be a tar (or is renamed "
            "to one) gets unpacked, and readers must wonder which behaviour was meant. COPY "
            "says exactly what happens. Not flagged: archives (ADD unpacks them, the reason to "
            "use it), URLs and git sources (the supply-chain rules check those), and sources "
            "that depend on an unknown variable. `.zip` files are flagged: ADD does not unpack "
            "them."
        ),
        bad="FROM nginx:1.27\nADD site/ /usr/share/nginx/html/\n",
        good="FROM nginx:1.27\nCOPY site/ /usr/share/nginx/html/\n",
        check=check,
        related={"hadolint": ("DL3020",), "trivy": ("DS-0005",), "checkov": ("CKV_DOCKER_4",)},
    )
)
