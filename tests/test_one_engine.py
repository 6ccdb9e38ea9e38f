"""One engine for every kind of file: one catalogue, one pipeline, one fix loop, one loader.

Each test here is one of the seams that used to differ between Dockerfiles and the runtime
files (Kubernetes, Compose), run through the real CLI or the real pipeline.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from keelhaul.catalogue import all_rules
from keelhaul.checking import Checker, find_targets
from keelhaul.config import ConfigFinder
from keelhaul.dockerfile import syntax
from keelhaul.rule import CODE_RANGES, Kind
from keelhaul.runtime import yaml_documents
from keelhaul.selection import Vocabulary
from tests.corpus import CORPUS
from tests.keelhaul_cli import run

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
"""
COMPOSE = "services:\n  web:\n    image: nginx:1.25\n"


@pytest.mark.parametrize(("name", "text"), [("deploy.yaml", DEPLOYMENT), ("compose.yaml", COMPOSE)])
def test_fix_leaves_a_finding_ignored_by_the_configuration_alone(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / ".keelhaul.toml").write_text('ignore = ["KH405"]\n')
    target = tmp_path / name
    target.write_text(text)
    checked = run("check", "--format", "concise", name, cwd=tmp_path)
    assert "KH405" not in checked.stdout
    assert run("fix", "--unsafe-fixes", name, cwd=tmp_path).returncode == 0
    fixed = target.read_text()
    assert fixed != text  # the other hardening is added...
    assert "readOnlyRootFilesystem" not in fixed  # ...but not what the user ignored
    assert "read_only" not in fixed


@pytest.mark.parametrize(
    ("name", "text", "anchor"),
    [
        ("deploy.yaml", DEPLOYMENT, "        - name: web\n"),
        ("compose.yaml", COMPOSE, "  web:\n"),
    ],
)
def test_fix_leaves_a_finding_ignored_inline_alone(
    tmp_path: Path, name: str, text: str, anchor: str
) -> None:
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    text = text.replace(anchor, f"{indent}# keelhaul: ignore=KH405 -- writes its cache\n{anchor}")
    target = tmp_path / name
    target.write_text(text)
    assert "KH405" not in run("check", "--format", "concise", name, cwd=tmp_path).stdout
    assert run("fix", "--unsafe-fixes", name, cwd=tmp_path).returncode == 0
    fixed = target.read_text()
    assert fixed != text
    assert "readOnlyRootFilesystem" not in fixed
    assert "read_only" not in fixed


def test_fix_select_takes_runtime_codes(tmp_path: Path) -> None:
    target = tmp_path / "deploy.yaml"
    target.write_text(DEPLOYMENT)
    done = run("fix", "--unsafe-fixes", "--select", "KH405", "deploy.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fixed = target.read_text()
    assert "readOnlyRootFilesystem: true" in fixed
    assert "mountPath: /tmp" in fixed  # read-only comes with a writable /tmp
    for other in ("runAsNonRoot", "allowPrivilegeEscalation", "capabilities", "seccompProfile"):
        assert other not in fixed


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "deploy.yaml",
            DEPLOYMENT + "          securityContext: {runAsUser: 0}\n"
            "          securityContext: {runAsUser: 1000}\n",
            "deploy.yaml:12:11: invalid YAML: duplicate key 'securityContext' (first at line 11)",
        ),
        (
            "compose.yaml",
            COMPOSE + "    user: root\n    user: '1000'\n",
            "compose.yaml:5:5: invalid YAML: duplicate key 'user' (first at line 4)",
        ),
    ],
)
def test_a_duplicate_key_is_one_located_error_for_check_and_fix(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    target = tmp_path / name
    target.write_text(text)
    for args in (("check",), ("fix", "--unsafe-fixes")):
        done = run(*args, name, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert len(errors) == 1, done.stderr
        assert where in errors[0]
        assert "Traceback" not in done.stderr
    assert target.read_text() == text


def test_rules_json_lists_every_kind(tmp_path: Path) -> None:
    listed = json.loads(run("rules", "--json", cwd=tmp_path).stdout)
    codes = {r["code"] for r in listed}
    assert codes == {r.code for r in all_rules()}
    for kind, (low, high) in CODE_RANGES.items():
        assert any(low <= c <= high for c in codes), kind
    fixable = {r["code"] for r in listed if r["fix"]}
    assert {"KH400", "KH405", "KH410", "KH416", "KH418"} <= fixable  # runtime fixes count


def test_every_code_is_accepted_everywhere(tmp_path: Path) -> None:
    (tmp_path / ".keelhaul.toml").write_text('ignore = ["KH321", "KH109", "KH440"]\n')
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    done = run("check", "--select", "KH405,KH101,KH330", "Dockerfile", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def _corpus_targets() -> list[Path]:
    roots = [CORPUS / "compose", CORPUS / "k8s", CORPUS / "dockerfiles"]
    if not all(r.is_dir() for r in roots):
        pytest.skip("no shared corpus")
    return roots


def test_each_file_is_parsed_once_per_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery decides each file's kind once and the reader reuses what it loaded: one YAML
    load per runtime file, one Dockerfile parse per Dockerfile, over the whole corpus."""
    roots = _corpus_targets()
    parsed: Counter[str] = Counter()
    real_parse = syntax.parse

    def counting_parse(data: bytes | str, path: str = "Dockerfile") -> syntax.Dockerfile:
        parsed[path] += 1
        return real_parse(data, path)

    real_load = yaml_documents.load_documents

    def counting_load(text: str, name: str) -> list[object]:
        parsed[name] += 1
        return real_load(text, name)

    monkeypatch.setattr(syntax, "parse", counting_parse)
    monkeypatch.setattr(yaml_documents, "load_documents", counting_load)
    rules = all_rules()
    vocabulary = Vocabulary(rules)
    checker = Checker(ConfigFinder(vocabulary, isolated=True), vocabulary, rules)
    targets = find_targets(roots)
    kinds = Counter(t.kind for t in targets)
    assert kinds["compose"] > 100
    assert kinds["kubernetes"] > 100
    assert kinds["dockerfile"] > 500
    result = checker.check(targets)
    assert result.files
    twice = {name: n for name, n in parsed.items() if n > 1}
    assert twice == {}, f"{len(twice)} files parsed more than once, e.g. {list(twice.items())[:5]}"
    checked = {t.name for t in targets if t.kind != "docker-run"}
    assert checked <= set(parsed) | {b.path for b in result.broken} | _unparsed(targets)


def _unparsed(targets: list[object]) -> set[str]:
    """Kubernetes files with no workload document: the reader narrows them to nothing."""
    from keelhaul.runtime.kubernetes import workload_documents

    out: set[str] = set()
    for t in targets:
        source = getattr(t, "source", None)
        if source is not None and not workload_documents(source.text).strip():
            out.add(source.name)
    return out


def test_the_runtime_kinds_use_their_own_code_range() -> None:
    for rule in all_rules():
        low, high = CODE_RANGES[rule.kind]
        assert low <= rule.code <= high, rule.code
    assert {r.kind for r in all_rules()} == {Kind.DOCKERFILE, Kind.IMAGE, Kind.RUNTIME}
