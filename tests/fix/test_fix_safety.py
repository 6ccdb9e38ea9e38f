"""Safety that means something (issue 17): a safe fix cannot change what the image does or
whether it builds; one that depends on facts keelhaul cannot see is unsafe and says why."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.catalogue import all_rules
from keelhaul.catalogue.fixes import AUDIT, fixed_rules, fixes_markdown
from keelhaul.checking import STDIN, Target
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Finding, Safety
from keelhaul.fix.fixing import fix_target
from keelhaul.rule import Kind
from tests.fix.test_fixing import checker, fix

ROOT = Path(__file__).resolve().parents[2]


# --- every fix says why ----------------------------------------------------------------------


def test_every_fix_has_a_reason_and_an_audit_row() -> None:
    rules = fixed_rules()
    assert rules
    for rule in rules:
        assert rule.fix_reason.strip(), f"{rule.code} has a fix but no fix_reason"
        assert "\n" not in rule.fix_reason, f"{rule.code}: one line"
        assert rule.code in AUDIT, f"{rule.code} is missing from the audit"
    assert set(AUDIT) == {r.code for r in rules}, "an audit row for a rule without a fix"
    assert all(not r.fix_reason for r in all_rules() if r.fix is None)


def test_docs_fixes_md_is_current() -> None:
    assert (ROOT / "docs" / "fixes.md").read_text() == fixes_markdown(), (
        "run `python -m keelhaul.catalogue.fixes`"
    )


def test_rules_command_shows_the_reason() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "rules", "KH170"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    rule = next(r for r in all_rules() if r.code == "KH170")
    assert f"**Fix (safe).** {rule.fix_reason}" in done.stdout


def _findings(src: str, folder: Path | None, codes: tuple[str, ...]) -> list[Finding]:
    """The findings of ``codes`` for ``src`` built from ``folder`` (None: stdin, no context)."""
    if folder is None:
        target = Target(Path("-"), STDIN, True, src.encode())
    else:
        (folder / "Dockerfile").write_text(src)
        target = Target(folder / "Dockerfile", "Dockerfile", True, src.encode())
    return checker(codes).check([target]).all_findings


def _fixed(src: str, folder: Path | None, codes: tuple[str, ...], unsafe: bool = False) -> str:
    if folder is None:
        target = Target(Path("-"), STDIN, True, src.encode())
    else:
        (folder / "Dockerfile").write_text(src)
        target = Target(folder / "Dockerfile", "Dockerfile", True, src.encode())
    return fix_target(checker(codes), target, src, unsafe).after


#: Dockerfiles (with a build context) where a fix marked safe would need a fact keelhaul
#: cannot see: each fix must be unsafe, or absent.
NEEDS_UNSEEN_FACTS = [
    # the base image's ENTRYPOINT gets the program instead of /bin/sh
    ("KH113", "FROM nginx:1.27\nCMD nginx -g daemon\n", {}),
    ("KH113", "FROM myorg/base:1\nCMD ./app --serve\n", {}),
    # BusyBox's wget rejects --progress
    ("KH188", "FROM myorg/base:1\nRUN wget https://example.com/a.tgz\n", {}),
    # pipefail fails builds that passed
    ("KH185", "FROM alpine:3.20\nRUN curl -fsSL https://example.com/k.asc | tee /k.asc\n", {}),
    # what an unknown package recommends
    ("KH103", "FROM debian:12\nRUN apt-get update && apt-get install -y libfoo1\n", {}),
    # git recommends openssh-client (clones over ssh), less, patch
    ("KH103", "FROM debian:12\nRUN apt-get update && apt-get install -y curl git\n", {}),
    # the lock file comes from another stage
    ("KH170", "FROM node:20 AS deps\nCOPY package.json package-lock.json ./\n"
     "FROM node:20\nWORKDIR /app\nCOPY --from=deps package*.json ./\nRUN npm install\n",
     {"package.json": "{}"}),
    # the lock file lands elsewhere than where npm runs
    ("KH170", "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json /src/\n"
     "RUN npm install\n", {"package.json": "{}", "package-lock.json": "{}"}),
    ("KH170", "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
     "RUN cd web && npm install\n", {"package.json": "{}", "package-lock.json": "{}"}),
    # .git may be read by a build step keelhaul cannot see into
    ("KH230", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n",
     {".git/HEAD": "ref: refs/heads/main\n", "pyproject.toml": "[project]\nname='x'\n"}),
]  # fmt: skip


@pytest.mark.parametrize(("code", "src", "files"), NEEDS_UNSEEN_FACTS)
def test_no_safe_fix_depends_on_what_keelhaul_cannot_see(
    tmp_path: Path, code: str, src: str, files: dict[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = [f for f in _findings(src, tmp_path, (code,)) if f.fix is not None]
    assert found, "the case must be one the rule fixes"
    for finding in found:
        assert finding.fix is not None
        assert finding.fix.safety is Safety.UNSAFE
        assert finding.fix.why_unsafe, "an unsafe fix says what it may change"
    assert _fixed(src, tmp_path, (code,)) == src  # nothing applied by default


def test_kh188_busybox_wget_before_gnu_wget_is_installed() -> None:
    """Found in the corpus (docker-library redis 7.2 alpine): a download by BusyBox's wget
    before a later RUN installs GNU wget; `--progress` there would fail the build."""
    src = (
        "FROM alpine:3.20\nRUN wget -O /usr/local/bin/gosu https://example.com/gosu\n"
        "RUN apk add --no-cache wget && wget -O /r.tgz https://example.com/r.tgz\n"
    )
    after = fix(src, ("KH188",), unsafe=True)
    assert "wget -O /usr/local/bin/gosu" in after  # BusyBox's: left alone
    assert "wget --progress=dot:giga -O /r.tgz" in after  # GNU wget by then


# --- KH103 keeps ca-certificates -------------------------------------------------------------

APT = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y {} && rm -rf /var/lib/apt/lists/*\n"


@pytest.mark.parametrize(
    ("packages", "expected", "safety"),
    [
        # curl and wget recommend ca-certificates (via libcurl4, or directly): kept, safe
        ("curl", "--no-install-recommends ca-certificates curl", Safety.SAFE),
        ("wget xz-utils", "--no-install-recommends ca-certificates wget xz-utils", Safety.SAFE),
        # named already: not twice
        ("ca-certificates curl", "--no-install-recommends ca-certificates curl", Safety.SAFE),
        # recommends nothing: nothing added
        ("make", "--no-install-recommends make", Safety.SAFE),
        # the case: kept, and unsafe (git's openssh-client, less, patch go)
        ("curl git", "--no-install-recommends ca-certificates curl git", Safety.UNSAFE),
        # unknown: keelhaul cannot tell, so ca-certificates is kept, and the fix is unsafe
        ("libfoo1", "--no-install-recommends ca-certificates libfoo1", Safety.UNSAFE),
        ("$PKGS", "--no-install-recommends ca-certificates $PKGS", Safety.UNSAFE),
    ],
)
def test_kh103_keeps_ca_certificates(packages: str, expected: str, safety: Safety) -> None:
    src = APT.format(packages)
    (finding,) = _findings(src, None, ("KH103",))
    assert finding.fix is not None
    assert finding.fix.safety is safety
    after = fix(src, ("KH103",), unsafe=True)
    assert f"apt-get install -y {expected} &&" in after
    assert fix(after, ("KH103",), unsafe=True) == after
    if safety is Safety.UNSAFE:
        assert fix(src, ("KH103",)) == src


def test_kh103_names_what_goes() -> None:
    (finding,) = _findings(APT.format("curl git"), None, ("KH103",))
    assert finding.fix is not None
    assert "openssh-client" in finding.fix.why_unsafe
    assert "ca-certificates" not in finding.fix.why_unsafe  # kept, so not among what goes


# --- KH170 checks the lock file ---------------------------------------------------------------

NPM = "FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\nCOPY . .\n"


@pytest.mark.parametrize(
    ("files", "outcome"),
    [
        # the glob brings no lock file: `npm ci` would fail, and nothing is locked
        ({"package.json": "{}"}, "no finding"),
        # ... or the lock is ignored: the same
        ({"package.json": "{}", "package-lock.json": "{}", ".dockerignore": "package-lock.json\n"},
         "no finding"),
        # the lock is there and sent: safe
        ({"package.json": "{}", "package-lock.json": "{}"}, Safety.SAFE),
        # ... even with an ignore file that leaves it in
        ({"package.json": "{}", "package-lock.json": "{}", ".dockerignore": "*.md\n"}, Safety.SAFE),
    ],
)  # fmt: skip
def test_kh170_reads_the_context(tmp_path: Path, files: dict[str, str], outcome: object) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = _findings(NPM, tmp_path, ("KH170",))
    if outcome == "no finding":
        assert found == []
        assert _fixed(NPM, tmp_path, ("KH170",), unsafe=True) == NPM
        return
    (finding,) = found
    assert finding.fix is not None
    assert finding.fix.safety is outcome
    assert "RUN npm ci\n" in _fixed(NPM, tmp_path, ("KH170",))


def test_kh170_without_a_context_is_unsafe() -> None:
    (finding,) = _findings(NPM, None, ("KH170",))
    assert finding.fix is not None
    assert finding.fix.safety is Safety.UNSAFE
    assert "cannot see the build context" in finding.fix.why_unsafe
    assert _fixed(NPM, None, ("KH170",)) == NPM
    assert "RUN npm ci\n" in _fixed(NPM, None, ("KH170",), unsafe=True)


def test_kh170_folder_without_package_json_is_not_the_context(tmp_path: Path) -> None:
    """No package.json where the glob looks: the build runs from another folder, so the
    lock's presence is unknown (the finding stays, its fix is unsafe)."""
    (finding,) = _findings(NPM, tmp_path, ("KH170",))
    assert finding.fix is not None
    assert finding.fix.safety is Safety.UNSAFE


