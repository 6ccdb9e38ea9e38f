"""TLS and signature bypasses: every way a Dockerfile tells a tool not to check what it fetches.

Two families, one rule each: *tls* (the server's certificate is not verified: anyone on the
network path can serve anything) and *signature* (the package's signature is not verified: a
tampered mirror or repository goes unnoticed). Each bypass names the Checkov check that catches
the same thing, where there is one:

========================================  =========  ===============
bypass                                    family     Checkov
========================================  =========  ===============
curl -k / --insecure                      tls        CKV2_DOCKER_2
wget --no-check-certificate               tls        CKV2_DOCKER_3
pip --trusted-host, pip config            tls        CKV2_DOCKER_4
PYTHONHTTPSVERIFY=0                       tls        CKV2_DOCKER_5
NODE_TLS_REJECT_UNAUTHORIZED=0            tls        CKV2_DOCKER_6
apk --allow-untrusted                     signature  CKV2_DOCKER_7
apt-get --allow-unauthenticated           signature  CKV2_DOCKER_8
yum/dnf/rpm --nogpgcheck                  signature  CKV2_DOCKER_9
rpm --nosignature/--nodigest/...          signature  CKV2_DOCKER_10
apt-get --force-yes                       signature  CKV2_DOCKER_11 (and _8)
NPM_CONFIG_STRICT_SSL=false               tls        CKV2_DOCKER_12
npm/yarn config set strict-ssl false      tls        CKV2_DOCKER_13
GIT_SSL_NO_VERIFY (any value)             tls        CKV2_DOCKER_14
yum/dnf sslverify=0                       tls        CKV2_DOCKER_15
PIP_TRUSTED_HOST                          tls        CKV2_DOCKER_16
GOINSECURE                                tls        CKV2_DOCKER_18
git http.sslVerify false, conda           tls        -
ssl_verify false, composer secure-http,
--insecure-skip-tls-verify,
--tls-verify=false, apt Verify-Peer
apt [trusted=yes] / AllowUnauthenticated  signature  -
/ AllowInsecureRepositories, gpgcheck=0,
zypper --no-gpg-checks, GOSUMDB=off,
pacman SigLevel Never
========================================  =========  ===============
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction, Span
from keelhaul.rules.dockerfile.shared.security import (
    heredocs_are_script,
    locate_key,
    needed,
    needed_runs,
    offset_span,
    word_span,
)
from keelhaul.rules.dockerfile.shared.structure import expand, resolve_word, scopes
from keelhaul.rules.registry import DockerfileContext, Run

TLS = "tls"
SIGNATURE = "signature"


@dataclass(frozen=True, slots=True)
class Bypass:
    family: str
    what: str
    """The setting as written, short: ``curl -k``, ``NODE_TLS_REJECT_UNAUTHORIZED=0``."""
    checkov: str | None
    instruction: Instruction
    stage: Stage
    span: Span | None


# --------------------------------------------------------------------------------------------
# environment variables


@dataclass(frozen=True, slots=True)
class _Variable:
    family: str
    checkov: str | None
    bad: re.Pattern[str]
    """Values that switch the check off (matched against the value, quotes removed)."""


_ANY = re.compile(r".+", re.DOTALL)
_OFF = re.compile(r"(?i)0|false|no|off")
_VARIABLES: dict[str, _Variable] = {
    "PYTHONHTTPSVERIFY": _Variable(TLS, "CKV2_DOCKER_5", re.compile("0")),
    "NODE_TLS_REJECT_UNAUTHORIZED": _Variable(TLS, "CKV2_DOCKER_6", re.compile("0")),
    "NPM_CONFIG_STRICT_SSL": _Variable(TLS, "CKV2_DOCKER_12", re.compile("(?i)false")),
    "YARN_ENABLE_STRICT_SSL": _Variable(TLS, None, re.compile("(?i)false|0")),
    # git disables verification when the variable exists, whatever its value
    "GIT_SSL_NO_VERIFY": _Variable(TLS, "CKV2_DOCKER_14", re.compile(r".*", re.DOTALL)),
    "PIP_TRUSTED_HOST": _Variable(TLS, "CKV2_DOCKER_16", _ANY),
    "UV_INSECURE_HOST": _Variable(TLS, None, _ANY),
    "GOINSECURE": _Variable(TLS, "CKV2_DOCKER_18", _ANY),
    "GOFLAGS": _Variable(TLS, None, re.compile(r".*(?<!\S)-insecure\b.*")),
    "BUNDLE_SSL_VERIFY_MODE": _Variable(TLS, None, re.compile("0")),
    "GOSUMDB": _Variable(SIGNATURE, None, re.compile("(?i)off")),
}


def _variable(name: str) -> _Variable | None:
    # npm reads its npm_config_* variables in any case
    return _VARIABLES.get(name.upper() if name.lower().startswith("npm_config_") else name)


def _variable_bypass(name: str, value: str) -> _Variable | None:
    found = _variable(name)
    if found is None or not found.bad.fullmatch(value):
        return None
    return found


# --------------------------------------------------------------------------------------------
# commands


@dataclass(frozen=True, slots=True)
class _Found:
    family: str
    what: str
    checkov: str | None
    word: int
    """Index in argv of the word to point at."""


_APT = ("apt-get", "apt", "aptitude")
_RPM_MANAGERS = ("yum", "dnf", "microdnf", "tdnf", "rpm")
_RPM_NO_CHECK = ("--nosignature", "--nodigest", "--noverify", "--nofiledigest")
_NODE = ("npm", "yarn", "pnpm")
_APT_OPTIONS = (
    (re.compile(r"(?i)APT::Get::AllowUnauthenticated\s*=\s*(?:true|1|yes)"), SIGNATURE),
    (re.compile(r"(?i)Acquire::AllowInsecureRepositories\s*=\s*(?:true|1|yes)"), SIGNATURE),
    (re.compile(r"(?i)Acquire::https?::Verify-(?:Peer|Host)\s*=\s*(?:false|0|no)"), TLS),
)
_SSLVERIFY_OFF = re.compile(r"(?i)(?:^|[.=])sslverify\s*=\s*['\"]?(?:0|false|no)['\"]?$")
_GPGCHECK_OFF = re.compile(r"(?i)(?:^|\.)gpgcheck\s*=\s*['\"]?(?:0|false|no)['\"]?$")
_GIT_SSL_KEY = re.compile(r"(?i)^http(?:\..+)?\.sslverify$")


def _index(argv: tuple[str, ...], word: str) -> int:
    return argv.index(word) if word in argv else 0


def _curl_wget(cmd: SimpleCommand) -> Iterator[_Found]:
    argv = cmd.argv
    if cmd.name == "curl":
        for i, word in enumerate(argv[1:], start=1):
            if word == "--insecure" or (
                word.startswith("-")
                and not word.startswith("--")
                and "k" in word[1:]
                and not _takes_value_before_k(word)
            ):
                yield _Found(TLS, f"curl {word}", "CKV2_DOCKER_2", i)
                return
    elif cmd.name in ("wget", "wget2"):
        for i, word in enumerate(argv[1:], start=1):
            if word == "--no-check-certificate" or word.lower() in (
                "--check-certificate=off", "--check-certificate=quiet"
            ):  # fmt: skip
                yield _Found(TLS, f"{cmd.name} {word}", "CKV2_DOCKER_3", i)
                return


#: curl short options that take a value: in ``-Hk`` the k would be the header, not -k.
_CURL_SHORT_VALUES = frozenset("oHdXuAexTwmCKEFbcrzYyPQt")


def _takes_value_before_k(word: str) -> bool:
    for letter in word[1:]:
        if letter == "k":
            return False
        if letter in _CURL_SHORT_VALUES:
            return True
    return True


def _package_managers(cmd: SimpleCommand) -> Iterator[_Found]:
    argv = cmd.argv
    name = cmd.name
    words = argv[1:]
    if name in _APT:
        if "--allow-unauthenticated" in words:
            yield _Found(SIGNATURE, f"{name} --allow-unauthenticated", "CKV2_DOCKER_8",
                         _index(argv, "--allow-unauthenticated"))  # fmt: skip
        if "--force-yes" in words:
            yield _Found(SIGNATURE, f"{name} --force-yes", "CKV2_DOCKER_11",
                         _index(argv, "--force-yes"))  # fmt: skip
        if "--allow-insecure-repositories" in words:
            yield _Found(SIGNATURE, f"{name} --allow-insecure-repositories", None,
                         _index(argv, "--allow-insecure-repositories"))  # fmt: skip
        for i, word in enumerate(argv):
            for pattern, family in _APT_OPTIONS:
                if pattern.search(word):
                    yield _Found(family, f"{name} -o {word}", None, i)
    elif name == "apk" and "--allow-untrusted" in words and _fetches(cmd, ("add",)):
        yield _Found(SIGNATURE, "apk --allow-untrusted", "CKV2_DOCKER_7",
                     _index(argv, "--allow-untrusted"))  # fmt: skip
    elif name in _RPM_MANAGERS or (name == "config-manager") or name == "yum-config-manager":
        yield from _rpm(cmd)
    elif name == "zypper" and "--no-gpg-checks" in words:
        yield _Found(SIGNATURE, "zypper --no-gpg-checks", None, _index(argv, "--no-gpg-checks"))


def _rpm(cmd: SimpleCommand) -> Iterator[_Found]:
    argv = cmd.argv
    name = cmd.name
    for i, word in enumerate(argv[1:], start=1):
        value = word.partition("=")[2] if word.startswith("--setopt=") else ""
        if word == "--setopt" and i + 1 < len(argv):
            value = argv[i + 1]
        if word == "--nogpgcheck" and (name == "rpm" or _fetches(cmd, _RPM_ACTIONS)):
            yield _Found(SIGNATURE, f"{name} --nogpgcheck", "CKV2_DOCKER_9", i)
        elif name == "rpm" and word in _RPM_NO_CHECK and _rpm_installs(argv):
            yield _Found(SIGNATURE, f"rpm {word}", "CKV2_DOCKER_10", i)
        elif value and _SSLVERIFY_OFF.search(value):
            yield _Found(TLS, f"{name} --setopt={value}", "CKV2_DOCKER_15", i)
        elif value and _GPGCHECK_OFF.search(value):
            yield _Found(SIGNATURE, f"{name} --setopt={value}", None, i)


_RPM_ACTIONS = ("install", "localinstall", "update", "upgrade", "reinstall", "groupinstall",
                "distro-sync", "downgrade")  # fmt: skip


def _fetches(cmd: SimpleCommand, actions: tuple[str, ...]) -> bool:
    """The command installs something that is not a local file (a package file built or
    verified earlier in the build is the build's own; a repository package is not)."""
    words = [w for w in cmd.argv[1:] if not w.startswith("-")]
    if not words or words[0] not in actions:
        return not words  # options only: keep the finding
    targets = words[1:]
    local = [w for w in targets if w.startswith(("/", "./", "../", "$")) or
             w.endswith((".apk", ".rpm"))]  # fmt: skip
    return not targets or len(local) < len(targets) or any("://" in w for w in targets)


def _rpm_installs(argv: tuple[str, ...]) -> bool:
    """``rpm -i``/``-U``/``-F`` (not a query or verify, where the switches only quiet it)."""
    for word in argv[1:]:
        if word in ("--install", "--upgrade", "--freshen", "--reinstall"):
            return True
        if word.startswith("-") and not word.startswith("--") and set(word[1:]) & set("iUF"):
            return True
    return False


_OPTION_HINTS = re.compile(r"insecure|tls-verify|trusted-host")


def _configs(cmd: SimpleCommand) -> Iterator[_Found]:
    """``npm config set strict-ssl false``, ``git config http.sslVerify false``, ``pip config``,
    ``conda config --set ssl_verify false``, ``composer config secure-http false``."""
    argv = cmd.argv
    name = cmd.name
    if name in _NODE:
        yield from _node_config(cmd)
    elif name == "git":
        for i, word in enumerate(argv[1:], start=1):
            key, eq, value = word.partition("=")
            following = argv[i + 1] if i + 1 < len(argv) else ""
            if _GIT_SSL_KEY.match(key) and _OFF.fullmatch(value if eq else following):
                shown = word if eq else f"{word} {following}"
                yield _Found(TLS, f"git {shown}", None, i)
    elif (name.startswith("pip") or name == "python" or name.startswith("python3")) and (
        "config" in argv
    ):
        for i, word in enumerate(argv):
            if word.endswith(("trusted-host", "trusted_host")) and i + 1 < len(argv):
                yield _Found(TLS, f"pip config set {word}", "CKV2_DOCKER_4", i)
    elif name in ("conda", "mamba", "micromamba") and "config" in argv:
        for i, word in enumerate(argv[:-1]):
            if word == "ssl_verify" and _OFF.fullmatch(argv[i + 1]):
                yield _Found(TLS, f"{name} config ssl_verify {argv[i + 1]}", None, i)
    elif name in ("composer", "composer.phar") and "config" in argv:
        for i, word in enumerate(argv[:-1]):
            if (word == "secure-http" and _OFF.fullmatch(argv[i + 1])) or (
                word == "disable-tls" and argv[i + 1].lower() in ("true", "1")
            ):
                yield _Found(TLS, f"composer config {word} {argv[i + 1]}", None, i)
    if not _OPTION_HINTS.search(" ".join(argv)):
        return
    for i, word in enumerate(argv[1:], start=1):
        key, _, value = word.partition("=")
        skips_check = key == "--insecure-skip-tls-verify" and value.lower() != "false"
        no_check = key in ("--tls-verify", "--src-tls-verify", "--dest-tls-verify") and bool(
            _OFF.fullmatch(value)
        )
        if skips_check or no_check:
            yield _Found(TLS, f"{name} {word}", None, i)
        elif word == "--trusted-host" and name.startswith(("pip", "python", "uv")):
            yield _Found(TLS, f"{name} --trusted-host", "CKV2_DOCKER_4", i)
        elif key == "--allow-insecure-host" and name == "uv":
            yield _Found(TLS, f"uv {word}", None, i)
        elif name == "go" and word == "-insecure":
            yield _Found(TLS, "go -insecure", None, i)


def _node_config(cmd: SimpleCommand) -> Iterator[_Found]:
    argv = cmd.argv
    for i, word in enumerate(argv[1:], start=1):
        key, eq, value = word.partition("=")
        if key in ("--strict-ssl", "--no-strict-ssl"):
            if key == "--no-strict-ssl" or value.lower() == "false":
                yield _Found(TLS, f"{cmd.name} {word}", "CKV2_DOCKER_13", i)
            continue
        if key.strip("'\"") not in ("strict-ssl", "enableStrictSsl", "strict_ssl"):
            continue
        if "set" not in argv[1:i]:
            continue
        value = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
        if value.strip("'\"").lower() == "false":
            yield _Found(TLS, f"{cmd.name} config set {key} {value}", "CKV2_DOCKER_13", i)


# --------------------------------------------------------------------------------------------
# configuration text written by RUN or COPY heredocs

_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str, str, str | None], ...] = (
    (re.compile(r"(?i)^\s*sslverify\s*=\s*(?:0|false|no)\b", re.M), TLS, "sslverify=0", "CKV2_DOCKER_15"),
    (re.compile(r"(?i)^\s*gpgcheck\s*=\s*(?:0|false|no)\b", re.M), SIGNATURE, "gpgcheck=0", None),
    (re.compile(r"\[[^\]\n]*\b(?:trusted|allow-insecure)=yes[^\]\n]*\]\s*(?!file:|copy:)\S"),
     SIGNATURE, "[trusted=yes]", None),
    (re.compile(r"(?i)APT::Get::AllowUnauthenticated\s+\"?(?:true|1|yes)"), SIGNATURE,
     "APT::Get::AllowUnauthenticated true", None),
    (re.compile(r"(?i)Acquire::AllowInsecureRepositories\s+\"?(?:true|1|yes)"), SIGNATURE,
     "Acquire::AllowInsecureRepositories true", None),
    (re.compile(r"(?i)Acquire::https?::Verify-(?:Peer|Host)\s+\"?(?:false|0|no)"), TLS,
     "Acquire::https::Verify-Peer false", None),
    (re.compile(r"(?i)^\s*strict-ssl\s*=\s*false\b", re.M), TLS, "strict-ssl=false", "CKV2_DOCKER_13"),
    (re.compile(r"(?i)^\s*ssl_verify\s*:\s*(?:false|no)\b", re.M), TLS, "ssl_verify: false", None),
    (re.compile(r"(?i)^\s*check_certificate\s*=\s*off\b", re.M), TLS, "check_certificate = off", None),
    (re.compile(r"(?i)^\s*SigLevel\s*=\s*Never\b", re.M), SIGNATURE, "SigLevel = Never", None),
)  # fmt: skip
#: Commands whose words are text written somewhere, not switches of their own.
_WRITERS = frozenset({"echo", "printf", "tee", "cat"})
_SED_REPLACEMENT = re.compile(r"^s(.)(?:(?!\1).|\\\1)*\1((?:(?!\1).|\\\1)*)\1")


