"""The round trip with the real engine: an image built on the local Debian base with waste in
several layers, slimmed from the engine into the engine (``docker:`` to ``docker:``, with
``--verify``) and to a docker-archive that ``docker load`` takes, and run: the same output as
the original, a smaller image, the base layers shared, nothing hidden in the squashed layer
(``keelhaul image``), and a slim image that fails its smoke check never loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.image.sources import open_image
from keelhaul.slim.tree import TreeEntry, merged_tree

pytestmark = pytest.mark.docker

SOURCE = "slim-source:engine-test"
SLIM = "slim-result:engine-test"
SLIM_FAILED = "slim-result:engine-test-failed"
SLIM_ARCHIVE = "slim-result:engine-test-archive"
MINI = "slim-mini:engine-test"
IMPORTED = "slim-imported:engine-test"
ON_IMPORTED = "slim-on-imported:engine-test"
SLIM_IMPORTED = "slim-result:engine-test-imported"
LIB = "/usr/lib/x86_64-linux-gnu"
#: A small base made of the engine's Debian (its dash, a few coreutils and their libraries):
#: with the vfs storage driver every container copies its whole image, so a 200 MB base
#: makes each step cost a minute; this one costs seconds. Its history ends in a CMD, as a
#: base image's does, so keelhaul keeps those layers.
MINI_DOCKERFILE = f"""\
FROM {{base}} AS debian
FROM scratch
COPY --from=debian /usr/bin/dash /bin/sh
COPY --from=debian /usr/bin/cat /usr/bin/head /usr/bin/rm /usr/bin/mkdir /usr/bin/ln \
 /usr/bin/chmod /usr/bin/stat /usr/bin/id /usr/bin/ls /bin/
COPY --from=debian {LIB}/libc.so.6 {LIB}/libselinux.so.1 /lib/x86_64-linux-gnu/
COPY --from=debian {LIB}/libpcre2-8.so.0.11.2 /lib/x86_64-linux-gnu/libpcre2-8.so.0
COPY --from=debian {LIB}/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
CMD ["sh"]
"""
DOCKERFILE = (
    MINI_DOCKERFILE
    + """\
RUN head -c 3000000 /dev/urandom > /big.bin && mkdir -p /app /usr/share/doc/pkg /var/cache/apt \
 && echo one > /app/a && ln /app/a /app/hard && ln -s a /app/soft \
 && head -c 500000 /dev/urandom > /app/blob && echo doc > /usr/share/doc/pkg/README \
 && head -c 200000 /dev/urandom > /var/cache/apt/pkgcache.bin
RUN rm /big.bin && echo two >> /app/a && rm -rf /usr/share/doc && mkdir /usr/share/doc \
 && echo kept > /usr/share/doc/x && head -c 400000 /dev/urandom > /app/blob
