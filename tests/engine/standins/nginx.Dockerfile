# A stand-in for nginx:1.27 made from Debian's nginx (1.22): serves /usr/share/nginx/html on
# port 80 in the foreground, like the official image.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /etc/nginx/sites-enabled/* \
 && mkdir -p /usr/share/nginx/html \
 && groupadd -r -g 101 nginx && useradd -r -u 101 -g nginx -d /nonexistent -s /usr/sbin/nologin nginx \
 && printf 'server {\n  listen 80;\n  root /usr/share/nginx/html;\n  index index.html;\n}\n' \
      > /etc/nginx/conf.d/default.conf \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
