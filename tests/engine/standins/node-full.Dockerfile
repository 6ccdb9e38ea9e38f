# A stand-in for node:20-bookworm made from Debian's nodejs (18: the apps' tools support it)
# and npm 10 from the npm registry (Debian's npm package pulls ~300 packages: minutes to
# install). Its npm works offline: the packages of the apps' lock files are put in a shared
# npm cache here (the only step that downloads from npm), and npm is told never to ask the
# registry, so the engine tests build the apps without network.
# host-ca.crt: the CA bundle of the machine that builds (tests/engine/standins/build copies it
# into the build context), for machines that reach npm through a TLS-intercepting proxy; it is
# deleted before the image is made.
ARG BASE
FROM ${BASE} AS packages
COPY host-ca.crt /tmp/host-ca.crt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
 && NODE_EXTRA_CA_CERTS=/tmp/host-ca.crt node -e 'fetch("https://registry.npmjs.org/npm/-/npm-10.8.2.tgz").then(r => { if (!r.ok) throw new Error(r.status); return r.arrayBuffer(); }).then(b => require("fs").writeFileSync("/tmp/npm.tgz", Buffer.from(b)))' \
 && mkdir -p /usr/local/lib/node_modules/npm \
 && tar -xzf /tmp/npm.tgz --strip-components=1 -C /usr/local/lib/node_modules/npm && rm /tmp/npm.tgz \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node

FROM packages AS cache
ENV npm_config_cache=/usr/local/share/npm-cache NODE_EXTRA_CA_CERTS=/tmp/host-ca.crt
COPY apps/react-frontend/package.json apps/react-frontend/package-lock.json /tmp/lock/
# outside /root/.npm, so a cache mount there does not hide it
RUN cd /tmp/lock && npm ci --ignore-scripts --no-audit --no-fund && cd / && rm -rf /tmp/lock /root/.npm /tmp/host-ca.crt \
 && chmod -R a+rwX /usr/local/share/npm-cache

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=cache / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    npm_config_cache=/usr/local/share/npm-cache npm_config_offline=true \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
CMD ["node"]