def test_kh170_named_lock_is_safe_without_a_context() -> None:
    """A COPY that names the lock fails without it: `npm ci` cannot fail for its absence."""
    src = NPM.replace("COPY package*.json ./", "COPY package.json package-lock.json ./")
    (finding,) = _findings(src, None, ("KH170",))
    assert finding.fix is not None
    assert finding.fix.safety is Safety.SAFE


# --- no doubled or contradicting cache flags -------------------------------------------------

#: Spellings that mean the same for one program: a command must hold at most one of a group.
SAME = [
    {"--no-cache-dir", "--no-cache", "--no-cache-d", "--no-ca", "--no-cach"},  # pip
    {"-U", "--update", "--update-cache"},  # apk
    {"--no-cache"},  # apk, npm
]
#: Flags that contradict each other in one command.
CONTRARY = [
    ({"--no-cache-dir", "--no-cache"}, {"--cache-dir"}),
    ({"--no-cache"}, {"--update-cache"}),
]

CACHE_COMMANDS = [
    "FROM python:3.12\nRUN pip install --no-cache flask\n",
    "FROM python:3.12\nRUN pip install flask --no-cache\n",
    "FROM python:3.12\nRUN pip --no-cache-dir install flask\n",
    "FROM python:3.12\nRUN python -m pip install --no-cache-d flask\n",
    "FROM python:3.12\nRUN pip install --cache-dir=/tmp/c flask\n",
    "FROM python:3.12\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n",
    "FROM python:3.12\nRUN pip3 install -r requirements.txt\n",
    "FROM alpine:3.20\nRUN apk --no-cache add curl\n",
    "FROM alpine:3.20\nRUN apk add curl --no-cache\n",
    "FROM alpine:3.20\nRUN apk add --update curl\n",
    "FROM alpine:3.20\nRUN apk add --update --no-cache curl\n",
    "FROM alpine:3.20\nRUN apk -U add --no-cache curl\n",
    "FROM alpine:3.20\nRUN apk add --cache-dir /var/cache/x curl\n",
    "FROM alpine:3.20\nRUN apk update && apk add curl\n",
    "FROM node:20\nRUN npm install --no-cache -g serve\n",
    "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci --cache /tmp/npm\n",
]


