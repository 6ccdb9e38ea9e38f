"""Matching speed: a few thousand installed packages against a database the size of OSV's.

The real advisories in ../shared/osv (some 8,400) are imported, then copied under new ids and
package names until the database holds ``--advisories`` records (OSV's full export holds
about 500,000 across all ecosystems; a scan reads only the ecosystems in use). The installed
set mixes names with advisories (affected and fixed versions) and names without.

    python bench/vulns_matching.py [--advisories 200000] [--packages 3000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
import zlib
from pathlib import Path

from keelhaul.vulns import database
from keelhaul.vulns.database import Database
from keelhaul.vulns.matching import InstalledPackage, match

OSV = Path(__file__).resolve().parents[1].parent / "shared" / "osv"


def grow(path: Path, target: int) -> int:
    """Copy the imported records under new ids and names until there are ``target``."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, record FROM advisories").fetchall()
    count, k = len(rows), 0
    while count < target:
        k += 1
        batch = []
        for advisory_id, blob in rows:
            record = json.loads(zlib.decompress(blob))
            new_id = f"{advisory_id}-copy{k}"
            record["id"] = new_id
            names = []
            for affected in record.get("affected") or ():
                package = affected.get("package") or {}
                if "name" in package:
                    package["name"] = f"{package['name']}-copy{k}"
                    names.append((package.get("ecosystem", ""), package["name"]))
            batch.append((new_id, record, names))
            count += 1
            if count >= target:
                break
        db.executemany("INSERT INTO advisories VALUES (?, ?, 0, ?)",
                       [(i, r.get("modified"), zlib.compress(json.dumps(r).encode()))
                        for i, r, _ in batch])  # fmt: skip
        from keelhaul.vulns.osv import normalise_name

        db.executemany("INSERT OR IGNORE INTO packages (ecosystem, name, id) VALUES (?, ?, ?)",
                       [(e, normalise_name(e, n), i) for i, _, names in batch for e, n in names])  # fmt: skip
    db.commit()
    db.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisories", type=int, default=200_000)
    parser.add_argument("--packages", type=int, default=3000)
    args = parser.parse_args()
    if not OSV.is_dir():
        raise SystemExit("../shared/osv is absent")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "osv.sqlite3"
        started = time.perf_counter()
        database.import_paths(path, [OSV])
        imported = time.perf_counter() - started
        total = grow(path, args.advisories)
        with Database(path) as db:
            names = list(db._db.execute(
                "SELECT ecosystem, name FROM packages WHERE ecosystem IN ('PyPI', 'Go', "
                "'crates.io', 'npm') LIMIT ?", (args.packages // 2,)))  # fmt: skip
            rng = random.Random(1)
            installed = [InstalledPackage(e, n, rng.choice(["0.0.1", "1.0.0", "2.3.4", "99.0"]))
                         for e, n in names]  # fmt: skip
            installed += [InstalledPackage("PyPI", f"clean-{k}", "1.0")
                          for k in range(args.packages - len(installed))]  # fmt: skip
            started = time.perf_counter()
            found = match(db, installed)
            took = time.perf_counter() - started
        size = path.stat().st_size
    print(f"import of ../shared/osv (8,4xx records): {imported:.2f} s")
    print(f"database: {total} advisories, {size / 2**20:.0f} MiB")
    print(f"matched {len(installed)} packages in {took:.3f} s: {len(found)} vulnerabilities")


if __name__ == "__main__":
    main()
