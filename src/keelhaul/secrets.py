"""The one secret detector of keelhaul: names, values, text blobs and file paths; redaction.

Dockerfile rules, the build-context reader and the image analysers all ask this module, so a
token format or a false alarm is fixed once for every artefact:

* :func:`find_secrets` scans a text blob (a RUN script, a file's head) for secrets whose format
  says what they are: cloud and forge tokens (``AKIA...``, ``ghp_...``, ``glpat-...``), PEM
  private keys, JWTs, passwords in URLs and ``Authorization`` headers. Work is bounded: at most
  :data:`MAX_SCAN_CHARS` characters and :data:`MAX_SECRETS` results.
* :func:`assignment_secret` judges ``NAME=value`` (ENV, ARG, a ``.env`` line, a YAML key): a
  known format in the value, or a secret-like name with a value that is not a reference, a
  path, a switch or a placeholder. ``GPG_KEY=<fingerprint>`` (the official images' pattern),
  ``*_KEY_FILE``, ``$VAR`` references and empty values are not secrets.
* :func:`secret_file` and :func:`content_shows_secret` classify file paths (``.env``,
  ``id_rsa``, ``*.pem``, ``.npmrc``, ``.aws/credentials``...) and confirm them from content.
* :func:`redact` and :func:`redact_text` give what a message may show: a format's public
  prefix (``ghp_…``) or two characters of a long value, never the secret.

A :class:`Secret` carries offsets and a redacted form, never the value, so printing one cannot
leak it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

__all__ = [
    "MAX_SCAN_CHARS",
    "MAX_SECRETS",
    "Secret",
    "SecretFile",
    "SecretFileKind",
    "StreamRedactor",
    "assignment_secret",
    "content_shows_secret",
    "find_secrets",
    "find_secrets_in_bytes",
    "is_reference",
    "is_secret_name",
    "mask_text",
    "may_be_secret_value",
    "redact",
    "redact_text",
    "secret_file",
    "secret_folder",
    "secret_spans",
]

#: Characters of a text blob that :func:`find_secrets` looks at; the rest is not scanned.
MAX_SCAN_CHARS = 1_000_000
#: Secrets :func:`find_secrets` reports for one blob at most.
MAX_SECRETS = 64
#: What replaces the hidden part of a redacted value.
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret found in a text: what it is, where (``text[start:end]``), and how to show it."""

    kind: str
    """A stable identifier: ``aws-access-key-id``, ``github-token``, ``url-password``..."""
    label: str
    """For messages: ``a GitHub token``."""
    start: int
    end: int
    redacted: str
    """The most a message may show of it (``ghp_…``)."""


# --------------------------------------------------------------------------------------------
# known formats

