"""bashlex with its parse tables from keelhaul's cache (keelhaul.dockerfile.bash_grammar):
the same tables and the same parses as bashlex building them itself. Each case runs in its
own Python, as bashlex builds its parser once per process, on import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = [
    "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
    "set -eux; for f in a b; do echo $f | tr a b > /tmp/$f; done",
    'if [ -n "$X" ]; then (cd /src && make) || exit 1; fi',
    'x=$(uname -m) && echo "$x" >&2',
]

#: Prints the parser's tables and the dump of each script's parse.
SCRIPT = """
import json, sys
if sys.argv[1] == "cached":
    from keelhaul.dockerfile.bash_grammar import load_bashlex
    bashlex = load_bashlex()
else:
    import bashlex
parser = bashlex.parser.yaccparser
print(json.dumps({
    "action": {str(k): v for k, v in parser.action.items()},
    "goto": {str(k): v for k, v in parser.goto.items()},
    "parses": [[t.dump() for t in bashlex.parse(s)] for s in json.loads(sys.argv[2])],
}))
"""


def tables(how: str, cache: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, how, json.dumps(SCRIPTS)],
        capture_output=True,
        text=True,
        env={**os.environ, "KEELHAUL_CACHE_DIR": str(cache)},
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_cached_tables_are_the_ones_bashlex_builds(tmp_path: Path) -> None:
    own = tables("bashlex", tmp_path)
    assert not list(tmp_path.glob("bashlex-tables-*"))  # plain bashlex writes nothing
    cold = tables("cached", tmp_path)
    assert len(list(tmp_path.glob("bashlex-tables-*.marshal"))) == 1
    warm = tables("cached", tmp_path)
    assert own == cold == warm
    assert len(own["parses"]) == len(SCRIPTS)  # type: ignore[arg-type]


def test_a_damaged_table_file_is_rebuilt(tmp_path: Path) -> None:
    own = tables("bashlex", tmp_path)
    tables("cached", tmp_path)
    (path,) = tmp_path.glob("bashlex-tables-*.marshal")
    path.write_bytes(b"\\x00 not marshal")
    assert tables("cached", tmp_path) == own
    assert tables("cached", tmp_path) == own
    assert path.read_bytes() != b"\\x00 not marshal"


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path) -> None:
    own = tables("bashlex", tmp_path)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert tables("cached", blocked) == own
