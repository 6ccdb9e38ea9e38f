"""keelhaul: make container images small, fast to build and hard to attack."""

__version__ = "0.1.0"
