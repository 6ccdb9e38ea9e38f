"""What ``apt-get install --no-install-recommends`` leaves out, measured on Debian 12.

KH103's fix adds ``--no-install-recommends``. Whether that can change what the image does
depends on what the listed packages (and the packages they pull in) recommend, which the
Dockerfile does not say. :data:`DROPPED` is that fact, measured: for each package, the
packages ``apt-get install -s PKG`` installs and ``apt-get install -s
--no-install-recommends PKG`` does not, on a minimal Debian 12 (bookworm) root, the
``keelhaul-test/debian:bookworm`` engine image (``debootstrap --variant=minbase``), on
2026-12-07, with::

    apt-get update
    for p in $PACKAGES; do
      a=$(apt-get install -s -qq $p | awk '/^Inst /{print $2}' | sort)
      b=$(apt-get install -s -qq --no-install-recommends $p | awk '/^Inst /{print $2}' | sort)
      printf '%s\\t%s\\n' "$p" "$(comm -23 <(echo "$a") <(echo "$b") | tr '\\n' ' ')"
    done

A minimal root is the worst case: on a fuller base image more of these are installed
already and nothing is left out. ``tests/engine/test_recommends.py`` measures some of them
again with the engine. Other releases and Ubuntu may differ; ca-certificates is kept on all
of them (see :func:`kept_certificates`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Package -> the packages --no-install-recommends leaves out (Debian 12, minimal root): the
#: 35 packages Dockerfiles of the shared corpus install most often.
DROPPED: Mapping[str, tuple[str, ...]] = {
    name: tuple(sorted(found.split()))
    for name, found in {
        "ca-certificates": "",
        "curl": (
            "ca-certificates krb5-locales libldap-common libsasl2-modules openssl publicsuffix"
        ),
        "gnupg": "libgpm2 libldap-common libsasl2-modules libssl3",
        "wget": "ca-certificates libssl3 openssl publicsuffix",
        "git": (
            "ca-certificates krb5-locales less libbsd0 libcbor0.8 libedit2 libfido2-1 "
            "libldap-common libsasl2-modules libx11-6 libx11-data libxau6 libxcb1 "
            "libxdmcp6 libxext6 libxmuu1 netbase openssh-client openssl patch "
            "publicsuffix xauth"
        ),
        "xz-utils": "",
        "gcc": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-dev-bin libc-devtools libc6-dev "
            "libcrypt-dev libdav1d6 libde265-0 libdeflate0 libexpat1 libfontconfig1 "
            "libfreetype6 libgav1-1 libgd3 libgssapi-krb5-2 libheif1 libjbig0 "
            "libjpeg62-turbo libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 liblerc4 "
            "libnsl-dev libnsl2 libnuma1 libpng16-16 librav1e0 libssl3 libsvtav1enc1 "
            "libtiff6 libtirpc-common libtirpc-dev libtirpc3 libwebp7 libx11-6 "
            "libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 libxpm4 libyuv0 "
            "linux-libc-dev manpages manpages-dev rpcsvc-proto"
        ),
        "make": "",
        "dpkg-dev": (
            "build-essential cpp cpp-12 dirmngr fakeroot fontconfig-config "
            "fonts-dejavu-core g++ g++-12 gcc gcc-12 gnupg gnupg-l10n gnupg-utils gpg "
            "gpg-agent gpg-wks-client gpg-wks-server gpgconf gpgsm krb5-locales "
            "libabsl20220623 libalgorithm-diff-perl libalgorithm-diff-xs-perl "
            "libalgorithm-merge-perl libaom3 libasan8 libassuan0 libatomic1 libavif15 "
            "libbrotli1 libbsd0 libc-dev-bin libc-devtools libc6-dev libcc1-0 "
            "libcrypt-dev libdav1d6 libde265-0 libdeflate0 libexpat1 libfakeroot "
            "libfile-fcntllock-perl libfontconfig1 libfreetype6 libgav1-1 libgcc-12-dev "
            "libgd3 libgomp1 libgpm2 libgssapi-krb5-2 libheif1 libisl23 libitm1 libjbig0 "
            "libjpeg62-turbo libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 libksba8 "
            "libldap-2.5-0 libldap-common liblerc4 liblocale-gettext-perl liblsan0 "
            "libmpc3 libmpfr6 libncursesw6 libnpth0 libnsl-dev libnsl2 libnuma1 "
            "libpng16-16 libquadmath0 librav1e0 libreadline8 libsasl2-2 libsasl2-modules "
            "libsasl2-modules-db libsqlite3-0 libssl3 libstdc++-12-dev libsvtav1enc1 "
            "libtiff6 libtirpc-common libtirpc-dev libtirpc3 libtsan2 libubsan1 libwebp7 "
            "libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 libxpm4 libyuv0 "
            "linux-libc-dev manpages manpages-dev netbase pinentry-curses readline-common "
            "rpcsvc-proto"
        ),
        "libc6-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libbluetooth-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "tk-dev": (
            "build-essential cpp cpp-12 dirmngr fakeroot g++ g++-12 gcc gcc-12 gnupg "
            "gnupg-l10n gnupg-utils gpg gpg-agent gpg-wks-client gpg-wks-server gpgconf "
            "gpgsm krb5-locales libabsl20220623 libalgorithm-diff-perl "
            "libalgorithm-diff-xs-perl libalgorithm-merge-perl libaom3 libasan8 "
            "libassuan0 libatomic1 libavif15 libc-devtools libcc1-0 libdav1d6 libde265-0 "
            "libdeflate0 libfakeroot libfile-fcntllock-perl libgav1-1 libgcc-12-dev "
            "libgd3 libgomp1 libgpm2 libheif1 libisl23 libitm1 libjbig0 libjpeg62-turbo "
            "libksba8 libldap-2.5-0 libldap-common liblerc4 liblocale-gettext-perl "
            "liblsan0 libmpc3 libmpfr6 libncursesw6 libnpth0 libnuma1 libpng-tools "
            "libquadmath0 librav1e0 libreadline8 libsasl2-2 libsasl2-modules "
            "libsasl2-modules-db libsqlite3-0 libstdc++-12-dev libsvtav1enc1 libtiff6 "
            "libtsan2 libubsan1 libwebp7 libx265-199 libxpm4 libyuv0 manpages "
            "manpages-dev netbase pinentry-curses readline-common"
        ),
        "uuid-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "dirmngr": (
            "gnupg gnupg-l10n gnupg-utils gpg gpg-agent gpg-wks-client gpg-wks-server "
            "gpgsm libgpm2 libldap-common libncursesw6 libsasl2-modules libsqlite3-0 "
            "libssl3 pinentry-curses"
        ),
        "libssl-dev": "",
        "tzdata": "",
        "software-properties-common": (
            "appstream dbus-user-session dirmngr gnupg gnupg-l10n gnupg-utils gpg-agent "
            "gpg-wks-client gpg-wks-server gpgsm krb5-locales libgpm2 libksba8 "
            "libldap-common libnpth0 libnss-systemd libpam-cap libsasl2-modules "
            "packagekit-tools pinentry-curses publicsuffix shared-mime-info "
            "systemd-timesyncd xdg-user-dirs"
        ),
        "zlib1g-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libncursesw5-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libgpm2 libheif1 "
            "libjbig0 libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 "
            "libsvtav1enc1 libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 "
            "libxcb1 libxdmcp6 libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libgl1-mesa-dri": "",
        "libgl1-mesa-glx": "",
        "procps": "libgpm2 psmisc",
        "g++": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "liblzma-dev": "",
        "locales": "",
        "build-essential": (
            "dirmngr fakeroot fontconfig-config fonts-dejavu-core gnupg gnupg-l10n "
            "gnupg-utils gpg gpg-agent gpg-wks-client gpg-wks-server gpgconf gpgsm "
            "krb5-locales libabsl20220623 libalgorithm-diff-perl "
            "libalgorithm-diff-xs-perl libalgorithm-merge-perl libaom3 libassuan0 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfakeroot libfile-fcntllock-perl libfontconfig1 libfreetype6 "
            "libgav1-1 libgd3 libgpm2 libheif1 libjbig0 libjpeg62-turbo libksba8 "
            "libldap-2.5-0 libldap-common liblerc4 liblocale-gettext-perl libncursesw6 "
            "libnpth0 libnuma1 libpng16-16 librav1e0 libreadline8 libsasl2-2 "
            "libsasl2-modules libsasl2-modules-db libsqlite3-0 libsvtav1enc1 libtiff6 "
            "libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 libxpm4 "
            "libyuv0 manpages manpages-dev netbase pinentry-curses readline-common"
        ),
        "netbase": "",
        "libbz2-dev": (
            "bzip2-doc fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 "
            "libaom3 libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 "
            "libdeflate0 libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 "
            "libjbig0 libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 "
            "libsvtav1enc1 libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 "
            "libxcb1 libxdmcp6 libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libdb-dev": "",
        "libffi-dev": "",
        "libgdbm-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libreadline-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libgpm2 libheif1 "
            "libjbig0 libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 "
            "libsvtav1enc1 libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 "
            "libxcb1 libxdmcp6 libxpm4 libyuv0 manpages manpages-dev"
        ),
        "libsqlite3-dev": (
            "fontconfig-config fonts-dejavu-core krb5-locales libabsl20220623 libaom3 "
            "libavif15 libbrotli1 libbsd0 libc-devtools libdav1d6 libde265-0 libdeflate0 "
            "libexpat1 libfontconfig1 libfreetype6 libgav1-1 libgd3 libheif1 libjbig0 "
            "libjpeg62-turbo liblerc4 libnuma1 libpng16-16 librav1e0 libsvtav1enc1 "
            "libtiff6 libwebp7 libx11-6 libx11-data libx265-199 libxau6 libxcb1 libxdmcp6 "
            "libxpm4 libyuv0 manpages manpages-dev"
        ),
        "apt-transport-https": "",
        "pkg-config": "",
    }.items()
}

#: Left out without changing what a program does: translations of messages, manual pages,
#: LDAP's schema files and SASL mechanisms (used only by LDAP binds; curl speaks SASL for
#: mail protocols itself), the public-suffix list (libpsl has it built in), libc's debugging
#: tools. Plain shared libraries (``lib*``, not ``-dev``, ``-modules``, ``-plugins``) count
#: too: one that only a left-out package needed is loaded by nothing.
_UNNEEDED = frozenset({"krb5-locales", "libldap-common", "manpages", "manpages-dev",
                       "publicsuffix", "libc-devtools", "libsasl2-modules"})  # fmt: skip
_PLUGIN = re.compile(r"-(?:dev|modules|plugins?|dri|bin|tools|utils)$")
#: What keeping ca-certificates brings back with it (its dependencies).
_WITH_CERTIFICATES = frozenset({"ca-certificates", "openssl", "libssl3"})


def _unneeded(package: str) -> bool:
    if package in _UNNEEDED:
        return True
    return package.startswith("lib") and _PLUGIN.search(package) is None


@dataclass(frozen=True)
class LeftOut:
    """What --no-install-recommends leaves out of an install of some packages."""

    certificates: bool
    """ca-certificates is (or may be) among them: the fix adds it by name."""
    notable: tuple[str, ...]
    """Left out and possibly used by a program (a command, a file a program reads)."""
    unknown: tuple[str, ...]
    """Listed packages whose recommendations keelhaul does not know."""


def left_out(packages: Iterable[str]) -> LeftOut:
    """What adding --no-install-recommends to an install of ``packages`` leaves out."""
    listed = set(packages)
    unknown = sorted(p for p in listed if p not in DROPPED)
    dropped = {d for p in listed if p in DROPPED for d in DROPPED[p]} - listed
    certificates = "ca-certificates" not in listed and (
        "ca-certificates" in dropped or bool(unknown)
    )
    if certificates or "ca-certificates" in listed:
        dropped -= _WITH_CERTIFICATES
    notable = sorted(d for d in dropped if not _unneeded(d))
    return LeftOut(certificates, tuple(notable), tuple(unknown))


def why_unsafe(found: LeftOut) -> str:
    """What the fix may change, for an install ``found`` says is not known to be safe."""
    if found.notable:
        shown = ", ".join(found.notable[:6]) + (" and more" if len(found.notable) > 6 else "")
        return (f"the packages they recommend are no longer installed ({shown} on Debian 12); "
                "a later step or the program may use one")  # fmt: skip
    names = ", ".join(found.unknown[:4]) + (" and more" if len(found.unknown) > 4 else "")
    verb = "recommends" if len(found.unknown) == 1 else "recommend"
    return (f"keelhaul does not know what {names} {verb}; a later step or the program may "
            "use a recommended package")  # fmt: skip
