"""The GitHub Action, the GitLab CI template, the pre-commit hooks and shell completion, run
for real: their shell steps execute in bash against the examples of this repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
            **extra}  # fmt: skip


def _evaluate(text: str, values: dict[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: values[m.group(1)], text)


def run_action(tmp_path: Path, **inputs: str) -> tuple[int, Path, Path]:
    """Run the action's shell steps (not the install, which needs an index, nor the upload,
    which needs GitHub) the way the runner does: expressions replaced, env set, bash -e."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    values = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    values.update({f"inputs.{k.replace('_', '-')}": v for k, v in inputs.items()})
    values["github.action_path"] = str(ROOT)
    summary = tmp_path / "summary.md"
    summary.touch()
    status = 0
    for step in action["runs"]["steps"]:
        if "run" not in step or step["name"] == "Install keelhaul":
            continue
        wanted = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) != '' \}\}", str(step.get("if", "")))
        if wanted and not values[f"inputs.{wanted.group(1)}"]:
            continue
        step_output = tmp_path / f"{step.get('id', 'step')}.out"
        step_output.write_text("")
        env = {k: _evaluate(str(v), values) for k, v in (step.get("env") or {}).items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
            cwd=tmp_path, capture_output=True, text=True, check=False,
            env=_env({**env, "GITHUB_STEP_SUMMARY": str(summary),
                      "GITHUB_OUTPUT": str(step_output)}),
        )  # fmt: skip
        for line in step_output.read_text().splitlines():
            key, _, value = line.partition("=")
            values[f"steps.{step.get('id')}.outputs.{key}"] = value
        values.setdefault("steps.check.outputs.status", "")
        values.setdefault("steps.image.outputs.status", "")
        values.setdefault("steps.vulns.outputs.status", "")
        status = done.returncode
        if status:
            break
    return status, tmp_path / values["inputs.sarif-file"], summary


def test_action_on_the_examples(tmp_path: Path) -> None:
    status, sarif, summary = run_action(tmp_path, path=str(ROOT / "examples"))
    assert status == 1  # the examples have warnings; fail-on defaults to warning
    report = json.loads(sarif.read_text())
    assert report["runs"][0]["results"]
    text = summary.read_text()
    assert text.startswith("## keelhaul")
    assert "| severity | rule | where | message |" in text


def test_action_passes_on_the_good_example(tmp_path: Path) -> None:
    status, sarif, summary = run_action(tmp_path, path=str(ROOT / "examples" / "good"))
    assert status == 0
    assert json.loads(sarif.read_text())["runs"][0]["results"] == []
    assert "No findings" in summary.read_text()
    other = tmp_path / "lenient"
    other.mkdir()
    lenient, _, _ = run_action(other, path=str(ROOT / "examples"), fail_on="none")
    assert lenient == 0


def test_action_with_an_image(tmp_path: Path) -> None:
    from tests.image.source_images import image, write_legacy_archive

    built = image([{"etc/os-release": b"ID=debian\nVERSION_ID=12\n",
                    "var/cache/apt/archives/x.deb": b"x" * 200_000}], "tar")  # fmt: skip
    archive = write_legacy_archive(tmp_path / "app.tar", built)
    status, _, summary = run_action(tmp_path, path=str(ROOT / "examples" / "good"),
                                    image=f"docker-archive:{archive}",
                                    image_args="--max-size 100kB --no-config")  # fmt: skip
    text = summary.read_text()
    assert "## keelhaul image" in text
    assert "| compressed | uncompressed |" in text
    assert status == 1  # the image crosses --max-size


def _vulns_db(tmp_path: Path) -> Path:
    from keelhaul.vulns import database

    path = tmp_path / "osv.sqlite3"
    database.import_paths(path, [ROOT / "tests" / "data" / "osv"])
    return path


def _ubuntu_root(tmp_path: Path, version: str) -> Path:
    root = tmp_path / f"rootfs-{version}"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS"\n')
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        f"Package: libc6\nStatus: install ok installed\nVersion: {version}\nSource: glibc\n"
        "Architecture: amd64\n"
    )
    return root


