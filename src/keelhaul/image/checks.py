"""The image findings (codes KH300-KH349) and the CI thresholds of ``keelhaul image``.

Image findings speak the same :class:`~keelhaul.findings.Finding` as the Dockerfile rules, so
every report format works on them. Their :class:`~keelhaul.findings.Location` names the image
and the file: ``path`` is ``<image>`` or ``<image>!/<file in the image>``, ``line`` and
``column`` are 1, and ``layer`` is the 1-based number of the layer concerned (None when no
single layer is), which text reports show as ``image!/etc/shadow (layer 3)``. A finding's
``origin`` says whether it comes from the base image's layers or the image's own (None when
that cannot be told), so ``--skip-base`` can leave out what the base brought.

Each code is a :class:`keelhaul.rule.Rule` of kind ``image``, registered here, so
``keelhaul rules`` and docs/rules.md list it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keelhaul.findings import Category, Finding, Location, Origin, Severity
from keelhaul.report.model import rule_infos as report_rule_infos
from keelhaul.rule import Kind, Rule, register, registered
from keelhaul.settings import Settings
from keelhaul.settings import parse_ratio as parse_ratio  # the thresholds' units, also here
from keelhaul.settings import parse_size as parse_size

_S, _SEC = Category.SIZE, Category.SECURITY
_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: code -> (name, severity, category, summary, why it matters, related ids)
_TABLE: dict[str, tuple[str, Severity, Category, str, str, dict[str, tuple[str, ...]]]] = {
    "KH300": ("layer-hides-bytes", _W, _S, "A layer overwrites or deletes bytes of a lower layer",
              "Deleting or replacing a file in a later layer hides it but every lower layer still "
              "ships it: the bytes are pulled and stored on every node. Remove files in the same "
              "RUN that creates them, or use a multi-stage build.", {}),
    "KH301": ("duplicate-files", _I, _S, "Identical content at several paths",
              "The same bytes stored at several paths cost space in every pull; a symlink, a "
              "hardlink or one COPY would do.", {}),
    "KH302": ("growing-path", _W, _S, "A path rewritten in many layers",
              "A file written by many layers is stored once per layer: an 11 GB log copied "
              "into 272 layers made an 800 GB image.", {}),
    "KH303": ("package-cache-shipped", _W, _S, "Package manager caches or indexes ship",
              "apt lists, apk, yum/dnf, pip, npm, yarn, pnpm, go, cargo, maven and gradle caches "
              "are needed only while building; clean them in the same RUN or use a cache mount.",
              {"dockle": ("DKL-DI-0005",)}),
    "KH304": ("toolchain-shipped", _I, _S, "A build toolchain ships",
              "Compilers, headers and SDKs are needed to build, not to run: build in a stage "
              "and copy the artefact into a runtime image.", {}),
    "KH305": ("vcs-folder-shipped", _W, _SEC, "A version-control folder ships",
              "A .git folder carries the whole history, often with removed secrets, and bytes "
              "nobody needs at run time. Add it to .dockerignore.", {}),
    "KH306": ("docs-shipped", _I, _S, "Documentation and man pages ship",
              "Docs and man pages are rarely read inside a container.", {}),
    "KH307": ("tests-shipped", _I, _S, "Test suites of installed packages ship",
              "Packages' own tests are not needed at run time.", {}),
    "KH308": ("sources-shipped", _I, _S, "Sources of compiled languages ship",
              "Sources beside their built artefacts are bytes (and intellectual property) "
              "the runtime does not need.", {}),
    "KH309": ("core-dump-shipped", _W, _SEC, "A core or heap dump ships",
              "A dump holds a process's memory: secrets, personal data, and many bytes.", {}),
    "KH310": ("logs-shipped", _I, _S, "Log files ship",
              "Logs written during the build are of no use at run time.", {}),
    "KH311": ("secret-file-in-image", _E, _SEC, "A key or credentials file is in the image",
              "Anyone who can pull the image can read it, even when a later layer deletes it.",
              {"dockle": ("CIS-DI-0010",)}),
    "KH312": ("secret-in-image-file", _E, _SEC, "A file in the image holds a token or password",
              "Anyone who can pull the image can read it, even when a later layer deletes it.",
              {"dockle": ("CIS-DI-0010",)}),
    "KH313": ("secret-in-image-config", _E, _SEC, "The image config holds a secret",
              "Env and Labels are visible to everyone who can pull or inspect the image.",
              {"dockle": ("CIS-DI-0010",)}),
    "KH314": ("secret-in-image-history", _E, _SEC, "The image history holds a secret",
              "Build args and commands are recorded in the history every puller can read; use "
              "build secrets (RUN --mount=type=secret).", {"dockle": ("CIS-DI-0010",)}),
    "KH320": ("image-runs-as-root", _W, _SEC, "The image runs as root",
              "A process escaping the container as root owns more of the host.",
              {"dockle": ("CIS-DI-0001",)}),
    "KH321": ("image-without-healthcheck", _I, Category.CORRECTNESS, "The image has no HEALTHCHECK",
              "Without one, the engine cannot tell a hung service from a healthy one.",
              {"dockle": ("CIS-DI-0006",)}),
    "KH322": ("setuid-file", _I, _SEC, "A setuid or setgid file ships",
              "setuid binaries are the usual way from a compromised process to root; remove "
              "the bits where they are not needed.", {"dockle": ("CIS-DI-0008",)}),
    "KH323": ("sensitive-port-exposed", _W, _SEC, "A remote-shell or sharing port is exposed",
              "SSH, telnet, SMB, RDP, VNC or the Docker API should not face the network from a "
              "container.", {"trivy": ("DS-0004",)}),
    "KH324": ("tools-in-minimal-image", _I, _SEC, "A shell or package manager in a minimal image",
              "An image that claims to be minimal should not carry what an attacker uses next.",
              {}),
    "KH325": ("world-writable-path", _W, _SEC, "A world-writable file or folder",
              "Any user in the container can change it; folders without the sticky bit let "
              "them replace others' files.", {}),
    "KH326": ("empty-password", _E, _SEC, "An account with an empty password",
              "An empty password lets anyone log in as that user.", {"dockle": ("DKL-LI-0001",)}),
    "KH327": ("duplicate-uid", _W, _SEC, "Accounts share a UID",
              "Two names for one UID make ownership and audit logs ambiguous.", {}),
    "KH330": ("end-of-life-base", _W, _SEC, "The base release is past its end of life",
              "A release without security updates accumulates known vulnerabilities.", {}),
    "KH340": ("hostile-tar-entry", _E, _SEC, "A layer has a path that escapes the root",
              "Absolute paths and `..` in a layer are how tar archives overwrite files outside "
              "where they are unpacked; runtimes clamp them, a careless tool does not.", {}),
    "KH341": ("broken-link-in-image", _W, Category.CORRECTNESS,
              "A hardlink to a missing target or a symlink loop",
              "Unpacking fails or yields a broken file.", {}),
    "KH345": ("image-threshold-exceeded", _E, _S, "The image crosses a CI threshold",
              "Set with --max-size, --max-waste, --min-efficiency, --max-layers or the "
              "image-max-* settings.", {}),
}  # fmt: skip
CODES = {name: code for code, (name, *_rest) in _TABLE.items()}


for _code, (_name, _sev, _cat, _summary, _why, _related) in _TABLE.items():
    register(
        Rule(
            _code,
            _name,
            _sev,
            _cat,
            _summary,
            _why,
            related=_related,
            kind=Kind.IMAGE,
            example_format="image",
        )
    )


def image_rules() -> list[Rule]:
    """Every image finding's rule, by code."""
    return registered(Kind.IMAGE)