#: (kind, label, pattern, public prefix). The prefix is what the format makes public and
#: what redaction keeps; patterns are anchored so that a token inside a longer word is no token.
_FORMATS: tuple[tuple[str, str, str, str], ...] = (
    ("aws-access-key-id", "an AWS access key ID",
     r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])", ""),
    ("github-token", "a GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])", ""),
    ("github-token", "a GitHub token",
     r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])", "github_pat_"),
    ("gitlab-token", "a GitLab token",
     r"gl(?:pat|dt|rt|ptt|cbt|oas|ft)-[A-Za-z0-9_\-]{20,}(?![A-Za-z0-9_\-])", ""),
    ("slack-token", "a Slack token", r"xox[abposre]-[A-Za-z0-9\-]{10,}(?![A-Za-z0-9\-])", ""),
    ("slack-webhook", "a Slack webhook URL",
     r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
     "https://hooks.slack.com/services/"),
    ("stripe-key", "a Stripe live key", r"(?:sk|rk)_live_[A-Za-z0-9]{20,}(?![A-Za-z0-9])", ""),
    ("google-api-key", "a Google API key", r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])", "AIza"),
    ("npm-token", "an npm token", r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", "npm_"),
    ("pypi-token", "a PyPI token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", "pypi-"),
    ("docker-hub-token", "a Docker Hub access token",
     r"dckr_pat_[A-Za-z0-9_\-]{27,}(?![A-Za-z0-9_\-])", "dckr_pat_"),
    ("anthropic-key", "an Anthropic API key",
     r"sk-ant-[a-z]{3,5}\d{2}-[A-Za-z0-9_\-]{80,}", "sk-ant-"),
    ("openai-key", "an OpenAI API key",
     r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,}", "sk-"),
    ("huggingface-token", "a Hugging Face token", r"hf_[A-Za-z]{34}(?![A-Za-z0-9])", "hf_"),
    ("sendgrid-key", "a SendGrid API key",
     r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])", "SG."),
    ("private-key", "a private key",
     r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", ""),
    ("jwt", "a JSON Web Token",
     r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", "eyJ"),
)  # fmt: skip
#: Literal text each format contains: a cheap ``in`` test skips the formats a text cannot hold
#: (most texts hold none), so the regular expressions run only where they may match.
_ANCHORS: tuple[tuple[str, ...], ...] = (
    ("AKIA", "ASIA", "ABIA", "ACCA"),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ("github_pat_",),
    ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-", "glft-"),
    ("xox",),
    ("hooks.slack.com",),
    ("_live_",),
    ("AIza",),
    ("npm_",),
    ("pypi-",),
    ("dckr_pat_",),
    ("sk-ant-",),
    ("T3BlbkFJ",),
    ("hf_",),
    ("SG.",),
    ("PRIVATE KEY",),
    ("eyJ",),
)
_ANY_ANCHOR = re.compile("|".join(re.escape(a) for anchors in _ANCHORS for a in anchors))
#: A token must not continue a word on its left (``xAKIA...`` is not an AWS key).
_LEFT = r"(?<![A-Za-z0-9_\-])"


@lru_cache(maxsize=64)
def _format_re(indexes: tuple[int, ...]) -> re.Pattern[str]:
    """One expression for the formats ``indexes`` (group ``f<i>`` for format i)."""
    return re.compile("|".join(f"(?P<f{i}>{_LEFT}{_FORMATS[i][2]})" for i in indexes))


#: Prefixes redaction may keep for formats whose prefix varies (``ghp_``, ``glpat-``, ``AKIA``).
_VARIABLE_PREFIX = re.compile(
    r"\A(?:gh[pousr]_|gl(?:pat|dt|rt|ptt|cbt|oas|ft)-|xox[abposre]-|(?:sk|rk)_live_"
    r"|AKIA|ASIA|ABIA|ACCA|-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
)
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
#: A private key block is at most this long; past it, only the header is the match.
_MAX_PEM_CHARS = 16_384

#: Secrets a format alone does not reveal: the words around them do. Group 1 is the secret;
#: the last item lists lower-case text one of which the blob must hold for the pattern to run.
_CONTEXTUAL: tuple[tuple[str, str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("aws-secret-access-key", "an AWS secret access key", re.compile(
        r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*(?:[:=]|\s)\s*[\"']?"
        r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"), ("secret",)),
    ("url-password", "a password in a URL", re.compile(
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,15}://[^/\s:@\"'`]{1,128}:([^/\s@\"'`]{1,256})@"), ("@",)),
    ("authorization-header", "an Authorization header", re.compile(
        r"(?i)\bauthorization:\s*(?:bearer|token|basic)\s+([A-Za-z0-9._~+/=\-]{12,})"),
     ("authorization",)),
    ("api-key-header", "an API key header", re.compile(
        r"(?i)\b(?:private-token|x-api-key|api-key|x-auth-token|x-access-token):\s*"
        r"([A-Za-z0-9._\-]{12,})"), ("token:", "key:")),
    ("npm-auth", "an npm registry credential", re.compile(
        r"(?:_authToken|_auth|_password)\s*=\s*[\"']?([^\s\"'`;&|]{8,})"), ("_auth", "_password")),
    ("netrc-password", "a .netrc password", re.compile(
        r"(?i)\bmachine\s+\S+\s+login\s+\S+\s+password\s+([^\s\"'`;&|]+)"), ("machine",)),
    ("azure-storage-key", "an Azure storage account key", re.compile(
        r"AccountKey=([A-Za-z0-9+/]{80,}={0,2})"), ("accountkey=",)),
)  # fmt: skip

#: Values documentation uses in place of a secret (AWS's own examples end in EXAMPLE).
_PLACEHOLDER = re.compile(
    r"(?i)example|placeholder|changeme|change_me|dummy|fake|redacted|your[_\-]?(?:own[_\-]?)?"
    r"(?:api|token|key|secret|pass)|xxxx|\*\*\*|\.\.\.|<[^>]*>|\{\{|%[A-Z_]+%|insert[_\-]"
)
_TRIVIAL_URL_PASSWORDS = frozenset({"password", "pass", "passwd", "pwd", "secret", "x", "xx"})


#: A reference: ``${VAR}`` or ``$(cmd)`` anywhere, ``$VAR`` (``$1``, ``$@``) at the start or
#: after a character that is no letter or digit (``$HOME/x``, ``user:$PW``). A ``$`` inside a
#: run of letters and digits (``Xk9#mQ2$vL7pR4wZ``) is a character of a random password.
_REFERENCE = re.compile(r"\$[{(]|(?<![A-Za-z0-9])\$[A-Za-z0-9_@*#?!]")


def is_reference(value: str) -> bool:
    """``$VAR``, ``${VAR}``, ``%VAR%``, ``$(cmd)``: the secret is elsewhere. ``$$`` is the
    literal ``$`` of Compose, make and env files, no reference."""
    if value.startswith("%") and value.endswith("%") and len(value) > 2:
        return True
    return _REFERENCE.search(value.replace("$$", "")) is not None


def find_secrets(text: str, limit: int = MAX_SECRETS) -> list[Secret]:
    """Secrets of a known format or context in ``text``, in order of position.

    Only the first :data:`MAX_SCAN_CHARS` characters are scanned, and at most ``limit`` secrets
    are returned. Values that are variable references or documentation placeholders are not
    secrets.
    """
    if len(text) > MAX_SCAN_CHARS:
        text = text[:MAX_SCAN_CHARS]
    found: list[Secret] = []
    candidates: tuple[int, ...] = ()
    if _ANY_ANCHOR.search(text) is not None:
        candidates = tuple(
            i for i, anchors in enumerate(_ANCHORS) if any(a in text for a in anchors)
        )
    matches = _format_re(candidates).finditer(text) if candidates else iter(())
    for match in matches:
        index = int(next(k for k, v in match.groupdict().items() if v is not None)[1:])
        kind, label, _, _ = _FORMATS[index]
        start, end = match.span()
        value = match.group()
        if kind == "private-key":
            close = _PEM_END.search(text, end, min(len(text), start + _MAX_PEM_CHARS))
            end = close.end() if close is not None else end
        elif _PLACEHOLDER.search(value):
            continue
        found.append(Secret(kind, label, start, end, redact(value)))
        if len(found) >= limit:
            break
    lowered = text.lower()
    for kind, label, pattern, hints in _CONTEXTUAL:
        if len(found) >= limit:
            break
        if not any(h in lowered for h in hints):
            continue  # cheap test first: most texts have none of these words
        for match in pattern.finditer(text):
            group = next(i for i in range(1, (pattern.groups or 1) + 1) if match.group(i))
            value = match.group(group)
            if is_reference(value) or _PLACEHOLDER.search(value) or ELLIPSIS in value:
                continue
            if kind == "url-password" and value.lower() in _TRIVIAL_URL_PASSWORDS:
                continue
            start, end = match.span(group)
            if any(s.start <= start < s.end for s in found):
                continue  # already found as a token of known format
            found.append(Secret(kind, label, start, end, redact(value)))
            if len(found) >= limit:
                break
    found.sort(key=lambda s: s.start)
    return found


def find_secrets_in_bytes(data: bytes, limit: int = MAX_SECRETS) -> list[Secret]:
    """:func:`find_secrets` on a file's bytes (UTF-8, undecodable bytes replaced); offsets are
    into the decoded text of the first :data:`MAX_SCAN_CHARS` bytes."""
    return find_secrets(data[:MAX_SCAN_CHARS].decode("utf-8", "replace"), limit)


# --------------------------------------------------------------------------------------------
# names and values

#: Words of a variable name that make its value a secret.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pass", "pwd", "pswd", "passphrase", "secret", "secrets",
        "token", "tokens", "apikey", "credential", "credentials", "creds", "auth", "privatekey",
        "accesskey", "secretkey", "key", "keys", "pat", "sas",
    }
)  # fmt: skip
#: A name word ending so also counts (``ROOTPASS``, ``DBPASSWORD``, ``GHTOKEN``).
_SECRET_SUFFIXES = ("password", "passwd", "pass", "secret", "token", "apikey", "privatekey")
#: Words that end in a secret word but are none (``BYPASS``, ``KEEPASSXC``).
_NOT_SECRET_WORDS = frozenset(
    {"bypass", "compass", "surpass", "overpass", "underpass", "trespass", "keepass", "monkey"}
)
#: Words that make the whole name something else: a file or place holding the secret, its
#: size, its name, a public key, a switch. ``GPG_KEY`` is the official images' fingerprint.
_EXCLUDING_WORDS = frozenset(
    {
        "gpg", "pgp", "gnupg", "public", "pub", "fingerprint", "fingerprints", "keyserver",
        "keyservers", "server", "servers", "keyring", "keyid", "id", "ids", "file", "files",
        "filename", "path", "paths", "dir", "directory", "folder", "location", "url", "uri",
        "urls", "endpoint", "host", "hostname", "port", "name", "names", "prefix", "suffix",
        "length", "len", "size", "bits", "type", "algorithm", "alg", "format", "version",
        "ttl", "timeout", "expiry", "expires", "expiration", "lifetime", "rotation", "header",
        "field", "column", "count", "max", "min", "enabled", "enable", "disable", "disabled",
        "required", "mode", "policy", "provider", "method", "strategy", "backend", "plugin",
        "realm", "issuer", "audience", "scope", "scopes", "domain", "callback", "redirect",
        "user", "username", "login", "email", "cache", "sort", "partition", "primary",
        "foreign", "sha", "sha1", "sha256", "sha512", "checksum", "md5", "hash", "dummy",
        "fake", "example", "sample", "placeholder", "store", "vault", "secretsmanager", "ref",
        "arn", "region", "level", "regex", "pattern", "rounds", "iterations", "complexity",
        "strength", "sock", "socket", "role", "roles",
    }
)  # fmt: skip
#: Whole names that look secret but are not (the shell's working directory).
_NOT_SECRET_NAMES = frozenset({"pwd", "oldpwd"})
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SWITCHES = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "undefined", "enabled",
     "disabled", "0", "1", "required", "optional", "value", "values", "string", "text"}
)  # fmt: skip
_PATH = re.compile(r"\A(?:/|\./|\.\./|~/|[A-Za-z]:[\\/]|\\\\)")
_PLAIN_URL = re.compile(r"\A[a-zA-Z][a-zA-Z0-9+.\-]*://[^@\s]*\Z")


def _name_words(name: str) -> list[str]:
    """``dbPassword`` -> [db, password]; ``AWS_SECRET_ACCESS_KEY`` -> [aws, secret, access, key]."""
    return [w.lower() for w in _NAME_WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a variable or key name says its value is a secret (password, token, API key...)."""
    if name.lower() in _NOT_SECRET_NAMES:
        return False
    words = _name_words(name)
    if any(w in _EXCLUDING_WORDS for w in words):
        return False
    return any(
        w in _SECRET_WORDS or (w.endswith(_SECRET_SUFFIXES) and w not in _NOT_SECRET_WORDS)
        for w in words
    )


def may_be_secret_value(value: str) -> bool:
    """Whether a value could be a secret: not empty, a reference (``${DB_PASSWORD}``,
    ``$(cat f)``), a path (``/run/secrets/db``), a switch or a URL without credentials, not a
    placeholder (``changeme``, ``<password>``, ``{{ .Values.pw }}``, ``xxx``: one character
    repeated) and at least three characters long. A random password holding ``$``, ``#`` or
    other punctuation (``Xk9#mQ2$vL7pR4wZ``) is one."""
    value = value.strip().strip("'\"").strip()
    if len(value) < 3 or value.lower() in _SWITCHES or len(set(value.lower())) == 1:
        return False  # too short, a switch, or one character repeated (xxx, ***, 000)
    if is_reference(value) or _PATH.match(value) or _PLAIN_URL.match(value):
        return False
    return _PLACEHOLDER.search(value) is None


#: OpenPGP fingerprints (40 hex digits, maybe in groups of 4) and long key IDs, one or more:
#: what ``GPG_KEY``, ``key=`` and ``KEYS=`` hold in the official images' Dockerfiles.
_FINGERPRINTS = re.compile(
    r"(?:(?:0x)?(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{16}|(?:[0-9A-Fa-f]{4}\s{1,2}){9}[0-9A-Fa-f]{4})"
    r"[\s,;]*)+"
)


#: Words of names that hold signing keys' fingerprints (``key``, ``RELEASE_KEYS``).
_SIGNING_KEY_WORDS = frozenset(
    {"key", "keys", "release", "releases", "signing", "sign", "signer", "signers",
     "maintainer", "maintainers", "upstream", "repo", "repository", "apt", "deb", "rpm"}
)  # fmt: skip


def _only_key_words(name: str) -> bool:
    """The name says no more than a signing key (``key``, ``RELEASE_KEYS``), not an API key."""
    return all(w in _SIGNING_KEY_WORDS or w.isdigit() for w in _name_words(name))


def _names_itself(name: str, value: str) -> bool:
    """The value is its variable's name and a few characters more (``GOOGLE_API_KEY_VAL``,
    ``<PASSWORD>``): a placeholder. ``PASSWORD=MyStrongLoginPassword`` holds a passphrase
    around the word: a secret."""
    low = value.lower()
    if name.lower() not in low:
        return False
    rest = re.sub(r"[^a-z0-9]", "", low.replace(name.lower(), "", 1))
    return len(rest) <= 5


def assignment_secret(name: str, value: str) -> str | None:
    """What ``name=value`` holds (``a GitHub token``, ``a secret``), or None when no secret.

    A value of a known format is a secret whatever its name; otherwise the name must say so
    (:func:`is_secret_name`) and the value must be one (:func:`may_be_secret_value`). A key
    name holding OpenPGP fingerprints (``key='B97B0AFC...'``) is public, not a secret.
    """
    found = find_secrets(value, limit=1)
    if found:
        return found[0].label
    if not is_secret_name(name) or not may_be_secret_value(value):
        return None
    if len(name) >= 6 and _names_itself(name, value):
        return None  # GOOGLE_API_KEY=GOOGLE_API_KEY_VAL: a placeholder naming its variable
    if _only_key_words(name) and _FINGERPRINTS.fullmatch(value.strip().strip("'\"").strip()):
        return None
    return "a secret"


# --------------------------------------------------------------------------------------------
# redaction


def redact(value: str) -> str:
    """The most of a secret a message may show.

    A known format keeps its public prefix (``ghp_…``, ``AKIA…``, the PEM header); a value of
    12 characters or more keeps its first two; anything shorter shows nothing but ``…``.
    """
    value = value.strip()
    prefix = _VARIABLE_PREFIX.match(value)
    if prefix is not None:
        return prefix.group() + ELLIPSIS
    for _, _, _, fixed in _FORMATS:
        if fixed and value.startswith(fixed) and len(value) > len(fixed) + 8:
            return fixed + ELLIPSIS
    return value[:2] + ELLIPSIS if len(value) >= 12 else ELLIPSIS


#: ``NAME=value`` (ENV, ARG, a shell or ``.env`` assignment, ``--build-arg``), the legacy
#: ``ENV NAME value`` form, and with ``yaml=True`` ``name: value`` / ``"name": "value"``.
_ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9_\-.$])([A-Za-z_][A-Za-z0-9_.\-]{0,127})=(\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'"
    r"|[^\s\"'`;&|,)}\]\\]{1,4096})"
    r"|\bENV[ \t]+([A-Za-z_][A-Za-z0-9_.\-]{0,127})[ \t]+([^\s=\"'`\\]{1,4096})[ \t]*$",
    re.MULTILINE,
)
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_\-.])[\"']?([A-Za-z_][A-Za-z0-9_.\-]{0,127})[\"']?[ \t]*:[ \t]+"
    r"(\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"'#,{}\[\]][^\n#,{}\[\]]{0,4095})"
)
#: A rule code right before ``name: ...`` (``KH430 secret-in-env: ...``): a report's headline.
_RULE_BEFORE = re.compile(r"\b(?:KH\d{3}|SC\d{4}|DL\d{4})[ \t]+$")
#: A Kubernetes or Compose ``name: X`` / ``value: Y`` pair (block or flow style).
_NAME_VALUE = re.compile(
    r"\bname[\"']?[ \t]*:[ \t]*[\"']?([A-Za-z_][A-Za-z0-9_.\-]{0,127})[\"']?[ \t]*(?:,|\n)"
    r"[ \t\-]*[\"']?value[\"']?[ \t]*:[ \t]*(\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'"
    r"|[^\s\"'#,{}\[\]][^\n#,{}\[\]]{0,4095})"
)
#: Passwords given on a command line (``--password=x``, ``-pass x``, ``mysql -px``): what the
#: Dockerfile rules report with the command's name, and what a report must hide.
_PASSWORD_OPTION = re.compile(r"(?<!\S)--?pass(?:word|wd)?[= ][\"']?([^\s\"'`;&|\\]{3,})")
_MYSQL_PASSWORD = re.compile(
    r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n;&|]{0,200}?\s-p"
    r"([^\s\"'`;&|\\]{3,})"
)
#: How much text :func:`secret_spans` scans at once; longer texts go in windows of lines.
_WINDOW = MAX_SCAN_CHARS // 4


