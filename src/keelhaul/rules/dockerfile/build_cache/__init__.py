"""The layer cache: how much of a build a small change throws away.

Sources copied before the dependencies are installed (KH182), dependencies fetched in a
step that every source change re-runs (KH183), and package caches that a cache mount would
keep between builds (KH184). ``_dependencies.py`` finds the install steps and the files they
need; ``_order_fixes.py`` and ``_cache_mount_fixes.py`` are the fixes.
"""
