import re
from collections.abc import Iterator

from keelhaul.dockerfile.operations import Download
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import (
    command_span,
    needed_runs,
    script_text,
    word_span,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Programs that run what they read as code.
INTERPRETERS = frozenset(
    {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "eval", "source", ".", "python",
     "python2", "python3", "perl", "ruby", "node", "php", "pwsh", "powershell"}
)  # fmt: skip
#: ``ruby -e "$(curl ...)"``: the interpreter runs the substitution as code with these flags.
_CODE_FLAGS = frozenset({"-c", "-e", "-r", "--eval", "-Command", "-command"})
_PYTHON = re.compile(r"python[0-9.]*$")
#: ``python -c "...urlopen(...)...exec(...)"``: a download run inside an interpreter.
_FETCHES = re.compile(r"urlopen|urlretrieve|requests\.get|httpx\.get|Net::HTTP|open-uri|fetch\(")
_RUNS_CODE = re.compile(r"\bexec\s*\(|\beval\s*\(|\brun_path\s*\(|\binstance_eval\b")
#: PowerShell's ``iex (New-Object Net.WebClient).DownloadString(...)`` and ``iwr ... | iex``.
_PS_RUN = re.compile(r"(?i)\b(?:iex|invoke-expression)\b")
_PS_FETCH = re.compile(r"(?i)downloadstring|invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b")
_URL = re.compile(r"https?://[^\s'\"`)]+")


def _interpreter(name: str) -> bool:
    return name in INTERPRETERS or _PYTHON.match(name) is not None


def _runs_download(dl: Download) -> str | None:
    """The program that runs the download as code, or None."""
    if dl.piped_into is not None and _interpreter(dl.piped_into):
        return dl.piped_into
    cmd = dl.command
    if cmd.in_substitution and cmd.parent:
        host = cmd.parent[0].rsplit("/", 1)[-1]
        if _interpreter(host) and _CODE_FLAGS & set(cmd.parent[1:]):
            return host  # ruby -e "$(curl ...)", node -e "$(curl ...)"
    return None


def _inline_fetch(cmd: SimpleCommand) -> str | None:
    """``python -c "exec(urlopen(URL).read())"``: the URL fetched and run, or None."""
    if not _interpreter(cmd.name) or not _CODE_FLAGS & set(cmd.argv[1:]):
        return None
    code = " ".join(cmd.argv[1:])
    if _FETCHES.search(code) and _RUNS_CODE.search(code):
        found = _URL.search(code)
        return found.group() if found else "a URL"
    return None


def _powershell(run: Run) -> str | None:
    text = script_text(run)
    lowered = text.lower()
    if "iex" not in lowered and "invoke-expression" not in lowered:
        return None
    if _PS_RUN.search(text) and _PS_FETCH.search(text):
        found = _URL.search(text)
        return found.group() if found else "a URL"
    return None


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in needed_runs(ctx):
        for dl in run.operations.downloads:
            target = _runs_download(dl)
            if target is None:
                continue
            url = dl.urls[0] if dl.urls else "a download"
            yield Hit(run.instruction, f"{dl.tool} output from {url} runs in {target} "
                      "unverified; download to a file, check a pinned checksum or signature, "
                      "then run it", run.stage, word_span(run, dl.command, 0))  # fmt: skip
        for cmd in run.script.commands:
            fetched = _inline_fetch(cmd)
            if fetched is not None:
                yield Hit(run.instruction, f"{cmd.name} -c fetches {fetched} and runs it "
                          "unverified; download to a file, check a pinned checksum or "
                          "signature, then run it", run.stage,
                          command_span(run, cmd))  # fmt: skip
        script = _powershell(run)
        if script is not None:
            yield Hit(run.instruction, f"Invoke-Expression runs {script} unverified; download to "
                      "a file, check Get-FileHash against a pinned hash, then run it", run.stage,
                      run.instruction.locate("iex") or run.instruction.locate("Invoke-Expression")
                      or run.instruction.locate("Invoke-expression"))  # fmt: skip


register(
    Rule(
        code="KH108",
        name="download-piped-to-shell",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="`curl ... | sh` and kin: running what a server sends, unverified.",
        explanation=(
            "Whatever the server (or anyone between it and the builder) sends is executed as "
            "root during the build, and a partial download can run half a script. Caught: "
            "curl or wget piped into a shell or interpreter (`| sh`, `| sudo -E bash -`, `| "
            'python3 -`), run through a substitution (`bash <(curl ...)`, `sh -c "$(curl '
            '...)"`, `ruby -e "$(curl ...)"`, `eval "$(wget -O- ...)"`), `python -c` code '
            "that fetches a URL and executes it, and PowerShell's `iex` of a downloaded "
            "string. Download to a file, verify a pinned checksum or signature, then run it. "
            "Every stage the build runs is checked, and ONBUILD RUNs."
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
