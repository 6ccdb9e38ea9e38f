"""Package-manager, download and cache-cleanup operations in the commands of a script.

:func:`find_operations` reads the :class:`~keelhaul.dockerfile.shell.SimpleCommand` list of a
:class:`~keelhaul.dockerfile.shell.ShellScript` and recognises, as data:

* :class:`PackageOperation` - ``apt-get install``, ``pip install``, ``npm ci``, ``go build``,
  ``mvn package``... with the manager, a normalised action, the options (short clusters
  expanded, values attached to the options that take one) and the packages named;
* :class:`Download` - ``curl``/``wget`` with their URLs, output, TLS and failure behaviour and
  the program their output is piped into;
* :class:`CacheCleanup` - ``rm -rf /var/lib/apt/lists/*`` and friends, and the managers' own
  clean commands (``apt-get clean``, ``yum clean all``, ``npm cache clean --force``...).

Versions in :class:`PackageSpec`: an exact pin is given plain (``curl=7.88.1-10`` and
``flask==2.0`` both give ``"7.88.1-10"``/``"2.0"``, ``left-pad@1.3.0`` gives ``"1.3.0"``,
``go install x@v1.2.3`` gives ``"v1.2.3"``, ``gem install x -v 1.2`` gives ``"1.2"``); any other
constraint keeps its operator as written (``">=1"``, ``"~=1.2"``, ``"==2.*"``, ``"^1.2"``,
apk's fuzzy ``"~1.2"``, ``">=1,<2"``). apt's ``pkg=1.2*`` gives ``"1.2*"``.
:attr:`PackageSpec.pinned` tells an exact pin from the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from keelhaul.dockerfile.shell import ShellScript, SimpleCommand

__all__ = [
    "CacheCleanup",
    "Download",
    "Operations",
    "PackageOperation",
    "PackageSpec",
    "deleted_paths",
    "find_operations",
    "package_spec",
    "parse_options",
]


@dataclass(frozen=True)
class PackageSpec:
    """A package named on a command line.

    ``kind`` is ``"name"`` for a registry package, ``"path"`` for a local file or directory
    (``./x.deb``, ``.``, ``-e .``), ``"url"`` for a URL or VCS reference, ``"group"`` for an
    rpm group (``@development``).
    """

    name: str
    version: str | None
    raw: str
    kind: str = "name"

    @property
    def pinned(self) -> bool:
        """True when the version is an exact pin (no range operator, no wildcard)."""
        v = self.version
        if not v or v in ("latest", "*", "x", "next"):
            return False
        return v[0] not in "<>=!~^*" and "*" not in v and " " not in v and "||" not in v


#: How pip's ``--no-cache-dir`` may be written: pip parses its options with optparse, which
#: takes any unambiguous prefix of a long option; ``--no-ca`` is the shortest (``--no-c`` could
#: also be ``--no-clean``, ``--no-color`` or ``--no-compile``), ``--no-cache`` the common one.
PIP_NO_CACHE_DIR = tuple(
    "--no-cache-dir"[:n] for n in range(len("--no-ca"), len("--no-cache-dir") + 1)
)


@dataclass(frozen=True)
class PackageOperation:
    """One package-manager command.

    ``flags`` are the option names in order, short clusters expanded (``-yq`` gives ``-y``,
    ``-q``) and values removed; ``options`` pairs each with its value (or None);
    ``subcommand`` is the action word(s) as written (``"i"``, ``"pip install"``,
    ``"mod download"``, maven goals joined by spaces); ``operands`` are the remaining
    positional words (packages, script names, goals, paths).
    """

    manager: str
    action: str
    subcommand: str
    flags: tuple[str, ...]
    packages: tuple[PackageSpec, ...]
    command: SimpleCommand
    options: tuple[tuple[str, str | None], ...] = ()
    operands: tuple[str, ...] = ()

    def has(self, *names: str) -> bool:
        """Whether any of the option names was given."""
        return any(f in names for f in self.flags)

    def values(self, *names: str) -> tuple[str, ...]:
        """The values given to the named options."""
        return tuple(v for f, v in self.options if f in names and v is not None)

    @property
    def assume_yes(self) -> bool:
        """The command will not stop to ask for confirmation.

        apt: ``-y``/``--yes``/``--assume-yes``, ``-o APT::Get::Assume-Yes=true``, or quiet
        level 2 (``-qq``, ``-q -q``, ``-q=2``), which apt-get documents as implying ``-y``
        (``--force-yes`` does not). yum/dnf/microdnf: ``-y``/``--assumeyes``. zypper:
        ``-n``/``--non-interactive`` or ``-y``/``--no-confirm``. ``pip uninstall``: ``-y``.
        The other managers never ask, so they are always True.
        """
        m = self.manager
        if m in ("apt-get", "apt", "aptitude"):
            if self.has("-y", "--yes", "--assume-yes"):
                return True
            if m != "aptitude" and self.quiet_level >= 2:
                return True
            return any(
                v.lower().replace(" ", "")
                in ("apt::get::assume-yes=true", "apt::get::assume-yes=1")
                for v in self.values("-o", "--option")
            )
        if m in ("yum", "dnf", "microdnf", "tdnf"):
            return self.has("-y", "--assumeyes")
        if m == "zypper":
            # -n is --non-interactive only before the subcommand (after it, it is --name)
            return self.has("-y", "--no-confirm") or bool(
                {"-n", "--non-interactive"} & set(self.global_flags)
            )
        if m in ("pip", "uv", "pipenv") and self.action == "remove":
            return self.has("-y", "--yes")
        return True

    @property
    def global_flags(self) -> tuple[str, ...]:
        """The option names given before the subcommand (``zypper -n in x`` -> ``-n``)."""
        first = self.subcommand.split()[0] if self.subcommand else ""
        argv = self.command.argv
        if not first or first not in argv[1:]:
            return ()
        head = argv[1 : argv.index(first, 1)]
        opts, _ = parse_options(head, _SYNTAX_OF.get(self.manager, _Syntax()))
        return tuple(name for name, _ in opts)

    @property
    def quiet_level(self) -> int:
        """How many ``-q``/``--quiet`` were given (``-qq`` counts 2, ``-q=2`` counts 2)."""
        level = 0
        for name, value in self.options:
            if name in ("-q", "--quiet"):
                level += int(value) if value is not None and value.isdigit() else 1
        return level

    @property
    def no_install_recommends(self) -> bool:
        m = self.manager
        if m in ("apt-get", "apt", "aptitude"):
            if self.has("--no-install-recommends", "--without-recommends"):
                return True
            return any(
                v.lower().replace(" ", "")
                in ("apt::install-recommends=false", "apt::install-recommends=0")
                for v in self.values("-o", "--option")
            )
        if m == "zypper":
            return self.has("--no-recommends")
        if m in ("yum", "dnf", "microdnf", "tdnf"):
            return any(
                v.replace(" ", "").lower() in ("install_weak_deps=false", "install_weak_deps=0")
                for v in self.values("--setopt")
            )
        return False

    @property
    def no_cache(self) -> bool:
        m = self.manager
        env = dict(self.command.env)
        if m == "apk":
            return self.has("--no-cache")
        if m == "pip":
            return self.has(*PIP_NO_CACHE_DIR) or env.get("PIP_NO_CACHE_DIR", "").lower() in (
                "1", "true", "yes", "on", "off", "0", "false",
            )  # fmt: skip
        if m == "uv":
            return self.has("--no-cache", "-n") or "UV_NO_CACHE" in env
        if m in ("poetry", "pipenv"):
            return self.has("--no-cache")
        if m in ("yum", "dnf", "microdnf"):
            return any(v.replace(" ", "") == "keepcache=0" for v in self.values("--setopt"))
        if m == "npm":
            return self.has("--no-cache")
        return False

    @property
    def requirement_files(self) -> tuple[str, ...]:
        return self.values("-r", "--requirement", "--requirements")

    @property
    def global_install(self) -> bool:
        if self.manager in ("npm", "pnpm"):
            return self.has("-g", "--global") or "global" in self.values("--location")
        if self.manager == "yarn":
            return self.subcommand.startswith("global")
        if self.manager == "dotnet":
            return self.has("-g", "--global")
        return False

    @property
    def frozen_lockfile(self) -> bool:
        """Installs exactly what the lockfile says (``npm ci``, ``--frozen-lockfile``...)."""
        if self.manager == "npm":
            return self.action == "ci"
        if self.manager in ("yarn", "pnpm"):
            return self.has("--frozen-lockfile", "--immutable")
        if self.manager == "pipenv":
            return self.has("--deploy") or self.action == "sync"
        if self.manager == "uv":
            return self.has("--frozen", "--locked")
        if self.manager == "poetry":
            return self.action == "install"
        if self.manager == "cargo":
            return self.has("--locked", "--frozen")
        if self.manager == "bundle":
            return self.has("--frozen", "--deployment")
        if self.manager == "composer":
            return self.action == "install"
        return False

    @property
    def editable(self) -> bool:
        """``pip install -e``: an editable (development) install."""
        return self.manager in ("pip", "uv", "pipenv") and self.has("-e", "--editable")

    @property
    def user_install(self) -> bool:
        """Installs into the user's home (``pip --user``, ``gem --user-install``)."""
        if self.manager in ("pip", "uv"):
            return self.has("--user")
        if self.manager == "gem":
            return self.has("--user-install")
        return False

    @property
    def virtual(self) -> str | None:
        """``apk add --virtual NAME``: the virtual package the others are grouped under."""
        if self.manager != "apk":
            return None
        v = self.values("-t", "--virtual")
        return v[0] if v else None


