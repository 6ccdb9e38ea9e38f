# A stand-in for nginxinc/nginx-unprivileged:1.27-alpine (on Debian, not Alpine): nginx as
# uid 101 (nginx) on port 8080, its pid and temporary files in /tmp.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /etc/nginx/sites-enabled/* \
 && mkdir -p /usr/share/nginx/html \
 && groupadd -r -g 101 nginx && useradd -r -u 101 -g nginx -d /nonexistent -s /usr/sbin/nologin nginx \
 && sed -i -e 's|^pid .*|pid /tmp/nginx.pid;|' -e 's|^user .*||' /etc/nginx/nginx.conf \
 && printf 'client_body_temp_path /tmp/client_temp;\nproxy_temp_path /tmp/proxy_temp;\nfastcgi_temp_path /tmp/fastcgi_temp;\nuwsgi_temp_path /tmp/uwsgi_temp;\nscgi_temp_path /tmp/scgi_temp;\nserver {\n  listen 8080;\n  root /usr/share/nginx/html;\n  index index.html;\n}\n' \
      > /etc/nginx/conf.d/default.conf \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log \
 && chown -R 101:101 /var/lib/nginx /var/log/nginx /usr/share/nginx/html

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 101
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
