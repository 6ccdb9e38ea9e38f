"""The settings schema (keelhaul.settings): every key read, typed and documented from one place;
unknown keys and bad values are located errors, from the library and from the real CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from keelhaul.config import load_file
from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import ConfigError
from keelhaul.image.cost import CostSettings
from keelhaul.image.sources.settings import LIMIT_KEYS
from keelhaul.image.sources.streams import SourceLimits
from keelhaul.rules.engine import dockerfile_rules
from keelhaul.rules.registry import DockerfileContext
from keelhaul.settings import (
    BY_KEY,
    SCHEMA,
    TOP_LEVEL_SETTINGS,
    Settings,
    settings_markdown,
)
from tests.selection_sample import VOCAB

ROOT = Path(__file__).resolve().parents[1]

#: key -> (a value as written in TOML, the typed value readers get). Every schema key has one,
#: so a new setting comes with its round trip.
SAMPLES: dict[str, tuple[str, Any]] = {
    "trusted-registries": ('["registry.example.com", "*.gcr.io"]',
                           ("registry.example.com", "*.gcr.io")),
    "allowed-base-images": ('["python:3.12-*"]', ("python:3.12-*",)),
    "label-schema": ('{ maintainer = "email" }', {"maintainer": "email"}),
    "strict-labels": ("true", True),
    "useradd-uid-limit": ("5000", 5000),
    "static-base": ('"scratch"', "scratch"),
    "static-server-base": ('"nginx:1.27-alpine"', "nginx:1.27-alpine"),
    "fix-syntax-directive": ("true", True),
    "compose-stack": ('"production"', "production"),
    "max-expanded-size": ('"1MiB"', 1 << 20),
    "shellcheck-timeout": ("30", 30.0),
    "shellcheck-max-memory": ('"512MiB"', 512 << 20),
    "image-max-size": ('"1.5GiB"', 3 << 29),
    "image-max-waste": ('"20MB"', 20_000_000),
    "image-min-efficiency": ('"90%"', 0.9),
    "image-max-layers": ("30", 30),
    "image-waste-min-bytes": ("4096", 4096),
    "image-skip-base": ("true", True),
    "image-storage-price": ("0.2", 0.2),
    "image-transfer-price": ("0", 0.0),
    "image-bandwidth-mbps": ("1000", 1000.0),
    "image-pulls-per-day": ("2.5", 2.5),
    "image-nodes": ("3", 3),
    "image-regions": ("2", 2),
    "vulns-db-max-age": ("2.5", 2.5),
    "verify-base-map": ('{ "python:3.11" = "mirror/python:3.11" }', {"python:3.11": "mirror/python:3.11"}),
    "image-insecure-registries": ('["registry.local:5000"]', ("registry.local:5000",)),
    "image-max-layer-bytes": ('"1GB"', 10**9),
    "image-max-blob-bytes": ('"2GiB"', 2 << 30),
    "image-max-ratio": ("50", 50.0),
    "image-max-layer-count": ("7", 7),
    "image-max-config-bytes": ('"1MiB"', 1 << 20),
    "image-max-manifest-bytes": ("100000", 100_000),
    "image-max-archive-members": ("1000", 1000),
    "image-registry-timeout": ("2.5", 2.5),
}  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_has_a_sample() -> None:
    assert list(SAMPLES) == [s.key for s in SCHEMA]


def test_fields_and_schema_agree() -> None:
    declared = [f.name for f in dataclasses.fields(Settings) if f.name != "written"]
    assert declared == [s.attribute for s in SCHEMA]
    defaults = Settings()
    for spec in SCHEMA:
        assert getattr(defaults, spec.attribute) == spec.default
        assert spec.doc
        assert spec.shape
        assert spec.commands
        assert "\n" not in spec.doc
    assert len(defaults) == 0  # nothing written


@pytest.mark.parametrize("key", list(SAMPLES))
def test_every_key_round_trips(tmp_path: Path, key: str) -> None:
    literal, typed = SAMPLES[key]
    written = tomllib.loads(f"v = {literal}")["v"]
    config = load_file(
        write(tmp_path / ".keelhaul.toml", f"[settings]\n{key} = {literal}\n"), VOCAB
    )
    assert getattr(config.settings, BY_KEY[key].attribute) == typed
    assert dict(config.settings) == {key: written}  # as written: what --show-settings prints
    assert json.loads(json.dumps(config.describe()["settings"])) == {key: written}
    again = Settings.of(dict(config.settings))  # the keys as written read back the same
    assert getattr(again, BY_KEY[key].attribute) == typed
    if key in TOP_LEVEL_SETTINGS:
        top = load_file(write(tmp_path / ".keelhaul.toml", f"{key} = {literal}\n"), VOCAB)
        assert getattr(top.settings, BY_KEY[key].attribute) == typed


@pytest.mark.parametrize("key", list(SAMPLES))
@pytest.mark.parametrize("where", ["keelhaul", "pyproject"])
def test_a_bad_value_is_a_located_error(tmp_path: Path, key: str, where: str) -> None:
    if where == "keelhaul":
        path = write(tmp_path / ".keelhaul.toml", f"[settings]\n{key} = {{ a = 1 }}\n")
        named = f".keelhaul.toml: settings.{key}: "
    else:
        path = write(
            tmp_path / "pyproject.toml", f"[tool.keelhaul.settings]\n{key} = {{ a = 1 }}\n"
        )
        named = f"pyproject.toml: tool.keelhaul.settings.{key}: "
    with pytest.raises(ConfigError) as info:
        load_file(path, VOCAB)
    text = str(info.value)
    assert named in text
    assert "\n" not in text


def test_hadolint_values_go_through_the_schema(tmp_path: Path) -> None:
    config = load_file(write(tmp_path / ".hadolint.yaml", "trustedRegistries: docker.io\n"), VOCAB)
    assert config.settings.trusted_registries == ("docker.io",)
    assert dict(config.settings) == {"trusted-registries": ["docker.io"]}


def test_the_defaults_are_the_readers_defaults() -> None:
    limits = SourceLimits()
    for key, name in LIMIT_KEYS.items():
        assert BY_KEY[key].default == getattr(limits, name), key
    cost = CostSettings()
    for f in dataclasses.fields(cost):
        assert BY_KEY[f"image-{f.name.replace('_', '-')}"].default == getattr(cost, f.name)


def test_rules_read_typed_settings() -> None:
    ctx = DockerfileContext.of(parse("FROM a\n"), settings={"useradd-uid-limit": 10})
    assert ctx.settings.useradd_uid_limit == 10
    assert DockerfileContext.of(parse("FROM a\n")).settings.useradd_uid_limit == 100_000
    with pytest.raises(ConfigError, match=r"^settings\.usradd-uid-limit: unknown key \(did you"):
        DockerfileContext.of(parse("FROM a\n"), settings={"usradd-uid-limit": 10})


def test_the_rules_example_settings_are_in_the_schema() -> None:
    for rule in dockerfile_rules():
        Settings.of(rule.example_settings)


def test_docs_settings_md_is_current() -> None:
    current = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert current == settings_markdown(), "run `python -m keelhaul.settings`"


# --- the real command line ----------------------------------------------------------------

TYPO = "[settings]\nimage-max-sise = 5\n"


def keelhaul(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        (".keelhaul.toml", TYPO, "settings.image-max-sise"),
        ("pyproject.toml", "[tool.keelhaul.settings]\nimage-max-sise = 5\n",
         "tool.keelhaul.settings.image-max-sise"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "command",
    [("check", "."), ("fix", "."), ("image", "docker-archive:none.tar"),
     ("sbom", "docker-archive:none.tar")],
)  # fmt: skip
def test_a_settings_typo_exits_2_with_a_suggestion(
    tmp_path: Path, name: str, text: str, key: str, command: tuple[str, str]
) -> None:
    write(tmp_path / name, text)
    write(tmp_path / "Dockerfile", "FROM alpine:3.20\nUSER 10001\n")
    done = keelhaul(*command, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{name}: {key}: unknown key (did you mean 'image-max-size'?)" in err


def test_a_bad_settings_value_exits_2_naming_it(tmp_path: Path) -> None:
    write(tmp_path / ".keelhaul.toml", '[settings]\nimage-max-size = "lots"\n')
    write(tmp_path / "Dockerfile", "FROM alpine:3.20\nUSER 10001\n")
    done = keelhaul("check", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert ".keelhaul.toml: settings.image-max-size: not a size: 'lots'" in done.stderr