def _value_span(match: re.Match[str], group: int) -> tuple[int, int, str] | None:
    """The value of an assignment match without its quotes and trailing blanks."""
    start, end = match.span(group)
    value = match.group(group)
    stripped = value.rstrip()
    end -= len(value) - len(stripped)
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        start, end, stripped = start + 1, end - 1, stripped[1:-1]
    if not stripped or ELLIPSIS in stripped:
        return None  # empty, or already redacted
    return start, end, stripped


#: A word of a secret name somewhere (``PASSWORD``, ``GH_TOKEN``, ``API_KEY``, ``GITHUB_PAT``):
#: only the lines holding one (and the line after, for ``name:``/``value:`` pairs) are read
#: for assignments, so a text with no secret name costs one scan.
_SECRET_HINT = re.compile(
    r"pass|pwd|pswd|secret|token|key|auth|cred|private|(?<![a-z])(?:pat|sas)(?![a-z])"
)


def _hinted_windows(text: str) -> list[tuple[int, int]]:
    """(start, end) of the lines with a secret word, each with the line after; merged."""
    windows: list[tuple[int, int]] = []
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: ASCII only
        lowered = "".join(ch.lower() if ch.isascii() else ch for ch in text)
    for hint in _SECRET_HINT.finditer(lowered):
        if windows and hint.start() < windows[-1][1]:
            continue
        start = text.rfind("\n", 0, hint.start()) + 1
        end = text.find("\n", hint.end())
        end = len(text) if end < 0 else text.find("\n", end + 1)
        end = len(text) if end < 0 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _assignment_spans(text: str, yaml: bool) -> list[Secret]:
    """Values of assignments whose name says secret (a value of a known format is
    :func:`find_secrets`' business, with a tighter span)."""
    out: list[Secret] = []
    patterns: list[tuple[re.Pattern[str], tuple[tuple[int, int], ...]]] = []
    if "=" in text or "ENV" in text:
        patterns.append((_ASSIGNMENT, ((1, 2), (3, 4))))
    if yaml and ":" in text:
        patterns += [(_KEY_VALUE, ((1, 2),)), (_NAME_VALUE, ((1, 2),))]
    for lo, hi in _hinted_windows(text) if patterns else ():
        for pattern, groups in patterns:
            for match in pattern.finditer(text, lo, hi):
                if pattern is _KEY_VALUE and _RULE_BEFORE.search(
                    text, max(0, match.start() - 16), match.start()
                ):
                    continue  # `KH430 secret-in-env: ...`: a finding's headline, not a key
                for name_group, value_group in groups:
                    name = match.group(name_group)
                    if name is None or not is_secret_name(name):
                        continue
                    span = _value_span(match, value_group)
                    if span is None:
                        continue
                    start, end, value = span
                    if find_secrets(value, limit=1):
                        continue  # a known format: found (and redacted) as itself, no wider
                    label = assignment_secret(name, value)
                    if label is not None:
                        out.append(Secret("assignment", label, start, end, redact(value)))
    lowered = text.lower()
    options = [_PASSWORD_OPTION] if "-pass" in lowered else []
    if "mysql" in lowered or "mariadb" in lowered:
        options.append(_MYSQL_PASSWORD)
    for pattern in options:
        for match in pattern.finditer(text):
            value = match.group(1)
            if is_reference(value) or _PLACEHOLDER.search(value) or ELLIPSIS in value:
                continue
            start, end = match.span(1)
            out.append(Secret("password-option", "a password", start, end, redact(value)))
    return out


