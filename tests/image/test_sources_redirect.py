"""Blob redirects: a registry that sends the blob download to another host (object storage)
must not get the registry credentials forwarded there. Two real HTTP servers on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.registry import DockerConfig, RegistryClient

BLOB = b"layer bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
seen: dict[str, list[str | None]] = {"registry": [], "storage": []}


class Storage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        seen["storage"].append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.wfile.write(BLOB)

    def log_message(self, *args: object) -> None:
        pass


def registry_handler(storage_port: int) -> type[BaseHTTPRequestHandler]:
    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization")
            seen["registry"].append(authorization)
            if authorization is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.endswith("/missing"):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{storage_port}/bucket/blob?sig=1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Registry


@pytest.fixture
def servers() -> Iterator[tuple[str, int]]:
    storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    registry = ThreadingHTTPServer(("127.0.0.1", 0), registry_handler(storage.server_port))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (storage, registry)]
    for thread in threads:
        thread.start()
    seen["registry"].clear()
    seen["storage"].clear()
    yield f"127.0.0.1:{registry.server_port}", storage.server_port
    for server in (storage, registry):
        server.shutdown()
        server.server_close()


def test_blob_redirect_does_not_forward_authorization(
    servers: tuple[str, int], tmp_path: Path
) -> None:
    host, _ = servers
    auth = base64.b64encode(b"keel:secret-pw").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    config = DockerConfig.load(tmp_path / "config.json", env={})
    with RegistryClient(config=config) as client:
        with client.open_blob(f"{host}/kh/app:1", DIGEST) as response:
            body = b"".join(response.iter_raw())
        assert body == BLOB
        assert client.fetch_blob(f"{host}/kh/app:1", DIGEST, 1 << 20) == BLOB
        with pytest.raises(KeelhaulError, match="more than 100 bytes"):
            client.fetch_blob(f"{host}/kh/app:1", DIGEST, 100)
    assert seen["registry"][0] is None  # anonymous first
    assert seen["registry"][1] == f"Basic {auth}"
    assert seen["storage"]
    assert all(value is None for value in seen["storage"])
