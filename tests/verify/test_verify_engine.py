"""`keelhaul verify` against the real engine: both versions built, measured, smoke-checked
and rebuilt; a fix that breaks the build caught and named by bisection; `fix --verify`
keeping only the fixes that stay green.

Cheap on purpose: the images are built on a 2.4 MB base (dash, cat, sleep and libc copied out
of the Debian base image), so that vfs copies little at each step.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from keelhaul.cli.app import cli
from keelhaul.dockerfile.edits import replace_instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rule import REGISTRY
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register
from tests.keelhaul_cli import run

pytestmark = pytest.mark.docker

TINY = "keelhaul-verify-test/tiny:1"
#: The tiny base: dash as /bin/sh, cat and sleep, and the C library they need. Taken from this
#: machine (Debian bookworm like the engine's base image) and imported with `docker import`: a
#: BuildKit build FROM the Debian base would first copy its 200 MB into BuildKit's store.
TINY_FILES = {
    "bin/sh": "/bin/dash", "bin/cat": "/bin/cat", "bin/sleep": "/bin/sleep",
    "lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
    "lib64/ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
}  # fmt: skip
APP = "#!/bin/sh\necho started\nexec sleep 300\n"


@pytest.fixture(scope="module")
def tiny(buildkit_docker: str, docker_engine: str) -> Iterator[str]:
    """A tiny base image (imported here, removed after the module)."""
    if not all(Path(source).is_file() for source in TINY_FILES.values()):
        pytest.skip(
            "this machine has no x86-64 dash, cat, sleep and glibc to make a tiny base from"
        )
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for folder in ("bin", "lib", "lib/x86_64-linux-gnu", "lib64", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            archive.addfile(info)
        for name, source in TINY_FILES.items():
            archive.add(str(Path(source).resolve()), arcname=name)
    made = subprocess.run([buildkit_docker, "import", "-", TINY], input=data.getvalue(),
                          capture_output=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    yield TINY
    subprocess.run([buildkit_docker, "rmi", "-f", TINY], capture_output=True, check=False)


def _leftovers(client: str, run_id: str | None = None) -> set[str]:
    """Images and containers a verify run left (of ``run_id``; of any run without)."""
    label = "keelhaul.verify" + (f"={run_id}" if run_id else "")
    found: set[str] = set()
    for kind in ("images", "ps"):
        extra = ["-a"] if kind == "ps" else []
        listed = subprocess.run([client, kind, "-q", *extra, "--filter", f"label={label}"],
                                capture_output=True, text=True, check=False)  # fmt: skip
        found.update(listed.stdout.split())
    return found


def test_verify_builds_both_compares_and_counts_rebuilt_steps(
    tiny: str, buildkit_docker: str, tmp_path: Path
) -> None:
    (tmp_path / "app.sh").write_text(APP)
    (tmp_path / "notes.json").write_text("{}\n")
    # the FROM names an image this machine cannot pull; the configuration maps it to the local one
    (tmp_path / ".keelhaul.toml").write_text(
        f'[settings]\nverify-base-map = {{"registry.example/acme/tiny:1" = "{tiny}"}}\n'
    )
    (tmp_path / "Dockerfile").write_text(
        "FROM registry.example/acme/tiny:1\n"
        "MAINTAINER Jane <jane@example.com>\n"
        "ENV GREETING hello\n"
        "COPY notes.json app.sh /app/\n"
        "RUN cat /app/app.sh > /app/copy.sh\n"
        "RUN cat /app/app.sh > /app/second.sh\n"
        "HEALTHCHECK CMD cat /app/copy.sh\n"
        "CMD sh /app/app.sh\n"
    )
    before = (tmp_path / "Dockerfile").read_bytes()
    done = run("verify", str(tmp_path), "--network", "host", "--docker", buildkit_docker,
               "--format", "json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    b, a = report["before"], report["after"]
    assert b["built"] is True, b["build_error"]
    assert a["built"] is True, a["build_error"]
    for side in (b, a):
        assert side["smoke"]["passed"] is True, side["smoke"]
        assert side["smoke"]["how"] == "healthcheck"
        assert side["size"] > 1_000_000  # the tiny base's 2.4 MB, uncompressed
        assert 0 < side["compressed_size"]["bytes"] < side["size"]
        assert side["compressed_size"]["basis"] == "estimated"
    # MAINTAINER, ENV, the two RUNs merged; CMD stays in shell form: the exec-form fix (KH113)
    # is unsafe on a base image keelhaul does not know (its ENTRYPOINT would get the program)
    assert [f["code"] for f in a["fixes"]] == ["KH111", "KH112", "KH180"]
    assert a["layers"] == b["layers"] - 1
    assert b["cmd"] == ["/bin/sh", "-c", "sh /app/app.sh"]
    assert a["cmd"] == b["cmd"]
    # the change goes to the program, not to the JSON file beside it
    assert report["touched"] == "app.sh"
    assert b["rebuilt_steps"] == ["[2/4] COPY notes.json app.sh /app/",
                                  "[3/4] RUN cat /app/app.sh > /app/copy.sh",
                                  "[4/4] RUN cat /app/app.sh > /app/second.sh"]  # fmt: skip
    assert a["rebuilt_steps"] == [
        "[2/3] COPY notes.json app.sh /app/",
        "[3/3] RUN cat /app/app.sh > /app/copy.sh && cat /app/app.sh > /app/second.sh",
    ]
    assert "a source change rebuilds 2 steps instead of 3" in report["headline"]
    assert (b["rebuilt_runs"], a["rebuilt_runs"]) == (2, 1)
    # the rebuilt image's new layers: the COPY and the RUNs after it, one tar each
    assert 0 < a["new_layer_bytes"] < b["new_layer_bytes"] < b["size"]
    assert report["base_map"][0]["image"] == "registry.example/acme/tiny:1"
    assert report["base_map"][0]["local"] == tiny
    # the user's files untouched, and nothing left in the engine
    assert (tmp_path / "Dockerfile").read_bytes() == before
    assert (tmp_path / "app.sh").read_text() == APP
    assert _leftovers(buildkit_docker, report["run"]) == set()


BROKEN = "KH299"


def _breaks_the_copy(ctx: DockerfileContext) -> Iterator[Hit]:
    for inst in ctx.tree.instructions:
        if inst.name == "RUN" and "copy.sh" in inst.args:
            fix = Fix((replace_instruction(inst, "RUN cat /app/missing.sh > /app/copy.sh"),),
                      "read the wrong file", Safety.SAFE)  # fmt: skip
            yield Hit(inst, "a test rule whose fix breaks the build", fix=fix)


@pytest.fixture
def broken_fix() -> Iterator[str]:
    """A safe fix that breaks the build, registered for one test."""
    register(Rule(code=BROKEN, name="test-broken-fix", severity=Severity.WARNING,
                  category=Category.MAINTAINABILITY, summary="Test only.",
                  explanation="A fix that breaks the build, to be caught by verify.",
                  bad="FROM x\n", good="FROM x\n", check=_breaks_the_copy,
                  fix=Safety.SAFE))  # fmt: skip
    try:
        yield BROKEN
    finally:
        REGISTRY.pop(BROKEN, None)


def _app(folder: Path, base: str, healthcheck: bool = False) -> Path:
    (folder / "app.sh").write_text(APP)
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(
        f"FROM {base}\n"
        "MAINTAINER Jane <jane@example.com>\n"
        "ENV GREETING hello\n"
        "COPY app.sh /app/app.sh\n"
        "RUN cat /app/app.sh > /app/copy.sh\n"
        + ("HEALTHCHECK CMD cat /app/app.sh\n" if healthcheck else "")
        + 'CMD ["sh", "/app/app.sh"]\n'
    )
    return dockerfile


def test_a_fix_that_breaks_the_build_is_caught_and_named(
    tiny: str, buildkit_docker: str, broken_fix: str, tmp_path: Path
) -> None:
    _app(tmp_path, tiny)
    done = CliRunner().invoke(
        cli, ["verify", str(tmp_path), "--network", "host", "--docker", buildkit_docker,
              "--no-cache-check", "--smoke-seconds", "1", "--format", "json"],
        standalone_mode=False, obj=None,
    )  # fmt: skip
    assert done.exception is None, done.output
    assert done.return_value == 1
    report = json.loads(done.stdout)
    assert report["before"]["built"] is True, report["before"]["build_error"]
    assert report["before"]["smoke"]["passed"] is True
    assert report["after"]["built"] is False
    assert "missing.sh" in report["after"]["build_error"]
    assert [f["code"] for f in report["after"]["fixes"]] == ["KH111", "KH112", broken_fix]
    assert report["blame"]["code"] == broken_fix
    assert report["blame"]["description"] == "read the wrong file"
    # two probes: KH111 alone, then KH111 and KH112, both green
    assert [(p["codes"], p["green"]) for p in report["blame"]["probes"]] == [
        (["KH111"], True), (["KH111", "KH112"], True)]  # fmt: skip
    assert _leftovers(buildkit_docker, report["run"]) == set()


def test_fix_verify_applies_only_the_fixes_that_stay_green(
    tiny: str, buildkit_docker: str, broken_fix: str, tmp_path: Path
) -> None:
    dockerfile = _app(tmp_path, tiny, healthcheck=True)  # healthy in a second: no 5 s wait
    others = _leftovers(buildkit_docker)  # other verify runs on this engine may be under way
    done = CliRunner().invoke(
        cli, ["fix", "--verify", "--network", "host", str(dockerfile)], standalone_mode=False,
    )  # fmt: skip
    assert done.exception is None, done.output
    assert done.return_value == 0
    fixed = dockerfile.read_text()
    assert 'LABEL org.opencontainers.image.authors="Jane <jane@example.com>"' in fixed
    assert "ENV GREETING=hello" in fixed
    assert "RUN cat /app/app.sh > /app/copy.sh" in fixed  # the broken fix left out
    assert f"not applying {broken_fix} (read the wrong file)" in done.stderr
    assert _leftovers(buildkit_docker) <= others


def test_against_a_git_revision_with_a_command_as_smoke_check(
    tiny: str, buildkit_docker: str, tmp_path: Path
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)  # fmt: skip

    dockerfile = _app(tmp_path, tiny)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    # the working tree: a new file the Dockerfile now copies too; the revision has neither
    (tmp_path / "extra.sh").write_text("echo extra\n")
    dockerfile.write_text(dockerfile.read_text().replace(
        "COPY app.sh /app/app.sh\n", "COPY app.sh extra.sh /app/\n"))  # fmt: skip
    done = run("verify", str(tmp_path), "--against", "HEAD", "--network", "host",
               "--docker", buildkit_docker, "--no-cache-check", "--smoke", "cat /app/extra.sh",
               "--format", "json", cwd=tmp_path)  # fmt: skip
    report = json.loads(done.stdout)
    assert report["mode"] == "revision"
    assert report["before"]["label"] == "HEAD"
    assert report["after"]["label"] == "working tree"
    assert report["before"]["built"] is True, report["before"]["build_error"]
    assert report["after"]["built"] is True, report["after"]["build_error"]
    # the revision's image has no extra.sh: its smoke check fails, the working tree's passes
    assert report["before"]["smoke"]["how"] == "command"
    assert report["before"]["smoke"]["passed"] is False
    assert report["after"]["smoke"]["passed"] is True
    assert done.returncode == 0
    assert _leftovers(buildkit_docker, report["run"]) == set()
