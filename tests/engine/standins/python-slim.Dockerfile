# A stand-in for python:3.11-slim-bookworm: the interpreter and pip, no compilers or headers.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-pip python-is-python3 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/*.log /usr/lib/python3*/EXTERNALLY-MANAGED

# The engine's debootstrap base has / at mode 0700, which locks out every non-root user, and
# a layer cannot change the mode of /: the files are copied onto a fresh root instead.
FROM scratch
COPY --from=packages / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_DISABLE_PIP_VERSION_CHECK=1
