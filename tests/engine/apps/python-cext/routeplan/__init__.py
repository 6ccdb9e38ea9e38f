"""routeplan: distances between harbours, computed by a C extension."""

from routeplan._distance import haversine

__all__ = ["haversine"]
