from collections.abc import Iterator

from keelhaul.context.build_context import BuildContext
from keelhaul.context.dockerignore import relative
from keelhaul.context.notable import kind_by_name
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, parse_heredoc_word
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import final_chain, needed
from keelhaul.rules.dockerfile.shared.structure import is_remote, locate_source
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register
from keelhaul.secrets import SecretFile, SecretFileKind, secret_file, secret_folder


def _sources(inst: Instruction) -> list[str]:
    """The local sources of a COPY/ADD from the context (no URL, heredoc or --from)."""
    if inst.flag("from") is not None:
        return []
    out: list[str] = []
    for word in inst.values[:-1]:
        if inst.heredocs and word.startswith("<<") and parse_heredoc_word(word) is not None:
            continue
        if is_remote(word) or "$" in word:
            continue
        out.append(word)
    return out


def _judged(source: str, context: BuildContext | None) -> str | None:
    """What a copied source holds (``an SSH private key``), or None when it is no secret."""
    found: SecretFile | None = secret_file(source)
    folder = secret_folder(source)
    entry = context.entry(relative(source)) if context is not None else None
    if entry is not None:
        if not entry.sent:
            return None  # the ignore file keeps it out: COPY fails (copy-ignored-file says so)
        if entry.is_dir:
            return folder
        if found is None:
            return None
        if kind_by_name(entry.name, False) is not None:
            # the context reader judged this name, reading the file when the name leaves
            # doubt (a .pem certificate, an .npmrc without a token)
            return found.label if entry.kind is not None else None
    if folder is not None:
        return folder
    if found is None:
        return None
    if found.likely or found.kind is SecretFileKind.CREDENTIALS:
        return found.label
    return None  # a .pem the name does not settle: a certificate as likely as a key


#: Files of ~/.ssh and ~/.gnupg that are public: copying them in is fine.
PUBLIC_FILES = frozenset(
    {"known_hosts", "authorized_keys", "config", "ssh_config", "pubring.kbx", "pubring.gpg",
     "trustdb.gpg", "gpg.conf", "dirmngr.conf"}
)  # fmt: skip


def _public(path: str) -> bool:
    name = path.rstrip("/").rpartition("/")[2]
    return name in PUBLIC_FILES or name.endswith((".pub", ".crt", ".asc"))


def _into_secret_place(sources: list[str], dest: str) -> str | None:
    """A destination that is a key's or credentials' home (``/root/.ssh/``, ``id_rsa``), when
    what goes there is not one of its public files (``known_hosts``, ``*.pub``)."""
    found = secret_file(dest)
    if found is not None and found.kind is SecretFileKind.PRIVATE_KEY and found.likely:
        return found.label
    if dest.endswith("/"):
        folder = secret_folder(dest)
        if folder is not None and not all(_public(s) for s in sources):
            return folder
    parent = dest.rstrip("/").rpartition("/")[0]
    folder = secret_folder(parent) if parent else None
    return folder if folder is not None and not _public(dest) else None


def _where(stage: Stage, shipped: set[int]) -> str:
    if stage.index in shipped:
        return "the image, where anyone who can pull it can read it"
    return f"the layers of stage {stage.label}, where anyone with the build cache can read it"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    wanted = needed(ctx)
    shipped = {s.index for s in final_chain(ctx)}
    for stage in ctx.build.stages:
        if stage.index not in wanted:
            continue
        for inst in stage.instructions:
            if inst.name not in ("COPY", "ADD") or len(inst.values) < 2:
                continue
            dest = inst.values[-1]
            flagged = False
            for source in _sources(inst):
                label = _judged(source, ctx.build_context)
                if label is None:
                    continue
                flagged = True
                yield Hit(inst, f"{inst.name} {source} puts {label} into "
                          f"{_where(stage, shipped)} (a later rm does not remove it); use RUN "
                          "--mount=type=secret (or --mount=type=ssh) where it is needed", stage,
                          locate_source(inst, source))  # fmt: skip
            sources = _sources(inst)
            place = _into_secret_place(sources, dest) if sources else None
            if not flagged and place is not None:
                yield Hit(inst, f"{inst.name} into {dest} puts {place} into "
                          f"{_where(stage, shipped)}; use RUN --mount=type=ssh or "
                          "--mount=type=secret where it is needed", stage,
                          locate_source(inst, dest))  # fmt: skip


register(
    Rule(
        code="KH205",
        name="secret-file-copied",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="COPY or ADD of a secret file: .env, SSH keys, *.key/*.pem, .npmrc, kubeconfig...",
        explanation=(
            "A file copied into a layer stays in the image for anyone who can pull it, even "
            "when a later RUN deletes it (the earlier layer keeps it), and in the build cache of "
            "builder stages. Flagged sources: `.env` files (not `.env.example` and other "
            "templates), SSH keys (`id_rsa`, `id_ed25519`...), `*.key`, a `*.pem` whose name "
            "says key, `*.p12`/`*.pfx` bundles, Java keystores, `.npmrc`, `.pypirc`, `.netrc`, "
            "`.git-credentials`, `credentials.json`, `.aws/credentials`, kubeconfigs, "
            "`.docker/config.json`, service-account keys, and folders such as `.ssh`, `.aws`, "
            "`.gnupg`; also copies into `~/.ssh/`. When keelhaul knows the build context it "
            "looks inside the file: a `.pem` certificate or an `.npmrc` without a token is not "
            "flagged. Mount what a step needs instead: `RUN "
            "--mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`, `RUN --mount=type=ssh "
            "git clone ...`."
        ),
        bad="FROM node:22-slim\nCOPY .npmrc package.json package-lock.json ./\nRUN npm ci\n",
        good=(
            "FROM node:22-slim\nCOPY package.json package-lock.json ./\n"
            "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n"
        ),
        check=check,
        related={"trivy": ("DS-0031",)},
    )
)
