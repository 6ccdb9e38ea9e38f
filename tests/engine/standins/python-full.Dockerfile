# A stand-in for the official python:3.11-bookworm image (built on buildpack-deps: compilers and
# headers), made from Debian's own packages so the tests need no registry. Built by
# tests/engine/standins/build before the tests run (it downloads Debian packages, and the wheels
# of the python-cext app's dependencies from PyPI; the tests themselves use no network).
# host-ca.crt: the CA bundle of the machine that builds (see node-full.Dockerfile), for pip's
# download; deleted before the image is made.
ARG BASE
FROM ${BASE}
COPY host-ca.crt /tmp/host-ca.crt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-pip python3-venv python3-dev python3-setuptools python3-wheel \
      python-is-python3 gcc g++ make libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED
# A local wheelhouse in place of PyPI: the wheels of tests/engine/apps/python-cext's
# dependencies (pyproject.toml), binary wheels for this CPython 3.11 on glibc.
RUN cert=/tmp/host-ca.crt; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    pip download --no-cache-dir --cert "$cert" --only-binary=:all: \
      -d /usr/local/share/wheelhouse falcon==3.1.3 waitress==3.0.2 \
 && rm -f /tmp/host-ca.crt
# no index: pip must find everything in the build context or the wheelhouse (the tests run
# without network)
ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/usr/local/share/wheelhouse PIP_NO_BUILD_ISOLATION=0 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
