"""Issue 16, the default gate's noise and wrong findings: each rule change here comes from a
judged corpus finding (tests/data/judged/), shown on a minimal Dockerfile written for the
test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from keelhaul.rules.dockerfile.shared import end_of_life
from tests.rules.tables import lines, messages

APT = "apt-get update && apt-get install -y --no-install-recommends"

# ------------------------------------------------------------------ KH124/KH125: run-time tools


def test_kernel_module_builder_keeps_its_compiler() -> None:
    # a WireGuard-style installer: builds the module for the host's kernel when it runs
    src = (
        f"FROM debian:12-slim\nRUN {APT} build-essential kmod libelf-dev\n"
        "RUN git clone --branch v1 https://example.com/mod.git /mod && make -C /mod\n"
        'COPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n'
    )
    assert lines("KH124", src) == []
    assert lines("KH125", src) == []
    # without kmod it is a build whose compiler ships: reported
    plain = src.replace(" kmod", "")
    assert lines("KH124", plain) == [2]
    assert lines("KH125", plain) == [3]


def test_compile_server_keeps_its_compiler() -> None:
    src = f'FROM debian:12-slim\nRUN {APT} distcc gcc make\nENTRYPOINT ["distccd"]\n'
    assert lines("KH124", src) == []
    assert lines("KH124", src.replace("distcc gcc", "gcc")) == [2]


def test_r_environment_keeps_r_base_dev() -> None:
    # R installs CRAN packages from source on Linux: r-base-dev is the kit for that
    src = f'FROM debian:12-slim\nRUN {APT} r-base r-base-dev libxml2-dev\nENTRYPOINT ["R"]\n'
    assert lines("KH124", src) == []


def test_program_run_from_its_fetched_sources_compiles_at_run_time() -> None:
    # a benchmark run from its source tree: its Run script calls make when it starts
    src = (
        "FROM alpine:3.20\nRUN apk add --no-cache gcc make musl-dev perl\n"
        "RUN mkdir -p /usr/src/bench && curl -sSL https://example.com/b.tar.gz "
        "| tar -xzC /usr/src/bench\nWORKDIR /usr/src/bench\n"
        'ENTRYPOINT ["/usr/src/bench/Run"]\n'
    )
    assert lines("KH124", src) == []
    # an installed program started elsewhere keeps leftovers: reported
    other = src.replace('ENTRYPOINT ["/usr/src/bench/Run"]', 'ENTRYPOINT ["qemu"]')
    assert lines("KH124", other.replace("WORKDIR /usr/src/bench\n", "")) == [2]
    # headers alone are not a compiler: reported even there
    headers = src.replace("gcc make musl-dev", "libpcap-dev")
    assert lines("KH124", headers) == [2]
    # a step of the build that installs with them (a plugin, pip) uses them: reported
    built = src.replace("perl\n", "perl\nRUN vagrant plugin install vagrant-libvirt\n")
    assert lines("KH124", built) == [2]


# ------------------------------------------------------------------ KH101 and KH119: distroless


def test_distroless_with_its_debian_release_is_not_a_moving_tag() -> None:
    # distroless has no version tags (latest, nonroot, debug are variants): the name's
    # -debianNN is the version, as pinned as a tag can be
    assert lines("KH101", "FROM gcr.io/distroless/static-debian12\n") == []
    assert lines("KH101", "FROM gcr.io/distroless/cc-debian13:latest\n") == []
    # without the release it follows distroless's default Debian: reported
    assert lines("KH101", "FROM gcr.io/distroless/static\n") == [1]
    assert "-debian13" in messages("KH101", "FROM gcr.io/distroless/static\n")


@pytest.fixture
def judged_day() -> Iterator[None]:
    end_of_life.TODAY = dt.date(2026, 12, 7)
    yield
    end_of_life.TODAY = None


@pytest.mark.usefixtures("judged_day")
def test_distroless_debian_release_past_its_end_of_life() -> None:
    src = 'FROM gcr.io/distroless/base-debian11\nCOPY app /app\nENTRYPOINT ["/app"]\n'
    assert lines("KH119", src) == [1]
    text = messages("KH119", src)
    assert "Debian 11 (bullseye)" in text
    assert "gcr.io/distroless/base-debian13" in text
    assert lines("KH119", src.replace("debian11", "debian13")) == []
    assert lines("KH119", src.replace("-debian11", "")) == []  # no release named


@pytest.mark.usefixtures("judged_day")
def test_end_of_life_base_of_a_test_runner_is_not_reported() -> None:
    from tests.rules.tables import run

    src = 'FROM node:8.9-slim\nCOPY . /app\nCMD ["npm", "test"]\n'
    assert lines("KH119", src) == [1]
    assert [f.code for f in run("KH119", src, path="result/tests/Dockerfile")] == []
    assert [f.code for f in run("KH119", src, path="e2e/Dockerfile")] == []
