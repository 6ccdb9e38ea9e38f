# A stand-in for golang:1.22-bookworm made from Debian's packages (Debian's Go is 1.19; the Go
# app uses the standard library only). No module proxy: GOPROXY=off.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      golang-go gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV GOPATH=/go GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    PATH=/go/bin:/usr/lib/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
