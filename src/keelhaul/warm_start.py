"""Start-up work that is the same in every run of the ``keelhaul`` command, kept between runs.

After its imports are loaded from bytecode, most of what a one-file ``keelhaul check`` spends
at start-up goes to two things Python redoes in every process for the same text:

- compiling the regular expressions the modules define (about 290 patterns, ~50 ms of CPU):
  ``re`` parses each pattern in Python and hands the result to ``_sre.compile``;
- compiling the methods ``@dataclass`` writes for each class (about 130 classes, 700
  functions, ~90 ms): ``dataclasses`` builds their source text and ``exec``\\ s it.

Both are pure functions of their text and of the Python that runs them. :func:`install`
(called by the ``keelhaul`` command before it imports anything else, never on import of the
package) keeps the results in one file of the cache folder (``$KEELHAUL_CACHE_DIR``, else
``$XDG_CACHE_HOME/keelhaul``), named after the exact Python version and build:

- for a pattern, the arguments ``re`` gave ``_sre.compile`` (the pattern, its flags, the
  compiled program, the group tables), which are handed to ``_sre.compile`` again: the same
  call with the same arguments, without the parse (``_sre`` checks the program it is given);
- for a dataclass method, the code object compiled from the text, looked up by the text and
  run by ``exec`` as the text would be.

What a run compiles while it imports a module (a module's own patterns and classes, the same in
every run) and the file lacks is added to it when the run ends; what is compiled later, from
the files being checked (a pattern built from a name in a Dockerfile), is never written. A
file that grew past a bound with the texts of older versions is written again with only what
this run used. The file holds code that is run, so it is read only when it is owned by the user and writable by nobody else;
one that is damaged, of another Python, or unreadable is ignored (and then replaced), one that
cannot be written only costs the time. ``KEELHAUL_NO_WARM_START=1`` turns it off.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import hashlib
import marshal
import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["install", "installed", "warm_start_path"]

#: Bumped when the layout of the file changes.
_FORMAT = 1
#: A file that grew past this many entries (texts of older keelhaul versions) starts over.
_MAX_ENTRIES = 20_000

_re_compiler: Any = re._compiler  # type: ignore[attr-defined]
_sre: Any = _re_compiler._sre


def warm_start_path() -> Path:
    """The file for this Python (its version, build and ``_sre`` program format)."""
    base = os.environ.get("KEELHAUL_CACHE_DIR")
    if base:
        folder = Path(base)
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keelhaul"
    python = f"{_FORMAT} {sys.version} {sys.implementation.cache_tag} {_sre.MAGIC}"
    python += f" {sys.flags.optimize}"
    digest = hashlib.sha256(python.encode()).hexdigest()[:16]
    return folder / f"warm-start-{digest}.marshal"


class _Store:
    """The patterns and the code read from the file, and what this run added."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.patterns: dict[tuple[str | bytes, int], tuple[Any, ...]] = {}
        self.code: dict[str, Any] = {}
        self.added = 0
        self.used: set[object] = set()
        self.lock = threading.Lock()
        self._read()

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                made = os.fstat(handle.fileno())
                if made.st_uid != os.getuid() or made.st_mode & 0o022:
                    return  # someone else could have written code into it
                data = marshal.loads(handle.read())
        except (OSError, ValueError, EOFError, TypeError):
            return
        if isinstance(data, tuple) and len(data) == 2:
            patterns, code = data
            if isinstance(patterns, dict) and isinstance(code, dict):
                self.patterns, self.code = patterns, code

    def write(self) -> None:
        """Write the file again when this run added to it (at exit)."""
        if not self.added:
            return
        patterns, code = self.patterns, self.code
        if len(patterns) + len(code) > _MAX_ENTRIES:
            patterns = {k: v for k, v in patterns.items() if k in self.used}
            code = {k: v for k, v in code.items() if k in self.used}
        with contextlib.suppress(OSError, ValueError):
            data = marshal.dumps((patterns, code))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _importing() -> bool:
    """Whether a module is being imported (the import machinery is on the stack)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class _Recorder:
    """``_sre`` as ``re`` sees it while a pattern is compiled: notes the call it makes."""

    def __init__(self) -> None:
        self.call: tuple[Any, ...] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(_sre, name)

    def compile(self, *args: Any) -> Any:
        self.call = args
        return _sre.compile(*args)


def _pattern_compiler(store: _Store, compile_pattern: Any) -> Any:
    def compile(p: Any, flags: int = 0) -> Any:
        if type(p) not in (str, bytes) or flags & re.DEBUG:
            return compile_pattern(p, flags)
        key = (p, flags)
        call = store.patterns.get(key)
        if call is not None:
            store.used.add(key)
            return _sre.compile(*call)
        if not _importing():
            return compile_pattern(p, flags)
        with store.lock:
            recorder = _Recorder()
            _re_compiler._sre = recorder
            try:
                compiled = compile_pattern(p, flags)
            finally:
                _re_compiler._sre = _sre
        if recorder.call is not None and recorder.call[0] is p:
            # re's opcodes are int subclasses, which marshal does not write: plain ints
            pattern, final_flags, program, groups, groupindex, indexgroup = recorder.call
            store.patterns[key] = (
                pattern,
                int(final_flags),
                [int(n) for n in program],
                int(groups),
                {str(k): int(v) for k, v in groupindex.items()},
                tuple(indexgroup),
            )
            store.used.add(key)
            store.added += 1
        return compiled

    compile.original = compile_pattern  # type: ignore[attr-defined]  # (for the tests)
    return compile


def _code_runner(store: _Store) -> Any:
    def exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        if type(source) is not str:
            builtins.exec(source, globals, locals)
            return
        code = store.code.get(source)
        if code is None:
            # as exec(source) in the dataclasses module would compile it: no __future__ flags
            code = builtins.compile(source, "<string>", "exec", dont_inherit=True)
            if _importing():
                store.code[source] = code
                store.added += 1
        store.used.add(source)
        builtins.exec(code, globals, locals)

    return exec


_INSTALLED: list[_Store] = []


def installed() -> bool:
    """Whether :func:`install` has run in this process."""
    return bool(_INSTALLED)


def install() -> None:
    """Use the file for this run, and add to it at exit (once per process; a no-op when
    ``KEELHAUL_NO_WARM_START`` is set)."""
    if _INSTALLED or os.environ.get("KEELHAUL_NO_WARM_START"):
        return
    store = _Store(warm_start_path())
    _INSTALLED.append(store)
    _re_compiler.compile = _pattern_compiler(store, _re_compiler.compile)
    # dataclasses runs the text it writes with the name ``exec``: this module-level name
    # comes before the builtin for that module only
    dataclasses.exec = _code_runner(store)  # type: ignore[attr-defined]
    atexit.register(store.write)