RUN chmod 751 /app && rm -rf /var/cache/apt /app/soft && ln -s hard /app/soft
USER 65534:65534
WORKDIR /
ENV GREETING=hi
CMD ["sh", "-c", "cat /app/a /app/hard /app/soft /usr/share/doc/x 2>&1; ls /usr/share/doc /var/cache; \
stat -c '%a %s %h' /app /app/blob /app/a; test -e /big.bin || echo no-big; echo $GREETING; id -u"]
"""
)
#: Built on a base made by ``docker import`` (its one layer has no instruction in the history,
#: and no CMD): that layer is the base slim keeps.
ON_IMPORTED_DOCKERFILE = f"""\
FROM {IMPORTED}
RUN head -c 2000000 /dev/urandom > /build.bin && mkdir /app && echo one > /app/a
RUN rm /build.bin && echo two >> /app/a
CMD ["cat", "/app/a"]
"""


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], check=False, capture_output=True, text=True)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def _keelhaul(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", *args], capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_slim_round_trip_with_the_engine(docker_engine: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE.format(base=docker_engine))
    try:
        _docker("build", "-q", "--network", "host", "-t", SOURCE, str(tmp_path))
        # docker: in, docker: out (loaded into the engine), smoke-checked before it is loaded
        done = _keelhaul("slim", f"docker:{SOURCE}", "--output", f"docker:{SLIM}", "--verify",
                         "--smoke", "cat /app/a /usr/share/doc/x", "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["layers"] == {"before": 8, "after": 6, "kept": 5,
                                    "why_kept": result["layers"]["why_kept"]}  # fmt: skip
        assert [(s["passed"], s["how"]) for s in result["smoke"]] == [(True, "command")] * 2
        assert result["smoke"][0]["image"] == SOURCE
        assert result["cost_month"]["after"] < result["cost_month"]["before"]
        original = _docker("run", "--rm", "--network", "none", SOURCE)
        slimmed = _docker("run", "--rm", "--network", "none", SLIM)
        assert "two" in original
        assert "no-big" in original
        assert slimmed == original
        sizes = [int(_docker("image", "inspect", "-f", "{{.Size}}", t)) for t in (SOURCE, SLIM)]
        assert sizes[1] < sizes[0] - 3_000_000
        layers = [json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", t))
                  for t in (SOURCE, SLIM)]  # fmt: skip
        assert layers[1][:5] == layers[0][:5]  # the base layers are shared
        config = [json.loads(_docker("image", "inspect", "-f", "{{json .Config}}", t))
                  for t in (SOURCE, SLIM)]  # fmt: skip
        for key in ("Env", "Cmd", "User", "WorkingDir", "Entrypoint"):
            assert config[1].get(key) == config[0].get(key)
        # keelhaul image on the result: nothing in the image's own layer is hidden
        seen = _keelhaul("image", f"docker:{SLIM}", "--format", "json")
        report = json.loads(seen.stdout)
        assert [(x["base"], x["shadowed_size"]) for x in report["layers"]][5:] == [(False, 0)]
        assert report["waste"]["total"] == 0
        assert _tree(SLIM) == _tree(SOURCE)
        before = json.loads(_keelhaul("image", f"docker:{SOURCE}", "--format", "json").stdout)
        assert sum(x["shadowed_size"] for x in before["layers"]) > 3_000_000
        # a slim image that fails --verify is not loaded
        failed = _keelhaul("slim", f"docker:{SOURCE}", "--output", f"docker:{SLIM_FAILED}",
                           "--verify", "--smoke", "cat /big.bin")  # fmt: skip
        assert failed.returncode == 2, failed.stderr
        assert "fails its smoke check, not written" in failed.stderr
        missing = subprocess.run(["docker", "image", "inspect", SLIM_FAILED],
                                 capture_output=True, check=False)  # fmt: skip
        assert missing.returncode != 0
        # the docker-archive output loads with `docker load` too
        archive = tmp_path / "slim.tar"
        done = _keelhaul(
            "slim", f"docker:{SOURCE}", "--output", f"docker-archive:{archive}:{SLIM_ARCHIVE}"
        )
        assert done.returncode == 0, done.stderr
        _docker("load", "-i", str(archive))
        assert _docker("run", "--rm", "--network", "none", SLIM_ARCHIVE) == original
        # --verify from a file: the slim image is loaded under a temporary name and checked
        # (the CMD ends with 0); the original, not in the engine, is said to be unchecked
        done = _keelhaul("slim", f"docker-archive:{archive}", "--output",
                         f"oci:{tmp_path / 'layout'}", "--verify")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "smoke check (stays-up) on keelhaul-slim-check:" in done.stdout
        assert "the original was not smoke-checked" in done.stdout
        assert (tmp_path / "layout" / "index.json").is_file()
        leftovers = _docker("images", "-q", "keelhaul-slim-check")
        assert not leftovers.strip()
        # a real `docker save` archive holds plain tars: the kept base layers go into an OCI
        # layout gzip-compressed, with the DiffIDs the engine has
        saved = tmp_path / "saved.tar"
        _docker("save", "-o", str(saved), SOURCE)
        done = _keelhaul("slim", f"docker-archive:{saved}", "--output",
                         f"oci:{tmp_path / 'from-save'}", "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["compressed_kept"] == 5
        with open_image(f"oci:{tmp_path / 'from-save'}") as image:
            assert [x.diff_id for x in image.layers[:5]] == layers[0][:5]
            assert {x.media_type for x in image.layers} == {
                "application/vnd.oci.image.layer.v1.tar+gzip"}  # fmt: skip
            assert sum(x.compressed_size for x in image.layers) < saved.stat().st_size / 2
        assert _tree(f"oci:{tmp_path / 'from-save'}", "") == _tree(SOURCE)
    finally:
        subprocess.run(["docker", "rmi", "-f", SOURCE, SLIM, SLIM_FAILED, SLIM_ARCHIVE],
                       capture_output=True, check=False)  # fmt: skip


def _tree(name: str, scheme: str = "docker:") -> dict[str, TreeEntry]:
    with open_image(f"{scheme}{name}") as image:
        return merged_tree(image)


def test_slim_keeps_a_docker_import_base(docker_engine: str, tmp_path: Path) -> None:
    """An image built on a `docker import` base (the engine's Debian is one; a small one made
    here the same way): the imported layer is the base, kept and shared; the RUN layers
    become one without the deleted build file; the image runs the same."""
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "Dockerfile").write_text(MINI_DOCKERFILE.format(base=docker_engine))
    (tmp_path / "Dockerfile").write_text(ON_IMPORTED_DOCKERFILE)
    container = None
    try:
        _docker("build", "-q", "--network", "host", "-t", MINI, str(tmp_path / "mini"))
        container = _docker("create", MINI, "sh").strip()
        exported = tmp_path / "rootfs.tar"
        with exported.open("wb") as handle:
            subprocess.run(["docker", "export", container], stdout=handle, check=True)
        _docker("import", str(exported), IMPORTED)
        _docker("build", "-q", "--network", "host", "-t", ON_IMPORTED, str(tmp_path))
        done = _keelhaul("slim", f"docker:{ON_IMPORTED}", "--output", f"docker:{SLIM_IMPORTED}",
                         "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["layers"]["before"] == 3
        assert result["layers"]["after"] == 2
        assert result["layers"]["kept"] == 1
        assert result["not_squashed"] is None
        layers = [json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", t))
                  for t in (ON_IMPORTED, SLIM_IMPORTED)]  # fmt: skip
        assert layers[1][0] == layers[0][0]  # the imported base is shared
        assert _docker("run", "--rm", "--network", "none", SLIM_IMPORTED) == "one\ntwo\n"
        assert _tree(SLIM_IMPORTED) == _tree(ON_IMPORTED)
        seen = json.loads(_keelhaul("image", f"docker:{SLIM_IMPORTED}", "--format", "json").stdout)
        assert [(x["base"], x["shadowed_size"]) for x in seen["layers"]] == [(True, 0), (False, 0)]
        before = json.loads(_keelhaul("image", f"docker:{ON_IMPORTED}", "--format", "json").stdout)
        assert before["base"]["base_layers"] == 1
        assert sum(x["shadowed_size"] for x in before["layers"]) >= 2_000_000
    finally:
        if container:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", "-f", SLIM_IMPORTED, ON_IMPORTED, IMPORTED, MINI],
                       capture_output=True, check=False)  # fmt: skip
