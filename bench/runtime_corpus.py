"""The runtime checks on the shared corpus's Kubernetes manifests and Compose files, as a user
runs them: every file of a corpus folder named on one ``keelhaul check --format json`` command
line (named files: one that keelhaul does not understand is reported, not dropped).

    python bench/runtime_corpus.py [--corpus DIR] [--kind k8s|compose ...] [--pss LEVEL]
                                   [--src CHECKOUT/src] [--json OUT] [--fix]

Printed per folder: files named, checked, not parsed (with the reason) and not checked (with
the notice's reason, counted by reason); containers (Kubernetes) or services (Compose) the
checked files hold, read with the same checkout's reader; findings as reported and per
container or service, and the same counted item by item (a KH409 finding counts each of its
members: the pre-KH409 way of counting); files that fail the default gate (a finding at warning
or above); findings by code.

``--fix`` also runs ``keelhaul fix --unsafe-fixes`` on a copy of the Kubernetes files and
checks each document it changed with the API's own schema (kubernetes-validate), and on a copy
of the Compose files, each file it changed checked with the Compose Specification's JSON
schema (tests/data/compose-spec, through tests/compose_schema.py).

``--src`` runs another checkout of keelhaul (``git worktree add --detach /tmp/before REV``,
then ``--src /tmp/before/src``) with this Python: the same corpus before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A notice or error line: ``keelhaul: notice: PATH: why``.
_NOTICE = re.compile(r"^keelhaul: notice: (?P<path>/\S+?): (?P<why>.*)$")
_KIND = re.compile(r"^kind:\s*[\"']?(\w+)", re.M)
_GATE = {"warning", "error"}


def _inner(paths: list[str]) -> None:
    """Count the containers (or services) of each file with the checkout on ``sys.path``."""
    from keelhaul.runtime.discover import kind_of, read_runs
    from keelhaul.runtime.yaml_documents import YamlFile

    out: dict[str, int] = {}
    for path in paths:
        try:
            source = YamlFile(path, Path(path).read_text(encoding="utf-8"))
            kind = kind_of(source)
            out[path] = len(read_runs(kind, source)) if kind is not None else 0
        except Exception:  # refused files: the check reports them
            out[path] = 0
    json.dump(out, sys.stdout)


def _env(src: Path | None) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100000", "KEELHAUL_NO_WARM_START": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def _run_check(files: list[str], src: Path | None, pss: str | None) -> tuple[dict, str]:
    command = [sys.executable, "-m", "keelhaul", "check", "--format", "json"]
    if pss:
        command += ["--pss", pss]
    done = subprocess.run(
        [*command, *files], capture_output=True, text=True, env=_env(src), check=False
    )
    if done.returncode not in (0, 1, 2):
        raise SystemExit(f"keelhaul check crashed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout), done.stderr


def _containers(files: list[str], src: Path | None) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--inner", *files],
        capture_output=True, text=True, env=_env(src), check=True,
    )  # fmt: skip
    counts: dict[str, int] = json.loads(done.stdout)
    return counts


def _reason(why: str) -> str:
    """A notice's reason without the file's own details (paths, names)."""
    why = re.sub(r"`[^`]*`", "`…`", why)
    return re.sub(r"/\S+", "PATH", why)[:140]


def bench(folder: Path, label: str, src: Path | None, pss: str | None) -> dict[str, object]:
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    report, stderr = _run_check(files, src, pss)
    status = {f["path"]: f["status"] for f in report["files"]}
    checked = [p for p in files if status.get(p) in ("findings", "clean")]
    not_parsed = list(report.get("errors", []))
    skipped: Counter[str] = Counter()
    kinds: Counter[str] = Counter()  # what the files not checked hold
    for line in stderr.splitlines():
        match = _NOTICE.match(line)
        if match is not None and match.group("path") not in status:
            skipped[_reason(match.group("why"))] += 1
            text = Path(match.group("path")).read_text(encoding="utf-8", errors="replace")
            kinds.update(set(_KIND.findall(text)) or {"(no kind: line)"})
    silent = [p for p in files if p not in status and p not in stderr]
    runs = _containers(checked, src)
    units = sum(runs.values())
    findings = report["findings"]
    items = sum(max(len(f.get("members") or []), 1) for f in findings)
    codes: Counter[str] = Counter()
    for f in findings:
        for m in f.get("members") or [f]:
            codes[m["code"]] += 1
    gated = {f["path"] for f in findings if f["severity"] in _GATE}
    unit = "service" if label == "compose" else "container"
    result: dict[str, object] = {
        "files": len(files),
        "checked": len(checked),
        "not_parsed": len(not_parsed),
        "not_checked": sum(skipped.values()),
        "silently_dropped": len(silent),
        f"{unit}s": units,
        "findings": len(findings),
        f"findings_per_{unit}": round(len(findings) / max(units, 1), 2),
        "items": items,
        f"items_per_{unit}": round(items / max(units, 1), 2),
        "files_failing_gate": len(gated),
        "by_severity": dict(Counter(f["severity"] for f in findings)),
        "skip_reasons": dict(skipped.most_common()),
        "not_checked_kinds": dict(kinds.most_common()),
        "parse_errors": dict(Counter(_reason(e["message"]) for e in not_parsed).most_common()),
        "items_by_code": dict(sorted(codes.items())),
    }
    print(f"== {label}: {folder}" + (f" (keelhaul from {src})" if src else ""))
    print(
        f"files {len(files)}: checked {len(checked)}, not parsed {len(not_parsed)}, "
        f"not checked {sum(skipped.values())} (notice), dropped silently {len(silent)}"
    )
    for why, count in skipped.most_common():
        print(f"  not checked {count}: {why}")
    if kinds:
        shown = ", ".join(f"{k} {v}" for k, v in kinds.most_common(14))
        print(f"  files not checked, by the kinds they hold: {shown}")
    for why, count in Counter(_reason(e["message"]) for e in not_parsed).most_common():
        print(f"  not parsed {count}: {why}")
    print(
        f"{unit}s {units}; findings {len(findings)} ({len(findings) / max(units, 1):.2f} per "
        f"{unit}); items {items} ({items / max(units, 1):.2f} per {unit}); files failing the "
        f"default gate {len(gated)} of {len(checked)}"
    )
    severities = Counter(f["severity"] for f in findings)
    print("  by severity: " + ", ".join(f"{k} {v}" for k, v in sorted(severities.items())))
    print("  items by code: " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items())))
    return result


def _fixed_copy(folder: Path, src: Path | None, tmp: str) -> list[tuple[Path, str, str]]:
    """``keelhaul fix --unsafe-fixes`` on a copy of ``folder`` in ``tmp`` (every file named):
    (path, before, after) of each file it changed."""
    import shutil

    copy = Path(tmp) / folder.name
    shutil.copytree(folder, copy, copy_function=shutil.copyfile)  # writable copies
    files = sorted(str(p) for p in copy.rglob("*") if p.is_file())
    before = {p: Path(p).read_text(encoding="utf-8", errors="replace") for p in files}
    command = [sys.executable, "-m", "keelhaul", "fix", "--unsafe-fixes", "--quiet-unknown"]
    subprocess.run([*command, *files], capture_output=True, env=_env(src), check=False)
    out = []
    for path in files:
        after = Path(path).read_text(encoding="utf-8", errors="replace")
        if after != before[path]:
            out.append((Path(path), before[path], after))
    return out


def fix_and_validate(folder: Path, src: Path | None) -> dict[str, int]:
    """``keelhaul fix --unsafe-fixes`` on a copy of ``folder`` (every file named), then each
    document the fix changed checked with the Kubernetes API's own schema (kubernetes-validate,
    1.30, strict): how many the schema accepted before and still accepts after."""
    import tempfile

    import kubernetes_validate
    import yaml

    def valid(doc: object) -> bool:
        try:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
        except Exception:
            return False
        return True

    counts = Counter[str]()
    with tempfile.TemporaryDirectory(prefix="keelhaul-fixbench-") as tmp:
        for _, before, after in _fixed_copy(folder, src, tmp):
            counts["files changed"] += 1
            try:
                old = [d for d in yaml.safe_load_all(before) if isinstance(d, dict)]
                new = [d for d in yaml.safe_load_all(after) if isinstance(d, dict)]
            except yaml.YAMLError:
                counts["files PyYAML cannot read"] += 1
                continue
            for was, now in zip(old, new, strict=False):
                if was == now:
                    continue
                counts["documents changed"] += 1
                if not valid(was):
                    counts["documents the schema refused before the fix"] += 1
                elif valid(now):
                    counts["documents accepted before and after"] += 1
                else:
                    counts["documents accepted before, refused after"] += 1
    print(f"== fix --unsafe-fixes on {folder}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return dict(counts)


def fix_and_validate_compose(folder: Path, src: Path | None) -> dict[str, int]:
    """``keelhaul fix --unsafe-fixes`` on a copy of the Compose files, then each file it
    changed checked with the Compose Specification's JSON schema (tests/compose_schema.py):
    how many the schema accepted before and still accepts after (a file it refused before:
    whether the fix added a refusal); each new refusal is printed with the schema's reason."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from tests.compose_schema import compose_errors, load_compose

    counts = Counter[str]()
    with tempfile.TemporaryDirectory(prefix="keelhaul-fixbench-") as tmp:
        for path, before, after in _fixed_copy(folder, src, tmp):
            counts["files changed"] += 1
            try:
                was, now = load_compose(before), load_compose(after)
            except Exception:  # any reader error: not comparable
                counts["files the YAML 1.2 reader cannot read"] += 1
                continue
            old, errors = set(compose_errors(was)), compose_errors(now)
            new = [e for e in errors if e not in old]
            if old:
                kind = "with new refusals" if new else "no new refusal"
                counts[f"files the schema refused before the fix ({kind} after)"] += 1
            elif not errors:
                counts["files accepted before and after"] += 1
            else:
                counts["files accepted before, refused after"] += 1
            if new:
                print(f"  refused after the fix: {path.relative_to(tmp)}: {new[0]}")
    print(f"== fix --unsafe-fixes on {folder}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return dict(counts)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        _inner(sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default = Path(os.environ.get("KEELHAUL_SHARED", ROOT.parent / "shared")) / "corpus"
    ap.add_argument("--corpus", type=Path, default=default)
    ap.add_argument("--kind", action="append", choices=("k8s", "compose"))
    ap.add_argument("--pss", choices=("baseline", "restricted"), default=None)
    ap.add_argument("--src", type=Path, default=None, help="another checkout's src folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument(
        "--fix",
        action="store_true",
        help="also run fix --unsafe-fixes on a copy of the Kubernetes and Compose files and "
        "validate what it changed with the API schema (kubernetes-validate) and the Compose "
        "Specification's schema",
    )
    opts = ap.parse_args()
    out: dict[str, object] = {}
    for label in opts.kind or ["k8s", "compose"]:
        out[label] = bench(opts.corpus / label, label, opts.src, opts.pss)
    if opts.fix:
        if "k8s" in (opts.kind or ["k8s"]):
            out["fix"] = fix_and_validate(opts.corpus / "k8s", opts.src)
        if "compose" in (opts.kind or ["compose"]):
            out["fix_compose"] = fix_and_validate_compose(opts.corpus / "compose", opts.src)
    if opts.json is not None:
        opts.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
