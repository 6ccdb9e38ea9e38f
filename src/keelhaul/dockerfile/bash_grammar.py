"""bashlex, loaded with its parse tables kept in keelhaul's cache folder.

bashlex builds the LALR tables of its bash grammar every time it is imported (its PLY writes no
table file): about 0.12 s of CPU, the largest single cost of a one-file ``keelhaul check``.
The tables depend only on the grammar, so :func:`load_bashlex` keeps them in the user cache
folder (``$KEELHAUL_CACHE_DIR``, else ``$XDG_CACHE_HOME/keelhaul``) under a key made of
the installed table builder (size and time of bashlex's ``yacc.py``), Python's version and a digest of the grammar itself (every production with
its precedence, the precedence table, the start symbol), and hands them to bashlex instead of
building them again: loading them costs about 1 ms.

The file holds the tables exactly as PLY built them, before bashlex patches its parser;
bashlex then patches the loaded copy the same way. A cache that is missing, unreadable,
damaged or written for another grammar is ignored and rewritten; one that cannot be written
only costs the time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["load_bashlex", "tables_path"]

#: Bumped when the layout of the file changes.
_FORMAT = 1


def tables_path(digest: str) -> Path:
    """Where the tables of the grammar with this digest are kept."""
    base = os.environ.get("KEELHAUL_CACHE_DIR")
    if base:
        folder = Path(base)
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keelhaul"
    return folder / f"bashlex-tables-{digest[:24]}.marshal"


def _digest(grammar: Any, yacc: ModuleType) -> str:
    try:  # PLY's table builder, as installed: a new bashlex may build other tables
        made = os.stat(str(yacc.__file__))
        builder = f"{made.st_size} {made.st_mtime_ns}"
    except OSError:
        builder = "?"
    parts = [f"format {_FORMAT}", f"yacc {builder}", f"python {sys.version_info[:2]}"]
    parts += [f"{p.str}|{p.prec}|{p.func}" for p in grammar.Productions]
    parts += [f"{k}={v}" for k, v in sorted(grammar.Precedence.items())]
    parts.append(f"start={grammar.Start}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


Tables = tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]


def _read(path: Path, digest: str) -> Tables | None:
    try:
        found = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(found, tuple) and len(found) == 3 and found[0] == digest):
        return None
    action, goto = found[1], found[2]
    if not (isinstance(action, dict) and isinstance(goto, dict) and 0 in action):
        return None
    return action, goto


def _write(path: Path, digest: str, action: Any, goto: Any) -> None:
    data = marshal.dumps((digest, action, goto))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _cached_table(yacc: Any) -> type:
    built: Any = yacc.LRTable

    class CachedLRTable(built):  # type: ignore[misc]
        """PLY's LRTable, read from the cache when the same grammar was built before."""

        def __init__(self, grammar: Any, log: Any = None) -> None:
            digest = _digest(grammar, yacc)
            path = tables_path(digest)
            tables = _read(path, digest)
            if tables is None:
                super().__init__(grammar, log)
                _write(path, digest, self.lr_action, self.lr_goto)
                return
            # what LRTable.__init__ sets, with the tables read instead of computed
            self.grammar = grammar
            self.log = log or yacc.NullLogger()
            self.lr_action: dict[int, dict[str, int]] = tables[0]
            self.lr_goto: dict[int, dict[str, int]] = tables[1]
            self.lr_productions = grammar.Productions
            self.lr_goto_cache: dict[Any, Any] = {}
            self.lr0_cidhash: dict[Any, Any] = {}
            self._add_count = 0
            self.sr_conflict = 0
            self.rr_conflict = 0
            self.conflicts: list[Any] = []
            self.sr_conflicts: list[Any] = []
            self.rr_conflicts: list[Any] = []

    return CachedLRTable


def load_bashlex() -> ModuleType:
    """The ``bashlex`` module, imported with its tables from the cache when it is not yet."""
    loaded = sys.modules.get("bashlex")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("bashlex")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'bashlex'", name="bashlex")
    # The package is created without running its __init__ (which imports the parser, and so
    # builds the tables), its yacc module is given the cached table, then __init__ runs.
    package = importlib.util.module_from_spec(spec)
    sys.modules["bashlex"] = package
    try:
        yacc: Any = importlib.import_module("bashlex.yacc")
        built = yacc.LRTable
        yacc.LRTable = _cached_table(yacc)
        try:
            spec.loader.exec_module(package)
        finally:
            yacc.LRTable = built
    except BaseException:
        for name in [n for n in sys.modules if n == "bashlex" or n.startswith("bashlex.")]:
            del sys.modules[name]
        raise
    return package