def _texts_of(cmd: SimpleCommand) -> Iterator[tuple[int, str]]:
    """(argv index, text) of the words of ``cmd`` that are written into a file."""
    if cmd.name in _WRITERS:
        for i, word in enumerate(cmd.argv[1:], start=1):
            if not word.startswith("-"):
                yield i, word.replace("\\n", "\n")
    elif cmd.name == "sed":
        for i, word in enumerate(cmd.argv[1:], start=1):
            found = _SED_REPLACEMENT.match(word)
            if found is not None:
                yield i, found.group(2).replace("\\n", "\n")


#: Text that none of the patterns can match without (most texts): the cheap test first.
_TEXT_HINTS = re.compile(
    r"(?i)sslverify|gpgcheck|trusted=|allow-insecure=|allowunauthenticated|"
    r"allowinsecurerepositories|verify-peer|verify-host|strict-ssl|ssl_verify|"
    r"check_certificate|siglevel"
)


def _text_bypasses(text: str) -> Iterator[tuple[str, str, str | None, str]]:
    """(family, what, checkov id, matched text) of the settings written in ``text``."""
    if _TEXT_HINTS.search(text) is None:
        return
    for pattern, family, what, checkov in _TEXT_PATTERNS:
        found = pattern.search(text)
        if found is not None:
            yield family, what, checkov, found.group().strip()


