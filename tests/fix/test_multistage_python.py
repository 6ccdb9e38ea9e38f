"""The unsafe Python multi-stage conversion (KH124, KH120): wheels built in a builder stage,
installed into the slim runtime from a bind mount."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.edits import apply_edits
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Fix, Safety
from keelhaul.rule import REGISTRY
from keelhaul.rules.dockerfile.multistage._python import (
    MOUNT,
    READ_DEPENDENCIES,
    WHY_UNSAFE,
    WHY_UNSAFE_PROJECT,
    WHY_UNSAFE_SPLIT,
    runtime_base,
)
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.registry import DockerfileContext, fixes_wanted
from tests.fix.test_fixing import fix

RULES = {r.code: r for r in dockerfile_rules() if r.code in ("KH120", "KH124")}
INSTALL = f"RUN {MOUNT} pip install --no-cache-dir --no-index /wheels/*.whl\n"
CLEAN_LISTS = "rm -rf /var/lib/apt/lists/*"


def fixed(src: str, code: str) -> str | None:
    with fixes_wanted(True):
        found = list(RULES[code].check(DockerfileContext.of(parse(src))))
    assert found, f"{code} must flag the case"
    f = found[0].fix
    if f is None:
        return None
    text = apply_edits(src, f.edits)
    assert f.safety is Safety.UNSAFE
    assert (f.why_unsafe in (WHY_UNSAFE, WHY_UNSAFE_PROJECT)) == (MOUNT in text)
    # the sources stay in the builder only when a local project is installed from them
    if f.why_unsafe == WHY_UNSAFE_PROJECT:
        assert "the sources stay there" in f.description
    return text


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        pytest.param(
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y "
            "--no-install-recommends gcc libpq-dev && pip install --no-cache-dir psycopg2==2.9.9 "
            f"&& {CLEAN_LISTS}\n",
            "FROM python:3.12-slim AS build\nRUN apt-get update && apt-get install -y "
            "--no-install-recommends gcc libpq-dev && pip wheel --wheel-dir=/wheels "
            f"--no-cache-dir psycopg2==2.9.9 && {CLEAN_LISTS}\n"
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y "
            f"--no-install-recommends libpq5 && {CLEAN_LISTS}\n{INSTALL}",
            "KH124",
            id="one-run-slim",
        ),
        pytest.param(
            "FROM python:3.12\nLABEL org.opencontainers.image.title=app\n"
            "ENV PYTHONUNBUFFERED=1\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --upgrade pip && \\\n"
            "    pip install --no-cache-dir --upgrade -r requirements.txt\n"
            'COPY . .\nEXPOSE 8000\nCMD ["gunicorn", "app:app"]\n',
            "FROM python:3.12 AS build\n"
            "ENV PYTHONUNBUFFERED=1\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --upgrade pip && \\\n"
            "    pip wheel --wheel-dir=/wheels --no-cache-dir -r requirements.txt\n"
            "FROM python:3.12-slim\nLABEL org.opencontainers.image.title=app\n"
            f"ENV PYTHONUNBUFFERED=1\nWORKDIR /app\n{INSTALL}"
            'COPY . .\nEXPOSE 8000\nCMD ["gunicorn", "app:app"]\n',
            "KH120",
            id="full-image-upgrade-flag-dropped",
        ),
        pytest.param(
            "FROM python:3.11-bookworm\nARG EXTRA=1\nWORKDIR /srv\n"
            "RUN apt-get update \\\n && apt-get install -y --no-install-recommends build-essential "
            f"libxslt1-dev libffi-dev curl \\\n && {CLEAN_LISTS}\n"
            "COPY requirements/ requirements/\nCOPY constraints.txt ./\n"
            "RUN python -m pip install -r requirements/prod.txt -c constraints.txt\n"
            "RUN useradd -r app\nUSER app\nCOPY . .\n",
            "FROM python:3.11-bookworm AS build\nARG EXTRA=1\nWORKDIR /srv\n"
            "RUN apt-get update \\\n && apt-get install -y --no-install-recommends build-essential "
            f"libxslt1-dev libffi-dev curl \\\n && {CLEAN_LISTS}\n"
            "COPY requirements/ requirements/\nCOPY constraints.txt ./\n"
            "RUN python -m pip wheel --wheel-dir=/wheels -r requirements/prod.txt "
            "-c constraints.txt\n"
            "FROM python:3.11-slim-bookworm\nARG EXTRA=1\nWORKDIR /srv\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends libxslt1.1 curl "
            f"&& {CLEAN_LISTS}\n{INSTALL}"
            "RUN useradd -r app\nUSER app\nCOPY . .\n",
            "KH124",
            id="bookworm-suite-runtime-libraries-and-after",
        ),
        pytest.param(
            "FROM python:3.12\r\nWORKDIR /app\r\nCOPY native/ native/\r\n"
            "RUN pip install ./native\r\nCOPY app.py .\r\n",
            "FROM python:3.12 AS build\r\nWORKDIR /app\r\nCOPY native/ native/\r\n"
            "RUN pip wheel --wheel-dir=/wheels ./native\r\nFROM python:3.12-slim\r\n"
            f"WORKDIR /app\r\n{INSTALL.replace(chr(10), chr(13) + chr(10))}COPY app.py .\r\n",
            "KH120",
            id="crlf-local-path",
        ),
        pytest.param(
            "FROM python:3.12-slim@sha256:" + "a" * 64 + "\n"
            "RUN apt-get update && apt-get install -y gcc\nCOPY requirements.txt .\n"
            "RUN pip install -r requirements.txt\n",
            "FROM python:3.12-slim@sha256:" + "a" * 64 + " AS build\n"
            "RUN apt-get update && apt-get install -y gcc\nCOPY requirements.txt .\n"
            "RUN pip wheel --wheel-dir=/wheels -r requirements.txt\n"
            "FROM python:3.12-slim@sha256:" + "a" * 64 + f"\n{INSTALL}",
            "KH124",
            id="slim-digest-kept",
        ),
        pytest.param(
            "FROM python:3.11-bookworm\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
            'EXPOSE 8000\nCMD ["routeplan-server"]\n',
            "FROM python:3.11-bookworm AS build\nWORKDIR /app\nCOPY . .\n"
            "RUN pip wheel --wheel-dir=/wheels .\nFROM python:3.11-slim-bookworm\n"
            f'WORKDIR /app\n{INSTALL}EXPOSE 8000\nCMD ["routeplan-server"]\n',
            "KH120",
            id="local-project-sources-stay-in-builder",
        ),
        pytest.param(
            "FROM python:3.12\nENV PYTHONUNBUFFERED=1\nWORKDIR /srv\n"
            "RUN apt-get update && apt-get install -y libpq-dev\n"
            "COPY pyproject.toml setup.py ./\nCOPY src/ src/\n"
            "RUN pip install --no-cache-dir -r requirements.txt .\nUSER 10001\n"
            'CMD ["python", "-m", "service"]\n',
            "FROM python:3.12 AS build\nENV PYTHONUNBUFFERED=1\nWORKDIR /srv\n"
            "RUN apt-get update && apt-get install -y libpq-dev\n"
            "COPY pyproject.toml setup.py ./\nCOPY src/ src/\n"
            "RUN pip wheel --wheel-dir=/wheels --no-cache-dir -r requirements.txt .\n"
            "FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1\nWORKDIR /srv\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && "
            f"{CLEAN_LISTS}\n{INSTALL}USER 10001\n"
            'CMD ["python", "-m", "service"]\n',
            "KH120",
            id="local-project-requirements-and-runtime-library",
        ),
    ],
)
def test_fix(before: str, after: str, code: str) -> None:
    got = fixed(before, code)
    assert got == after
    tree = parse(got)
    assert not tree.errors
    build = resolve(tree)
    assert [s.name for s in build.stages] == ["build", None]
    # the rule that offered it is quiet on the result (KH120: the runtime is slim)
    assert not list(RULES[code].check(DockerfileContext.of(tree)))


@pytest.mark.parametrize(
    ("src", "code"),
    [
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            "KH120",
            id="sources-copied-before",
        ),
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
            'CMD ["python", "app.py"]\n',
            "KH120",
            id="local-project-script-run-from-the-sources",
        ),
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
            "ENTRYPOINT ./docker-entrypoint.sh\n",
            "KH120",
            id="local-project-entrypoint-from-the-sources",
        ),
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
            'HEALTHCHECK CMD python healthcheck.py\nCMD ["serve"]\n',
            "KH120",
            id="local-project-healthcheck-from-the-sources",
        ),
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
            "RUN python manage.py collectstatic --noinput\n",
            "KH120",
            id="local-project-later-run-reads-the-sources",
        ),
        pytest.param(
            "FROM python:3.12\nWORKDIR /app\nCOPY --from=assets /dist ./dist\nRUN pip install .\n",
            "KH120",
            id="local-project-copy-from-another-stage",
        ),
        pytest.param(
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc libfoo-dev\n"
            "RUN pip install -r requirements.txt\n",
            "KH124",
            id="unknown-dev-package",
        ),
        pytest.param(
            "FROM python:3.12-alpine\nRUN apk add gcc musl-dev\nRUN pip install psycopg2\n",
            "KH124",
            id="alpine",
        ),
        pytest.param(
            "FROM python:3.12@sha256:" + "a" * 64 + "\nRUN pip install flask\n",
            "KH120",
            id="full-image-digest",
        ),
        pytest.param(
            "FROM python:3.12\nRUN pip install --user flask\n", "KH120", id="user-install"
        ),
        pytest.param("FROM python:3.12\nRUN pip install -e .\n", "KH120", id="editable-install"),
        pytest.param(
            "FROM python:3.12\nRUN pip install flask\nRUN pip install gunicorn\n",
            "KH120",
            id="two-install-runs",
        ),
        pytest.param(
            "FROM python:3.12\nRUN python -m venv /venv && /venv/bin/pip install flask\n",
            "KH120",
            id="venv",
        ),
        pytest.param(
            "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
            "COPY . .\nRUN python setup.py build_ext --inplace && make\n",
            "KH120",
            id="later-compile",
        ),
        pytest.param(
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc $LIBS\n"
            "RUN pip install psycopg2\n",
            "KH124",
            id="package-variable",
        ),
        pytest.param("FROM python:3.12 AS app\nRUN pip install flask\n", "KH120", id="named-stage"),
        pytest.param(
            "FROM python:3.12\nRUN pip install poetry && poetry install\n",
            "KH120",
            id="poetry",
        ),
        pytest.param(
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install "
            "--upgrade-strategy eager flask\n",
            "KH120",
            id="option-value-in-next-word",
        ),
    ],
)
def test_no_fix(src: str, code: str) -> None:
    got = fixed(src, code)
    assert got is None or MOUNT not in got  # KH120 may still offer its plain slim swap


def test_runtime_base() -> None:
    assert runtime_base("python:3.12") == "python:3.12-slim"
    assert runtime_base("python") == "python:slim"
    assert runtime_base("docker.io/library/python:3.11-bookworm") == (
        "docker.io/library/python:3.11-slim-bookworm"
    )
    assert runtime_base("python:3.12-slim") == "python:3.12-slim"
    assert runtime_base("python:3.12-alpine") is None
    assert runtime_base("python:3.12@sha256:" + "a" * 64) is None


def _fix_folder(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "--no-config", "--unsafe-fixes", *args,
         str(folder / "Dockerfile")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (folder / "Dockerfile").read_text()


def test_composes_with_other_fixes_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    src = (
        "FROM python:3.12\nENV PYTHONUNBUFFERED=1\nWORKDIR /app\n"
        "RUN apt-get update && apt-get install -y libpq-dev\n"
        "COPY . .\nRUN pip install -r requirements.txt\n"
        'CMD ["python", "app.py"]\n'
    )
    (tmp_path / "Dockerfile").write_text(src)
    everything = _fix_folder(tmp_path)
    tree = parse(everything)
    assert not tree.errors
    stages = resolve(tree).stages
    # the reorder (KH182) ran first, then the conversion: requirements first, sources in the
    # runtime only
    assert [s.name for s in stages] == ["build", None], everything
    assert stages[-1].base == "python:3.12-slim"
    final = "".join(i.text for i in stages[-1].instructions)
    assert MOUNT in final
    assert "COPY" in final
    assert "libpq5" in final
    assert ". ." not in "".join(i.text for i in stages[0].instructions)
    assert _fix_folder(tmp_path) == everything


# --------------------------------------------------------- a project that declares dependencies

NAIVE_PROJECT = (
    "FROM python:3.11-bookworm\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir .\n"
    'EXPOSE 8000\nCMD ["routeplan-server"]\n'
)
DEPENDENCIES = (
    '[project]\nname = "routeplan"\nversion = "1.0"\n'
    'dependencies = ["falcon==3.1.3", "waitress==3.0.2"]\n'
)


def _project(folder: Path, pyproject: str, dockerfile: str = NAIVE_PROJECT) -> DockerfileContext:
    (folder / "pyproject.toml").write_text(pyproject)
    (folder / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (folder / "routeplan").mkdir(exist_ok=True)
    (folder / "routeplan" / "__init__.py").write_text("")
    (folder / "Dockerfile").write_text(dockerfile)
    context = BuildContext.read(folder, folder / "Dockerfile")
    return DockerfileContext.of(parse(dockerfile), build_context=context)


def _fix_of(ctx: DockerfileContext) -> Fix | None:
    with fixes_wanted(True):
        found = list(RULES["KH120"].check(ctx))
    assert found
    return found[0].fix


def test_declared_dependencies_are_built_before_the_sources_and_installed_on_their_own(
    tmp_path: Path,
) -> None:
    """pyproject.toml's static dependencies: the builder builds their wheels from it alone,
    before `COPY . .`, and the project's wheel after it with --no-deps; the runtime installs
    the two in RUNs of their own, so a source change leaves the dependencies' RUN cached."""
    fix = _fix_of(_project(tmp_path, DEPENDENCIES))
    assert fix is not None
    assert fix.why_unsafe == WHY_UNSAFE_SPLIT
    assert "a source change does not re-run" in fix.description
    got = apply_edits(NAIVE_PROJECT, fix.edits)
    assert got == (
        "FROM python:3.11-bookworm AS build\nWORKDIR /app\nCOPY pyproject.toml ./\n"
        f"RUN {READ_DEPENDENCIES} \\\n"
        " && pip wheel --wheel-dir=/wheels/deps --no-cache-dir -r /tmp/dependencies.txt\n"
        "COPY . .\nRUN pip wheel --wheel-dir=/wheels/app --no-deps --no-cache-dir .\n"
        "FROM python:3.11-slim-bookworm\nWORKDIR /app\n"
        "RUN --mount=type=bind,from=build,source=/wheels/deps,target=/wheels/deps "
        "pip install --no-cache-dir --no-index /wheels/deps/*.whl\n"
        "RUN --mount=type=bind,from=build,source=/wheels/app,target=/wheels/app "
        "pip install --no-cache-dir --no-index /wheels/app/*.whl\n"
        'EXPOSE 8000\nCMD ["routeplan-server"]\n'
    )
    assert not parse(got).errors
    # the line the builder runs reads the list pyproject.toml declares, one per line
    script = READ_DEPENDENCIES.removeprefix("python -c ").removesuffix(" > /tmp/dependencies.txt")
    printed = subprocess.run(
        [sys.executable, "-c", shlex.split(script)[0]], cwd=tmp_path,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert printed.stdout == "falcon==3.1.3\nwaitress==3.0.2\n"
    # KH182 (sources before the install) is quiet on the result: the dependencies come first
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    after = DockerfileContext.of(parse(got), build_context=context)
    assert not list(REGISTRY["KH182"].check(after))


@pytest.mark.parametrize(
    ("pyproject", "dockerfile"),
    [
        pytest.param('[project]\nname = "p"\nversion = "1"\n', NAIVE_PROJECT, id="none"),
        pytest.param(
            '[project]\nname = "p"\nversion = "1"\ndynamic = ["dependencies"]\n'
            'optional-dependencies = {dev = ["pytest"]}\n',
            NAIVE_PROJECT,
            id="dynamic",
        ),
        pytest.param(
            DEPENDENCIES,
            NAIVE_PROJECT.replace("3.11-bookworm", "3.10-bookworm"),
            id="no-tomllib-before-3.11",
        ),
        pytest.param(
            DEPENDENCIES, NAIVE_PROJECT.replace("COPY . .", "COPY . /app/"), id="copy-elsewhere"
        ),
        pytest.param(
            DEPENDENCIES,
            NAIVE_PROJECT.replace("install --no-cache-dir .", "install --no-cache-dir '.[server]'"),
            id="extras",
        ),
    ],
)
def test_dependencies_stay_with_the_project_when_not_proven(
    tmp_path: Path, pyproject: str, dockerfile: str
) -> None:
    """No static list, a Python without tomllib, another COPY or extras: the project and its
    dependencies are built in one step as before (when the conversion is offered at all)."""
    fix = _fix_of(_project(tmp_path, pyproject, dockerfile))
    if fix is not None:
        assert fix.why_unsafe == WHY_UNSAFE_PROJECT
        assert "/wheels/deps" not in apply_edits(dockerfile, fix.edits)


def test_safe_mode_leaves_it() -> None:
    src = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc\n" \
        "RUN pip install flask\n"  # fmt: skip
    assert MOUNT not in fix(src, ("KH124",), unsafe=False)


# --------------------------------------------------------------------------- a real build

PROJECT = (
    "FROM python:3.11-bookworm\nWORKDIR /app\nCOPY native/ native/\n"
    "RUN pip install --no-cache-dir ./native\nCOPY app.py .\n"
    'CMD ["python", "app.py"]\n'
)
SETUP = (
    "from setuptools import Extension, setup\n\n"
    'setup(name="greet", version="1.0", ext_modules=[Extension("greet", ["greet.c"])])\n'
)
GREET_C = """#include <Python.h>
static PyObject *hello(PyObject *self, PyObject *args) { return PyUnicode_FromString("hello from C"); }
static PyMethodDef methods[] = {{"hello", hello, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "greet", NULL, -1, methods};
PyMODINIT_FUNC PyInit_greet(void) { return PyModule_Create(&module); }
"""


@pytest.mark.docker
def test_converted_python_image_runs_the_same_and_is_much_smaller(
    buildkit_docker: str, python_standins: tuple[str, str], tmp_path: Path
) -> None:
    """A C extension compiled in the full image: after the conversion it is compiled in the
    builder and only its wheel's contents reach the slim runtime."""
    folder = tmp_path / "project"
    (folder / "native").mkdir(parents=True)
    (folder / "native" / "setup.py").write_text(SETUP)
    (folder / "native" / "greet.c").write_text(GREET_C)
    (folder / "app.py").write_text("import greet\nprint(greet.hello())\n")
    (folder / "Dockerfile").write_text(PROJECT)
    after = _fix_folder(folder, "--select", "KH120")
    assert MOUNT in after, after
    assert "python:3.11-slim-bookworm" in after, after
    run_id = uuid.uuid4().hex[:12]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    sizes: dict[str, int] = {}
    outputs: dict[str, str] = {}
    tags: list[str] = []
    try:
        for name, text in (("before", PROJECT), ("after", after)):
            (folder / f"{name}.Dockerfile").write_text(
                text.replace("python:", "keelhaul-test/python:")
            )
            tags.append(f"keelhaul-test/python-fix:{run_id}-{name}")
            built = subprocess.run(
                [buildkit_docker, "build", "--network", "none", "-f",
                 str(folder / f"{name}.Dockerfile"), "-t", tags[-1], str(folder)],
                capture_output=True, text=True, check=False, env=env,
            )  # fmt: skip
            assert built.returncode == 0, built.stdout + built.stderr
            ran = subprocess.run(["docker", "run", "--rm", "--network", "none", tags[-1]],
                                 capture_output=True, text=True, check=False)  # fmt: skip
            assert ran.returncode == 0, ran.stderr
            outputs[name] = ran.stdout
            size = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}",
                                   tags[-1]], capture_output=True, text=True, check=True)  # fmt: skip
            sizes[name] = int(size.stdout.strip())
        assert outputs["before"] == outputs["after"] == "hello from C\n"
        # the stand-ins differ by gcc, g++, make and the headers: some 370 MB
        assert sizes["after"] * 3 < sizes["before"] * 2, sizes
    finally:
        for tag in tags:
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
