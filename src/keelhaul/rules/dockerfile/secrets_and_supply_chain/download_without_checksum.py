import re
from collections.abc import Iterator

from keelhaul.dockerfile.operations import Download
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import needed_runs, script_text, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Commands that check what was downloaded: a checksum compared, a signature verified.
_VERIFIES = re.compile(
    r"\b(?:sha(?:1|224|256|384|512)sum|shasum|b2sum|md5sum|cksum|gpgv|minisign|signify|"
    r"cosign\s+verify(?:-blob)?|slsa-verifier|openssl\s+dgst|Get-FileHash|"
    r"gpg2?\b[^|;&\n]*--verify|sha256|checksum|--checksum)"
)
#: A URL that names its content by a commit (``raw.githubusercontent.com/o/r/<sha>/...``,
#: ``${DIND_COMMIT}``): it cannot change.
_COMMIT = re.compile(r"/[0-9a-f]{40}(?:/|$)|\$\{?[A-Z_]*(?:COMMIT|SHA|DIGEST)[A-Z_]*\}?")
#: Programs that unpack an archive read from a pipe.
_UNPACKERS = frozenset({"tar", "bsdtar", "unzip", "funzip", "busybox", "gunzip", "xz", "zstd"})
#: What an archive or an installable package is called.
_ARCHIVE = re.compile(r"\.(?:tar|tgz|tbz2?|txz|tar\.(?:gz|bz2|xz|zst)|zip|deb|rpm|apk|jar|whl)$")
_BIN_DIR = re.compile(r"^(?:/usr(?:/local)?)?/s?bin/|^/opt/[^/]+/bin/|^/usr/local/[^/]+/bin/")
#: Installs that read a downloaded file: made executable, unpacked, or installed as a package.
_INSTALL = re.compile(
    r"\bchmod\s+(?:-\S+\s+)*(?:\+x|[0-7]*[1357][0-7]{0,2}\b|[ugoa]*\+[rw]*x)|\binstall\b|"
    r"\btar\b|\bunzip\b|\bdpkg\s+-i|\brpm\s+-[iU]|\bapk\s+add\b[^&;|]*\.apk|\bgunzip\b"
)

#: The user and password part of a URL (never shown in a message).
_USERINFO = re.compile(r"://[^/@\s]+@")


def _installed(dl: Download, script: str) -> str | None:
    """How the download is installed (for the message), or None when it is not."""
    if dl.executed:
        return None  # piped into a shell: download-piped-to-shell (KH108)
    if dl.piped_into is not None:
        if dl.piped_into in _UNPACKERS:
            return f"unpacked by {dl.piped_into}"
        return None
    out = dl.output
    if not out or out == "-":
        return None
    if _BIN_DIR.match(out):
        return f"written to {out}"
    name = out.rsplit("/", 1)[-1]
    if not name:
        return None
    if _ARCHIVE.search(name):
        return f"saved as {out} (an archive or a package, unpacked or installed from there)"
    if re.search(r"\bchmod\b[^;&|\n]*" + re.escape(name) + r"\b", script) and _INSTALL.search(
        script
    ):
        return f"saved as {out} and made executable"
    return None


def _hits(run: Run) -> Iterator[Hit]:
    script = script_text(run)
    if _VERIFIES.search(script):
        return
    for dl in run.operations.downloads:
        how = _installed(dl, script)
        if how is None or any(_COMMIT.search(u) for u in dl.urls):
            continue
        url = _USERINFO.sub("://…@", dl.urls[0]) if dl.urls else "a URL"
        yield Hit(run.instruction, f"{dl.tool} fetches {url}, {how}, with no checksum or "
                  "signature check in the RUN: a changed or tampered file goes into the image; "
                  "compare a pinned sha256 (echo \"$SHA256  file\" | sha256sum -c -) or verify "
                  "the vendor's signature before installing it", run.stage,
                  word_span(run, dl.command, 0))  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in needed_runs(ctx):
        yield from _hits(run)


register(
    Rule(
        code="KH221",
        name="download-without-checksum",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A program or archive downloaded in a RUN and installed without a checksum.",
        explanation=(
            "`curl`/`wget` in a RUN trusts whatever the server (or anyone between it and the "
            "build) sends: a release asset replaced upstream, a compromised mirror, a moving "
            "`latest` URL. When the file is installed (written into a bin directory, made "
            "executable with chmod, piped into tar or unzip, or saved as an archive or a "
            "package: .tar.gz, .zip, .deb, .rpm, .apk, .jar, .whl), compare it with a pinned checksum in the same RUN (`echo "
            '"$SHA256  app.tgz" | sha256sum -c -`) or verify its signature (`gpg --verify`, '
            "`cosign verify-blob`, minisign), as the official images do. A RUN that checks "
            "anything of the kind is not reported (the check is not matched to the file), "
            "nor are downloads piped into a shell (KH108 reports them), nor files the RUN does "
            "not install (keys, data), nor URLs that name a commit (a 40-hex commit in the "
            "path, a `${..._COMMIT}` build argument): their content cannot change. "
            "`ADD <url>` without `--checksum` is KH210."
        ),
        bad=(
            "FROM debian:12\nRUN wget -O /usr/local/bin/kubectl "
            "https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl \\\n"
            " && chmod +x /usr/local/bin/kubectl\n"
        ),
        good=(
            "FROM debian:12\nARG KUBECTL_SHA256=0123456789abcdef\n"
            "RUN wget -O /usr/local/bin/kubectl "
            "https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl \\\n"
            ' && echo "$KUBECTL_SHA256  /usr/local/bin/kubectl" | sha256sum -c - \\\n'
            " && chmod +x /usr/local/bin/kubectl\n"
        ),
        check=check,
    )
)
