"""The secret detector: token formats, names and values, files, redaction, bounds."""

from __future__ import annotations

import time

import pytest

from keelhaul.secrets import (
    MAX_SCAN_CHARS,
    SecretFileKind,
    assignment_secret,
    content_shows_secret,
    find_secrets,
    find_secrets_in_bytes,
    is_secret_name,
    may_be_secret_value,
    redact,
    redact_text,
    secret_file,
    secret_folder,
)

# Built from parts so that this file holds no token a scanner would report.
GITHUB = "ghp_" + "Zq8" * 12
GITHUB_PAT = "github_pat_" + "A1b2" * 5 + "Cd" + "_" + "x9Y8z7" * 9 + "W6v5u"
GITLAB = "glpat-" + "Xy7_kL9mN2pQ4rS6tU8v"
AWS_ID = "AKIA" + "Z7Q2M4N6P8R1T3V5"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Q8z6t4R2p0"
SLACK = "xoxb-" + "1234567890-0987654321-" + "AbCdEfGhIjKlMnOpQrStUv"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE = "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
NPM = "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = (
    "eyJhbGciOiJIUzI1NiJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
PEM = (
    "-----BEGIN OPENSSH "
    + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
)
DOCKER_HUB = "dckr_pat_" + "Xy7kL9mN2pQ4rS6tU8vW0xY2zA4"
HUGGING_FACE = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"

KNOWN = [
    (GITHUB, "github-token", "ghp_…"),
    (GITHUB_PAT, "github-token", "github_pat_…"),
    (GITLAB, "gitlab-token", "glpat-…"),
    (AWS_ID, "aws-access-key-id", "AKIA…"),
    (SLACK, "slack-token", "xoxb-…"),
    (STRIPE, "stripe-key", "sk_live_…"),
    (GOOGLE, "google-api-key", "AIza…"),
    (NPM, "npm-token", "npm_…"),
    (JWT, "jwt", "eyJ…"),
    (PEM, "private-key", "-----BEGIN OPENSSH PRIVATE KEY-----…"),
    (DOCKER_HUB, "docker-hub-token", "dckr_pat_…"),
    (HUGGING_FACE, "huggingface-token", "hf_…"),
]


@pytest.mark.parametrize(("secret", "kind", "shown"), KNOWN, ids=[k for _, k, _ in KNOWN])
def test_known_formats_are_found_and_redacted(secret: str, kind: str, shown: str) -> None:
    text = f"RUN some-tool --flag '{secret}' && echo done"
    found = find_secrets(text)
    assert [s.kind for s in found] == [kind]
    assert text[found[0].start : found[0].end] == secret
    assert found[0].redacted == shown
    assert secret not in repr(found[0])
    assert secret not in redact_text(text)
    assert shown in redact_text(text)


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        (f"aws configure set aws_secret_access_key {AWS_SECRET}", "aws-secret-access-key",
         AWS_SECRET),
        (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "aws-secret-access-key", AWS_SECRET),
        ("git clone https://ci:s3cr3t-Passw0rd@git.example.com/x.git", "url-password",
         "s3cr3t-Passw0rd"),
        ("curl -H 'Authorization: Bearer abcdef0123456789abcdef'", "authorization-header",
         "abcdef0123456789abcdef"),
        ("curl -H 'PRIVATE-TOKEN: abcdef0123456789'", "api-key-header", "abcdef0123456789"),
        ("echo //registry.npmjs.org/:_authToken=abcdef0123456789 > .npmrc", "npm-auth",
         "abcdef0123456789"),
        ("machine github.com login bot password hunter2hunter2", "netrc-password",
         "hunter2hunter2"),
    ],
)  # fmt: skip
def test_secrets_known_by_their_context(text: str, kind: str, secret: str) -> None:
    found = find_secrets(text)
    assert [s.kind for s in found] == [kind]
    assert text[found[0].start : found[0].end] == secret
    assert secret not in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation key
        "x" + AWS_ID,  # inside a longer word
        "ghp_tooshort",
        "git clone https://ci:${TOKEN}@git.example.com/x.git",
        "git clone https://user:password@git.example.com/x.git",  # a placeholder
        'curl -H "Authorization: Bearer $TOKEN"',
        "echo //registry.npmjs.org/:_authToken=${NPM_TOKEN} > .npmrc",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBIjANBg\n-----END CERTIFICATE-----",
        "sk_live_" + "xxxxxxxxxxxxxxxxxxxxxxxx",  # a placeholder
        "https://example.com/path?x=1",
        "",
    ],
)
def test_no_secret_in(text: str) -> None:
    assert find_secrets(text) == []


