"""Version orders: dpkg against python-debian (an independent implementation), the others
against published examples of each package manager's order."""

from __future__ import annotations

import pytest
from debian.debian_support import Version as DebianVersion
from hypothesis import given, settings
from hypothesis import strategies as st

from keelhaul.vulns.versions import (
    BadVersion,
    apk,
    dpkg,
    maven,
    order_for,
    pep440,
    rpm,
    rpmvercmp,
    rubygems,
    semver,
)

_UPSTREAM = st.from_regex(r"[0-9][0-9a-z.+~]{0,8}", fullmatch=True)
_REVISION = st.from_regex(r"[0-9a-z.+~]{1,6}", fullmatch=True)
_DPKG = st.builds(
    lambda e, u, r: (f"{e}:" if e else "") + u + (f"-{r}" if r else ""),
    st.sampled_from([None, 0, 1, 2]),
    _UPSTREAM,
    st.one_of(st.none(), _REVISION),
)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


@settings(max_examples=3000, deadline=None)
@given(_DPKG, _DPKG)
def test_dpkg_agrees_with_python_debian(a: str, b: str) -> None:
    x, y = DebianVersion(a), DebianVersion(b)
    assert dpkg(a, b) == _sign((x > y) - (x < y)), (a, b)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0", 0), ("1.0~rc1", "1.0", -1), ("1:0.1", "2.0", 1),
        ("2.36-9+deb12u4", "2.36-9+deb12u10", -1), ("1.2.3-1~deb12u1", "1.2.3-1", -1),
        ("3.0.11-1~deb12u2", "3.0.15-1~deb12u1", -1), ("1.0a", "1.0+", -1),
    ],
)  # fmt: skip
def test_dpkg_examples(a: str, b: str, expected: int) -> None:
    assert dpkg(a, b) == expected
    assert dpkg(b, a) == -expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2", "1.2", 0), ("1.2_rc1", "1.2", -1), ("1.2", "1.2_p1", -1),
        ("1.0_alpha", "1.0_beta", -1), ("1.0_beta", "1.0_pre", -1), ("1.0_pre", "1.0_rc", -1),
        ("1.0_cvs", "1.0", 1), ("1.0_git", "1.0_p1", -1), ("1.2", "1.2a", -1),
        ("1.2a", "1.2b", -1), ("1.2-r0", "1.2-r1", -1), ("1.2.10", "1.2.9", 1),
        ("3.0.11-r0", "3.0.12-r0", -1), ("1.2", "1.2.1", -1), ("1.01", "1.1", -1),
        ("10.4.25-r0", "10.4.24-r1", 1), ("2.34", "0.1.0_alpha", 1), ("1.0_rc1", "1.0_rc2", -1),
    ],
)  # fmt: skip
def test_apk(a: str, b: str, expected: int) -> None:
    assert apk(a, b) == expected
    assert apk(b, a) == -expected


# rpm's own test table for rpmvercmp (tests/rpmvercmp.at)
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0.1", "2.0.1", 0), ("2.0", "2.0.1", -1),
        ("2.0.1a", "2.0.1", 1), ("5.5p1", "5.5p2", -1), ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1), ("xyz10", "xyz10.1", -1), ("xyz.4", "8", -1),
        ("xyz.4", "2", -1), ("5.5p2", "5.6p1", -1), ("6.0.rc1", "6.0", 1), ("10b2", "10a1", 1),
        ("1.0a", "1.0aa", -1), ("10.0001", "10.1", 0), ("10.0001", "10.0039", -1),
        ("4.999.9", "5.0", -1), ("20101121", "20101122", -1), ("2.0", "2_0", 0),
        ("a+", "a_", 0), ("+", "_", 0), ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc1~git123", "1.0~rc1", -1), ("1.0^", "1.0", 1), ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.0^git2", -1), ("1.0^git1", "1.01", -1), ("1.0^20160101", "1.0.1", -1),
        ("1.0^20160102", "1.0^20160101^git1", 1), ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0^git1", "1.0^git1~pre", 1),
    ],
)  # fmt: skip
def test_rpmvercmp(a: str, b: str, expected: int) -> None:
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


def test_rpm_epoch_and_release() -> None:
    assert rpm("1:1.0-1", "2.0-1") == 1
    assert rpm("1.0-1.el9", "1.0-2.el9") == -1
    assert rpm("1.0", "1.0-5") == 0  # no release on one side: the versions decide


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0.0-alpha", "1.0.0-alpha.1", -1), ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
        ("1.0.0-alpha.beta", "1.0.0-beta", -1), ("1.0.0-beta", "1.0.0-beta.2", -1),
        ("1.0.0-beta.2", "1.0.0-beta.11", -1), ("1.0.0-beta.11", "1.0.0-rc.1", -1),
        ("1.0.0-rc.1", "1.0.0", -1), ("1.0.0+build", "1.0.0", 0), ("v1.2.3", "1.2.3", 0),
        ("0.0.0-20200101000000-abcdef123456", "0.0.1", -1), ("0.0.0-0", "0.0.0", -1),
    ],
)  # fmt: skip
def test_semver(a: str, b: str, expected: int) -> None:
    assert semver(a, b) == expected
    assert semver(b, a) == -expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0.0", 0), ("1.0-alpha-1", "1.0", -1), ("1.0-alpha", "1.0-beta", -1),
        ("1.0-rc1", "1.0", -1), ("1.0-SNAPSHOT", "1.0", -1), ("1.0-rc1", "1.0-SNAPSHOT", -1),
        ("1.0", "1.0-sp1", -1), ("1.0", "1.0.1", -1), ("2.0", "1.9.9", 1),
        ("1.0.RELEASE", "1.0", 0), ("1.0-foo", "1.0", 1),
    ],
)  # fmt: skip
def test_maven(a: str, b: str, expected: int) -> None:
    assert maven(a, b) == expected
    assert maven(b, a) == -expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1", 0), ("1.0.a", "1.0", -1), ("1.0.rc1", "1.0.beta", 1), ("1.10", "1.9", 1),
        ("2.0.0.pre1", "2.0.0", -1), ("1.2.3-1", "1.2.3", -1),
    ],
)  # fmt: skip
def test_rubygems(a: str, b: str, expected: int) -> None:
    assert rubygems(a, b) == expected
    assert rubygems(b, a) == -expected


def test_pep440_and_errors() -> None:
    assert pep440("1.0rc1", "1.0") == -1
    assert pep440("1.0.post1", "1.0") == 1
    with pytest.raises(BadVersion):
        pep440("not a version", "1.0")
    with pytest.raises(BadVersion):
        dpkg("a-1", "1.0")


def test_order_for_ecosystems() -> None:
    assert order_for("Debian:12") is dpkg
    assert order_for("Alpine:v3.20") is apk
    assert order_for("Rocky Linux:9") is rpm
    assert order_for("PyPI") is pep440
    assert order_for("Unknown") is None
