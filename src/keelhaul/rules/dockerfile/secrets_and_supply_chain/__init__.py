"""Secrets in the image, and what a build trusts without checking.

Secrets in ENV, ARG, files or commands (KH110, KH205, KH206), downloads piped to a shell or
added without a checksum (KH108, KH210) or fetched in a RUN and installed unverified (KH221),
``git clone`` of a moving branch (KH222), TLS verification and package signature checks
turned off (KH211, KH212, with ``_bypass.py``), and remote-access services exposed (SSH,
the Docker API: KH208, KH209). The secret detector itself is :mod:`keelhaul.secrets`.
"""
