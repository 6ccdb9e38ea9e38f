# A stand-in for php:8.2-apache made from Debian's packages: Apache with mod_php 8.2, serving
# /var/www/html on port 80 in the foreground (apache2-foreground, like the official image).
# The official image also installs ca-certificates, curl and xz-utils ("persistent / runtime
# deps" in its Dockerfile): here too, so a Dockerfile that installs curl again finds it.
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      apache2 libapache2-mod-php8.2 php8.2-cli ca-certificates curl xz-utils \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /var/www/html/index.html \
 && printf '#!/bin/sh\nset -e\n. /etc/apache2/envvars\nmkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"\nexec apache2 -DFOREGROUND "$@"\n' \
      > /usr/local/bin/apache2-foreground && chmod +x /usr/local/bin/apache2-foreground \
 && ln -sf /dev/stdout /var/log/apache2/access.log && ln -sf /dev/stderr /var/log/apache2/error.log \
 && chown www-data:www-data /var/www/html

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /var/www/html
EXPOSE 80
STOPSIGNAL SIGWINCH
CMD ["apache2-foreground"]
