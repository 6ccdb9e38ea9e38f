"""The stage model against a real Docker Engine: what keelhaul computes, docker builds.

The engine here (Debian's docker.io 20.10, legacy builder) predates the ${V%pat} pattern
forms and ${V-d} without a colon, so they are tested against BuildKit's own tables in test_lex.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse

DOCKERFILE = """\
ARG BASE=keelhaul-test/debian:bookworm
FROM ${{BASE}} AS base
ARG A=1
ENV B=${{A}}2 C="x y" D='$A' E=${{A:-z}} F=${{UNSET:-def}} G=${{A:+set}}
ENV H pre-${{B}} \\
  # a comment inside the continuation

    more
ENV J=${{B:-b}}${{NOPE:-}}
FROM base AS unused
FROM base
ARG TAG
ENV I=${{C}}! L=${{TAG:-none}}
LABEL "com.example.quoted key"="a b" plain=c
"""


@pytest.mark.docker
def test_env_and_labels_match_a_real_build(docker_engine: str, tmp_path: Path) -> None:
    src = DOCKERFILE.format()
    (tmp_path / "Dockerfile").write_text(src)
    tag = f"keelhaul-test/agree:{uuid.uuid4().hex[:12]}"
    build_args = {"BASE": docker_engine, "TAG": "v9"}
    cmd = ["docker", "build", "--network", "host", "-q", "-t", tag, str(tmp_path)]
    for key, value in build_args.items():
        cmd[2:2] = ["--build-arg", f"{key}={value}"]
    built = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        inspect = subprocess.run(
            ["docker", "image", "inspect", tag], check=True, capture_output=True, text=True
        )
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
    config = json.loads(inspect.stdout)[0]["Config"]
    engine_env = dict(item.split("=", 1) for item in config["Env"])

    build = resolve(parse(src), build_args)
    final = build.stages[build.target]  # type: ignore[index]
    assert final.base_stage == 0
    assert build.stages[0].base == docker_engine
    assert build.needed_stages() == [0, 2]
    for key, value in final.env.items():
        assert engine_env.get(key) == value, key
    assert set(final.env) == set(engine_env) - {"PATH"}
    assert config["Labels"] == {"com.example.quoted key": "a b", "plain": "c"}
