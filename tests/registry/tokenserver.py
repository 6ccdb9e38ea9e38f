"""A small scripted HTTP server that speaks the distribution API's Bearer-token flow.

The real registry with real tokens is in :mod:`tests.registry.jwtauth`. This server covers what
a well-behaved registry never does: leaving out ``Docker-Content-Digest``, sending a wrong
one, an oversized manifest, a redirect to another host, an ``access_token`` instead of ``token``, and the OAuth2
refresh-token grant used with an identity token. It is a genuine HTTP peer on 127.0.0.1 for
one repository (not a stand-in for keelhaul's code): ``/v2/<repo>/manifests/<tag>`` answers
401 with a Bearer challenge until it sees the token its ``/token`` realm issued, and it
records what it was sent, so tests can check the client's side of the exchange.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TOKEN = "issued-token-7f3a"


@dataclass
class TokenRegistry:
    repository: str = "kh/app"
    tag: str = "v1"
    manifest: bytes = (
        b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","layers":[]}'
    )
    #: "user:password" the token endpoint wants in Basic auth; None: anonymous tokens.
    login: str | None = None
    refresh_token: str | None = None
    send_digest: bool = True
    wrong_digest: bool = False
    token_field: str = "token"
    #: Answer manifests with a redirect to the same server under another host name.
    redirect: bool = False
    port: int = 0
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def _handler(state: TokenRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, self.path, dict(self.headers.items()), body))
            return body

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _challenge(self) -> None:
            realm = f"http://127.0.0.1:{state.port}/token"
            scope = f"repository:{state.repository}:pull"
            value = f'Bearer realm="{realm}",service="kh-test",scope="{scope}"'
            error = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            self._send(401, error, {"WWW-Authenticate": value, "Content-Type": "application/json"})

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            self._record()
            url = urlsplit(self.path)
            if url.path == "/token":
                self._token(parse_qs(url.query))
                return
            if url.path == "/elsewhere/manifest":
                self._manifest()
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._challenge()
                return
            if url.path != f"/v2/{state.repository}/manifests/{state.tag}":
                body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
                self._send(404, body, {"Content-Type": "application/json"})
                return
            if state.redirect:
                location = f"http://localhost:{state.port}/elsewhere/manifest"
                self._send(307, b"", {"Location": location})
                return
            self._manifest()

        def _manifest(self) -> None:
            headers = {"Content-Type": OCI_MANIFEST}
            if state.send_digest:
                headers["Docker-Content-Digest"] = (
                    "sha256:" + "0" * 64 if state.wrong_digest else state.digest
                )
            self._send(200, state.manifest, headers)

        def do_POST(self) -> None:
            body = self._record()
            form = parse_qs(body.decode())
            if urlsplit(self.path).path != "/token" or form.get("grant_type") != ["refresh_token"]:
                self._send(400, b"{}", {})
                return
            if form.get("refresh_token") != [state.refresh_token]:
                self._send(401, b'{"error":"invalid_grant"}', {})
                return
            self._send(200, json.dumps({"access_token": TOKEN}).encode(), {})

        def _token(self, query: dict[str, list[str]]) -> None:
            if query.get("service") != ["kh-test"] or query.get("scope") != [
                f"repository:{state.repository}:pull"
            ]:
                self._send(400, b'{"error":"bad scope"}', {})
                return
            if state.login is not None:
                expected = "Basic " + base64.b64encode(state.login.encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, b'{"details":"wrong login"}', {})
                    return
            self._send(200, json.dumps({state.token_field: TOKEN}).encode(), {})

    return Handler


@contextmanager
def token_registry(state: TokenRegistry) -> Iterator[TokenRegistry]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
