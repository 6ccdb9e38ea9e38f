"""Base images: which image a ``FROM`` (or ``COPY --from``, ``RUN --mount=from=``) pulls.

Rules about the reference itself: a tag that moves or none (KH101), no digest (KH123), a
registry or image outside the trusted lists (KH128), and an Alpine (musl) base under software
built for glibc (KH122). Image references are read with ``shared/images.py`` (built on
keelhaul's one reference parser, :mod:`keelhaul.registry.reference`); what the final image
ships because of its base belongs in ``multistage/``.
"""
