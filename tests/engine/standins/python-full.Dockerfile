# A stand-in for the official python:3.11-bookworm image (built on buildpack-deps: compilers and
# headers), made from Debian's own packages so the tests need no registry. Built by
# tests/engine/standins/build before the tests run (it downloads Debian packages; the tests
# themselves use no network).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-pip python3-venv python3-dev python3-setuptools python3-wheel \
      python-is-python3 gcc g++ make libc6-dev \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED
# no index: pip must find everything in the build context (the tests run without network)
ENV PIP_NO_INDEX=1 PIP_NO_BUILD_ISOLATION=0 PIP_DISABLE_PIP_VERSION_CHECK=1
