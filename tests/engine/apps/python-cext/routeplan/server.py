"""A small HTTP API on falcon, served by waitress: GET /healthz,
GET /distance?from=brest&to=falmouth (kilometres)."""

import os

import falcon
import waitress

from routeplan import haversine

HARBOURS = {"brest": (48.39, -4.49), "falmouth": (50.15, -5.07), "den-helder": (52.96, 4.76)}


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Distance:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        a = HARBOURS.get(req.get_param("from", default=""))
        b = HARBOURS.get(req.get_param("to", default=""))
        if a is None or b is None:
            raise falcon.HTTPNotFound(description="unknown route")
        resp.media = {"km": round(haversine(*a, *b), 1)}


def create_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/healthz", Health())
    app.add_route("/distance", Distance())
    return app


def main() -> None:
    waitress.serve(create_app(), host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
