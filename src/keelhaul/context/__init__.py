"""The build context: what a ``docker build`` sends, and what its .dockerignore leaves out."""

from keelhaul.context.build_context import BuildContext, ContextEntry
from keelhaul.context.dockerignore import DockerIgnore, DockerIgnoreError, IgnorePattern
from keelhaul.context.notable import NotableKind

__all__ = [
    "BuildContext",
    "ContextEntry",
    "DockerIgnore",
    "DockerIgnoreError",
    "IgnorePattern",
    "NotableKind",
]
