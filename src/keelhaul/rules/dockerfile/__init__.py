"""Dockerfile rules; importing this package registers every module in it.

A rule is one module here that calls ``register``; modules whose name starts with ``_`` hold
helpers shared by several rules and register nothing.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