def test_action_vulnerability_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEELHAUL_DB", str(_vulns_db(tmp_path)))
    good = str(ROOT / "examples" / "good")
    vulnerable = str(_ubuntu_root(tmp_path, "2.35-0ubuntu3.1"))
    status, _, summary = run_action(tmp_path, path=good, vulns=vulnerable, vulns_db_update="false")
    assert status == 1  # Looney Tunables is high; vulns-fail-on defaults to high
    assert "UBUNTU-CVE-2023-4911" in summary.read_text()
    sarif = json.loads((tmp_path / "keelhaul-vulns.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"UBUNTU-CVE-2023-4911"}
    lenient = tmp_path / "lenient"
    lenient.mkdir()
    passed, _, _ = run_action(lenient, path=good, vulns=vulnerable, vulns_db_update="false",
                              vulns_fail_on="critical")  # fmt: skip
    assert passed == 0
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    clean, _, _ = run_action(fixed, path=good, vulns_db_update="false",
                             vulns=str(_ubuntu_root(tmp_path, "2.35-0ubuntu3.4")))  # fmt: skip
    assert clean == 0


def test_gitlab_vulnerability_gate(tmp_path: Path) -> None:
    template = yaml.safe_load((ROOT / "ci" / "keelhaul.gitlab-ci.yml").read_text())
    job = template[".keelhaul-vulns"]
    variables = {**job["variables"], "KEELHAUL_DB_UPDATE": "false",
                 "KEELHAUL_DB": str(_vulns_db(tmp_path)),
                 "KEELHAUL_VULNS_TARGET": str(_ubuntu_root(tmp_path, "2.35-0ubuntu3.1"))}  # fmt: skip
    script = "\n".join(job["script"])
    done = subprocess.run(["sh", "-e", "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env=_env(variables))  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert json.loads((tmp_path / "keelhaul-vulns.sarif").read_text())["runs"][0]["results"]
    assert json.loads((tmp_path / "gl-code-quality-vulns.json").read_text())
    assert job["artifacts"]["reports"] == {"codequality": "gl-code-quality-vulns.json"}


KEV = ROOT / "tests" / "data" / "exploits" / "known_exploited_vulnerabilities-excerpt.json"
EPSS = ROOT / "tests" / "data" / "exploits" / "epss_scores-2025-01-01-head.csv"


def test_action_exploitation_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The KEV and EPSS inputs reach `keelhaul vulns`: Looney Tunables (high) passes a
    critical gate, and fails it once CISA's catalogue, imported from vulns-exploits, lists it."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert {"vulns-fail-on-kev", "vulns-fail-on-epss", "vulns-exploits"} <= set(action["inputs"])
    monkeypatch.setenv("KEELHAUL_DB", str(_vulns_db(tmp_path)))
    good = str(ROOT / "examples" / "good")
    vulnerable = str(_ubuntu_root(tmp_path, "2.35-0ubuntu3.1"))

    def gate(name: str, **inputs: str) -> int:
        folder = tmp_path / name
        folder.mkdir()
        status, _, _ = run_action(folder, path=good, vulns=vulnerable, vulns_db_update="false",
                                  vulns_fail_on="critical", **inputs)  # fmt: skip
        return status

    assert gate("plain") == 0
    assert gate("kev-no-catalogue", vulns_fail_on_kev="true") == 0  # nothing imported yet
    assert gate("kev", vulns_fail_on_kev="true", vulns_exploits=f"{KEV} {EPSS}") == 1
    assert gate("kev-off", vulns_fail_on_kev="false") == 0  # the catalogue stays imported
    assert gate("epss", vulns_fail_on_epss="0.5") == 0  # the excerpt does not score it
    assert gate("epss-out-of-range", vulns_fail_on_epss="1.5") == 2  # the option was passed


def test_gitlab_exploitation_gates(tmp_path: Path) -> None:
    template = yaml.safe_load((ROOT / "ci" / "keelhaul.gitlab-ci.yml").read_text())
    job = template[".keelhaul-vulns"]
    db = str(_vulns_db(tmp_path))
    target = str(_ubuntu_root(tmp_path, "2.35-0ubuntu3.1"))
    script = "\n".join(job["script"])

    def gate(name: str, **variables: str) -> int:
        folder = tmp_path / name
        folder.mkdir()
        env = {**job["variables"], "KEELHAUL_DB_UPDATE": "false", "KEELHAUL_DB": db,
               "KEELHAUL_VULNS_TARGET": target, "KEELHAUL_VULNS_FAIL_ON": "critical",
               **variables}  # fmt: skip
        done = subprocess.run(["sh", "-e", "-c", script], cwd=folder, capture_output=True,
                              text=True, check=False, env=_env(env))  # fmt: skip
        return done.returncode

    assert gate("plain") == 0
    assert gate("kev", KEELHAUL_VULNS_FAIL_ON_KEV="true", KEELHAUL_VULNS_EXPLOITS=str(KEV)) == 1
    assert gate("epss-out-of-range", KEELHAUL_VULNS_FAIL_ON_EPSS="1.5") == 2


def test_gitlab_template(tmp_path: Path) -> None:
    template = yaml.safe_load((ROOT / "ci" / "keelhaul.gitlab-ci.yml").read_text())
    job = template[".keelhaul"]
    assert template["keelhaul-check"]["extends"] == ".keelhaul"
    variables = {**job["variables"], "KEELHAUL_PATHS": str(ROOT / "examples")}
    script = "\n".join(job["script"])
    done = subprocess.run(["sh", "-e", "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env=_env(variables))  # fmt: skip
    assert done.returncode == 1, done.stderr  # the last line gates on warnings
    quality = json.loads((tmp_path / "gl-code-quality-report.json").read_text())
    assert quality
    assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(quality[0])
    assert ET.parse(tmp_path / "keelhaul-junit.xml").getroot().tag == "testsuites"
    assert json.loads((tmp_path / "keelhaul.sarif").read_text())["version"] == "2.1.0"
    reports = job["artifacts"]["reports"]
    assert reports == {"codequality": "gl-code-quality-report.json", "junit": "keelhaul-junit.xml"}


def test_pre_commit_hooks(tmp_path: Path) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"keelhaul-check", "keelhaul-fix", "keelhaul-check-runtime",
                          "keelhaul-fix-runtime"}  # fmt: skip
    pattern = re.compile(hooks["keelhaul-check"]["files"])
    for name in ("Dockerfile", "app/Dockerfile", "Dockerfile.prod", "build/Containerfile",
                 "api.dockerfile", "x/Dockerfile-dev"):  # fmt: skip
        assert pattern.search(name), name
    for name in ("Dockerfile.md/readme", "mydockerfile.txt", "docs/Dockerfiles.md"):
        assert not pattern.search(name), name
    validator = BIN / "pre-commit"
    if validator.is_file():
        done = subprocess.run([str(validator), "validate-manifest",
                               str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    # the entries, with file names as pre-commit passes them
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:12\nRUN apt-get install curl\n")
    check = subprocess.run([*hooks["keelhaul-check"]["entry"].split(), str(dockerfile)],
                           capture_output=True, text=True, check=False, env=_env({}))  # fmt: skip
    assert check.returncode == 1
    fixed = subprocess.run([*hooks["keelhaul-fix"]["entry"].split(), str(dockerfile)],
                           capture_output=True, text=True, check=False, env=_env({}))  # fmt: skip
    assert fixed.returncode in (0, 1), fixed.stderr
    assert "-y" in dockerfile.read_text()
    # the YAML hooks: a workload is checked and hardened, any other YAML file is skipped
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
                        "  containers:\n    - name: c\n      image: nginx:1.27\n")  # fmt: skip
    other = tmp_path / "values.yaml"
    other.write_text("replicas: 2\n")
    yaml_files = [str(manifest), str(other)]
    checked = subprocess.run([*hooks["keelhaul-check-runtime"]["entry"].split(), *yaml_files],
                             capture_output=True, text=True, check=False, env=_env({}))  # fmt: skip
    assert checked.returncode == 1
    assert "KH400" in checked.stdout
    assert "values.yaml" not in checked.stdout
    hardened = subprocess.run([*hooks["keelhaul-fix-runtime"]["entry"].split(), *yaml_files],
                              capture_output=True, text=True, check=False, env=_env({}))  # fmt: skip
    assert hardened.returncode in (0, 1), hardened.stderr
    assert "readOnlyRootFilesystem: true" in manifest.read_text()
    assert other.read_text() == "replicas: 2\n"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    done = subprocess.run([str(BIN / "keelhaul"), "completion", shell], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0
    assert "_KEELHAUL_COMPLETE" in done.stdout
    if shell == "bash" and shutil.which("bash"):
        loaded = subprocess.run(["bash", "--noprofile", "--norc", "-c",
                                 f'eval "$({BIN / "keelhaul"} completion bash)"; complete -p keelhaul'],
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert "_keelhaul_completion" in loaded.stdout
    answered = subprocess.run([str(BIN / "keelhaul")], capture_output=True, text=True, check=False,
                              env={**os.environ, "_KEELHAUL_COMPLETE": "bash_complete",
                                   "COMP_WORDS": "keelhaul ch", "COMP_CWORD": "1"})  # fmt: skip
    assert "check" in answered.stdout