@dataclass(frozen=True)
class Download:
    """A ``curl`` or ``wget`` run.

    ``output`` is the file written (``-o``/``-O``/``-P``, a ``>`` redirection, or the name
    wget derives from the URL), ``"-"`` for stdout, or None when unknown. ``piped_into`` is the
    program that receives the data: the next command of the pipeline (``curl ... | sh`` ->
    ``"sh"``), or the shell that runs a substitution holding the download (``sh -c
    "$(curl ...)"``, ``bash <(curl ...)``, ``eval "$(wget -O- ...)"``).
    """

    tool: str
    urls: tuple[str, ...]
    output: str | None
    insecure: bool  # curl -k/--insecure, wget --no-check-certificate
    fail_on_error: bool  # curl -f/--fail; wget always fails on HTTP errors
    piped_into: str | None
    command: SimpleCommand
    follows_redirects: bool = False  # curl -L; wget unless --max-redirect=0

    @property
    def executed(self) -> bool:
        """The downloaded data is run as a script (``curl ... | sh``)."""
        p = self.piped_into
        return p is not None and (
            p in _EXECUTORS
            or _PYTHON_RE.match(p) is not None
            or p in ("node", "perl", "ruby", "php")
        )


@dataclass(frozen=True)
class CacheCleanup:
    paths: tuple[str, ...]
    manager_clean: str | None
    command: SimpleCommand


@dataclass(frozen=True)
class Operations:
    packages: tuple[PackageOperation, ...]
    downloads: tuple[Download, ...]
    cleanups: tuple[CacheCleanup, ...]

    def by_manager(self, *managers: str) -> tuple[PackageOperation, ...]:
        return tuple(p for p in self.packages if p.manager in managers)


# --------------------------------------------------------------------------------------------
# option parsing


@dataclass(frozen=True)
class _Syntax:
    short_values: str = ""  # single-letter options that take a value (clusters allowed)
    long_values: frozenset[str] = frozenset()  # --long options that take a value
    single_dash: frozenset[str] = frozenset()  # go/mvn style -name options taking a value
    dash_words: bool = False  # -name options are words, not clusters (go, mvn, gradle)