def rule_infos() -> dict[str, Rule]:
    """The image findings' documentation, for the report formats (SARIF rules and the like)."""
    return report_rule_infos(image_rules())


def finding(
    name: str,
    source: str,
    message: str,
    layer: int | None = None,
    path: str | None = None,
    origin: Origin | None = None,
) -> Finding:
    """A finding ``name`` (``layer-hides-bytes``...) on the image, a layer (0-based index)
    and a file; ``origin`` says whether the base image brought it."""
    code = CODES[name]
    _, severity, category, *_ = _TABLE[code]
    where = f"{source}!{path}" if path else source
    number = None if layer is None else layer + 1
    location = Location(where, 1, 1, layer=number)
    return Finding(code, name, severity, category, location, message, origin=origin)


def origin_of(layers: Iterable[int], base_layers: int | None) -> Origin | None:
    """``base`` when every one of ``layers`` (0-based) is below ``base_layers``, ``own`` when
    one is not; None when the base is unknown or no layer is given."""
    if base_layers is None:
        return None
    seen = False
    for layer in layers:
        if layer >= base_layers:
            return Origin.OWN
        seen = True
    return Origin.BASE if seen else None


# -- thresholds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    max_size: int | None = None
    """Uncompressed bytes shipped (the merged filesystem plus hidden bytes: all layers)."""
    max_waste: int | None = None
    min_efficiency: float | None = None
    max_layers: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """From the configuration's ``[settings]``: ``image-max-size``, ``image-max-waste``,
        ``image-min-efficiency``, ``image-max-layers``."""
        return cls(
            max_size=settings.image_max_size,
            max_waste=settings.image_max_waste,
            min_efficiency=settings.image_min_efficiency,
            max_layers=settings.image_max_layers,
        )

    def over(self, other: Thresholds) -> Thresholds:
        """These thresholds, with ``other``'s set values taking precedence."""
        return Thresholds(
            other.max_size if other.max_size is not None else self.max_size,
            other.max_waste if other.max_waste is not None else self.max_waste,
            other.min_efficiency if other.min_efficiency is not None else self.min_efficiency,
            other.max_layers if other.max_layers is not None else self.max_layers,
        )


def crossed(
    thresholds: Thresholds, source: str, size: int, waste: int, efficiency: float, layers: int
) -> list[Finding]:
    out: list[str] = []
    if thresholds.max_size is not None and size > thresholds.max_size:
        out.append(f"size {human(size)} is over --max-size {human(thresholds.max_size)}")
    if thresholds.max_waste is not None and waste > thresholds.max_waste:
        out.append(f"waste {human(waste)} is over --max-waste {human(thresholds.max_waste)}")
    if thresholds.min_efficiency is not None and efficiency < thresholds.min_efficiency:
        out.append(f"efficiency {efficiency:.1%} is under --min-efficiency "
                   f"{thresholds.min_efficiency:.1%}")  # fmt: skip
    if thresholds.max_layers is not None and layers > thresholds.max_layers:
        out.append(f"{layers} layers is over --max-layers {thresholds.max_layers}")
    return [finding("image-threshold-exceeded", source, message) for message in out]


def human(size: float) -> str:
    """Bytes for people, decimal units as registries and clouds count them."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
