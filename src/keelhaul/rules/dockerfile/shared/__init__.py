"""Helpers used by several rule families; nothing here registers a rule.

``structure.py``: variable expansion, stage chains, where words stand on a line.
``images.py``: image references as the rules see them (from keelhaul's one parser) and what
keelhaul knows of common base images. ``toolchain.py``: build tools and build steps.
``packages.py``: RUN scripts read into package-manager operations. ``layers.py``: what each
layer writes and deletes. ``security.py``: base images' users, the USER in effect, secret
and download facts. ``expose.py``: EXPOSE ports. A helper that only one family uses belongs
in that family's folder instead.
"""
