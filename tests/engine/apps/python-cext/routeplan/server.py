"""A small HTTP API: GET /healthz, GET /distance?from=brest&to=falmouth (kilometres)."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from routeplan import haversine

HARBOURS = {"brest": (48.39, -4.49), "falmouth": (50.15, -5.07), "den-helder": (52.96, 4.76)}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/healthz":
            self._send(200, {"status": "ok"})
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        a, b = HARBOURS.get(query.get("from", "")), HARBOURS.get(query.get("to", ""))
        if url.path != "/distance" or a is None or b is None:
            self._send(404, {"error": "unknown route"})
            return
        self._send(200, {"km": round(haversine(*a, *b), 1)})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    ThreadingHTTPServer(("", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