def _windows(text: str) -> list[tuple[int, str]]:
    """``text`` cut at line ends into pieces of at most about :data:`_WINDOW` characters."""
    if len(text) <= _WINDOW:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    at = 0
    while at < len(text):
        cut = text.rfind("\n", at, at + _WINDOW)
        cut = at + _WINDOW if cut <= at else cut + 1
        out.append((at, text[at:cut]))
        at = cut
    return out


_KEY_BODY_LINE = re.compile(r"[ \t\\]*\n[+\- ]?[ \t]*[A-Za-z0-9+/=]{16,}")
_KEY_REST = re.compile(r"[A-Za-z0-9+/=]*")


def _key_body_end(text: str, end: int) -> int:
    """Where a private key block with no end line stops: the rest of the header's word, then
    every following line that is all base64."""
    if _PEM_END.search(text[max(0, end - 80) : end]) is not None:
        return end  # the block's end line is in the match
    rest = _KEY_REST.match(text, end)
    end = rest.end() if rest is not None else end
    while (line := _KEY_BODY_LINE.match(text, end)) is not None:
        end = line.end()
    return end


def secret_spans(text: str, *, yaml: bool = False) -> list[Secret]:
    """Every secret in ``text`` a report must not show, in order, not overlapping.

    What :func:`find_secrets` sees (known formats, passwords in URLs, headers and command
    lines) and the values of assignments whose name or value says secret
    (:func:`assignment_secret`): ``ARG NPM_TOKEN=...``, ``ENV DB_PASSWORD hunter2``, and with
    ``yaml`` also ``password: ...`` and Kubernetes ``name: DB_PASSWORD`` / ``value: ...``
    pairs. The whole text is scanned (in windows of lines), with no limit on the count.
    """
    found: list[Secret] = []
    for offset, piece in _windows(text):
        spans = find_secrets(piece, limit=len(piece) + 1) + _assignment_spans(piece, yaml)
        for s in spans:
            end = s.end
            if s.kind == "private-key" and piece.startswith(ELLIPSIS, end):
                continue  # shown redacted already
            if (
                s.kind == "private-key"
                and _PEM_END.match(piece, end - 64 if end > 64 else 0) is None
            ):
                end = _key_body_end(piece, end)
            found.append(Secret(s.kind, s.label, s.start + offset, end + offset, s.redacted))
    found.sort(key=lambda s: (s.start, -s.end))
    out: list[Secret] = []
    for secret in found:
        if out and secret.start < out[-1].end:
            if secret.end > out[-1].end:  # overlapping: one span covering both
                last = out[-1]
                out[-1] = Secret(last.kind, last.label, last.start, secret.end, last.redacted)
            continue
        out.append(secret)
    return out


