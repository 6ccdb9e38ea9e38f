"""What well-known images need at run time: the table lives in :mod:`keelhaul.image.known`
(one table for the runtime checks and the Dockerfile rules); this module keeps its names."""

from keelhaul.image.known import IMAGES, ImageNeeds, needs_of, writable_paths

__all__ = ["IMAGES", "ImageNeeds", "needs_of", "writable_paths"]
