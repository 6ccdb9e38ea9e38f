"""Runtime checks, one module per family; importing this package registers every one.

Modules whose name starts with ``_`` hold helpers and register nothing.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