def redact_text(text: str, *, yaml: bool = False) -> str:
    """``text`` with every secret :func:`secret_spans` sees replaced by its redacted form."""
    spans = secret_spans(text, yaml=yaml)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for secret in spans:
        parts.append(text[at : secret.start])
        parts.append(secret.redacted)
        at = secret.end
    parts.append(text[at:])
    return "".join(parts)


#: What stands for each hidden character in :func:`mask_text`.
MASK = "*"


def mask_text(text: str, *, yaml: bool = False) -> str:
    """``text`` with every secret hidden character for character: the redacted form's public
    prefix, then :data:`MASK` up to the secret's length, line ends kept. Columns do not move,
    so a report can still draw its markers under a source line."""
    spans = secret_spans(text, yaml=yaml)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for secret in spans:
        parts.append(text[at : secret.start])
        value = text[secret.start : secret.end]
        keep = secret.redacted.removesuffix(ELLIPSIS)
        keep = keep if value.startswith(keep) else ""
        hidden = re.sub(r"[^\n]", MASK, value[len(keep) :])
        parts.append(keep + hidden)
        at = secret.end
    parts.append(text[at:])
    return "".join(parts)


_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


class StreamRedactor:
    """:func:`redact_text` for output written in pieces: give it whole lines.

    A private key block that a piece opens and does not close is hidden until its end line,
    in later pieces too.
    """

    def __init__(self) -> None:
        self._in_key = False

    def __call__(self, text: str) -> str:
        head: list[str] = []
        while self._in_key and text:
            line, nl, rest = text.partition("\n")
            closing = _PEM_END.search(line)
            if closing is not None:
                head.append(_hide(line[: closing.end()]) + line[closing.end() :] + nl)
                self._in_key = False
            elif _KEY_LINE.fullmatch(line):
                head.append(_hide(line) + nl)
            else:
                self._in_key = False  # not a key's line: the block ended unclosed
                break
            text = rest
        if not text:
            return "".join(head)
        opened = max(_PEM_BEGIN.finditer(text), key=lambda m: m.start(), default=None)
        if opened is not None and _PEM_END.search(text, opened.end()) is None:
            line_end = text.find("\n", opened.end())
            if line_end < 0 or not text[opened.end() : line_end].strip(" \t\\\"'"):
                # the header ends its line: the key's lines follow, in this piece or later
                self._in_key = True
                if line_end >= 0:
                    return (
                        "".join(head)
                        + redact_text(text[: line_end + 1], yaml=True)
                        + self(text[line_end + 1 :])
                    )
        return "".join(head) + redact_text(text, yaml=True)


