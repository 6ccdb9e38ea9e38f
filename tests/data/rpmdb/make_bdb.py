"""Rebuild the BerkeleyDB rpm databases in this folder (see README.md).

Needs Debian's ``rpm`` (rpmbuild, sqlite backend) and ``db5.3-util`` (db5.3_load). The header
blobs are the ones rpm itself wrote when it installed two packages built from ``*.spec`` here;
db5.3_load stores them in a hash database the way rpm's BerkeleyDB backend (CentOS 7, RHEL 7,
SLES 12) did: key = header instance (native byte order), value = header blob; key 0 holds the
highest instance.

Usage: python3 tests/data/rpmdb/make_bdb.py
"""

from __future__ import annotations

import sqlite3
import struct
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
#: (file, byte order for db5.3_load, page size): the common x86 layout and a big-endian one
#: (s390x) with large pages, where small headers are stored on the hash page itself.
VARIANTS = (("Packages", "1234", 4096), ("Packages-bigendian-64k", "4321", 65536))


def _escape(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def main() -> None:
    with tempfile.TemporaryDirectory() as top:
        root = Path(top)
        for spec in sorted(HERE.glob("*.spec")):
            subprocess.run(["rpmbuild", "--quiet", "--define", f"_topdir {root}", "-bb", str(spec)],
                           check=True)  # fmt: skip
        rpms = sorted(str(p) for p in (root / "RPMS").rglob("*.rpm"))
        dbpath = root / "db"
        subprocess.run(["rpm", "--dbpath", str(dbpath), "--initdb"], check=True)
        subprocess.run(["rpm", "--dbpath", str(dbpath), "-i", "--justdb", "--nodeps",
                        "--ignorearch", "--ignoreos", "--force-debian", *rpms], check=True)  # fmt: skip
        with sqlite3.connect(dbpath / "rpmdb.sqlite") as db:
            rows = db.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
        for name, order, page in VARIANTS:
            fmt = "<I" if order == "1234" else ">I"
            lines = [
                _escape(struct.pack(fmt, 0)),
                _escape(struct.pack(fmt, max(h for h, _ in rows))),
            ]
            for number, blob in rows:
                lines += [_escape(struct.pack(fmt, number)), _escape(bytes(blob))]
            out = HERE / name
            out.unlink(missing_ok=True)
            subprocess.run(["db5.3_load", "-T", "-t", "hash", "-c", f"db_lorder={order}",
                            "-c", f"db_pagesize={page}", str(out)],
                           input="\n".join(lines) + "\n", text=True, check=True)  # fmt: skip


if __name__ == "__main__":
    main()
