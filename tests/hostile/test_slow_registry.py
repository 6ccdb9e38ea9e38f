"""Issue 23 item 9: a registry that trickles its answer (a byte at a time, each just before the
read timeout) no longer holds keelhaul for ever: a manifest must arrive within a deadline and a
blob must keep a minimum pace; either way one line names the host, exit 2."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from keelhaul.registry.client import RegistryClient
from keelhaul.registry.errors import Problem, RegistryError
from tests.keelhaul_cli import run

TRICKLE_EVERY = 0.3  # seconds between bytes: always inside the 1 s read timeout
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()  # fmt: skip
LAYER_DIGEST = "sha256:" + "1" * 64


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": _digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": LAYER_DIGEST, "size": 1 << 20}],
}).encode()  # fmt: skip


class _Trickler(BaseHTTPRequestHandler):
    slow_manifest = False
    stop = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _trickle(self, size: int, media_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size):
            if self.stop.is_set():
                return
            try:
                self.wfile.write(b"\0")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(TRICKLE_EVERY)

    def _send(self, body: bytes, media_type: str, digest: str = "") -> None:
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self._send(b"{}", "application/json")
        elif "/manifests/" in self.path and self.slow_manifest:
            self._trickle(len(MANIFEST), "application/vnd.oci.image.manifest.v1+json")
        elif "/manifests/" in self.path:
            self._send(MANIFEST, "application/vnd.oci.image.manifest.v1+json", _digest(MANIFEST))
        elif self.path.endswith(_digest(CONFIG)):
            self._send(CONFIG, "application/octet-stream")
        elif self.path.endswith(LAYER_DIGEST):
            self._trickle(1 << 20, "application/octet-stream")
        else:
            self.send_error(404)

    do_HEAD = do_GET


@contextmanager
def trickling_registry(slow_manifest: bool) -> Iterator[str]:
    handler = type("Handler", (_Trickler,), {"slow_manifest": slow_manifest,
                                            "stop": threading.Event()})  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        handler.stop.set()
        server.shutdown()
        server.server_close()


def test_a_trickled_manifest_hits_the_answer_deadline() -> None:
    with trickling_registry(slow_manifest=True) as host, RegistryClient(timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(RegistryError) as caught:
            client.fetch_manifest(f"{host}/kh/app:v1")
        took = time.monotonic() - started
    assert caught.value.problem is Problem.UNREACHABLE
    assert "did not complete within 4s" in str(caught.value)
    assert took < 8, took  # the whole manifest would take len(MANIFEST) * 0.3 s


def test_a_trickled_layer_stalls_with_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".keelhaul.toml").write_text("[settings]\nimage-registry-timeout = 1\n")
    with trickling_registry(slow_manifest=False) as host:
        started = time.monotonic()
        done = run("image", f"registry:{host}/kh/app:v1", cwd=tmp_path)
        took = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    assert "stalled" in done.stderr
    assert LAYER_DIGEST in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert took < 30, took
