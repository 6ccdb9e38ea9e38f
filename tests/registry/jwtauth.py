"""A real distribution registry that demands Bearer tokens, and a token server that signs them.

distribution's ``auth: token`` accepts a JWT when its ``x5c`` header carries a certificate
from ``rootcertbundle``, its issuer and audience match the configuration, and its ``access``
claim covers the request. The certificate and the RS256 signatures come from the ``openssl``
command line; the token server is a small ``http.server`` on 127.0.0.1 that issues a token
for every scope asked (optionally only to a Basic login). The registry is started here, not by
``registry-up``, because that script writes no token configuration.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ISSUER = "keelhaul-test-issuer"
SERVICE = "keelhaul-test-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Signer:
    key: Path
    cert_der: bytes

    @classmethod
    def create(cls, directory: Path) -> Signer:
        key, cert = directory / "token.key", directory / "token.crt"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-subj", "/CN=keelhaul-test-token", "-keyout", str(key), "-out", str(cert)),
            ],
            check=True,
            capture_output=True,
        )
        der = subprocess.run(
            ["openssl", "x509", "-in", str(cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        return cls(key, der)

    @property
    def cert_pem_path(self) -> Path:
        return self.key.with_suffix(".crt")

    def token(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 600,
            "nbf": now - 10,
            "iat": now,
            "jti": f"kh-{now}-{os.getpid()}-{len(scopes)}",
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"


@dataclass
class TokenServer:
    signer: Signer
    login: str | None = None  # "user:password" required for a token; None: anyone
    port: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"


def _handler(state: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, document: object) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            state.requests.append(dict(self.headers.items()))
            if url.path != "/token" or query.get("service") != [SERVICE]:
                self._answer(400, {"details": "unknown service"})
                return
            subject = "anonymous"
            if state.login is not None:
                expected = "Basic " + base64.b64encode(state.login.encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"details": "wrong login"})
                    return
                subject = state.login.partition(":")[0]
            token = state.signer.token(subject, query.get("scope", []))
            self._answer(200, {"token": token, "access_token": token, "expires_in": 600})

    return Handler


@contextlib.contextmanager
def token_server(state: TokenServer) -> Iterator[TokenServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def token_registry(directory: Path, port: int, tokens: TokenServer) -> Iterator[str]:
    """docker-registry on 127.0.0.1:port trusting ``tokens``; yields host:port."""
    (directory / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
        "auth:\n"
        "  token:\n"
        f"    realm: {tokens.realm}\n"
        f"    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n"
        f"    rootcertbundle: {tokens.signer.cert_pem_path}\n"
    )
    log = (directory / "log").open("wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(directory / "config.yml")], stdout=log, stderr=log
    )
    try:
        for _ in range(80):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # 401: up and asking for tokens
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.25)
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {(directory / 'log').read_text()[-500:]}")
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(directory / "data", ignore_errors=True)
