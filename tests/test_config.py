"""Configuration: where it is found, what it says, how select and ignore combine, its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import keelhaul.config as config_module
from keelhaul.config import Config, ConfigFinder, Overrides, load_file
from keelhaul.errors import ConfigError, FileMissing
from keelhaul.findings import Severity
from keelhaul.selection import Layer, Threshold
from tests.selection_sample import VOCAB

DEFAULT_ON = {"KH101", "KH109", "KH110", "KH139", "KH140", "KH172"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(config: Config, path: Path | None = None) -> set[str]:
    return set(config.enabled_codes(path)) - {"KH001"}


def keelhaul_config(tmp_path: Path, text: str) -> Config:
    return load_file(write(tmp_path / ".keelhaul.toml", text), VOCAB)


# --- selection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("", DEFAULT_ON),
        ('select = ["ALL"]', DEFAULT_ON),  # ALL leaves opt-in rules out
        ('select = ["KH101"]', {"KH101"}),
        ('select = ["root-user"]', {"KH109"}),
        ('select = ["security"]', {"KH109", "KH110", "KH190"}),  # a category takes opt-ins
        ('extend-select = ["KH156"]', DEFAULT_ON | {"KH156"}),
        ('extend-select = ["missing-healthcheck"]', DEFAULT_ON | {"KH156"}),
        ('ignore = ["KH101"]', DEFAULT_ON - {"KH101"}),
        ('ignore = ["security"]', DEFAULT_ON - {"KH109", "KH110"}),
        ('ignore = ["ALL"]', set()),
        # the more specific selector wins; on a tie, ignore does
        ('ignore = ["security"]\nselect = ["KH109"]', {"KH109"}),
        ('select = ["security"]\nignore = ["KH109"]', {"KH110", "KH190"}),
        ('select = ["KH109"]\nignore = ["KH109"]', set()),
        ('ignore = ["ALL"]\nextend-select = ["KH156"]', {"KH156"}),
        ('select = ["kh101", "ROOT-USER"]', {"KH101", "KH109"}),  # words in any case
    ],
)
def test_select_and_ignore(tmp_path: Path, toml: str, expected: set[str]) -> None:
    assert codes(keelhaul_config(tmp_path, toml)) == expected


@pytest.mark.parametrize(
    ("toml", "overrides", "expected"),
    [
        ('ignore = ["KH101"]', Overrides(select=("KH101",)), {"KH101"}),  # a new select starts over
        ('select = ["KH109"]', Overrides(ignore=("KH109",)), set()),
        ('select = ["KH109"]', Overrides(extend_select=("KH101",)), {"KH101", "KH109"}),
        ('ignore = ["KH101"]', Overrides(extend_select=("KH156",)), DEFAULT_ON - {"KH101"} | {"KH156"}),
        ("", Overrides(ignore=("KH101,KH109",)), DEFAULT_ON - {"KH101", "KH109"}),
        ("", Overrides(select=("security",), ignore=("KH190",)), {"KH109", "KH110"}),
    ],
)  # fmt: skip
def test_command_line_goes_over_the_file(
    tmp_path: Path, toml: str, overrides: Overrides, expected: set[str]
) -> None:
    config = keelhaul_config(tmp_path, toml).with_overrides(overrides)
    assert codes(config) == expected


def test_shellcheck_codes_select_like_rules(tmp_path: Path) -> None:
    config = keelhaul_config(tmp_path, 'ignore = ["SC2086"]')
    assert not config.enabled("SC2086")
    assert config.enabled("SC2035")
    assert not keelhaul_config(tmp_path, 'ignore = ["shellcheck"]').enabled("SC2035")
    assert not keelhaul_config(tmp_path, 'ignore = ["correctness"]').enabled("SC2035")
    both = keelhaul_config(tmp_path, 'ignore = ["shellcheck"]\nextend-select = ["SC2046"]')
    assert both.enabled("SC2046")
    assert not both.enabled("SC2086")


def test_shellcheck_codes_wrong_in_dockerfiles_are_opt_in(tmp_path: Path) -> None:
    default = keelhaul_config(tmp_path, "")
    assert not default.enabled("SC2046")
    assert not default.enabled("SC2185")
    assert default.enabled("SC2086")
    assert default.runs_shellcheck
    assert keelhaul_config(tmp_path, 'extend-select = ["SC2046"]').enabled("SC2046")
    assert keelhaul_config(tmp_path, 'select = ["shellcheck"]').enabled("SC2185")


def test_unused_suppression_check_is_opt_in(tmp_path: Path) -> None:
    assert not keelhaul_config(tmp_path, "").enabled("KH001")
    assert keelhaul_config(tmp_path, 'extend-select = ["unused-suppression"]').enabled("KH001")


def test_layers_directly() -> None:
    rule = VOCAB.rule("KH101")
    assert Layer().decision(rule, first=True) is True
    assert Layer().decision(rule, first=False) is None  # a later layer without a say keeps it


# --- the other keys -------------------------------------------------------------------------


def test_severity_overrides_most_specific_wins(tmp_path: Path) -> None:
    config = keelhaul_config(
        tmp_path,
        '[severity]\nsecurity = "info"\nKH109 = "error"\nALL = "style"\n',
    )
    assert config.severity_of("KH109") is Severity.ERROR
    assert config.severity_of("KH110") is Severity.INFO
    assert config.severity_of("KH101") is Severity.STYLE
    assert keelhaul_config(tmp_path, "").severity_of("KH101") is None


def test_fail_on(tmp_path: Path) -> None:
    assert keelhaul_config(tmp_path, "").fail_on == Threshold(Severity.WARNING)
    assert keelhaul_config(tmp_path, 'fail-on = "error"').fail_on == Threshold(Severity.ERROR)
    never = keelhaul_config(tmp_path, 'fail-on = "none"').fail_on
    assert not never.reached_by(Severity.ERROR)
    info = keelhaul_config(tmp_path, 'fail-on = "info"').with_overrides(Overrides(fail_on="error"))
    assert info.fail_on == Threshold(Severity.ERROR)


def test_per_path_ignores_are_relative_to_the_file(tmp_path: Path) -> None:
    config = keelhaul_config(
        tmp_path,
        '[per-path-ignores]\n"legacy/**" = ["KH109"]\n"Dockerfile.dev" = ["ALL"]\n',
    )
    assert "KH109" not in codes(config, tmp_path / "legacy" / "a" / "Dockerfile")
    assert "KH109" in codes(config, tmp_path / "svc" / "Dockerfile")
    assert codes(config, tmp_path / "x" / "Dockerfile.dev") == set()  # no slash: any depth
    assert not config.enabled("KH109", tmp_path / "legacy" / "Dockerfile")
    assert config.enabled("KH109", tmp_path.parent / "legacy" / "Dockerfile")  # outside the root


def test_exclude(tmp_path: Path) -> None:
    config = keelhaul_config(tmp_path, 'exclude = ["tests/fixtures/"]')
    assert config.excludes(tmp_path / "tests" / "fixtures" / "bad" / "Dockerfile")
    assert not config.excludes(tmp_path / "tests" / "Dockerfile")


def test_rule_settings(tmp_path: Path) -> None:
    config = keelhaul_config(
        tmp_path,
        'trusted-registries = ["registry.example.com"]\nstrict-labels = true\n'
        '[label-schema]\nmaintainer = "email"\n[settings]\nuseradd-uid-limit = 3\n',
    )
    assert config.settings == {
        "trusted-registries": ["registry.example.com"],
        "strict-labels": True,
        "label-schema": {"maintainer": "email"},
        "useradd-uid-limit": 3,
    }
    assert config.settings.trusted_registries == ("registry.example.com",)
    assert config.settings.useradd_uid_limit == 3
    assert config.settings.image_max_size is None  # the schema's default


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("select = [", "invalid TOML"),
        ('selct = ["KH101"]', "selct: unknown key (did you mean 'select'?)"),
        ('fail_on = "error"', "fail_on: unknown key (did you mean 'fail-on'?)"),
        ('select = "KH101"', "select: expected a list of strings, got str"),
        ('ignore = ["KH999"]', "ignore: unknown rule or category 'KH999'"),
        ('ignore = ["DL3008"]', "ignore: 'DL3008' is a hadolint code; keelhaul's is KH172"),
        ('fail-on = "critical"', "fail-on: expected one of error, warning, info, style, none"),
        ('[severity]\nKH101 = "fatal"', "severity.KH101: expected one of error, warning"),
        ('[severity]\nKH999 = "error"', "severity.KH999: unknown rule"),
        ("shellcheck = 1", "shellcheck: expected true or false, got int"),
        ('[per-path-ignores]\n"a/**" = "KH101"', "per-path-ignores.'a/**': expected a list"),
        ('trusted-registries = "x"', "trusted-registries: expected a list of strings"),
        ("[label-schema]\na = 1", "label-schema: expected a table of strings"),
        ("strict-labels = true\n[settings]\nstrict-labels = false", "set both here and in"),
        ("settings = 3", "settings: expected a table"),
        (
            "[settings]\nimage-max-sise = 5",
            "settings.image-max-sise: unknown key (did you mean 'image-max-size'?)",
        ),
        ("[settings]\nmy-option = 3", "settings.my-option: unknown key"),
        ("image-max-size = 5", "image-max-size: not a top-level key; write it in [settings]"),
        (
            "image-max-sise = 5",
            "image-max-sise: unknown key (did you mean 'image-max-size' in [settings]?)",
        ),
        ('[settings]\nimage-max-size = "lots"', "settings.image-max-size: not a size: 'lots'"),
        ("[settings]\nimage-skip-base = 1", "settings.image-skip-base: expected true or false"),
        (
            "[settings]\nuseradd-uid-limit = 0",
            "settings.useradd-uid-limit: expected a whole number",
        ),
        (
            '[settings]\nstatic-base = "alpine"',
            "settings.static-base: expected one of distroless, scratch",
        ),
        ("[settings]\nimage-min-efficiency = 2", "settings.image-min-efficiency: a ratio between"),
        (
            'image-insecure-registries = ["http://r/"]',
            "image-insecure-registries: 'http://r/' is not",
        ),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        keelhaul_config(tmp_path, toml)
    text = str(info.value)
    assert ".keelhaul.toml" in text
    assert message in text
    assert "\n" not in text


def test_pyproject_errors_name_the_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.keelhaul]\nignore = ["nope"]\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.keelhaul.ignore: unknown"):
        ConfigFinder(VOCAB).for_path(tmp_path / "Dockerfile")
    write(tmp_path / "pyproject.toml", "[tool]\nkeelhaul = 3\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.keelhaul: expected a table"):
        ConfigFinder(VOCAB).for_path(tmp_path / "Dockerfile")


def test_command_line_words_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--select: unknown rule or category 'KH999'"):
        ConfigFinder(VOCAB, overrides=Overrides(select=("KH999",)))
    with pytest.raises(ConfigError, match=r"^--fail-on: expected one of"):
        ConfigFinder(VOCAB, overrides=Overrides(fail_on="bad")).for_path(tmp_path / "Dockerfile")


# --- finding the file -----------------------------------------------------------------------


def test_nearest_configuration_upward(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.keelhaul]\nignore = ["KH101"]\n')
    write(tmp_path / "svc" / ".keelhaul.toml", 'ignore = ["KH109"]\n')
    write(tmp_path / "svc" / "deep" / "pyproject.toml", "[project]\nname = 'x'\n")  # no table
    finder = ConfigFinder(VOCAB)
    top = finder.for_path(tmp_path / "other" / "Dockerfile")
    svc = finder.for_path(tmp_path / "svc" / "deep" / "Dockerfile")
    assert top.source == tmp_path / "pyproject.toml"
    assert svc.source == tmp_path / "svc" / ".keelhaul.toml"
    assert "KH101" in codes(svc)  # nothing is merged: the nearest file alone applies
    assert finder.for_path(tmp_path / "svc" / "Dockerfile.dev") is svc


def test_keelhaul_toml_beats_pyproject_in_one_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.keelhaul]\nignore = ["KH101"]\n')
    write(tmp_path / ".keelhaul.toml", 'ignore = ["KH109"]\n')
    assert ConfigFinder(VOCAB).for_path(tmp_path / "Dockerfile").kind == "keelhaul"


def test_hadolint_only_where_no_keelhaul_configuration(tmp_path: Path) -> None:
    write(tmp_path / "a" / ".hadolint.yaml", "ignored: [DL3002]\n")
    write(tmp_path / "b" / ".hadolint.yml", "ignored: [DL3002]\n")
    write(tmp_path / "b" / "c" / ".keelhaul.toml", "")
    write(tmp_path / "b" / "c" / "d" / ".hadolint.yaml", "ignored: [DL3006]\n")
    finder = ConfigFinder(VOCAB)
    assert finder.for_path(tmp_path / "a" / "Dockerfile").kind == "hadolint"
    assert finder.for_path(tmp_path / "b" / "x" / "Dockerfile").kind == "hadolint"
    # a keelhaul configuration above wins over a nearer .hadolint.yaml
    assert finder.for_path(tmp_path / "b" / "c" / "d" / "Dockerfile").kind == "keelhaul"
    assert finder.for_path(tmp_path / "Dockerfile").kind == "default"


def test_each_file_and_folder_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pyproject.toml", '[tool.keelhaul]\nignore = ["KH101"]\n')
    reads: list[Path] = []
    real = config_module._parse_toml

    def counting(path: Path) -> dict[str, object]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(config_module, "_parse_toml", counting)
    finder = ConfigFinder(VOCAB)
    configs = {id(finder.for_path(tmp_path / f"s{i % 7}" / "x" / "Dockerfile")) for i in range(500)}
    assert len(configs) == 1
    assert reads == [tmp_path / "pyproject.toml"]


def test_explicit_config_and_isolated(tmp_path: Path) -> None:
    write(tmp_path / ".keelhaul.toml", 'ignore = ["KH101"]\n')
    other = write(tmp_path / "elsewhere" / "hadolint.yml", "ignored: [DL3002]\n")
    named = ConfigFinder(VOCAB, config_file=other).for_path(tmp_path / "Dockerfile")
    assert named.kind == "hadolint"
    assert codes(named) == DEFAULT_ON - {"KH109"}
    isolated = ConfigFinder(VOCAB, isolated=True).for_path(tmp_path / "Dockerfile")
    assert isolated.source is None
    assert codes(isolated) == DEFAULT_ON
    with pytest.raises(FileMissing):
        ConfigFinder(VOCAB, config_file=tmp_path / "missing.toml")
    write(tmp_path / "pyproject.toml", "[project]\n")
    with pytest.raises(ConfigError, match=r"has no \[tool.keelhaul\] table"):
        ConfigFinder(VOCAB, config_file=tmp_path / "pyproject.toml")


# --- .hadolint.yaml -------------------------------------------------------------------------


def hadolint(tmp_path: Path, text: str) -> Config:
    return load_file(write(tmp_path / ".hadolint.yaml", text), VOCAB)


def test_hadolint_ignored_through_aliases(tmp_path: Path) -> None:
    config = hadolint(tmp_path, "ignored:\n  - DL3008\n  - DL3007\n  - SC2086\n  - DL9999\n")
    assert codes(config) == DEFAULT_ON - {"KH172", "KH101"}  # one alias ignores the rule
    assert not config.enabled("SC2086")
    assert len(config.notes) == 1
    assert config.notes[0].endswith(
        ".hadolint.yaml: ignored: DL9999: no keelhaul rule covers it; skipped"
    )


def test_hadolint_override_threshold_and_settings(tmp_path: Path) -> None:
    config = hadolint(
        tmp_path,
        "override:\n  error: [DL3006]\n  info: [DL3007, DL3002]\n  style: [SC2086]\n"
        "failure-threshold: error\ntrustedRegistries: docker.io\n"
        "label-schema:\n  author: text\nstrict-labels: true\n"
        "format: json\nno-color: true\n",
    )
    assert config.severity_of("KH101") is Severity.ERROR  # two DL codes of one rule: stricter
    assert config.severity_of("KH109") is Severity.INFO
    assert config.severity_of("SC2086") is Severity.STYLE
    assert config.fail_on == Threshold(Severity.ERROR)
    assert config.settings == {
        "trusted-registries": ["docker.io"],
        "label-schema": {"author": "text"},
        "strict-labels": True,
    }
    # the settings switch on the opt-in rules that alias the checks they switch on in hadolint
    assert {"KH152", "KH190"} <= codes(config)
    assert config.notes == ()  # format and no-color are hadolint's own and skipped quietly


def test_hadolint_switches(tmp_path: Path) -> None:
    assert hadolint(tmp_path, "no-fail: true\n").fail_on == Threshold(None)
    assert hadolint(tmp_path, "failure-threshold: none\n").fail_on == Threshold(None)
    assert not hadolint(tmp_path, "disable-ignore-pragma: true\n").inline_ignores
    assert hadolint(tmp_path, "").kind == "hadolint"  # an empty file is an empty mapping
    ignored = hadolint(tmp_path, "label-schema: {a: text}\nignored: [DL3049]\n")
    assert "KH152" not in codes(ignored)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignored: [DL3008", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("ignored: DL3008\n", "ignored: expected a list of strings"),
        ("override: [DL3008]\n", "override: expected a mapping"),
        ("override:\n  fatal: [DL3008]\n", "override: expected one of error, warning"),
        ("failure-threshold: bad\n", "failure-threshold: expected one of"),
        ("strict-labels: maybe\n", "strict-labels: expected true or false"),
        ("trustedRegistries: 3\n", "trustedRegistries: expected a list of strings"),
    ],
)
def test_hadolint_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        hadolint(tmp_path, text)
    assert ".hadolint.yaml" in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / ".keelhaul.toml").write_bytes(b"\xff\xfe select")
    with pytest.raises(ConfigError, match="not UTF-8"):
        ConfigFinder(VOCAB).for_path(tmp_path / "Dockerfile")
    (tmp_path / ".keelhaul.toml").write_bytes(b"#" * (config_module.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="bigger than"):
        ConfigFinder(VOCAB).for_path(tmp_path / "Dockerfile")


@pytest.mark.parametrize(
    ("toml", "runs"),
    [
        ("", True),
        ("shellcheck = false", False),
        ('ignore = ["shellcheck"]', False),
        ('ignore = ["correctness"]', False),
        ('ignore = ["SC2086"]', True),
        ('ignore = ["shellcheck"]\nextend-select = ["SC2046"]', True),
        ('select = ["KH101"]', False),
        ('select = ["KH101", "SC2046"]', True),
    ],
)
def test_runs_shellcheck(tmp_path: Path, toml: str, runs: bool) -> None:
    assert keelhaul_config(tmp_path, toml).runs_shellcheck is runs
