"""The ``keelhaul`` program (and ``python -m keelhaul``): the warm start, then the CLI.

:mod:`keelhaul.warm_start` is installed before anything else is imported, so the modules the
command imports next find their compiled patterns and dataclass methods in it. Importing
:mod:`keelhaul.cli.app` (what tests and other programs do) installs nothing.
"""

from __future__ import annotations


def main() -> None:
    """Run the ``keelhaul`` command line."""
    from keelhaul import warm_start

    warm_start.install()

    from keelhaul.cli.app import main as run

    run()
