"""KH409: the hardening checklist is one finding per container, and its member codes keep
working for selection, suppression, severity, the baseline, the reports and ``keelhaul fix``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.keelhaul_cli import run

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: api
          image: registry.example/shop/api:1.4.2
          securityContext:
            runAsUser: 10001
        - name: worker
          image: registry.example/shop/worker:1.4.2
          securityContext:
            privileged: true
"""

COMPOSE = """\
services:
  app:
    build: .
    image: registry.example/shop/app:1.4.2
  db:
    image: postgres:16.4
    environment:
      POSTGRES_DB: shop
"""


def findings(folder: Path, *args: str, name: str = "deploy.yaml") -> list[dict[str, object]]:
    done = run("check", "--no-config", "--format", "json", *args, name, cwd=folder)
    assert done.returncode in (0, 1), done.stderr
    found: list[dict[str, object]] = json.loads(done.stdout)["findings"]
    return found


def member_codes(finding: dict[str, object]) -> list[str]:
    members = finding.get("members")
    assert isinstance(members, list)
    return [str(m["code"]) for m in members]


def test_one_finding_per_container_lists_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    found = findings(tmp_path)
    grouped = [f for f in found if f["code"] == "KH409"]
    assert [f["line"] for f in grouped] == [14, 18]  # one per container, at the container
    api = grouped[0]
    assert member_codes(api) == ["KH400", "KH405", "KH416", "KH418", "KH440", "KH441"]
    assert "container api of Deployment/shop is not hardened: " in str(api["message"])
    assert "capabilities not dropped (KH400)" in str(api["message"])
    assert api["severity"] == "warning"  # its most severe member's
    members = api["members"]
    assert isinstance(members, list)
    assert {m["code"]: m["line"] for m in members}["KH405"] == 16  # the securityContext
    # risks stay their own findings, errors
    assert [(f["code"], f["severity"]) for f in found if f["code"] == "KH415"] == [
        ("KH415", "error")
    ]
    assert not {"KH400", "KH405", "KH440"} & {str(f["code"]) for f in found}


def test_an_inline_ignore_of_a_member_silences_that_item(tmp_path: Path) -> None:
    text = DEPLOYMENT.replace(
        "          securityContext:\n            runAsUser: 10001\n",
        "          # keelhaul: ignore=KH405 -- the api writes its upload cache\n"
        "          securityContext:\n            runAsUser: 10001\n",
    )
    (tmp_path / "deploy.yaml").write_text(text)
    found = findings(tmp_path)
    api = next(f for f in found if f["code"] == "KH409" and f["line"] == 14)
    assert "KH405" not in member_codes(api)
    assert "KH400" in member_codes(api)
    assert not [f for f in found if f["code"] == "KH001"]  # the pragma was used


