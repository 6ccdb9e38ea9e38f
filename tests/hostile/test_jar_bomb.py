"""Issue 23 item 6: a small jar whose nested archive or pom.properties inflates to hundreds of
megabytes is read within a bounded budget: the SBOM's Java cataloger never holds the bomb in
memory, and the real packages in the same jar are still found."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

MiB = 1 << 20
BOMB_MIB = 300


def _member(archive: zipfile.ZipFile, name: str, mib: int) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        chunk = b"\0" * MiB
        for _ in range(mib):
            member.write(chunk)


def bomb_jar() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compresslevel=1) as archive:
        archive.writestr("META-INF/maven/com.example/app/pom.properties",
                         "groupId=com.example\nartifactId=app\nversion=1.0.0\n")  # fmt: skip
        _member(archive, "BOOT-INF/lib/huge.jar", BOMB_MIB)
        _member(archive, "META-INF/maven/com.evil/x/pom.properties", BOMB_MIB)
    return data.getvalue()


def test_jar_bomb_is_small_and_read_in_bounded_memory(tmp_path: Path) -> None:
    jar = bomb_jar()
    assert len(jar) < 2 * MiB  # 600 MiB inside
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    (root / "app" / "app.jar").write_bytes(jar)
    probe = (
        "import re, sys\nfrom pathlib import Path\n"
        # Linux keeps a process's peak memory across exec, so a child of a big test worker would
        # start with the worker's peak: reset the high-water mark first, then read it.
        "Path('/proc/self/clear_refs').write_text('5')\n"
        "from keelhaul.sbom.catalog import FolderFiles, catalog\n"
        "found = {(p.namespace, p.name, p.version) for p in catalog(FolderFiles(Path(sys.argv[1]))).packages}\n"
        "print(sorted(found))\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    found, peak_mib = done.stdout.splitlines()
    assert "('com.example', 'app', '1.0.0')" in found
    assert int(peak_mib) < 200, f"peak {peak_mib} MiB for a {len(jar)} byte jar"
