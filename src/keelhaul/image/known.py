"""What well-known images do at run time, so hardening advice and fixes do not break them: the
one table the runtime checks (Kubernetes, Compose, ``docker run``) and the Dockerfile rules
(KH109's non-root fix) both read.

Each entry comes from the image's own documentation and entrypoint (the source is written
beside it): the user it runs as or drops to, whether its entrypoint must start as root (to
chown its data directory, then drop to its user with gosu), the capabilities that entrypoint
needs after ``drop: [ALL]``, and the paths it writes: ``scratch`` paths (caches, pid and
socket folders: an ``emptyDir`` or a tmpfs is enough) and ``data`` paths (the database
itself: a read-only root needs a real volume there, which only the user can choose).

An image missing from the table is unknown: advice says what it assumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keelhaul.registry.reference import OFFICIAL_PREFIX, InvalidReference, parse_reference

#: The capabilities an entrypoint needs to chown a data directory and switch user.
_CHOWN_AND_DROP = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


@dataclass(frozen=True, slots=True)
class ImageNeeds:
    """What one image needs to start (see the module documentation)."""

    user: str | None
    """``UID:GID`` it runs as or drops to; None when it runs as root."""
    starts_as_root: bool
    """Its entrypoint must start as root (then drops to ``user``)."""
    capabilities: tuple[str, ...] = ()
    """What it needs back after ``drop: [ALL]`` when started as root."""
    scratch: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    source: str = ""
    app_user: str | None = None
    """``UID:GID`` of the unprivileged user the image provides for what runs in it or is built
    on it (node's ``node``, .NET's ``app``, distroless' ``nonroot``): a Dockerfile ends with
    ``USER`` and this number. None when there is none or a USER would break the image."""
    app_name: str = ""
    """The name of ``app_user`` (``node``, ``www-data``), for messages."""
    why_root: str = ""
    """Why a Dockerfile built on it keeps root (for messages), when ``starts_as_root``."""


#: Sources: each image's Docker Hub page and the entrypoint in its docker-library repository
#: (docker-library/postgres docker-entrypoint.sh: `exec gosu postgres`, uid 999;
#: docker-library/mysql and MariaDB/mariadb-docker: gosu mysql, uid 999; docker-library/redis:
#: `gosu redis` when started as root; docker-library/mongo: gosu mongodb; docker-library/rabbitmq:
#: gosu rabbitmq; nginxinc/docker-nginx: master as root, workers as nginx (101), writes
#: /var/cache/nginx and /var/run; nginxinc/docker-nginx-unprivileged: uid 101, port 8080, pid
#: and temp paths in /tmp; docker-library/httpd: children as daemon, logs in
#: /usr/local/apache2/logs; docker-library/wordpress: copies WordPress into /var/www/html and
#: chowns it to www-data (33); grafana docs "Run Grafana Docker image": uid 472, /var/lib/grafana;
#: prometheus Dockerfile: USER nobody, /prometheus).
#: Debian's www-data (base-passwd's fixed 33). docker-library/php (e.g. 8.3/bookworm/fpm/
#: Dockerfile) builds php-fpm ``--with-fpm-user=www-data`` and makes /var/www/html
#: www-data's, mode 1777 "to allow running as an arbitrary user" (docker-library/php#743).
_WWW_DATA = "33:33"
#: docker-library/php 8.3/alpine3.20/fpm/Dockerfile: ``adduser -u 82 -D -S -G www-data
#: www-data``, "82 is the standard uid/gid for www-data in Alpine".
_WWW_DATA_ALPINE = "82:82"
#: nodejs/docker-node (22/bookworm/Dockerfile: ``groupadd --gid 1000 node && useradd --uid
#: 1000 --gid node``; Alpine: ``addgroup -g 1000 node && adduser -u 1000 -G node``); its
#: docs/BestPractices.md: "use the non-root user node".
_NODE = ImageNeeds(None, False, source="nodejs/docker-node", app_user="1000:1000", app_name="node")
#: dotnet/dotnet-docker src/runtime-deps/8.0/noble/amd64/Dockerfile: ``ENV APP_UID=1654``
#: ("UID of the non-root user 'app'"), ``groupadd --gid=$APP_UID app && useradd
#: --uid=$APP_UID --gid=$APP_UID app``, ``ASPNETCORE_HTTP_PORTS=8080``; the runtime, aspnet
#: and sdk images are built on it. They set no USER (root unless told; the docs say ``USER
#: $APP_UID``).
_DOTNET = ImageNeeds(
    None,
    False,
    source="dotnet/dotnet-docker",
    app_user="1654:1654",
    app_name="app ($APP_UID)",
)
#: GoogleContainerTools/distroless common/variables.bzl: ``NONROOT = 65532`` (the
#: ``:nonroot`` tags run as it; the others run as root); Chainguard's images use the same.
_NONROOT = ImageNeeds(
    None,
    False,
    source="GoogleContainerTools/distroless",
    app_user="65532:65532",
    app_name="nonroot",
)
#: docker-library/php: php-fpm's pool runs its workers as www-data, and php-fpm or the php CLI
#: run as www-data outright (port 9000 needs no privilege).
_PHP = ImageNeeds(
    _WWW_DATA, False, source="docker-library/php", app_user=_WWW_DATA, app_name="www-data"
)
_PHP_ALPINE = ImageNeeds(_WWW_DATA_ALPINE, False, source="docker-library/php (Alpine: 82)",
                         app_user=_WWW_DATA_ALPINE, app_name="www-data")  # fmt: skip
#: docker-library/php ``*-apache``: apache2-foreground starts Apache as root (port 80), which
#: then runs its workers as www-data (``APACHE_RUN_USER``).
_PHP_APACHE = ImageNeeds(
    _WWW_DATA, True, ("SETGID", "SETUID", "NET_BIND_SERVICE"), ("/var/run/apache2",), (),
    "docker-library/php", why_root="starts Apache as root, which then runs its workers as "
    "www-data",
)  # fmt: skip

#: Sources: each image's Docker Hub page and the entrypoint in its docker-library repository
#: (see also the entries above).
IMAGES: dict[str, ImageNeeds] = {
    "postgres": ImageNeeds("999:999", True, _CHOWN_AND_DROP, ("/var/run/postgresql",),
                           ("/var/lib/postgresql/data",), "docker-library/postgres",
                           why_root="starts as root to own its data folder, then drops to "
                           "postgres with gosu"),
    "mysql": ImageNeeds("999:999", True, _CHOWN_AND_DROP, ("/var/run/mysqld",),
                        ("/var/lib/mysql",), "docker-library/mysql"),
    "mariadb": ImageNeeds("999:999", True, _CHOWN_AND_DROP, ("/run/mysqld",),
                          ("/var/lib/mysql",), "MariaDB/mariadb-docker"),
    "redis": ImageNeeds("999:999", True, _CHOWN_AND_DROP, (), ("/data",),
                        "docker-library/redis"),
    "mongo": ImageNeeds("999:999", True, _CHOWN_AND_DROP, (), ("/data/db", "/data/configdb"),
                        "docker-library/mongo"),
    "rabbitmq": ImageNeeds("999:999", True, _CHOWN_AND_DROP, (), ("/var/lib/rabbitmq",),
                           "docker-library/rabbitmq"),
    "nginx": ImageNeeds("101:101", True, ("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"),
                        ("/var/cache/nginx", "/var/run"), (), "nginxinc/docker-nginx",
                        why_root="starts nginx as root (port 80), which then runs its "
                        "workers as nginx (101); nginxinc/nginx-unprivileged runs as 101 "
                        "on port 8080"),
    # mainline/debian/Dockerfile: ARG UID=101, USER $UID, listen 8080, pid and temp in /tmp
    "nginxinc/nginx-unprivileged": ImageNeeds("101:101", False, (), (), (),
                                              "nginxinc/docker-nginx-unprivileged",
                                              app_user="101:101", app_name="nginx"),
    "httpd": ImageNeeds(None, True, ("SETGID", "SETUID", "NET_BIND_SERVICE"),
                        ("/usr/local/apache2/logs",), (), "docker-library/httpd",
                        why_root="starts Apache as root (port 80), which then runs its "
                        "children as daemon"),
    # latest/php8.3/*/docker-entrypoint.sh: as root, chowns /var/www/html to www-data and
    # copies WordPress in as www-data; as another user, copies as that user
    "wordpress": ImageNeeds("33:33", True, (*_CHOWN_AND_DROP, "NET_BIND_SERVICE"),
                            ("/var/run/apache2",), ("/var/www/html",),
                            "docker-library/wordpress",
                            why_root="its entrypoint starts as root to copy WordPress into "
                            "the www-data-owned /var/www/html, then Apache serves as "
                            "www-data"),
    "nextcloud": ImageNeeds("33:33", True, (*_CHOWN_AND_DROP, "NET_BIND_SERVICE"),
                            ("/var/run/apache2",), ("/var/www/html",), "nextcloud/docker",
                            why_root="its entrypoint starts as root to copy Nextcloud into "
                            "the www-data-owned /var/www/html, then serves as www-data"),
    "node": _NODE,
    "grafana/grafana": ImageNeeds("472:0", False, (), (), ("/var/lib/grafana",),
                                  "grafana docs: Run Grafana Docker image"),
    "prom/prometheus": ImageNeeds("65534:65534", False, (), (), ("/prometheus",),
                                  "prometheus/prometheus Dockerfile"),
    "elasticsearch": ImageNeeds("1000:0", False, (), ("/usr/share/elasticsearch/logs",),
                                ("/usr/share/elasticsearch/data",),
                                "elastic docs: Install Elasticsearch with Docker"),
    "haproxy": ImageNeeds("99:99", False, (), (), ("/var/lib/haproxy",),
                          "docker-library/haproxy (USER haproxy since 2.4)"),
    "memcached": ImageNeeds("11211:11211", False, (), (), (), "docker-library/memcached"),
    "traefik": ImageNeeds(None, False, (), (), (), "traefik/traefik-library-image"),
}  # fmt: skip


#: Images known by the start of their repository: (prefix, what they need).
_FAMILIES = (
    ("gcr.io/distroless/", _NONROOT),
    ("cgr.dev/chainguard/", _NONROOT),
)
#: .NET images with the ``app`` user (8.0 and later).
_DOTNET_REPOSITORIES = frozenset(
    f"mcr.microsoft.com/dotnet/{name}" for name in ("aspnet", "runtime", "runtime-deps", "sdk")
)


def needs_of(image: str | None) -> ImageNeeds | None:
    """What ``image`` (a reference as written) needs, when the table knows it (the tag
    matters for php's variants and .NET's versions)."""
    if not image:
        return None
    try:
        ref = parse_reference(image.strip())
    except InvalidReference:
        return None
    name = ref.repository.removeprefix(OFFICIAL_PREFIX)
    full = f"{ref.registry}/{ref.repository}"
    tag = (ref.tag or "").lower()
    if name == "php":
        if "apache" in tag:
            return _PHP_APACHE
        return _PHP_ALPINE if "alpine" in tag else _PHP
    if full in _DOTNET_REPOSITORIES:
        major = re.match(r"\d+", tag)
        return _DOTNET if major is not None and int(major.group()) >= 8 else None
    for prefix, needs in _FAMILIES:
        if full.startswith(prefix):
            return needs
    return IMAGES.get(name)


def writable_paths(image: str | None) -> tuple[str, ...]:
    """Every path ``image`` writes at run time, /tmp included (scratch and data)."""
    needs = needs_of(image)
    if needs is None:
        return ("/tmp",)
    return ("/tmp", *needs.scratch, *needs.data)
