"""The fixed limits at keelhaul's edges, in one place: how much of hostile or huge input it
reads before it stops with a located message (issue 23, "limits at every edge").

Each is what one module enforces; the module imports it from here under its old name, and
the message it gives names the file (and the line where there is one). Limits a user may
change are settings (:mod:`keelhaul.settings`, the ``[settings]`` table): their defaults that
are shared with a fixed limit are here too, and :data:`SETTINGS` names them, so
docs/settings.md lists every limit, fixed or set, in one table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIMITS", "SETTINGS", "Limit"]

_KiB = 1024
_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    """One fixed limit: its value, its unit, what it bounds and what hitting it does."""

    value: int | float
    unit: str
    bounds: str
    hit: str


# --- files ------------------------------------------------------------------------------------
DOCKERFILE_BYTES = 16 * _MiB
DOCKERFILE_LINE_BYTES = 64 * _KiB  # bufio.MaxScanTokenSize: BuildKit cannot read a longer line
CONFIG_BYTES = 1 * _MiB
WALKED_FILE_BYTES = 4 * _MiB
NAMED_RUNTIME_FILE_BYTES = 64 * _MiB
COMPOSE_DOCKERFILE_BYTES = 1 * _MiB
COMPOSE_ENV_FILE_BYTES = 1 * _MiB
# --- what one long-lived process keeps between files (memory, not input: no Limit row) ----
#: Parsed RUN scripts kept for reuse (images built from one template repeat their scripts):
#: at most this many, holding at most this many characters of script text in all; a parse
#: weighs about 20 bytes per character of its script (bench/memory_growth.py).
PARSE_CACHE_ENTRIES = 4096
PARSE_CACHE_CHARS = 1 * _MiB
# --- what a file expands to ----------------------------------------------------------------
EXPANDED_CHARS = 4 * _MiB  # the default of the max-expanded-size setting
SCRIPT_CHARS = 131_072
SHELLCHECK_SCRIPT_LINES = 1000
SHELLCHECK_SCRIPT_BYTES = 128 * _KiB
SHELLCHECK_SECONDS = 120.0  # the default of the shellcheck-timeout setting
SHELLCHECK_MEMORY_BYTES = 2 * 1024 * _MiB  # the default of the shellcheck-max-memory setting
RENDER_SECONDS = 30
RENDER_MEMORY_BYTES = 4 * 1024 * _MiB  # Go's runtime (kubectl, kustomize, helm) reserves ahead
CONFIG_YAML_NODES = 10_000
CONFIG_YAML_ALIASES = 100
CONFIG_YAML_DEPTH = 64
# --- build contexts --------------------------------------------------------------------------
VERIFY_CONTEXT_DEPTH = 32
VERIFY_CONTEXT_ENTRIES = 20_000
# --- images, databases ---------------------------------------------------------------------
DECOMPRESSION_RATIO = 100.0  # the default of the image-max-ratio setting
OSV_RECORD_BYTES = 16 * _MiB
OSV_ZIP_BYTES = 8 * 1024 * _MiB
OSV_DOWNLOAD_BYTES = 4 * 1024 * _MiB  # the default of `db update --max-size`

LIMITS: dict[str, Limit] = {
    "DOCKERFILE_BYTES": Limit(DOCKERFILE_BYTES, "bytes", "a Dockerfile",
                              "error naming the file, exit 2"),
    "DOCKERFILE_LINE_BYTES": Limit(DOCKERFILE_LINE_BYTES, "bytes", "one Dockerfile line",
                                   "error naming the file and line, exit 2"),
    "CONFIG_BYTES": Limit(CONFIG_BYTES, "bytes", "a configuration file",
                          "error naming the file, exit 2"),
    "WALKED_FILE_BYTES": Limit(WALKED_FILE_BYTES, "bytes",
                               "a runtime file found by walking a folder",
                               "notice naming the file (name it to check it)"),
    "NAMED_RUNTIME_FILE_BYTES": Limit(NAMED_RUNTIME_FILE_BYTES, "bytes",
                                      "a runtime file the user names",
                                      "notice naming the file, exit 2"),
    "COMPOSE_DOCKERFILE_BYTES": Limit(COMPOSE_DOCKERFILE_BYTES, "bytes",
                                      "a Dockerfile a Compose service builds, read for its USER",
                                      "not read (the finding stays)"),
    "COMPOSE_ENV_FILE_BYTES": Limit(COMPOSE_ENV_FILE_BYTES, "bytes",
                                    "a Compose env_file read for secrets", "not read"),
    "EXPANDED_CHARS": Limit(EXPANDED_CHARS, "characters",
                            "an ARG/ENV value once expanded (setting max-expanded-size)",
                            "KH115 at the line, exit 2"),
    "SCRIPT_CHARS": Limit(SCRIPT_CHARS, "characters", "a RUN script the shell parser reads",
                          "the rest is not parsed"),
    "SHELLCHECK_SCRIPT_LINES": Limit(SHELLCHECK_SCRIPT_LINES, "lines",
                                     "a RUN script given to ShellCheck",
                                     "notice naming the file and line"),
    "SHELLCHECK_SCRIPT_BYTES": Limit(SHELLCHECK_SCRIPT_BYTES, "bytes",
                                     "a RUN script given to ShellCheck",
                                     "notice naming the file and line"),
    "SHELLCHECK_SECONDS": Limit(SHELLCHECK_SECONDS, "seconds",
                                "one ShellCheck process (setting shellcheck-timeout)",
                                "killed; error naming its RUN scripts, exit 2"),
    "SHELLCHECK_MEMORY_BYTES": Limit(SHELLCHECK_MEMORY_BYTES, "bytes",
                                     "one ShellCheck process's address space, an rlimit "
                                     "(setting shellcheck-max-memory)",
                                     "stopped; error naming its RUN scripts, exit 2"),
    "RENDER_SECONDS": Limit(RENDER_SECONDS, "seconds",
                            "one kustomize, kubectl or helm run rendering a chart or overlay",
                            "killed; error naming the folder, exit 2"),
    "RENDER_MEMORY_BYTES": Limit(RENDER_MEMORY_BYTES, "bytes",
                                 "one renderer's address space, an rlimit",
                                 "stopped; error naming the folder, exit 2"),
    "CONFIG_YAML_NODES": Limit(CONFIG_YAML_NODES, "nodes",
                               "a .hadolint.yaml, aliases expanded",
                               "error naming the file, exit 2"),
    "CONFIG_YAML_ALIASES": Limit(CONFIG_YAML_ALIASES, "aliases", "a .hadolint.yaml",
                                 "error naming the file, exit 2"),
    "CONFIG_YAML_DEPTH": Limit(CONFIG_YAML_DEPTH, "levels", "a .hadolint.yaml",
                               "error naming the file, exit 2"),
    "VERIFY_CONTEXT_DEPTH": Limit(VERIFY_CONTEXT_DEPTH, "levels",
                                  "the folders `keelhaul verify` lists below the build context "
                                  "to choose the source file it changes",
                                  "deeper files are not chosen (`--touch PATH` names one)"),
    "VERIFY_CONTEXT_ENTRIES": Limit(VERIFY_CONTEXT_ENTRIES, "entries",
                                    "the files and folders `keelhaul verify` lists there",
                                    "the rest is not chosen (`--touch PATH` names one)"),
    "DECOMPRESSION_RATIO": Limit(DECOMPRESSION_RATIO, "times",
                                 "a layer's uncompressed over compressed size "
                                 "(setting image-max-ratio)",
                                 "error naming the layer, exit 2"),
    "OSV_RECORD_BYTES": Limit(OSV_RECORD_BYTES, "bytes", "one OSV record at import",
                              "skipped with a notice naming it"),
    "OSV_ZIP_BYTES": Limit(OSV_ZIP_BYTES, "bytes", "an OSV zip's uncompressed members",
                           "error naming the zip, exit 2"),
    "OSV_DOWNLOAD_BYTES": Limit(OSV_DOWNLOAD_BYTES, "bytes",
                                "one OSV export download (`db update --max-size`)",
                                "error naming the URL, exit 2"),
}  # fmt: skip

#: The ``[settings]`` keys that are limits (docs/settings.md lists them with these).
SETTINGS = (
    "max-expanded-size",
    "shellcheck-timeout",
    "shellcheck-max-memory",
    "image-max-layer-bytes",
    "image-max-blob-bytes",
    "image-max-ratio",
    "image-max-layer-count",
    "image-max-config-bytes",
    "image-max-manifest-bytes",
    "image-max-archive-members",
    "image-registry-timeout",
)