def test_selecting_one_member_code_reports_that_code(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    found = findings(tmp_path, "--select", "KH405")
    assert [(f["code"], f["line"]) for f in found] == [("KH405", 16), ("KH405", 20)]
    assert all("members" not in f for f in found)


def test_ignoring_kh409_reports_the_members_one_by_one(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    found = findings(tmp_path, "--ignore", "KH409")
    codes = [f["code"] for f in found]
    assert "KH409" not in codes
    assert codes.count("KH405") == 2
    assert codes.count("KH400") == 1


def test_a_severity_override_of_a_member_counts_in_the_group(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / ".keelhaul.toml").write_text(
        '[severity]\nKH400 = "info"\nKH405 = "info"\nKH410 = "info"\nKH416 = "info"\n'
    )
    done = run("check", "--format", "json", "compose.yaml", cwd=tmp_path)
    found = json.loads(done.stdout)["findings"]
    grouped = [f for f in found if f["code"] == "KH409"]
    assert len(grouped) == 2
    assert {f["severity"] for f in grouped} == {"info"}
    assert done.returncode == 0, done.stdout


#: A development stack with only checklist gaps: nothing dropped, writable, root, no limits.
DEV_STACK = """\
services:
  web:
    image: registry.example/shop/web:1.4.2
    ports: ["8080:8080"]
  cache:
    image: redis:7.2.4
"""


def gate(folder: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    done = run("check", "--format", "json", *args, "compose.yaml", cwd=folder)
    assert done.returncode in (0, 1), done.stderr
    found: list[dict[str, object]] = json.loads(done.stdout)["findings"]
    return done.returncode, found


def test_a_development_compose_stack_with_only_checklist_gaps_passes(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(DEV_STACK)
    code, found = gate(tmp_path)
    assert code == 0, found
    grouped = [f for f in found if f["code"] == "KH409"]
    assert len(grouped) == 2
    assert {f["severity"] for f in grouped} == {"info"}
    assert all('compose-stack = "production"' in str(f["message"]) for f in grouped)
    assert {"KH400", "KH405", "KH410", "KH416", "KH440"} <= set(member_codes(grouped[0]))
    # one by one (KH409 ignored) the members are info too
    code, found = gate(tmp_path, "--ignore", "KH409")
    assert code == 0
    assert {f["severity"] for f in found if f["code"] in ("KH400", "KH405", "KH440")} == {"info"}


def test_the_risks_still_fail_a_development_stack(tmp_path: Path) -> None:
    privileged = DEV_STACK.replace("    ports:", "    privileged: true\n    ports:")
    socket = DEV_STACK + "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"
    for text, code_of_risk in ((privileged, "KH415"), (socket, "KH427")):
        (tmp_path / "compose.yaml").write_text(text)
        code, found = gate(tmp_path)
        assert code == 1, text
        failing = {f["code"] for f in found if f["severity"] in ("warning", "error")}
        assert failing == {code_of_risk}, found


def test_a_production_compose_stack_gates_the_checklist(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(DEV_STACK)
    (tmp_path / ".keelhaul.toml").write_text('[settings]\ncompose-stack = "production"\n')
    code, found = gate(tmp_path)
    assert code == 1
    grouped = [f for f in found if f["code"] == "KH409"]
    assert {f["severity"] for f in grouped} == {"warning"}
    assert not any("compose-stack" in str(f["message"]) for f in grouped)
    code, found = gate(tmp_path, "--ignore", "KH409")
    limits = {(f["code"], f["severity"]) for f in found if f["code"] in ("KH440", "KH441")}
    assert limits == {("KH440", "warning"), ("KH441", "info")}


@pytest.mark.parametrize(
    ("name", "gates"),
    [
        ("compose.production.yaml", True),
        ("docker-compose.prod.yml", True),
        ("docker-compose.dev.yml", False),
        ("reproducible.yml", False),  # a word, not a part of one
    ],
)
def test_a_file_named_for_production_gates_by_default(
    tmp_path: Path, name: str, gates: bool
) -> None:
    (tmp_path / name).write_text(DEV_STACK)
    done = run("check", "--format", "json", "--ignore", "KH435", name, cwd=tmp_path)
    assert done.returncode == (1 if gates else 0), done.stdout
    # an explicit setting wins over the name
    (tmp_path / ".keelhaul.toml").write_text('[settings]\ncompose-stack = "development"\n')
    done = run("check", "--format", "json", name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout


def test_a_severity_override_of_kh409_wins_on_a_development_stack(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(DEV_STACK)
    (tmp_path / ".keelhaul.toml").write_text('[severity]\nKH409 = "warning"\n')
    code, found = gate(tmp_path)
    assert code == 1
    grouped = [f for f in found if f["code"] == "KH409"]
    assert {f["severity"] for f in grouped} == {"warning"}
    assert not any("compose-stack" in str(f["message"]) for f in grouped)


def test_sarif_names_the_group_and_its_member_codes(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    done = run("check", "--no-config", "--format", "sarif", "deploy.yaml", cwd=tmp_path)
    sarif = json.loads(done.stdout)
    results = sarif["runs"][0]["results"]
    grouped = [r for r in results if r["ruleId"] == "KH409"]
    assert len(grouped) == 2
    assert "KH405" in grouped[0]["properties"]["members"]
    related = grouped[0]["relatedLocations"]
    assert any(
        r["message"]["text"].startswith("KH405 root-filesystem-writable")
        and r["physicalLocation"]["region"]["startLine"] == 16
        for r in related
    )
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "KH409" in rules


def test_the_baseline_knows_the_members(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    wrote = run(
        "check", "--no-config", "--write-baseline", "base.json", "deploy.yaml", cwd=tmp_path
    )
    assert wrote.returncode == 0, wrote.stderr
    recorded = {
        e["code"] for e in json.loads((tmp_path / "base.json").read_text())["files"]["deploy.yaml"]
    }
    assert "KH405" in recorded
    assert "KH409" not in recorded
    # the api container loses its user: one new item (KH410) is new, the rest is known
    (tmp_path / "deploy.yaml").write_text(
        DEPLOYMENT.replace("          securityContext:\n            runAsUser: 10001\n", "")
    )
    again = findings(tmp_path, "--baseline", "base.json")
    assert [(f["code"], f["line"]) for f in again] == [("KH410", 14)]


def test_fix_fixes_each_member_of_the_group(tmp_path: Path) -> None:
    text = DEPLOYMENT.replace(
        "          securityContext:\n            runAsUser: 10001\n",
        "          # keelhaul: ignore=KH405 -- the api writes its upload cache\n"
        "          securityContext:\n            runAsUser: 10001\n",
    )
    (tmp_path / "deploy.yaml").write_text(text)
    done = run("fix", "--no-config", "--unsafe-fixes", "deploy.yaml", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    fixed = (tmp_path / "deploy.yaml").read_text()
    api = fixed.split("- name: worker")[0]
    assert "drop:" in api
    assert "ALL" in api
    assert "allowPrivilegeEscalation: false" in api  # KH416
    assert "readOnlyRootFilesystem" not in api  # KH405 was silenced: not fixed


#: Severity by risk: ``api`` runs as a numeric non-root user with every capability dropped and
#: a memory limit, so what it still lacks (read-only root, no-new-privileges, seccomp) is
#: defence in depth; ``legacy`` may run as root with the default capabilities.
BY_RISK = """\
apiVersion: v1
kind: Pod
metadata:
  name: shop
spec:
  automountServiceAccountToken: false
  containers:
    - name: api
      image: registry.example/shop/api:1.4.2
      resources:
        limits: {memory: 256Mi}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        capabilities:
          drop: [ALL]
    - name: legacy
      image: registry.example/shop/legacy:1.4.2
      resources:
        limits: {memory: 256Mi}
"""


def by_container(found: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {
        str(f["message"]).split()[1]: f for f in found if f["code"] == "KH409"
    }  # "container NAME of ..."


def test_the_checklist_is_info_where_the_container_is_non_root_or_drops_capabilities(
    tmp_path: Path,
) -> None:
    (tmp_path / "deploy.yaml").write_text(BY_RISK)
    grouped = by_container(findings(tmp_path))
    assert grouped["api"]["severity"] == "info"
    assert member_codes(grouped["api"]) == ["KH405", "KH416", "KH418", "KH441"]
    assert "defence in depth" in str(grouped["api"]["message"])
    assert grouped["legacy"]["severity"] == "warning"
    assert {"KH400", "KH410"} <= set(member_codes(grouped["legacy"]))
    assert "defence in depth" not in str(grouped["legacy"]["message"])
    # the hardened container alone passes the default gate
    alone = BY_RISK.split("    - name: legacy")[0]
    (tmp_path / "deploy.yaml").write_text(alone)
    done = run("check", "--no-config", "--format", "json", "deploy.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    # root, but with every capability dropped: defence in depth too
    root_no_caps = alone.replace("        runAsNonRoot: true\n        runAsUser: 10001\n", "")
    (tmp_path / "deploy.yaml").write_text(root_no_caps)
    grouped = by_container(findings(tmp_path))
    assert grouped["api"]["severity"] == "info"
    assert "KH410" in member_codes(grouped["api"])


def test_the_risk_is_read_whatever_codes_are_selected(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(BY_RISK)
    found = findings(tmp_path, "--select", "KH405")
    assert [(f["code"], f["severity"]) for f in found] == [
        ("KH405", "info"),  # api: non-root, capabilities dropped
        ("KH405", "warning"),  # legacy: root with the default capabilities
    ]


def test_a_severity_override_makes_defence_in_depth_gate(tmp_path: Path) -> None:
    alone = BY_RISK.split("    - name: legacy")[0]
    (tmp_path / "deploy.yaml").write_text(alone)
    (tmp_path / ".keelhaul.toml").write_text('[severity]\nKH405 = "warning"\n')
    done = run("check", "--format", "json", "deploy.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    grouped = by_container(json.loads(done.stdout)["findings"])
    assert grouped["api"]["severity"] == "warning"
    # --pss restricted reports what the profile forbids, as errors
    (tmp_path / ".keelhaul.toml").unlink()
    done = run("check", "--format", "json", "--pss", "restricted", "deploy.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout


def test_a_privileged_root_container_keeps_the_checklist_a_warning(tmp_path: Path) -> None:
    # privileged has no KH400 (it holds every capability): the risk is still there
    privileged = BY_RISK.split("    - name: legacy")[0].replace(
        "        runAsNonRoot: true\n        runAsUser: 10001\n        capabilities:\n"
        "          drop: [ALL]\n",
        "        privileged: true\n",
    )
    (tmp_path / "deploy.yaml").write_text(privileged)
    found = findings(tmp_path, "--ignore", "KH409")
    assert ("KH415", "error") in {(f["code"], f["severity"]) for f in found}
    assert {f["severity"] for f in found if f["code"] in ("KH405", "KH410")} == {"warning"}
