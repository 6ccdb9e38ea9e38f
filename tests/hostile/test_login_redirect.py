"""Issue 23 item 4: a login (refresh token in a POST body, or Basic credentials) is never
re-sent on a redirect to another host or scheme.

Two real HTTP servers on 127.0.0.1, each in a thread: the registry, whose token realm answers
the login with a 307 or 308, and the place it points to, which records whatever reaches it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from keelhaul.registry import RegistryError
from keelhaul.registry.auth import DockerConfig
from keelhaul.registry.client import resolve_digest

REFRESH = "refresh-" + "s3cr3t-9f2c"
LOGIN = "tokuser:" + "pa55-w0rd-7"
MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)


@dataclass
class Peer:
    """One server: what it was sent, and (for the registry) where its token realm redirects."""

    redirect_to: str = ""
    status: int = 307
    port: int = 0
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def _handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            peer.seen.append((self.command, self.path, dict(self.headers.items()), body))
            path = self.path.split("?")[0]
            if path.startswith("/token") and peer.redirect_to:
                self._answer(peer.status, b"", {"Location": peer.redirect_to})
            elif path.startswith("/token"):
                self._answer(200, json.dumps({"token": "issued"}).encode(), {})
            elif path.startswith("/v2/") and self.headers.get("Authorization") != "Bearer issued":
                realm = f"http://127.0.0.1:{peer.port}/token"
                challenge = f'Bearer realm="{realm}",service="t",scope="repository:kh/app:pull"'
                self._answer(401, b"{}", {"WWW-Authenticate": challenge})
            else:
                self._answer(200, MANIFEST, {
                    "Content-Type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip

        do_GET = do_POST = do_HEAD = _handle

    return Handler


@contextmanager
def serve(peer: Peer) -> Iterator[Peer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()


def config(tmp_path: Path, host: str, entry: dict[str, str]) -> DockerConfig:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {host: entry}}))
    return DockerConfig.load(path, env={})


CREDENTIALS = {
    "identitytoken": {"identitytoken": REFRESH},
    "basic": {"auth": base64.b64encode(LOGIN.encode()).decode()},
}


def leaked(peer: Peer) -> list[str]:
    found = []
    for _, path, headers, body in peer.seen:
        text = path + json.dumps(headers) + body.decode("latin-1")
        if REFRESH in text or base64.b64encode(LOGIN.encode()).decode() in text:
            found.append(path)
    return found


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
@pytest.mark.parametrize("elsewhere", ["another-host", "another-scheme"])
def test_login_not_sent_on_redirect_elsewhere(
    tmp_path: Path, status: int, kind: str, elsewhere: str
) -> None:
    with serve(Peer()) as attacker, serve(Peer(status=status)) as registry:
        if elsewhere == "another-host":  # the same machine by another name: another host
            registry.redirect_to = f"http://localhost:{attacker.port}/steal"
        else:  # https -> http is the usual case; http -> https is the one a test can serve
            registry.redirect_to = f"https://127.0.0.1:{registry.port}/token"
        host = f"127.0.0.1:{registry.port}"
        with pytest.raises(RegistryError, match="refusing to send credentials"):
            resolve_digest(f"{host}/kh/app:v1", config=config(tmp_path, host, CREDENTIALS[kind]))
        assert attacker.seen == []
        logins = [r for r in registry.seen if r[1].startswith("/token")]
        assert len(logins) == 1  # sent once, to the realm; not again anywhere


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_a_redirect_within_the_realm_is_followed(tmp_path: Path, kind: str) -> None:
    with serve(Peer(status=307)) as registry:
        registry.redirect_to = f"http://127.0.0.1:{registry.port}/token-moved"
        host = f"127.0.0.1:{registry.port}"
        # /token-moved redirects again, to itself: the hop limit ends it, with no leak
        with pytest.raises(RegistryError, match="redirected more than"):
            resolve_digest(f"{host}/kh/app:v1", config=config(tmp_path, host, CREDENTIALS[kind]))
        assert len([r for r in registry.seen if r[1].startswith("/token")]) > 1


def test_an_anonymous_token_request_follows_redirects_anywhere(tmp_path: Path) -> None:
    with serve(Peer()) as other, serve(Peer(status=307)) as registry:
        registry.redirect_to = f"http://localhost:{other.port}/token"
        host = f"127.0.0.1:{registry.port}"
        resolved = resolve_digest(f"{host}/kh/app:v1", config=DockerConfig.load(
            tmp_path / "absent.json", env={}))  # fmt: skip
        assert resolved.digest.startswith("sha256:")
        assert leaked(other) == []
        assert len(other.seen) == 1