def parse_options(
    args: tuple[str, ...] | list[str], syntax: _Syntax
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Split ``args`` into ``(options, positionals)``; ``--`` ends the options."""
    opts: list[tuple[str, str | None]] = []
    pos: list[str] = []
    i = 0
    n = len(args)
    while i < n:
        a = args[i]
        i += 1
        if a == "--":
            pos.extend(args[i:])
            break
        if a.startswith("--") and len(a) > 2:
            if "=" in a:
                name, _, value = a.partition("=")
                opts.append((name, value))
            elif a in syntax.long_values and i < n:
                opts.append((a, args[i]))
                i += 1
            else:
                opts.append((a, None))
            continue
        if a.startswith("-") and len(a) > 1:
            if syntax.dash_words:
                if "=" in a:
                    name, _, value = a.partition("=")
                    opts.append((name, value))
                elif a in syntax.single_dash and i < n:
                    opts.append((a, args[i]))
                    i += 1
                elif a[:2] in ("-D", "-P") and len(a) > 2:
                    opts.append((a[:2], a[2:]))
                else:
                    opts.append((a, None))
                continue
            j = 1
            while j < len(a):
                ch = a[j]
                rest = a[j + 1 :]
                if ch in syntax.short_values:
                    if rest:
                        opts.append(("-" + ch, rest[1:] if rest.startswith("=") else rest))
                    elif i < n:
                        opts.append(("-" + ch, args[i]))
                        i += 1
                    else:
                        opts.append(("-" + ch, None))
                    break
                if rest.startswith("="):
                    opts.append(("-" + ch, rest[1:]))
                    break
                opts.append(("-" + ch, None))
                j += 1
            continue
        pos.append(a)
    return opts, pos


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


_APT = _Syntax(
    "octa",
    _fs("--option", "--target-release", "--default-release", "--config-file",
        "--host-architecture", "--build-profiles"),
)  # fmt: skip
_APK = _Syntax(
    "Xpt",
    _fs("--repository", "--root", "--virtual", "--arch", "--keys-dir", "--repositories-file",
        "--cache-dir", "--cache-max-age", "--progress-fd"),
)  # fmt: skip
_RPM = _Syntax(
    "cdexR",
    _fs("--enablerepo", "--disablerepo", "--setopt", "--installroot", "--releasever",
        "--exclude", "--repo", "--repoid", "--repofrompath", "--config", "--forcearch",
        "--downloaddir", "--destdir", "--enable", "--disable", "--rpmverbosity", "--color",
        "--excludepkgs", "--disableplugin", "--enableplugin", "--advisory", "--bz", "--cve",
        "--sec-severity", "--secseverity"),
)  # fmt: skip
_ZYPPER = _Syntax(
    "RDCcrtp",
    _fs("--root", "--reposd-dir", "--cache-dir", "--config", "--repo", "--from", "--type",
        "--installroot", "--priority", "--name"),
)  # fmt: skip
_PIP = _Syntax(
    "rcietfbCdw",
    _fs("--requirement", "--constraint", "--index-url", "--extra-index-url", "--trusted-host",
        "--dest", "--wheel-dir", "--build-dir",
        "--target", "--prefix", "--root", "--find-links", "--editable", "--src",
        "--upgrade-strategy", "--platform", "--python-version", "--implementation", "--abi",
        "--only-binary", "--no-binary", "--progress-bar", "--cache-dir", "--log", "--proxy",
        "--retries", "--timeout", "--exists-action", "--cert", "--client-cert",
        "--global-option", "--install-option", "--config-settings", "--report", "--python",
        "--root-user-action", "--use-feature", "--use-deprecated", "--keyring-provider",
        "--group", "--build-constraint", "--overrides", "--override", "--index-strategy",
        "--directory", "--project", "--extra", "--only-group", "--no-group", "--python-platform",
        "--refresh-package", "--reinstall-package", "--upgrade-package", "--exclude-newer",
        "--link-mode", "--default-index", "--index", "--with", "--from", "--package",
        "--compile-bytecode-ignore", "--output-file", "--format"),
)  # fmt: skip
_POETRY = _Syntax(
    "EGCP",
    _fs("--only", "--with", "--without", "--extras", "--directory", "--project", "--group",
        "--source", "--python", "--platform", "--output", "--format", "--lock-file"),
)  # fmt: skip
_PIPENV = _Syntax("r", _fs("--python", "--pypi-mirror", "--requirements", "--categories"))
_NPM = _Syntax(
    "wC",
    _fs("--prefix", "--registry", "--cache", "--userconfig", "--globalconfig", "--tag",
        "--omit", "--include", "--workspace", "--location", "--loglevel", "--only",
        "--install-strategy", "--before", "--dir", "--filter", "--store-dir", "--cwd",
        "--modules-folder", "--cache-folder", "--network-timeout", "--mutex", "--network",
        "--virtual-store-dir", "--reporter", "--mode", "--fetch-timeout"),
)  # fmt: skip
_PNPM = _Syntax("FCw", _NPM.long_values)
_GEM = _Syntax(
    "vsinpPd",
    _fs("--version", "--source", "--install-dir", "--bindir", "--platform", "--document",
        "--clear-sources", "--build-root", "--trust-policy", "--file", "--gemfile", "--path",
        "--jobs", "--retry", "--without", "--with", "--binstubs", "--standalone", "--shebang",
        "--target-rbconfig"),
)  # fmt: skip
_BUNDLE = _Syntax("j", _GEM.long_values)
_GO = _Syntax(
    dash_words=True,
    single_dash=_fs("-o", "-ldflags", "-gcflags", "-tags", "-mod", "-modfile", "-C", "-p",
                    "-asmflags", "-buildmode", "-compiler", "-installsuffix", "-pkgdir",
                    "-toolexec", "-overlay", "-pgo", "-gccgoflags", "-exec", "-run", "-bench",
                    "-timeout", "-count", "-coverprofile", "-covermode", "-coverpkg", "-cpu"),
)  # fmt: skip
_CARGO = _Syntax(
    "Fpj",
    _fs("--target", "--features", "--bin", "--example", "--package", "--manifest-path",
        "--root", "--version", "--git", "--branch", "--tag", "--rev", "--path", "--jobs",
        "--profile", "--target-dir", "--config", "--index", "--registry", "--color",
        "--exclude", "--test", "--bench", "--lockfile-path"),
)  # fmt: skip
_COMPOSER = _Syntax("d", _fs("--working-dir", "--prefer-install", "--ignore-platform-req"))
_MVN = _Syntax(
    dash_words=True,
    single_dash=_fs("-f", "-s", "-gs", "-t", "-pl", "-rf", "-P", "-T", "-D", "-l", "-b",
                    "-gt", "-es", "-ep"),
    long_values=_fs("--file", "--settings", "--global-settings", "--toolchains", "--projects",
                    "--resume-from", "--activate-profiles", "--threads", "--define",
                    "--log-file", "--builder", "--global-toolchains"),
)  # fmt: skip
_GRADLE = _Syntax(
    dash_words=True,
    single_dash=_fs("-p", "-x", "-c", "-g", "-I", "-b", "-D", "-P", "-M"),
    long_values=_fs("--project-dir", "--exclude-task", "--settings-file", "--gradle-user-home",
                    "--init-script", "--console", "--warning-mode", "--build-file",
                    "--include-build", "--project-cache-dir", "--priority", "--max-workers",
                    "--write-verification-metadata", "--dependency-verification"),
)  # fmt: skip
_DOTNET = _Syntax(
    "cofrsvpa",
    _fs("--configuration", "--output", "--framework", "--runtime", "--source", "--verbosity",
        "--version", "--arch", "--os", "--packages", "--configfile", "--property",
        "--tool-path", "--add-source", "--lock-file-path", "--artifacts-path", "--package-directory",
        "--self-contained", "--ucr", "--manifest", "--launch-profile", "--project"),
)  # fmt: skip

_SYNTAX_OF = {
    "apt-get": _APT, "apt": _APT, "aptitude": _APT, "apk": _APK, "yum": _RPM, "dnf": _RPM,
    "microdnf": _RPM, "tdnf": _RPM, "zypper": _ZYPPER, "pip": _PIP, "npm": _NPM, "yarn": _NPM,
    "pnpm": _PNPM, "gem": _GEM,
}  # fmt: skip

# --------------------------------------------------------------------------------------------
# subcommands


_APT_ACTIONS = {
    "install": "install", "reinstall": "install", "update": "update", "upgrade": "upgrade",
    "dist-upgrade": "upgrade", "full-upgrade": "upgrade", "remove": "remove",
    "purge": "remove", "autoremove": "remove", "autopurge": "remove", "clean": "clean",
    "autoclean": "clean", "distclean": "clean", "dist-clean": "clean",
    "safe-upgrade": "upgrade", "build-dep": "install", "source": "download",
    "download": "download", "satisfy": "install", "markauto": "mark", "hold": "mark",
}  # fmt: skip
_APK_ACTIONS = {
    "add": "install", "del": "remove", "update": "update", "upgrade": "upgrade",
    "fix": "install", "fetch": "download", "cache": "cache", "info": "query",
    "search": "query",
}  # fmt: skip
_RPM_ACTIONS = {
    "install": "install", "in": "install", "reinstall": "install", "localinstall": "install",
    "groupinstall": "install", "update": "upgrade", "up": "upgrade", "upgrade": "upgrade",
    "distro-sync": "upgrade", "remove": "remove", "rm": "remove", "erase": "remove",
    "autoremove": "remove", "groupremove": "remove", "clean": "clean", "makecache": "update",
    "check-update": "update", "download": "download", "module": "module", "swap": "install",
    "config-manager": "config", "group": "group", "builddep": "install",
    "dist-upgrade": "upgrade", "dup": "upgrade", "refresh": "update", "ref": "update",
    "cc": "clean", "clean-all": "clean", "addrepo": "config", "ar": "config",
    "install-new-recommends": "install", "inr": "install", "patch": "upgrade",
    "source-install": "install", "si": "install", "downgrade": "install",
    "update-minimal": "upgrade", "upgrade-minimal": "upgrade", "distrosync": "upgrade",
}  # fmt: skip
_PIP_ACTIONS = {
    "install": "install", "uninstall": "remove", "download": "download", "wheel": "build",
    "freeze": "query", "list": "query", "show": "query", "cache": "cache", "check": "query",
    "config": "config", "sync": "install", "compile": "lock",
}  # fmt: skip
_UV_ACTIONS = {
    "sync": "install", "add": "install", "remove": "remove", "lock": "lock", "run": "run",
    "venv": "venv", "build": "build", "publish": "publish", "export": "export",
    "cache": "cache", "python": "python", "tool": "tool",
}  # fmt: skip
_POETRY_ACTIONS = {
    "install": "install", "add": "install", "remove": "remove", "update": "update",
    "lock": "lock", "build": "build", "publish": "publish", "export": "export",
    "run": "run", "sync": "install", "config": "config", "self": "self",
}  # fmt: skip
_PIPENV_ACTIONS = {
    "install": "install", "sync": "install", "uninstall": "remove", "lock": "lock",
    "update": "update", "run": "run", "requirements": "export", "clean": "remove",
}  # fmt: skip
_NPM_ACTIONS = {
    **dict.fromkeys(("install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta",
                     "isntal", "isntall", "add"), "install"),
    **dict.fromkeys(("ci", "clean-install", "ic", "install-clean", "isntall-clean"), "ci"),
    **dict.fromkeys(("uninstall", "remove", "rm", "r", "un", "unlink"), "remove"),
    **dict.fromkeys(("update", "up", "upgrade", "udpate"), "update"),
    **dict.fromkeys(("run", "run-script", "rum", "urn", "exec", "x", "dlx", "start", "test",
                     "t", "tst"), "run"),
    "cache": "cache", "prune": "remove", "build": "build", "pack": "build",
    "publish": "publish", "audit": "audit", "fetch": "download", "store": "cache",
    "dedupe": "install", "link": "install", "config": "config", "set": "config",
    "global": "global", "workspaces": "workspaces", "workspace": "workspaces",
    "rebuild": "build", "deploy": "install",
}  # fmt: skip
_GEM_ACTIONS = {
    "install": "install", "i": "install", "uninstall": "remove", "update": "update",
    "build": "build", "cleanup": "clean", "sources": "config", "push": "publish",
    "fetch": "download", "list": "query",
}  # fmt: skip
_BUNDLE_ACTIONS = {
    "install": "install", "update": "update", "exec": "run", "config": "config",
    "package": "download", "cache": "download", "check": "query", "lock": "lock",
    "binstubs": "install", "clean": "clean", "add": "install", "remove": "remove",
}  # fmt: skip
_GO_ACTIONS = {
    "install": "install", "get": "install", "build": "build", "run": "run", "test": "test",
    "generate": "run", "vet": "test", "clean": "clean", "mod": "mod", "work": "mod",
    "env": "config", "tool": "run", "fmt": "run", "version": "query", "list": "query",
}  # fmt: skip
_GO_MOD_ACTIONS = {"download": "download", "tidy": "lock", "vendor": "download",
                   "verify": "test", "init": "init", "graph": "query", "edit": "config"}  # fmt: skip
_CARGO_ACTIONS = {
    "build": "build", "b": "build", "install": "install", "fetch": "download",
    "run": "run", "r": "run", "test": "test", "t": "test", "update": "update",
    "vendor": "download", "check": "build", "c": "build", "clean": "clean",
    "publish": "publish", "add": "install", "remove": "remove", "generate-lockfile": "lock",
    "chef": "build", "auditable": "build", "doc": "build",
}  # fmt: skip
_COMPOSER_ACTIONS = {
    "install": "install", "i": "install", "update": "update", "u": "update",
    "upgrade": "update", "require": "install", "r": "install", "remove": "remove",
    "rm": "remove", "dump-autoload": "build", "dumpautoload": "build",
    "create-project": "install", "clear-cache": "clean", "clearcache": "clean",
    "cc": "clean", "global": "global", "config": "config", "run-script": "run",
    "run": "run", "self-update": "update", "selfupdate": "update",
}  # fmt: skip
_DOTNET_ACTIONS = {
    "restore": "restore", "build": "build", "publish": "publish", "test": "test",
    "run": "run", "pack": "build", "clean": "clean", "tool": "tool", "add": "add",
    "new": "init", "nuget": "nuget", "workload": "install", "msbuild": "build",
}  # fmt: skip

_MVN_BUILD = frozenset({"package", "install", "verify", "compile", "deploy", "test-compile"})
_GRADLE_BUILD = frozenset({"build", "assemble", "jar", "bootJar", "shadowJar", "installDist",
                           "distTar", "distZip", "war", "bootWar", "classes", "compileJava",
                           "nativeCompile", "publishToMavenLocal"})  # fmt: skip

_PIP_RE = re.compile(r"pip[0-9.]*\Z")
_PYTHON_RE = re.compile(r"python[0-9.]*\Z|py\Z|pypy[0-9.]*\Z")

# --------------------------------------------------------------------------------------------
# package specifications

_PEP508 = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)\Z", re.S)


def _looks_path(word: str) -> bool:
    return (
        word in (".", "..")
        or word.startswith(("./", "../", ".[", "/", "~", "file:", "$"))
        or word.endswith((".deb", ".rpm", ".apk", ".whl", ".tar.gz", ".tgz", ".zip", ".gem",
                          ".nupkg", ".jar", ".tar.bz2", ".tar.xz"))
    )  # fmt: skip


def _looks_url(word: str) -> bool:
    return "://" in word or word.startswith(("git+", "git@", "github:", "gitlab:", "bitbucket:"))


def _other(raw: str) -> PackageSpec | None:
    if _looks_url(raw):
        return PackageSpec(raw, None, raw, "url")
    if _looks_path(raw):
        return PackageSpec(raw, None, raw, "path")
    return None


def _spec_apt(raw: str) -> PackageSpec:
    other = _other(raw)
    if other is not None:
        return other
    name, sep, version = raw.partition("=")
    name = name.split("/", 1)[0].split(":", 1)[0]
    return PackageSpec(name, version if sep else None, raw)


_APK_OPS = re.compile(r"(>=|<=|=~|~=|>|<|=|~)")


def _spec_apk(raw: str) -> PackageSpec:
    other = _other(raw)
    if other is not None:
        return other
    base = raw.split("@", 1)[0] if not raw.startswith("@") else raw
    m = _APK_OPS.search(base)
    if m is None:
        return PackageSpec(base, None, raw)
    name = base[: m.start()]
    op = m.group()
    version = base[m.end() :]
    return PackageSpec(name, version if op == "=" else op + version, raw)


def _spec_rpm(raw: str) -> PackageSpec:
    other = _other(raw)
    if other is not None:
        return other
    if raw.startswith("@"):
        return PackageSpec(raw[1:], None, raw, "group")
    m = _APK_OPS.search(raw)
    if m is not None and m.start() > 0 and "(" not in raw:
        op = m.group()
        version = raw[m.end() :].strip()
        return PackageSpec(raw[: m.start()].strip(), version if op == "=" else op + version, raw)
    if "(" not in raw:
        name, nevr = _split_nevr(raw)
        if nevr is not None:
            return PackageSpec(name, nevr, raw)
    return PackageSpec(raw, None, raw)


def _split_nevr(raw: str) -> tuple[str, str | None]:
    """``httpd-2.4.6`` -> (httpd, 2.4.6); ``nodejs-16.20.2-1.el8`` -> (nodejs, 16.20.2-1.el8).

    rpm versions and releases start with a digit (or an ``epoch:``), so ``java-11-openjdk``
    and ``java-1.8.0-openjdk-devel`` are names: their last part is not a version. An
    ``.x86_64`` style architecture suffix stays in the version.
    """
    parts = raw.split("-")
    if len(parts) < 2 or not _RPM_VERSION_PART.match(parts[-1]):
        return raw, None
    cut = len(parts) - 1
    if len(parts) > 2 and _RPM_VERSION_PART.match(parts[-2]):
        cut -= 1  # name-version-release
    name = "-".join(parts[:cut])
    return (name, "-".join(parts[cut:])) if name else (raw, None)


_RPM_VERSION_PART = re.compile(r"(?:\d+:)?\d[\w.+~^]*\Z")


def _spec_pip(raw: str) -> PackageSpec:
    text = raw.strip()
    if " @ " in text or (_looks_url(text) and "@" in text and " " in text):
        name, _, url = text.partition("@")
        return PackageSpec(name.strip(), None, raw, "url") if url else PackageSpec(text, None, raw)
    other = _other(text)
    if other is not None:
        return other
    m = _PEP508.match(text)
    if m is None:
        return PackageSpec(text, None, raw)
    name, _extras, rest = m.groups()
    rest = rest.split(";", 1)[0].strip().replace(" ", "")
    if not rest:
        return PackageSpec(name, None, raw)
    if rest.startswith("@"):
        return PackageSpec(name, None, raw, "url")
    for op in ("===", "=="):
        if rest.startswith(op) and "," not in rest and "*" not in rest:
            return PackageSpec(name, rest[len(op) :], raw)
    return PackageSpec(name, rest, raw)


def _spec_npm(raw: str) -> PackageSpec:
    other = _other(raw)
    if other is not None:
        return other
    at = raw.find("@", 1) if raw.startswith("@") else raw.find("@")
    if at < 0:
        if raw.count("/") == 1 and not raw.startswith("@"):
            return PackageSpec(raw, None, raw, "url")  # GitHub shorthand user/repo
        return PackageSpec(raw, None, raw)
    version = raw[at + 1 :]
    if version.startswith("npm:") or _looks_url(version) or version.startswith("file:"):
        return PackageSpec(
            raw[:at], version, raw, "url" if not version.startswith("npm:") else "name"
        )
    v = version[1:] if version.startswith("=") else version
    return PackageSpec(raw[:at], v or None, raw)


def _spec_poetry(raw: str) -> PackageSpec:
    if "@" in raw and not raw.startswith("@") and not _looks_url(raw):
        name, _, version = raw.partition("@")
        v = version[2:] if version.startswith("==") else version
        return PackageSpec(name, v or None, raw)
    return _spec_pip(raw)


def _spec_at(raw: str) -> PackageSpec:
    """``name@version`` (go, cargo)."""
    other = _other(raw) if not raw.startswith("$") else None
    if other is not None and "@" not in raw:
        return other
    name, sep, version = raw.rpartition("@") if "@" in raw else (raw, "", "")
    if not sep:
        return PackageSpec(raw, None, raw, "path" if raw.startswith((".", "/")) else "name")
    kind = "path" if name.startswith((".", "/")) else "name"
    return PackageSpec(name, version or None, raw, kind)


def _spec_colon(raw: str) -> PackageSpec:
    """``name:version`` / ``name=version`` (gem, composer)."""
    other = _other(raw)
    if other is not None:
        return other
    for sep in (":", "="):
        if sep in raw:
            name, _, version = raw.partition(sep)
            return PackageSpec(name, version or None, raw)
    return PackageSpec(raw, None, raw)


# --------------------------------------------------------------------------------------------
# recognising commands


def _op(
    manager: str,
    action: str,
    sub: str,
    opts: list[tuple[str, str | None]],
    packages: list[PackageSpec],
    cmd: SimpleCommand,
    operands: list[str],
) -> PackageOperation:
    return PackageOperation(
        manager=manager,
        action=action,
        subcommand=sub,
        flags=tuple(f for f, _ in opts),
        packages=tuple(packages),
        command=cmd,
        options=tuple(opts),
        operands=tuple(operands),
    )


def _simple(
    manager: str,
    args: tuple[str, ...],
    cmd: SimpleCommand,
    syntax: _Syntax,
    actions: dict[str, str],
    spec: Callable[[str], PackageSpec],
    package_actions: tuple[str, ...] = ("install", "remove", "download", "upgrade", "update"),
) -> PackageOperation | None:
    opts, pos = parse_options(args, syntax)
    if not pos:
        if manager == "bundle":  # a bare ``bundle`` is ``bundle install``
            return _op(manager, "install", "", opts, [], cmd, [])
        return None
    sub = pos[0]
    action = actions.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    packages: list[PackageSpec] = []
    if action in package_actions:
        packages = [spec(p) for p in rest if p]
    return _op(manager, action, sub, opts, packages, cmd, rest)


def _apt(manager: str, args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    op = _simple(
        manager, args, cmd, _APT, _APT_ACTIONS, _spec_apt, ("install", "remove", "download")
    )
    return op


def _apk(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _APK)
    if not pos:
        return None
    sub = pos[0]
    action = _APK_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    if action == "cache" and rest[:1] in (["clean"], ["purge"]):
        action = "clean"
    wants = ("install", "remove", "download", "upgrade")
    packages = [_spec_apk(p) for p in rest] if action in wants else []
    return _op("apk", action, sub, opts, packages, cmd, rest)


def _rpm(manager: str, args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _ZYPPER if manager == "zypper" else _RPM)
    if not pos:
        return None
    sub = pos[0]
    action = _RPM_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    if sub == "group" and rest:
        action = {"install": "install", "remove": "remove"}.get(rest[0], "group")
        rest = rest[1:]
    if sub == "module" and rest:
        action = {"install": "install", "enable": "config", "disable": "config",
                  "reset": "config", "remove": "remove"}.get(rest[0], "module")  # fmt: skip
        rest = rest[1:]
    packages: list[PackageSpec] = []
    if action in ("install", "remove", "upgrade", "download"):
        packages = [_spec_rpm(p) for p in rest]
    return _op(manager, action, sub, opts, packages, cmd, rest)


def _pip(
    manager: str, args: tuple[str, ...], cmd: SimpleCommand, prefix: str = ""
) -> PackageOperation | None:
    opts, pos = parse_options(args, _PIP)
    if not pos:
        return None
    sub = pos[0]
    action = _PIP_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    if action == "cache" and rest[:1] in (["purge"], ["remove"]):
        action = "clean"
    packages: list[PackageSpec] = []
    if action in ("install", "remove", "download", "build"):
        packages = [_spec_pip(p) for p in rest]
        for name, value in opts:
            if name in ("-e", "--editable") and value:
                packages.append(_other(value) or PackageSpec(value, None, value, "path"))
    return _op(manager, action, prefix + sub, opts, packages, cmd, rest)


def _uv(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts0, pos = parse_options(args, _PIP)
    if not pos:
        return None
    if pos[0] == "pip":
        k = args.index("pip")
        op = _pip("uv", args[k + 1 :], cmd, "pip ")
        if op is None:
            return None
        return _op("uv", op.action, op.subcommand, list(op.options), list(op.packages), cmd,
                   list(op.operands))  # fmt: skip
    sub = pos[0]
    action = _UV_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    if sub == "tool" and rest:
        action = {"install": "install", "run": "run", "uninstall": "remove"}.get(rest[0], "tool")
        sub = "tool " + rest[0]
        rest = rest[1:]
    if sub == "cache" and rest[:1] in (["clean"], ["prune"]):
        action = "clean"
    packages = [_spec_pip(p) for p in rest] if action in ("install", "remove") else []
    return _op("uv", action, sub, opts0, packages, cmd, rest)


def _node(manager: str, args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _PNPM if manager == "pnpm" else _NPM)
    if not pos:
        # a bare ``yarn`` is ``yarn install``; ``yarn --version`` is not
        if manager == "yarn" and not any(f in _INFO_FLAGS for f, _ in opts):
            return _op(manager, "install", "", opts, [], cmd, [])
        return None
    sub = pos[0]
    rest = pos[1:]
    if manager == "yarn" and sub == "global" and rest:
        inner = rest[0]
        action = {"add": "install", "remove": "remove", "upgrade": "update"}.get(inner, "global")
        return _op(manager, action, "global " + inner, opts,
                   [_spec_npm(p) for p in rest[1:]], cmd, rest[1:])  # fmt: skip
    found = _NPM_ACTIONS.get(sub)
    if found is None:
        if manager in ("yarn", "pnpm"):
            return _op(manager, "run", sub, opts, [], cmd, rest)  # ``yarn build`` runs a script
        return None
    action = found
    if action == "cache" and rest[:1] in (["clean"], ["clear"], ["prune"], ["rm"]):
        action = "clean"
    if manager == "pnpm" and sub == "store" and rest[:1] == ["prune"]:
        action = "clean"
    if manager == "pnpm" and sub == "fetch":
        action = "download"
    packages = [_spec_npm(p) for p in rest] if action in ("install", "remove", "update") else []
    return _op(manager, action, sub, opts, packages, cmd, rest)


_INFO_FLAGS = frozenset({"--version", "-v", "-V", "--help", "-h"})


def _gem(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    op = _simple("gem", args, cmd, _GEM, _GEM_ACTIONS, _spec_colon, ("install", "remove", "update"))
    if op is None:
        return None
    versions = op.values("-v", "--version")
    if versions and op.packages:
        v = versions[-1].strip()
        pin = v[1:].strip() if v.startswith("=") else v
        pkgs = tuple(
            p if p.version is not None or p.kind != "name" else PackageSpec(p.name, pin, p.raw)
            for p in op.packages
        )
        return PackageOperation(op.manager, op.action, op.subcommand, op.flags, pkgs, cmd,
                                op.options, op.operands)  # fmt: skip
    return op


def _go(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _GO)
    if not pos:
        return None
    sub = pos[0]
    action = _GO_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    if sub in ("mod", "work") and rest:
        action = _GO_MOD_ACTIONS.get(rest[0], sub)
        sub = f"{sub} {rest[0]}"
        rest = rest[1:]
        opts2, rest = parse_options(rest, _GO)
        opts = opts + opts2
    if sub == "clean" and any(f in ("-cache", "-modcache", "-testcache") for f, _ in opts):
        action = "clean"
    packages = [_spec_at(p) for p in rest] if action == "install" else []
    return _op("go", action, sub, opts, packages, cmd, rest)


def _cargo(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _CARGO)
    if not pos:
        return None
    sub = pos[0]
    action = _CARGO_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    packages: list[PackageSpec] = []
    if action in ("install", "remove"):
        version = next((v for f, v in opts if f == "--version" and v), None)
        for p in rest:
            s = _spec_at(p)
            if s.version is None and version is not None:
                s = PackageSpec(s.name, version, p)
            packages.append(s)
    return _op("cargo", action, sub, opts, packages, cmd, rest)


def _mvn(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, goals = parse_options(args, _MVN)
    if not goals:
        return None
    action = "build" if _MVN_BUILD & set(goals) else ""
    if not action:
        if any(g.startswith("dependency:") for g in goals):
            action = "download"
        elif "test" in goals:
            action = "test"
        elif "clean" in goals:
            action = "clean"
        elif any(g.startswith(("spring-boot:run", "exec:", "quarkus:dev")) for g in goals):
            action = "run"
        else:
            action = "build"
    return _op("mvn", action, " ".join(goals), opts, [], cmd, goals)


def _gradle(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, tasks = parse_options(args, _GRADLE)
    if not tasks:
        if any(f == "--refresh-dependencies" for f, _ in opts):
            return _op("gradle", "download", "", opts, [], cmd, [])
        return None
    names = {t.rsplit(":", 1)[-1] for t in tasks}
    if names & _GRADLE_BUILD:
        action = "build"
    elif names & {
        "dependencies",
        "downloadDependencies",
        "resolveDependencies",
        "androidDependencies",
    }:
        action = "download"
    elif names & {"test", "check"}:
        action = "test"
    elif names == {"clean"}:
        action = "clean"
    elif names & {"run", "bootRun"}:
        action = "run"
    else:
        action = "build"
    return _op("gradle", action, " ".join(tasks), opts, [], cmd, tasks)


def _dotnet(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    opts, pos = parse_options(args, _DOTNET)
    if not pos:
        return None
    sub = pos[0]
    action = _DOTNET_ACTIONS.get(sub)
    if action is None:
        return None
    rest = pos[1:]
    packages: list[PackageSpec] = []
    if sub == "tool" and rest:
        action = {"install": "install", "update": "update", "uninstall": "remove",
                  "restore": "restore"}.get(rest[0], "tool")  # fmt: skip
        sub = "tool " + rest[0]
        rest = rest[1:]
        if action in ("install", "update"):
            version = next((v for f, v in opts if f == "--version" and v), None)
            packages = [PackageSpec(p, version, p) for p in rest]
    elif sub == "add":
        # dotnet add [PROJECT] package NAME [--version V]
        if "package" in rest:
            k = rest.index("package")
            names = rest[k + 1 : k + 2]
            version = next((v for f, v in opts if f in ("--version", "-v") and v), None)
            packages = [PackageSpec(p, version, p) for p in names]
            action = "install"
            sub = "add package"
        else:
            action = "add"
    return _op("dotnet", action, sub, opts, packages, cmd, rest)


def _composer(args: tuple[str, ...], cmd: SimpleCommand) -> PackageOperation | None:
    return _simple("composer", args, cmd, _COMPOSER, _COMPOSER_ACTIONS, _spec_colon,
                   ("install", "remove", "update"))  # fmt: skip


_SPEC_OF: dict[str, Callable[[str], PackageSpec]] = {
    **dict.fromkeys(("apt-get", "apt", "aptitude"), _spec_apt),
    "apk": _spec_apk,
    **dict.fromkeys(("yum", "dnf", "microdnf", "tdnf", "zypper"), _spec_rpm),
    **dict.fromkeys(("pip", "uv", "pipenv"), _spec_pip),
    **dict.fromkeys(("npm", "yarn", "pnpm"), _spec_npm),
    "poetry": _spec_poetry,
    **dict.fromkeys(("gem", "bundle", "composer"), _spec_colon),
    **dict.fromkeys(("go", "cargo"), _spec_at),
}


def package_spec(manager: str, word: str) -> PackageSpec:
    """How ``manager`` reads ``word`` as a package (``curl=7.88`` for apt, ``x==1`` for pip)."""
    return _SPEC_OF.get(manager, _spec_colon)(word)


def package_operation(cmd: SimpleCommand) -> PackageOperation | None:
    """The package-manager operation ``cmd`` performs, if it is one."""
    name = cmd.name
    args = cmd.argv[1:]
    if name in ("apt-get", "apt", "aptitude"):
        return _apt(name, args, cmd)
    if name == "apk":
        return _apk(args, cmd)
    if name in ("yum", "dnf", "microdnf", "tdnf", "zypper"):
        return _rpm(name, args, cmd)
    if _PIP_RE.match(name):
        return _pip("pip", args, cmd)
    if _PYTHON_RE.match(name):
        k = _module_index(args)
        if k is not None and args[k] in ("pip", "pip3"):
            return _pip("pip", args[k + 1 :], cmd)
        if k is not None and args[k] == "uv":
            return _uv(args[k + 1 :], cmd)
        return None
    if name == "uv":
        return _uv(args, cmd)
    if name == "poetry":
        return _simple("poetry", args, cmd, _POETRY, _POETRY_ACTIONS, _spec_poetry,
                       ("install", "remove", "update"))  # fmt: skip
    if name == "pipenv":
        return _simple("pipenv", args, cmd, _PIPENV, _PIPENV_ACTIONS, _spec_pip,
                       ("install", "remove", "update"))  # fmt: skip
    if name in ("npm", "yarn", "pnpm", "yarnpkg"):
        return _node("yarn" if name == "yarnpkg" else name, args, cmd)
    if name == "gem":
        return _gem(args, cmd)
    if name in ("bundle", "bundler"):
        return _simple(
            "bundle", args, cmd, _BUNDLE, _BUNDLE_ACTIONS, _spec_colon, ("add", "remove")
        )
    if name == "go":
        return _go(args, cmd)
    if name == "cargo":
        return _cargo(args, cmd)
    if name in ("composer", "composer.phar"):
        return _composer(args, cmd)
    if name in ("mvn", "mvnw", "mvnd"):
        return _mvn(args, cmd)
    if name in ("gradle", "gradlew"):
        return _gradle(args, cmd)
    if name == "dotnet":
        return _dotnet(args, cmd)
    return None


def _module_index(args: tuple[str, ...]) -> int | None:
    """Index of the module name in ``python [opts] -m module``."""
    for i, a in enumerate(args):
        if a == "-m":
            return i + 1 if i + 1 < len(args) else None
        if a.startswith("-m") and len(a) > 2:
            return None
        if not a.startswith("-"):
            return None
    return None


# --------------------------------------------------------------------------------------------
# downloads

_CURL_VALUES = _Syntax(
    "oHdXuAexTwmCKEFbcrzYyPQt",
    _fs("--output", "--header", "--data", "--data-raw", "--data-binary", "--data-urlencode",
        "--data-ascii", "--request", "--user", "--user-agent", "--referer", "--proxy",
        "--upload-file", "--write-out", "--max-time", "--continue-at", "--config", "--cert",
        "--form", "--form-string", "--cookie", "--cookie-jar", "--range", "--time-cond",
        "--speed-limit", "--speed-time", "--ftp-port", "--quote", "--telnet-option",
        "--cacert", "--capath", "--key", "--key-type", "--cert-type", "--retry",
        "--retry-delay", "--retry-max-time", "--connect-timeout", "--proto", "--proto-redir",
        "--proto-default", "--output-dir", "--limit-rate", "--max-redirs", "--resolve",
        "--connect-to", "--interface", "--url", "--dns-servers", "--unix-socket",
        "--netrc-file", "--trace", "--trace-ascii", "--stderr", "--pinnedpubkey",
        "--oauth2-bearer", "--aws-sigv4", "--variable", "--json", "--ciphers", "--tls-max",
        "--proxy-user", "--preproxy", "--noproxy", "--socks5", "--socks5-hostname",
        "--create-file-mode", "--etag-save", "--etag-compare", "--expect100-timeout",
        "--happy-eyeballs-timeout-ms", "--hostpubmd5", "--hostpubsha256", "--local-port",
        "--login-options", "--mail-from", "--mail-rcpt", "--max-filesize", "--pass",
        "--dump-header", "--libcurl", "--crlfile", "--url-query", "--rate"),
)  # fmt: skip
_WGET_VALUES = _Syntax(
    "OoaPtTwUeiBlARDXIQY",
    _fs("--header", "--user", "--password", "--output-document", "--directory-prefix",
        "--tries", "--timeout", "--user-agent", "--post-data", "--post-file",
        "--ca-certificate", "--ca-directory", "--certificate", "--private-key",
        "--output-file", "--append-output", "--execute", "--quota", "--limit-rate", "--wait",
        "--waitretry", "--bind-address", "--dns-timeout", "--connect-timeout",
        "--read-timeout", "--http-user", "--http-password", "--load-cookies",
        "--save-cookies", "--referer", "--method", "--body-data", "--body-file",
        "--input-file", "--level", "--accept", "--reject", "--domains", "--exclude-domains",
        "--include-directories", "--exclude-directories", "--max-redirect", "--base",
        "--proxy-user", "--proxy-password", "--secure-protocol", "--progress", "--backups",
        "--default-page", "--cut-dirs", "--restrict-file-names", "--local-encoding",
        "--remote-encoding"),
)  # fmt: skip
_EXECUTORS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "eval", "source", "."})


def _basename_of_url(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "://" in path:
        path = path.split("://", 1)[1]
        if "/" not in path:
            return "index.html"
    return path.rsplit("/", 1)[-1] or "index.html"


def _download(cmd: SimpleCommand) -> Download | None:
    name = cmd.name
    if name not in ("curl", "wget"):
        return None
    args = cmd.argv[1:]
    opts, pos = parse_options(args, _CURL_VALUES if name == "curl" else _WGET_VALUES)
    flags = {f for f, _ in opts}
    urls = [p for p in pos if "://" in p or p.startswith("$") or "." in p]
    output: str | None
    if name == "curl":
        urls += [v for f, v in opts if f == "--url" and v]
        out = [v for f, v in opts if f in ("-o", "--output") and v is not None]
        if out:
            output = out[-1]
        elif flags & {"-O", "--remote-name", "--remote-name-all", "-J", "--remote-header-name"}:
            output = _basename_of_url(urls[0]) if urls else None
        else:
            output = "-"
        insecure = bool(flags & {"-k", "--insecure"})
        fail = bool(flags & {"-f", "--fail", "--fail-with-body"})
        redirects = bool(flags & {"-L", "--location", "--location-trusted"})
    else:
        out = [v for f, v in opts if f in ("-O", "--output-document") and v is not None]
        if out:
            output = out[-1]
        elif any(f in ("-P", "--directory-prefix") for f in flags) and urls:
            prefix = next(v for f, v in opts if f in ("-P", "--directory-prefix"))
            output = f"{(prefix or '').rstrip('/')}/{_basename_of_url(urls[0])}"
        else:
            output = _basename_of_url(urls[0]) if urls else None
        insecure = "--no-check-certificate" in flags
        fail = True
        redirects = all(v not in ("0", None) for f, v in opts if f == "--max-redirect")
    if output == "-":
        # stdout redirected to a file
        for op, target in cmd.redirects:
            if op in (">", ">>", ">|", "&>", "&>>", "1>", "1>>") and target:
                output = target
    piped: str | None = None
    if output == "-" and cmd.pipe_to:
        piped = _basename(cmd.pipe_to[0])
    elif cmd.in_substitution and cmd.parent:
        host = cmd.parent[0]
        if host.startswith(("$(", "`")):
            piped = "sh"  # the output is run as a command
        elif _basename(host) in _EXECUTORS or _PYTHON_RE.match(_basename(host)):
            piped = _basename(host)
    return Download(
        tool=name,
        urls=tuple(urls),
        output=output,
        insecure=insecure,
        fail_on_error=fail,
        piped_into=piped,
        command=cmd,
        follows_redirects=redirects,
    )


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------------------
# cache cleanup

_CACHE_PATH = re.compile(
    r"/var/lib/apt/lists|/var/cache/|/var/cache\b|\.cache\b|/\.npm\b|\.npm/|^/tmp\b|/var/tmp\b"
    r"|/usr/share/(?:doc|man|info|locale)\b|/root/\.|~/\.|\$HOME/\.|\$\{HOME\}/\.|/var/log\b"
    r"|\.m2/repository|\.gradle/caches|/usr/local/share/\.cache|\.composer/cache"
    r"|\.cargo/registry|/go/pkg/mod|__pycache__|\.pyc\b|/var/lib/dnf|/var/lib/yum"
    r"|/var/lib/rpm|\.yarn|/usr/local/lib/python[^ ]*/(?:site|dist)-packages/[^ ]*/tests?\b"
)


def _cleanup(cmd: SimpleCommand, pkg: PackageOperation | None) -> CacheCleanup | None:
    if pkg is not None and pkg.action == "clean":
        return CacheCleanup((), " ".join(cmd.argv), cmd)
    name = cmd.name
    args = cmd.argv[1:]
    if name in ("npm", "yarn", "pnpm", "composer", "conda", "mamba", "micromamba", "gem", "uv"):
        joined = " ".join(args)
        if (
            joined.startswith(("cache clean", "cache purge", "cache rm", "clean", "store prune",
                               "clear-cache", "clearcache", "cache prune"))
            or (name == "gem" and args[:1] == ("cleanup",))
        ):  # fmt: skip
            return CacheCleanup((), " ".join(cmd.argv), cmd)
        return None
    if name == "rm":
        paths = deleted_paths(cmd)
        if any(_CACHE_PATH.search(p) for p in paths):
            return CacheCleanup(paths, None, cmd)
        return None
    if name == "find" and ("-delete" in args or _find_exec_rm(args)):
        paths = deleted_paths(cmd)
        patterns = [
            args[i + 1]
            for i, a in enumerate(args[:-1])
            if a in ("-name", "-iname", "-path", "-ipath", "-wholename", "-regex")
        ]
        if any(_CACHE_PATH.search(p) for p in (*paths, *patterns)):
            return CacheCleanup(paths, None, cmd)
    return None


def deleted_paths(cmd: SimpleCommand) -> tuple[str, ...]:
    """The paths ``rm`` deletes, or that ``find PATH... -delete`` (or ``-exec rm``) searches."""
    args = cmd.argv[1:]
    if cmd.name == "rm":
        _, paths = parse_options(args, _Syntax())
        return tuple(paths)
    if cmd.name == "find" and ("-delete" in args or _find_exec_rm(args)):
        # the paths come before the first expression word
        found: list[str] = []
        for a in args:
            if a.startswith(("-", "(", "!", ")")) and a not in ("-", "--"):
                break
            found.append(a)
        return tuple(found)
    return ()


def _find_exec_rm(args: tuple[str, ...]) -> bool:
    return any(
        a in ("-exec", "-execdir") and i + 1 < len(args) and _basename(args[i + 1]) == "rm"
        for i, a in enumerate(args)
    )


# --------------------------------------------------------------------------------------------


def find_operations(script: ShellScript) -> Operations:
    """Package operations, downloads and cleanups in the commands of ``script``."""
    packages: list[PackageOperation] = []
    downloads: list[Download] = []
    cleanups: list[CacheCleanup] = []
    for cmd in script.commands:
        if not cmd.argv:
            continue
        try:
            pkg = package_operation(cmd)
            if pkg is not None:
                packages.append(pkg)
            dl = _download(cmd)
            if dl is not None:
                downloads.append(dl)
            cl = _cleanup(cmd, pkg)
            if cl is not None:
                cleanups.append(cl)
        except Exception:  # pragma: no cover - one odd command must not lose the others
            continue
    return Operations(tuple(packages), tuple(downloads), tuple(cleanups))
