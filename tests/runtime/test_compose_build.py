"""A Compose service built from a Dockerfile runs what the Dockerfile's target stage says
(issue 18): its USER and the ports it EXPOSEs count where the Compose file is silent."""

from __future__ import annotations

from pathlib import Path

from keelhaul.checking import itemised
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.compose import read_compose


def codes(tmp_path: Path, compose: str, dockerfile: str, name: str = "Dockerfile") -> list[str]:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / name).write_text(dockerfile)
    (tmp_path / "compose.yaml").write_text(compose)
    runs = read_compose((tmp_path / "compose.yaml").read_text(), str(tmp_path / "compose.yaml"))
    return [f.code for f in itemised(check_runs(runs))]


def test_the_dockerfile_user_counts(tmp_path: Path) -> None:
    compose = "services:\n  web:\n    build: ./app\n"
    assert "KH410" not in codes(tmp_path, compose, "FROM debian:12\nUSER 10001:10001\n")
    assert "KH410" in codes(tmp_path, compose, 'FROM debian:12\nCMD ["x"]\n')
    assert "KH411" in codes(tmp_path, compose, "FROM debian:12\nUSER root\n")


def test_the_target_stage_and_dockerfile_name(tmp_path: Path) -> None:
    dockerfile = "FROM debian:12 AS dev\nUSER root\nFROM debian:12 AS prod\nUSER 10001\n"
    compose = (
        "services:\n  web:\n    build:\n      context: ./app\n      dockerfile: web.Dockerfile\n"
        "      target: {target}\n"
    )
    assert "KH411" in codes(tmp_path, compose.format(target="dev"), dockerfile, "web.Dockerfile")
    prod = codes(tmp_path, compose.format(target="prod"), dockerfile, "web.Dockerfile")
    assert "KH411" not in prod
    assert "KH410" not in prod


def test_the_compose_file_wins_and_exposed_ports_count(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM nginx:1.27\nUSER 101\nEXPOSE 80\n")
    text = "services:\n  web:\n    build: ./app\n    user: root\n"
    (run,) = read_compose(text, str(tmp_path / "compose.yaml"))
    assert run.user is not None
    assert run.user.value == "root"
    assert [p.container_port for p in run.ports] == [80]
    assert run.ports[0].where.path == "services.web.build (Dockerfile:3)"


def test_the_image_a_service_builds_is_not_a_mutable_pull(tmp_path: Path) -> None:
    # `image` beside `build` names what the build makes: no tag is not a moving pull there
    built = "services:\n  web:\n    image: shop-web\n    build: ./app\n"
    found = codes(tmp_path, built, "FROM debian:12\nUSER 10001\n")
    assert not {"KH435", "KH436", "KH437"} & set(found)
    pulled = "services:\n  web:\n    image: shop-web\n"
    assert "KH435" in codes(tmp_path, pulled, "FROM debian:12\n")