#: A line of a private key's body as a report may show it (``+MIIE...`` in a diff,
#: `` 12 |   MIIE...\`` under a finding, ``"MIIE...",`` in JSON).
_KEY_LINE = re.compile(r"[^A-Za-z/+]*[A-Za-z0-9+/=]{16,}(?:[\"'\\,\s].*)?")


def _hide(text: str) -> str:
    return re.sub(r"[^\n]", MASK, text)


# --------------------------------------------------------------------------------------------
# files


class SecretFileKind(StrEnum):
    ENV_FILE = "env-file"  # .env, .env.production, prod.env (not .env.example)
    PRIVATE_KEY = "private-key"  # id_rsa, *.pem/*.key holding a private key, *.p12/*.pfx
    CREDENTIALS = "credentials"  # .npmrc, .netrc, .aws/credentials, kubeconfig...


@dataclass(frozen=True, slots=True)
class SecretFile:
    """What a file's path says about it."""

    kind: SecretFileKind
    label: str
    """For messages: ``an SSH private key``."""
    likely: bool
    """The name alone makes a secret likely (``id_rsa``, ``.env``); when False only the
    content can tell (a ``.pem`` may be a certificate, an ``.npmrc`` may hold no token)."""


_ENV_TEMPLATE = re.compile(r"(?i)example|sample|template|dist|default|tpl|schema|defaults")
_SSH_KEY = re.compile(r"id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?\Z")
_KEY_HINT = re.compile(r"(?i)key|priv|secret")
_TRUST_HINT = re.compile(r"(?i)trust|cacerts|public")
_PUBLIC_HINT = re.compile(r"(?i)pub|gpg|pgp|gnupg|asc|signing|archive|release|repo|licen[cs]e")
_SERVICE_ACCOUNT = re.compile(r"(?i)(?:service[_\-]?account|gcp[_\-]?key|sa[_\-]key).*\.json\Z")

