"""Runtime files are told by content; a walk opens only plausible names."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.catalogue import all_rules
from keelhaul.checking import Checker, CheckResult, Target, itemised
from keelhaul.config import ConfigFinder
from keelhaul.errors import FileMissing
from keelhaul.runtime.discover import kind_of, runtime_kind, runtime_targets
from keelhaul.runtime.yaml_documents import YamlFile
from keelhaul.selection import Vocabulary
from keelhaul.suppression import text_suppressions

RULES = all_rules()
VOCABULARY = Vocabulary(RULES)

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: a\n"
COMPOSE = "services:\n  web:\n    image: nginx\n"


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("anything.yaml", POD, "kubernetes"),
        ("deploy.yml", "---\n# c\napiVersion: apps/v1\nkind: Deployment\n", "kubernetes"),
        ("list.yaml", "apiVersion: v1\nkind: List\nitems: []\n", "kubernetes"),
        ("crlf.yaml", "apiVersion: v1\r\nkind: Pod\r\nspec: {}\r\n", "kubernetes"),
        ("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", None),
        # a ConfigMap is read for secrets (KH432), not for the Pod named in its data
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  kind: Pod\n", "kubernetes"),
        ("crd.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n", None),
        ("stack.yml", COMPOSE, "compose"),
        ("weird-name.txt", COMPOSE, "compose"),
        ("compose.yaml", "services:\n  web:\n    build: .\n", "compose"),
        ("other.yaml", "services:\n  - a\n  - b\n", None),
        ("config.yaml", "services:\n  api:\n    url: http://x\n", None),
        ("run.sh", "#!/bin/sh\ndocker run --rm alpine\n", "docker-run"),
        ("deploy", "#!/bin/bash\nexec docker run -d nginx\n", "docker-run"),
        ("Makefile", "up:\n\tdocker run -d nginx\n", "docker-run"),
        ("README.md", "```sh\ndocker run nginx\n```\n", "docker-run"),
        ("README.md", "Use docker run nginx to start.\n", None),
        ("run.sh", "#!/bin/sh\ndocker build .\n", None),
        ("notes.txt", "plain text\n", None),
    ],
)
def test_kind_by_content(name: str, text: str, kind: str | None) -> None:
    assert kind_of(YamlFile(name, text)) == kind


def test_dockerfiles_are_never_runtime_files() -> None:
    assert runtime_kind(YamlFile("Dockerfile", "FROM x\nRUN docker run alpine\n")) is None
    assert runtime_kind(YamlFile("-", COMPOSE)) == "compose"  # stdin: by content alone


def check_text(name: str, text: str, select: tuple[str, ...] | None = None) -> CheckResult:
    """``keelhaul check`` of ``text`` as if read from stdin under the name ``name``."""
    from keelhaul.config import Overrides

    finder = ConfigFinder(VOCABULARY, isolated=True, overrides=Overrides(select=select))
    checker = Checker(finder, VOCABULARY, RULES, shellcheck=None)
    return checker.check([Target.stdin(text.encode(), name)])


def test_walk_finds_by_content_and_respects_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("ignored/\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(POD)
    (tmp_path / "deploy" / "service.yaml").write_text("apiVersion: v1\nkind: Service\n")
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "stack.yml").write_text(COMPOSE)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "start.sh").write_text("docker run -d nginx\n")
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "pod.yaml").write_text(POD)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "pod.yaml").write_text(POD)
    (tmp_path / "Dockerfile").write_text("FROM x\nRUN docker run y\n")
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "templates" / "deploy.yaml").write_text(
        "{{- if .Values.enabled }}\n" + POD + "{{- end }}\n"
    )
    found = {
        (str(f.path.relative_to(tmp_path)), f.kind, f.named) for f in runtime_targets([tmp_path])
    }
    assert found == {
        ("deploy/app.yaml", "kubernetes", False),
        ("docker-compose.yml", "compose", False),
        ("stack.yml", "compose", False),
        ("scripts/start.sh", "docker-run", False),
    }


def test_named_files_and_missing(tmp_path: Path) -> None:
    pod = tmp_path / "p.yaml"
    pod.write_text(POD)
    assert [(f.kind, f.named) for f in runtime_targets([pod, pod])] == [("kubernetes", True)]
    with pytest.raises(FileMissing):
        runtime_targets([tmp_path / "nope.yaml"])


def test_runtime_file_through_the_pipeline_and_errors() -> None:
    result = check_text("compose.yaml", COMPOSE)
    assert not result.broken
    assert result.findings
    assert all(f.location.path == "compose.yaml" for f in result.findings)
    assert Target.stdin(b"FROM x\n", "Dockerfile").kind == "dockerfile"
    broken = check_text("compose.yaml", "services:\n  web: [\n")
    assert broken.broken
    assert broken.broken[0].path == "compose.yaml"
    assert broken.broken[0].line is not None
    only = check_text("compose.yaml", COMPOSE, select=("KH405",))
    assert {f.code for f in only.findings} == {"KH405"}


def test_suppression_comments() -> None:
    text = (
        "services:\n"
        "  # keelhaul: ignore=KH405 -- the app writes its cache\n"
        "  web:\n"
        "    image: nginx:1\n"
        "  db:  # keelhaul: ignore=KH440\n"
        "    image: postgres:16\n"
    )
    kept = itemised(check_text("compose.yaml", text).findings)
    codes_at = {(f.code, f.location.line) for f in kept}
    assert ("KH405", 3) not in codes_at
    assert ("KH440", 5) not in codes_at
    assert any(f.code == "KH405" and f.location.line == 5 for f in kept)
    file_wide = text_suppressions("x.yaml", "# keelhaul: ignore-file=KH441\n", VOCABULARY)
    assert file_wide.pragmas[0].file_wide