def test_bytes_are_scanned_as_utf8() -> None:
    data = b"\xff\xfe binary " + GITHUB.encode() + b" \x00"
    [secret] = find_secrets_in_bytes(data)
    assert secret.kind == "github-token"
    assert find_secrets_in_bytes(b"\x00" * 10) == []


def test_scanning_is_bounded() -> None:
    far = "a" * MAX_SCAN_CHARS + " " + GITHUB
    assert find_secrets(far) == []
    many = " ".join([GITHUB] * 200)
    assert len(find_secrets(many, limit=10)) == 10
    hostile = "https://" + "a:" * 200_000 + "@" + "x" * 300_000  # regex backtracking bait
    start = time.process_time()
    find_secrets(hostile)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("PASSWORD", True),
        ("DB_PASSWORD", True),
        ("dbPassword", True),
        ("API_KEY", True),
        ("APIKey", True),
        ("LICENSE_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("GITHUB_TOKEN", True),
        ("LDAP_ROOTPASS", True),
        ("NAGIOSADMIN_PASS", True),
        ("CLIENT_SECRET", True),
        ("BASIC_AUTH", True),
        ("GPG_KEY", False),  # the official images' signing key fingerprint
        ("GPG_KEYS", False),
        ("PUBLIC_KEY", False),
        ("SSH_KEY_PATH", False),
        ("PASSWORD_FILE", False),
        ("API_KEY_FILE", False),
        ("AWS_ACCESS_KEY_ID", False),  # an identifier; its value is caught by format
        ("TOKEN_URL", False),
        ("PASSWORD_MIN_LENGTH", False),
        ("SECRET_KEY_BASE_DUMMY", False),
        ("KEEPASSXC_VERSION", False),
        ("BYPASS", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("OAUTH2_PROXY_VERSION", False),
        ("SSH_AUTH_SOCK", False),
        ("PWD", False),
        ("NODE_ENV", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("hunter2hunter2", True),
        ("root", True),
        ("", False),
        ('""', False),
        ("$TOKEN", False),
        ("${TOKEN:-}", False),
        ("/run/secrets/token", False),
        ("./config/key.pem", False),
        ("true", False),
        ("0", False),
        ("ab", False),
        ("changeme", False),
        ("<your-token>", False),
        ("xxxxxxxx", False),
        ("FAKE_TO_GENERATE_WARNING_OUTPUT", False),
        ("https://vault.example.com", False),
    ],
)
def test_secret_values(value: str, secret: bool) -> None:
    assert may_be_secret_value(value) is secret


@pytest.mark.parametrize(
    ("name", "value", "label"),
    [
        ("API_TOKEN", "sk_test_abcdef123456", "a secret"),
        ("CONFIG", GITHUB, "a GitHub token"),  # the format speaks whatever the name
        ("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D", None),
        ("key", "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8", None),
        ("RELEASE_KEYS", "B97B 0AFC AA1A 47F0 44F2  44A0 7FCC 7D46 ACCC 4CF8", None),
        ("API_KEY", "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8", "a secret"),
        ("PASSWORD", "${PASSWORD}", None),
        ("GREETING", "hello world", None),
        # a random password may hold `$`: inside a run of letters and digits it is no variable
        ("DB_PASSWORD", "Xk9#mQ2$vL7pR4wZ", "a secret"),
        ("DB_PASSWORD", "p@$$w0rd!", "a secret"),  # `$$`: Compose's literal `$`
        ("DB_PASSWORD", "$DB_PASSWORD", None),
        ("DB_PASSWORD", "${DB_PASSWORD:-}", None),
        ("DB_PASSWORD", "$(cat /run/secrets/db)", None),
        ("DB_PASSWORD", "user:$PW", None),  # `$` after punctuation: a reference
        ("DB_PASSWORD", "abc${SUFFIX}", None),
        ("DB_PASSWORD", "%DB_PASSWORD%", None),
        ("DB_PASSWORD", "{{ .Values.db.password }}", None),
        ("DB_PASSWORD", "<password>", None),
        ("DB_PASSWORD", "xxx", None),  # one character repeated: a placeholder
        ("DB_PASSWORD", "***", None),
        ("DB_PASSWORD", "changeme", None),
        ("DB_PASSWORD", "/run/secrets/db_password", None),
        ("DB_PASSWORD", "", None),
    ],
)
def test_assignment_secret(name: str, value: str, label: str | None) -> None:
    assert assignment_secret(name, value) == label


@pytest.mark.parametrize(
    ("path", "kind", "likely"),
    [
        (".env", SecretFileKind.ENV_FILE, True),
        ("config/production.env", SecretFileKind.ENV_FILE, True),
        (".env.local", SecretFileKind.ENV_FILE, True),
        ("id_rsa", SecretFileKind.PRIVATE_KEY, True),
        ("/root/.ssh/id_ed25519", SecretFileKind.PRIVATE_KEY, True),
        ("certs/server.key", SecretFileKind.PRIVATE_KEY, True),
        ("privkey.pem", SecretFileKind.PRIVATE_KEY, True),
        ("cert.pem", SecretFileKind.PRIVATE_KEY, False),  # the content must tell
        ("client.p12", SecretFileKind.PRIVATE_KEY, True),
        ("store.pfx", SecretFileKind.PRIVATE_KEY, True),
        (".npmrc", SecretFileKind.CREDENTIALS, False),
        (".pypirc", SecretFileKind.CREDENTIALS, False),
        (".netrc", SecretFileKind.CREDENTIALS, True),
        (".git-credentials", SecretFileKind.CREDENTIALS, True),
        ("credentials.json", SecretFileKind.CREDENTIALS, True),
        ("home/.aws/credentials", SecretFileKind.CREDENTIALS, True),
        ("kubeconfig", SecretFileKind.CREDENTIALS, True),
        (".kube/config", SecretFileKind.CREDENTIALS, True),
        (".docker/config.json", SecretFileKind.CREDENTIALS, True),
        ("gcp-service-account.json", SecretFileKind.CREDENTIALS, True),
    ],
)
def test_secret_files(path: str, kind: SecretFileKind, likely: bool) -> None:
    found = secret_file(path)
    assert found is not None
    assert (found.kind, found.likely) == (kind, likely)


@pytest.mark.parametrize(
    "path",
    [".env.example", ".env.sample", "id_rsa.pub", "truststore.jks", "ca.crt", "config.json",
     "README.md", "credentials.py", "app.env.template", ""],
)  # fmt: skip
def test_not_secret_files(path: str) -> None:
    assert secret_file(path) is None


def test_secret_folders() -> None:
    assert secret_folder(".ssh") is not None
    assert secret_folder("/root/.ssh/") is not None
    assert secret_folder("home/user/.gnupg") is not None
    assert secret_folder("src") is None


@pytest.mark.parametrize(
    ("kind", "head", "confirmed"),
    [
        (SecretFileKind.PRIVATE_KEY, PEM.encode(), True),
        (SecretFileKind.PRIVATE_KEY, b"-----BEGIN CERTIFICATE-----\nMIIB\n", False),
        (SecretFileKind.CREDENTIALS, b"//registry.npmjs.org/:_authToken=abc\n", True),
        (SecretFileKind.CREDENTIALS, b"registry=https://registry.npmjs.org/\n", False),
        (SecretFileKind.CREDENTIALS, b'{"auths": {"ghcr.io": {"auth": "eA=="}}}', True),
        (SecretFileKind.ENV_FILE, b"DEBUG=1\n", True),
        (SecretFileKind.ENV_FILE, b"\n", False),
    ],
)
def test_content_confirms(kind: SecretFileKind, head: bytes, confirmed: bool) -> None:
    assert content_shows_secret(kind, head) is confirmed


@pytest.mark.parametrize(
    "secret",
    [s for s, _, _ in KNOWN] + ["hunter2hunter2", "s3cr3t", "correct horse battery staple"],
)
def test_redaction_never_shows_the_secret(secret: str) -> None:
    shown = redact(secret)
    assert secret not in shown
    assert shown.endswith("…")
    hidden = shown.removesuffix("…")
    # at most a public prefix or two characters of the value are shown
    assert len(hidden) < len(secret) / 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin"),
        ("GOOGLE_API_KEY", "GOOGLE_API_KEY_VAL"),
        ("ETCD_DISCOVERY_TOKEN", "INSERT_ETCD_DISCOVERY_TOKEN"),
    ],
)
def test_placeholders_seen_in_kubernetes_manifests(name: str, value: str) -> None:
    assert assignment_secret(name, value) is None