# --------------------------------------------------------------------------------------------
# the walk


def _literal(raw: str, escape: str) -> str | None:
    done = expand(raw, {}, escape)
    if done is None or done[1] or "$" in raw:
        return None
    return done[0]


def _assignments(inst: Instruction) -> list[tuple[str, str]]:
    eff = inst.effective
    if eff.name == "ENV":
        return list(inst.pairs())
    if eff.name == "ARG":
        return [(k, v) for k, sep, v in (w.partition("=") for w in eff.values) if sep]
    return []


def _from_instructions(ctx: DockerfileContext) -> Iterator[Bypass]:
    wanted = needed(ctx)
    known = scopes(ctx)
    for stage in ctx.build.stages:
        if stage.index not in wanted:
            continue
        for inst in stage.instructions:
            scope = known.at(inst)
            for name, raw in _assignments(inst):
                value = _literal(raw, ctx.tree.escape)
                if value is None and scope is not None:
                    value = resolve_word(raw, scope, ctx.tree.escape)
                found = _variable_bypass(name, value) if value is not None else None
                if found is not None:
                    yield Bypass(found.family, f"{inst.effective.name} {name}={value}",
                                 found.checkov, inst, stage, locate_key(inst, name))  # fmt: skip
            eff = inst.effective
            if eff.name in ("COPY", "ADD") or (eff.name == "RUN" and not heredocs_are_script(inst)):
                for doc in eff.heredocs:
                    for family, what, checkov, matched in _text_bypasses(doc.content):
                        yield Bypass(family, f"{eff.name} heredoc with {what}", checkov, inst,
                                     stage, inst.locate(matched))  # fmt: skip