#: Paths (their last one or two parts) and what they hold, when the name settles it.
_CREDENTIAL_PATHS: dict[str, tuple[str, bool]] = {
    ".git-credentials": ("a git credential store", True),
    ".netrc": ("a .netrc with login passwords", True),
    "_netrc": ("a .netrc with login passwords", True),
    ".pgpass": ("a PostgreSQL password file", True),
    ".vault-token": ("a Vault token", True),
    ".s3cfg": ("s3cmd credentials", True),
    ".dockercfg": ("Docker registry credentials", True),
    "credentials.json": ("a credentials file", True),
    "kubeconfig": ("a kubeconfig", True),
    ".aws/credentials": ("AWS credentials", True),
    ".kube/config": ("a kubeconfig", True),
    ".docker/config.json": ("Docker registry credentials", True),
    ".npmrc": ("an .npmrc (often with registry tokens)", False),
    ".pypirc": ("a .pypirc (often with PyPI credentials)", False),
    ".yarnrc.yml": ("a .yarnrc.yml (often with registry tokens)", False),
    ".aws/config": ("an AWS config", False),
}
#: Folders whose whole content is keys or credentials.
_SECRET_FOLDERS: dict[str, str] = {
    ".ssh": "an SSH folder (private keys)",
    ".gnupg": "a GnuPG home (private keys)",
    ".aws": "an AWS folder (credentials)",
    ".kube": "a kubeconfig folder",
}


