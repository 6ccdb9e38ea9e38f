# A stand-in for gcr.io/distroless/static-debian12:nonroot: no shell, no libc, only CA
# certificates, /etc/passwd with root, nobody and nonroot (65532), /tmp, and USER 65532.
ARG BASE
FROM ${BASE} AS files
RUN mkdir -p /out/etc/ssl/certs /out/tmp /out/home/nonroot \
 && chmod 1777 /out/tmp && chown 65532:65532 /out/home/nonroot \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > /out/etc/group \
 && if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; fi
FROM scratch
COPY --from=files /out/ /
USER 65532
WORKDIR /home/nonroot
