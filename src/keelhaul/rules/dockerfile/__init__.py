"""Dockerfile rules; importing this package registers every rule module in it.

The rules live in one folder per family, each with a docstring in its ``__init__.py`` that
says what belongs there:

- ``base_images/``: which image a FROM names (tags, digests, trusted registries, libc).
- ``multistage/``: stages, their names and ``--from`` references, and what the final stage
  ships (toolchains, full bases) with the multi-stage conversions that split builds.
- ``packages_and_caches/``: package managers (apt, apk, dnf, zypper, pip, npm, gem, go):
  pinning, non-interactive flags, caches left in layers.
- ``build_cache/``: how well a build reuses its layer cache (instruction order, cache mounts,
  fetching dependencies).
- ``users_and_privileges/``: the user the container runs as, sudo, passwords, ports.
- ``secrets_and_supply_chain/``: secrets in the image, downloads run unverified, TLS and
  signature checks turned off, services exposed.
- ``context/``: the build context and ``.dockerignore``.
- ``structure/``: how the file is written: instructions and their form, ARG/ENV/LABEL/EXPOSE/
  WORKDIR, RUN scripts and the layers they make.
- ``shared/``: helpers used by several families (variable expansion and stage chains, image
  references and base images, package-manager analysis, layer facts, the user and secret
  tables). Registers nothing.

A rule is one module that calls ``register``; modules whose name starts with ``_`` hold a
family's helpers and fix builders and register nothing. A rule imports the rule API from
:mod:`keelhaul.rules.registry`, the ``shared`` helpers and its own family's modules; a family
does not import another family's modules, with one exception: the Python multi-stage
conversion (``multistage/_python.py``) plans pip installs with ``packages_and_caches/_fixes.py``.
"""

import importlib
import pkgutil

for _module in pkgutil.walk_packages(__path__, f"{__name__}."):
    importlib.import_module(_module.name)
