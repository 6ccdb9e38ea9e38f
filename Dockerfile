# keelhaul's own image, built the way keelhaul says images should be: two stages (nothing of
# the build reaches the runtime), a slim base pinned by digest, no caches, a non-root user.
#
#   docker build -t keelhaul .
#   docker run --rm -v "$PWD:/work:ro" keelhaul check /work
#
# The base is python:3.12-slim-bookworm at its multi-platform index digest as Docker Hub served
# it on 2026-08-25 (docker-library/repo-info); `keelhaul fix --pin --update` refreshes it.
ARG PYTHON=python:3.12-slim-bookworm@sha256:0f5b26b9518d002b6173fd61daad821fa340635ebfec5bba471013f9ca114579

FROM ${PYTHON} AS build
# pip reads these when given (`--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=...`):
# an offline build from a local wheelhouse
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
WORKDIR /src
# the dependencies first, from the list pyproject.toml declares (read alone): a change to src/
# then rebuilds only keelhaul's own wheel, never the dependencies
COPY pyproject.toml ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["sbom"]))' >/tmp/requirements.txt \
    && python -m pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt
COPY README.md ./
COPY src/ src/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# the wheels come from a bind mount, so none is left in a layer; the base's setuid and setgid
# bits go in the same layer (nobody in this image needs su, passwd or mount)
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index /wheels/*.whl \
    && find / -xdev -type f -perm /6000 -exec chmod a-s {} +
USER 65532:65532
# a command-line tool: nothing to probe
HEALTHCHECK NONE
WORKDIR /work
ENTRYPOINT ["keelhaul"]
CMD ["--help"]
