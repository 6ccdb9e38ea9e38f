"""The cache model against the real thing: build with BuildKit, change files, build again, and
compare the steps BuildKit did not take from its cache with what keelhaul predicted."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from keelhaul.cache.keys import CacheModel
from keelhaul.cache.rebuilds import Change, rebuilds
from keelhaul.context.dockerignore import DockerIgnore
from keelhaul.dockerfile.syntax import parse

pytestmark = pytest.mark.docker

TAG = "keelhaul-test/cache-model"


@dataclass
class Scenario:
    name: str
    dockerfile: str
    files: dict[str, str]
    changes: dict[str, str]
    """Files written before the second build (``Dockerfile`` included)."""
    ignore: str = ""
    args: dict[str, str] = field(default_factory=dict)
    args_after: dict[str, str] = field(default_factory=dict)
    expected: tuple[str, ...] = ()
    """The steps that must run again (instruction words), to check the scenario means something."""


NODE = """FROM {base}
RUN echo {salt} > /salt
WORKDIR /app
COPY . .
RUN cat package.json > /deps
RUN find src -type f | sort > /built
"""
REORDERED = """FROM {base}
RUN echo {salt} > /salt
WORKDIR /app
COPY package.json ./
RUN cat package.json > /deps
COPY . .
RUN find src -type f | sort > /built
"""
MULTI = """FROM {base} AS build
RUN echo {salt} > /salt
COPY src/ /src/
RUN cat /src/* > /out
FROM {base} AS test
RUN echo {salt} > /salt
COPY test/ /test/
FROM {base}
RUN echo {salt} > /salt
COPY --from=build /out /out
COPY conf.txt /conf
"""
APP = {"package.json": "{}\n", "src/a.js": "1\n", "README.md": "docs\n"}

SCENARIOS = [
    Scenario("copy-all-source-change", NODE, APP, {"src/a.js": "2\n"}, ignore="*.md\n",
             expected=("COPY . .", "RUN cat package.json > /deps", "RUN find src -type f | sort > /built")),
    Scenario("copy-all-ignored-change", NODE, APP, {"README.md": "more\n"}, ignore="*.md\n"),
    Scenario("reordered-source-change", REORDERED, APP, {"src/a.js": "2\n"},
             expected=("COPY . .", "RUN find src -type f | sort > /built")),
    Scenario("reordered-manifest-change", REORDERED, APP, {"package.json": '{"a": 1}\n'},
             expected=("COPY package.json ./", "RUN cat package.json > /deps", "COPY . .",
                       "RUN find src -type f | sort > /built")),
    Scenario("multi-stage-propagates", MULTI, {"src/a": "1\n", "test/t": "1\n", "conf.txt": "c\n"},
             {"src/a": "2\n"}, expected=("COPY src/ /src/", "RUN cat /src/* > /out",
                                          "COPY --from=build /out /out", "COPY conf.txt /conf")),
    Scenario("unused-stage-skipped", MULTI, {"src/a": "1\n", "test/t": "1\n", "conf.txt": "c\n"},
             {"test/t": "2\n"}),
    Scenario("bind-mount", "FROM {base}\nRUN echo {salt} > /salt\n"
             "RUN --mount=type=bind,source=go.mod,target=/m cat /m > /x\nRUN echo done\n",
             {"go.mod": "m\n", "main.go": "x\n"}, {"go.mod": "m2\n"},
             expected=("RUN --mount=type=bind,source=go.mod,target=/m cat /m > /x", "RUN echo done")),
    Scenario("bind-mount-unrelated", "FROM {base}\nRUN echo {salt} > /salt\n"
             "RUN --mount=type=bind,source=go.mod,target=/m cat /m > /x\n",
             {"go.mod": "m\n", "main.go": "x\n"}, {"main.go": "y\n"}),
    Scenario("label-edit", "FROM {base}\nRUN echo {salt} > /salt\nCOPY a /a\nRUN cat /a\n",
             {"a": "1\n"}, {"Dockerfile": "FROM {base}\nRUN echo {salt} > /salt\nLABEL x=1\nCOPY a /a\nRUN cat /a\n"}),
    Scenario("run-edit", "FROM {base}\nRUN echo {salt} > /salt\nCOPY a /a\nRUN cat /a\nRUN true\n",
             {"a": "1\n"}, {"Dockerfile": "FROM {base}\nRUN echo {salt} > /salt\nCOPY a /a\nRUN cat /a /a\nRUN true\n"},
             expected=("RUN cat /a /a", "RUN true")),
    Scenario("build-arg", "FROM {base}\nRUN echo {salt} > /salt\nCOPY a /a\nARG V=0\nRUN echo hi\n",
             {"a": "1\n"}, {}, args={"V": "1"}, args_after={"V": "2"}, expected=("RUN echo hi",)),
]  # fmt: skip


def _build(client: str, folder: Path, args: dict[str, str]) -> str:
    command = [client, "build", "--network", "host", "--progress=plain", "-t", TAG]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    done = subprocess.run(
        [*command, str(folder)], capture_output=True, text=True, check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _ran(log: str) -> set[str]:
    """The RUN/COPY steps BuildKit ran rather than took from its cache."""
    steps = dict(re.findall(r"^#(\d+) \[(?:\S+ )?\d+/\d+\] ((?:RUN|COPY) .+)$", log, re.M))
    cached = set(re.findall(r"^#(\d+) CACHED$", log, re.M))
    return {" ".join(text.split()) for vertex, text in steps.items() if vertex not in cached}


def _write(folder: Path, files: dict[str, str], fill: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(**fill) if name == "Dockerfile" else text)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_prediction_matches_buildkit(
    buildkit_docker: str, docker_engine: str, tmp_path: Path, scenario: Scenario
) -> None:
    fill = {"base": docker_engine, "salt": uuid.uuid4().hex}
    _write(tmp_path, {"Dockerfile": scenario.dockerfile, **scenario.files}, fill)
    if scenario.ignore:
        (tmp_path / ".dockerignore").write_text(scenario.ignore)
    before = (tmp_path / "Dockerfile").read_text()
    try:
        _build(buildkit_docker, tmp_path, scenario.args)
        _write(tmp_path, scenario.changes, fill)
        after = (tmp_path / "Dockerfile").read_text()
        args_after = scenario.args_after or scenario.args
        ran = _ran(_build(buildkit_docker, tmp_path, args_after))
    finally:
        subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True, check=False)
    model = CacheModel.of(parse(after), args_after)
    ignore = DockerIgnore.parse(scenario.ignore) if scenario.ignore else None
    changed_args = {k for k in args_after if scenario.args.get(k) != args_after[k]}
    cached = CacheModel.of(parse(before), scenario.args).static_keys if after != before else None
    change = Change(
        frozenset(n for n in scenario.changes if n != "Dockerfile"),
        frozenset(changed_args),
        cached,
        lambda path: ignore is None or not ignore.excludes(path),
    )
    predicted = {
        " ".join(step.instruction.original.split())
        for step in rebuilds(model, change).rebuilt_steps
        if step.instruction.name in ("RUN", "COPY")
    }
    assert predicted == ran
    assert ran == set(scenario.expected)
