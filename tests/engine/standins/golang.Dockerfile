# A stand-in for golang:1.22-bookworm made from Debian's packages (Debian's Go is 1.19). No
# network: the module proxy is a folder, GOPROXY=file:///usr/share/goproxy, holding modules
# built from Debian's packaged Go sources (github.com/go-chi/chi/v5 v5.0.7 and
# golang.org/x/text v0.7.0, the versions bookworm packages) in the proxy's layout:
# MODULE/@v/list, VERSION.info, VERSION.mod, VERSION.zip (files under MODULE@VERSION/).
# GOSUMDB=off: no checksum database offline; the apps' go.sum hold these zips' hashes.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      golang-go gcc libc6-dev zip \
      golang-github-go-chi-chi-dev golang-golang-x-text-dev \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
# module version source-folder (under /usr/share/gocode/src); the .info time is the version's
# release date upstream
RUN set -eu; proxy=/usr/share/goproxy; \
    publish() { \
      module="$1" version="$2" source="/usr/share/gocode/src/$3" time="$4"; \
      at="$proxy/$module/@v"; staging="$(mktemp -d)"; \
      mkdir -p "$at" "$staging/$module@$version"; \
      (cd "$source" && tar -cf - --exclude=.git .) | tar -xf - -C "$staging/$module@$version"; \
      echo "$version" >"$at/list"; \
      printf '{"Version":"%s","Time":"%s"}\n' "$version" "$time" >"$at/$version.info"; \
      cp "$source/go.mod" "$at/$version.mod"; \
      (cd "$staging" && find . -type f | sort | sed 's|^\./||' | zip -qX "$at/$version.zip" -@); \
      rm -rf "$staging"; \
    }; \
    publish github.com/go-chi/chi/v5 v5.0.7 github.com/go-chi/chi 2021-11-18T19:26:25Z; \
    publish golang.org/x/text v0.7.0 golang.org/x/text 2023-01-31T17:01:14Z; \
    apt-get purge -y --auto-remove zip golang-github-go-chi-chi-dev golang-golang-x-text-dev
# The official golang images ship no precompiled standard library (Go 1.20 stopped shipping
# it): every build compiles the packages it uses into the build cache. Debian's Go 1.19 ships
# them compiled for the default (cgo) configuration, which would make a plain `go build` faster
# than a CGO_ENABLED=0 one here in a way the real image does not: leave them out.
RUN rm -rf /usr/lib/go-1.19/pkg/linux_amd64

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV GOPATH=/go GOPROXY=file:///usr/share/goproxy GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    PATH=/go/bin:/usr/lib/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
