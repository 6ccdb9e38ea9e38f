# The benchmark image of bench/image_analysis.py: what a typical single-stage build ships, over a
# gigabyte uncompressed. Built on the engine's local Debian base (no registry needed):
#   bench/image_analysis.py --build   (docker build --network host, then docker save and skopeo)
# Several layers on purpose: apt lists left behind, a compiler toolchain, Python and Node with
# their headers, a file overwritten by a later layer and a folder deleted a layer too late.
ARG BASE=keelhaul-test/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      build-essential gdb git cmake pkg-config curl ca-certificates
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y \
      python3 python3-dev python3-pip python3-venv python3-setuptools python3-wheel \
      libpq-dev libssl-dev libffi-dev zlib1g-dev libxml2-dev libxslt1-dev libjpeg-dev
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
RUN mkdir -p /src && cp -r /usr/share/doc /src/docs-copy && tar -C /usr/include -cf /src/headers.tar . \
 && python3 -m compileall -q /usr/lib/python3 >/dev/null || true
RUN rm -rf /src/docs-copy && echo "build finished" > /src/headers.tar
WORKDIR /src
USER 1000
CMD ["python3"]