def _argvs(src: str) -> list[tuple[str, ...]]:
    return [
        c.argv
        for inst in parse(src).instructions
        if inst.effective.name == "RUN"
        for c in parse_shell(inst.effective.values[-1]).commands
    ]


@pytest.mark.parametrize("src", CACHE_COMMANDS)
@pytest.mark.parametrize("unsafe", [False, True])
def test_cache_flags_never_doubled_or_contradicting(src: str, unsafe: bool) -> None:
    codes = ("KH106", "KH107", "KH184", "KH102")
    after = fix(src, codes, unsafe=unsafe)
    for argv in _argvs(after):
        words = [w.split("=", 1)[0] for w in argv]
        for group in SAME:
            assert sum(w in group for w in words) <= 1, (argv, after)
        for one, other in CONTRARY:
            assert not (set(words) & one and set(words) & other), (argv, after)


def test_apk_update_stays_while_a_later_run_reads_its_index() -> None:
    src = "FROM alpine:3.20\nRUN apk update\nRUN apk add curl\nRUN apk add git\n"
    after = fix(src, ("KH102",))
    assert after == src  # dropping the update would leave `apk add git` with no index
    assert fix(src, ("KH102", "KH106")).count("apk add --no-cache") == 2


# --- no `# syntax=` unless asked --------------------------------------------------------------


def test_no_fix_adds_a_syntax_directive() -> None:
    """`# syntax=` makes BuildKit pull a frontend image: no fix of any rule adds it by
    default (KH184 only with the `fix-syntax-directive` setting)."""
    for rule in all_rules():
        if rule.fix is None or rule.kind is not Kind.DOCKERFILE or not rule.bad:
            continue
        after = fix(rule.bad, None, unsafe=True)
        assert not re.search(r"(?im)^#\s*syntax\s*=", after.replace(rule.bad, "")), rule.code
        assert len(re.findall(r"(?im)^#\s*syntax\s*=", after)) == len(
            re.findall(r"(?im)^#\s*syntax\s*=", rule.bad)
        ), rule.code


# --- fix -v ----------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", "--no-color", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_fix_verbose_lists_unsafe_fixes_with_what_they_may_change(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM myorg/base:1\nCMD ./app --serve\n")
    for args in (("fix", "-v", "--diff", "."), ("-v", "fix", "--diff", "."),
                 ("fix", "--verbose", "--diff", ".")):  # fmt: skip
        done = _cli(*args, "--no-config", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "KH113 has an unsafe fix" in done.stderr
        assert "ENTRYPOINT of myorg/base:1" in done.stderr
    quiet = _cli("fix", "--diff", "--no-config", ".", cwd=tmp_path)
    assert "KH113 has an unsafe fix" not in quiet.stderr
    assert "-v lists them" in quiet.stderr
    applied = _cli("fix", "-v", "--unsafe-fixes", "--no-config", ".", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "KH113 applied an unsafe fix (exec form CMD" in applied.stderr
    assert "ENTRYPOINT of myorg/base:1" in applied.stderr
    assert (tmp_path / "Dockerfile").read_text().endswith('CMD ["./app", "--serve"]\n')
