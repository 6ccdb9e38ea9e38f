"""What well-known images need at run time, so hardening advice and fixes do not break them.

Each entry comes from the image's own documentation and entrypoint (the source is written
beside it): the user it runs as or drops to, whether its entrypoint must start as root (to
chown its data directory, then drop to its user with gosu), the capabilities that entrypoint
needs after ``drop: [ALL]``, and the paths it writes: ``scratch`` paths (caches, pid and
socket folders: an ``emptyDir`` or a tmpfs is enough) and ``data`` paths (the database
itself: a read-only root needs a real volume there, which only the user can choose).

An image missing from the table is unknown: advice says what it assumes.
"""

from __future__ import annotations

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
IMAGES: dict[str, ImageNeeds] = {
    "postgres": ImageNeeds("999:999", True, _CHOWN_AND_DROP, ("/var/run/postgresql",),
                           ("/var/lib/postgresql/data",), "docker-library/postgres"),
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
                        ("/var/cache/nginx", "/var/run"), (), "nginxinc/docker-nginx"),
    "nginxinc/nginx-unprivileged": ImageNeeds("101:101", False, (), (), (),
                                              "nginxinc/docker-nginx-unprivileged"),
    "httpd": ImageNeeds(None, True, ("SETGID", "SETUID", "NET_BIND_SERVICE"),
                        ("/usr/local/apache2/logs",), (), "docker-library/httpd"),
    "wordpress": ImageNeeds("33:33", True, (*_CHOWN_AND_DROP, "NET_BIND_SERVICE"),
                            ("/var/run/apache2",), ("/var/www/html",),
                            "docker-library/wordpress"),
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


def needs_of(image: str | None) -> ImageNeeds | None:
    """What ``image`` (a reference as written) needs, when the table knows it."""
    if not image:
        return None
    try:
        ref = parse_reference(image.strip())
    except InvalidReference:
        return None
    return IMAGES.get(ref.repository.removeprefix(OFFICIAL_PREFIX))


def writable_paths(image: str | None) -> tuple[str, ...]:
    """Every path ``image`` writes at run time, /tmp included (scratch and data)."""
    needs = needs_of(image)
    if needs is None:
        return ("/tmp",)
    return ("/tmp", *needs.scratch, *needs.data)