def _env_file(name: str) -> bool:
    if name == ".env":
        return True
    if name.startswith(".env."):
        return not _ENV_TEMPLATE.search(name[5:])
    if name.endswith(".env") and len(name) > 4:
        return not _ENV_TEMPLATE.search(name[:-4])
    return False


def secret_file(path: str) -> SecretFile | None:
    """What a file path suggests (``/``-separated, relative or absolute), or None."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        return None
    name = parts[-1]
    lower = name.lower()
    tail = "/".join(parts[-2:])
    for key in (tail, name):
        if key in _CREDENTIAL_PATHS:
            label, likely = _CREDENTIAL_PATHS[key]
            return SecretFile(SecretFileKind.CREDENTIALS, label, likely)
    if lower.endswith(".kubeconfig") or _SERVICE_ACCOUNT.search(lower):
        return SecretFile(SecretFileKind.CREDENTIALS, "cloud credentials", True)
    if _env_file(name):
        return SecretFile(SecretFileKind.ENV_FILE, "an .env file", True)
    if _SSH_KEY.match(name):
        return SecretFile(SecretFileKind.PRIVATE_KEY, "an SSH private key", True)
    if lower.endswith((".p12", ".pfx")):
        return SecretFile(SecretFileKind.PRIVATE_KEY, "a PKCS#12 key bundle", True)
    if lower.endswith((".jks", ".keystore", ".bks")) and not _TRUST_HINT.search(lower):
        return SecretFile(SecretFileKind.PRIVATE_KEY, "a Java keystore", True)
    if lower.endswith(".ppk"):
        return SecretFile(SecretFileKind.PRIVATE_KEY, "a PuTTY private key", True)
    if lower.endswith(".key"):  # often a private key, but also PGP public keys and licences
        return SecretFile(
            SecretFileKind.PRIVATE_KEY, "a private key", not _PUBLIC_HINT.search(lower)
        )
    if lower.endswith(".pem"):
        likely = _KEY_HINT.search(lower[:-4]) is not None
        return SecretFile(SecretFileKind.PRIVATE_KEY, "a private key", likely)
    return None


def secret_folder(path: str) -> str | None:
    """What a folder holds when its name says it is all keys (``.ssh``, ``.gnupg``), or None."""
    name = path.replace("\\", "/").rstrip("/").rpartition("/")[2]
    return _SECRET_FOLDERS.get(name)


_CONTENT_MARKERS: dict[SecretFileKind, re.Pattern[bytes]] = {
    SecretFileKind.PRIVATE_KEY: re.compile(
        rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key"
    ),
    SecretFileKind.CREDENTIALS: re.compile(
        rb"(?i)_authToken\s*=|_auth\s*=|_password\s*=|npmAuthToken|^\s*password\s*[=:]|"
        rb"\bpassword\s+\S|aws_secret_access_key|\"auths\"|client-key-data|\btoken:\s*\S|"
        rb"\"private_key\"|https?://[^/\s:@]+:[^/\s@]+@",
        re.MULTILINE,
    ),
}


def content_shows_secret(kind: SecretFileKind, head: bytes) -> bool:
    """Whether the first bytes of a file confirm it holds a secret of ``kind``.

    A private key file must contain a private key block (a ``.pem`` certificate does not); a
    credentials file must hold a token or password (an ``.npmrc`` with only ``registry=`` does
    not). An ``.env`` file is taken as secret when it is not empty.
    """
    if kind is SecretFileKind.ENV_FILE:
        return bool(head.strip())
    marker = _CONTENT_MARKERS[kind]
    return marker.search(head) is not None