def _command_env(cmd: SimpleCommand) -> Iterator[tuple[str, str]]:
    yield from cmd.env
    if cmd.name in ("export", "declare", "typeset", "local", "readonly"):
        for word in cmd.argv[1:]:
            name, eq, value = word.partition("=")
            if eq:
                yield name, value


def _from_run(run: Run) -> Iterator[Bypass]:
    inst, stage = run.instruction, run.stage
    seen: set[tuple[str, str]] = set()
    for cmd in run.script.commands:
        for name, value in _command_env(cmd):
            found = _variable_bypass(name, value) if "$" not in value else None
            if found is None or (name, value) in seen:
                continue
            seen.add((name, value))
            at = cmd.raw.find(f"{name}=")
            span = offset_span(run, cmd.start + at, cmd.start + at + len(name)) if at >= 0 else None
            yield Bypass(found.family, f"{name}={value}", found.checkov, inst, stage, span)
        for finder in _finders(cmd.name):
            for hit in finder(cmd):
                yield Bypass(hit.family, hit.what, hit.checkov, inst, stage,
                             word_span(run, cmd, hit.word))  # fmt: skip
        for index, text in _texts_of(cmd):
            for family, what, checkov, _ in _text_bypasses(text):
                yield Bypass(family, f"{cmd.name} writing {what}", checkov, inst, stage,
                             word_span(run, cmd, index))  # fmt: skip


_DOWNLOADERS = frozenset({"curl", "wget", "wget2"})
_MANAGERS = frozenset(
    {*_APT, *_RPM_MANAGERS, "apk", "zypper", "config-manager", "yum-config-manager"}
)
Finder = Callable[[SimpleCommand], Iterator[_Found]]


@lru_cache(maxsize=1024)
def _finders(name: str) -> tuple[Finder, ...]:
    """The finders that may find something in a command of that name (most find nothing)."""
    found: list[Finder] = []
    if name in _DOWNLOADERS:
        found.append(_curl_wget)
    if name in _MANAGERS:
        found.append(_package_managers)
    found.append(_configs)
    return tuple(found)


def bypasses(ctx: DockerfileContext) -> list[Bypass]:
    """Every bypass of the stages the target needs (computed once for both rules)."""
    return ctx.memo("security.bypasses", _bypasses)


def _bypasses(ctx: DockerfileContext) -> list[Bypass]:
    found = list(_from_instructions(ctx))
    for run in needed_runs(ctx):
        found.extend(_from_run(run))
    found.sort(key=lambda b: (b.instruction.start_line, b.span.column if b.span else 0))
    return found
