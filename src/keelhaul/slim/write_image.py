"""``keelhaul slim``: an image rewritten with its own layers squashed into one, its base
layers byte for byte, its config kept and its history saying what was squashed.

The steps: decide how many bottom layers to keep (the base image's, told from history as
``keelhaul image`` tells it, :func:`keelhaul.image.base.base_layers`; or ``keep_layers``; or
none), plan the squashed layer (:func:`keelhaul.slim.consolidate.plan`), copy the kept blobs,
write the squashed layer compressed (:func:`keelhaul.slim.consolidate.write_squashed`), then the
config and manifest (:mod:`keelhaul.slim.outputs`). The same input and options give the same
bytes: nothing depends on the clock, the machine or the order of a dict.

Never a bigger image for nothing: when the squashed layer would not be smaller than the own
layers it replaces (what a registry stores: their compressed blobs; their tars when some are
plain tars, which get the same compression, or for a ``docker:`` destination, which stores
them unpacked) and nothing was removed on request, the own layers are written as they are and
the report says so (``even_if_larger`` squashes anyway).

A kept layer stored as a plain tar (``docker save``, an OCI layout of plain layers) is
compressed as ``compression`` says for every destination but ``docker:`` (the engine unpacks
it at once): its DiffID, what nodes share, stays the same; only its blob digest changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keelhaul.image import base as bases
from keelhaul.image.compressed_estimate import stored_compressed, watch
from keelhaul.image.layer_walk import layer_name
from keelhaul.image.model import Image, Layer
from keelhaul.image.sources.streams import GZIP, PLAIN, ZSTD, detect_compression
from keelhaul.image.tarstream import TarLimits
from keelhaul.slim import removals, smoke
from keelhaul.slim.consolidate import Plan, SlimError, TarOut, plan, write_squashed
from keelhaul.slim.outputs import DOCKER, LAYER_TYPES, BlobWriter, Destination, Layout, _json

__all__ = ["COMPRESSIONS", "SlimOptions", "SlimResult", "slim"]

COMPRESSIONS = (GZIP, ZSTD)


@dataclass(frozen=True)
class SlimOptions:
    keep_layers: int | None = None
    """Keep this many bottom layers as they are (None: the base image's, from history)."""
    squash_all: bool = False
    compression: str = GZIP
    level: int | None = None
    source_date_epoch: int | None = None
    """Clamp every mtime of the squashed layer (and the history entry's date) to this."""
    remove: tuple[str, ...] = ()
    """Categories of :data:`keelhaul.slim.removals.CATEGORIES` to leave out."""
    force: bool = False
    """Replace the destination when it exists."""
    even_if_larger: bool = False
    """Squash even when the squashed layer is not smaller than the layers it replaces."""
    limits: TarLimits = field(default_factory=TarLimits)
    verify: smoke.SmokePlan | None = None
    """Load the result into the engine and smoke-check it before writing it (and the
    original, when it is a ``docker:`` image)."""


@dataclass
class SlimResult:
    source: str
    destination: str
    manifest_digest: str
    layers_before: int
    layers_after: int
    kept: int
    why_kept: str
    tar_before: int
    tar_after: int
    compressed_before: int
    compressed_after: int
    """What a registry stores (blob sizes; a plain-tar layer's as ``keelhaul image``
    estimates it, gzip level 6 over a sample)."""
    own_content: int
    """File bytes the squashed layers stored (every version)."""
    copied: int
    """File bytes the squashed layer holds (the own layers', when they were kept)."""
    removed: dict[str, tuple[int, int]]
    """Category -> (files, bytes) removed."""
    whiteouts: int
    compressed_basis: str = "measured: the compressed layer blobs"
    links_clamped: int = 0
    """Symlinks whose target climbed above the root, written without the excess ``..``."""
    smoke: list[smoke.Smoke] = field(default_factory=list)
    """The smoke checks run (``--verify``): the original's first when it ran."""
    not_squashed: str | None = None
    """Why the own layers were written as they are (squashing would not make them smaller)."""
    compressed_kept: int = 0
    """Kept layers stored as plain tars in the source, compressed for the destination."""


def _keep(image: Image, options: SlimOptions) -> tuple[int, str]:
    count = len(image.layers)
    if options.squash_all:
        return 0, "--squash all"
    if options.keep_layers is not None:
        if not 0 <= options.keep_layers <= count:
            raise SlimError(f"--keep-layers {options.keep_layers}: the image has {count} layers")
        return options.keep_layers, f"--keep-layers {options.keep_layers}"
    history = [(h.created_by, h.empty_layer) for h in image.history]
    found, end = bases.base_layers(history, count)
    if found is None or end is None:
        return 0, "no base image told by the history: every layer squashed"
    return found, f"the base image's {found} layer(s), ending at history entry {end + 1}"


def _created(image: Image, epoch: int | None) -> str | None:
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = image.config.get("created")
    return created if isinstance(created, str) else None


def _history(image: Image, keep: int, squashed: bool, note: str, created: str | None) -> list[Any]:
    raw = [dict(h) for h in image.config.get("history", []) if isinstance(h, dict)]
    made = [i for i, h in enumerate(raw) if not h.get("empty_layer")]
    count = len(image.layers)
    if not squashed:
        return raw
    if len(made) == count:
        cut = made[keep]
        kept, own = raw[:cut], raw[cut:]
    else:  # history that does not line up with the layers: say only what keelhaul did
        kept = [{"created_by": f"keelhaul slim: layer {i + 1} kept as it was"} for i in range(keep)]
        own = raw
    entry: dict[str, Any] = {"created_by": note, "comment": "keelhaul slim"}
    if created is not None:
        entry["created"] = created
    folded = []
    for h in own:
        h = dict(h)
        if not h.get("empty_layer"):
            h["empty_layer"] = True
            h["comment"] = "squashed by keelhaul slim into the layer above"
        folded.append(h)
    return [*kept, entry, *folded]


def slim(image: Image, destination: Destination, options: SlimOptions | None = None) -> SlimResult:
    """Write ``image`` slimmed to ``destination``; what was done."""
    options = options or SlimOptions()
    if options.compression not in COMPRESSIONS:
        raise SlimError(f"--compression {options.compression}: expected gzip or zstd")
    keep, why = _keep(image, options)
    # plain-tar layers (docker save) are sampled as read: their size pushed, gzip -6
    sampled = watch(image)
    layers = image.layers
    the_plan: Plan = plan(image, keep, removals.chooser(options.remove), options.limits)
    layout = Layout(destination, force=options.force)
    compress = destination.scheme != DOCKER
    try:
        descriptors: list[dict[str, Any]] = []
        sources: list[Layer | None] = []
        """The source layer each descriptor is (None: the squashed one)."""
        diff_ids: list[str] = []
        compressed_kept = 0

        def keep_as_it_is(layer: Layer) -> None:
            nonlocal compressed_kept
            descriptor, recompressed = _kept(layout, layer, options, compress)
            descriptors.append(descriptor)
            sources.append(layer)
            diff_ids.append(layer.diff_id)
            compressed_kept += recompressed

        for layer in layers[:keep]:
            keep_as_it_is(layer)
        copied = clamped = 0
        tar_after = sum(the_plan.tar_sizes[:keep])
        squashed = keep < len(layers)
        not_squashed = None
        if squashed:
            with layout.layer(options.compression, options.level) as blob:
                out = TarOut(blob, options.source_date_epoch)
                copied = write_squashed(layers, the_plan, out, options.limits)
                clamped = out.clamped
            if not options.even_if_larger and not the_plan.removed:
                not_squashed = _no_gain(layers[keep:], the_plan, blob, copied, compress)
            if not_squashed is None:
                descriptors.append({"mediaType": LAYER_TYPES[options.compression],
                                    "digest": blob.digest, "size": blob.size})  # fmt: skip
                sources.append(None)
                diff_ids.append(blob.diff_id)
                tar_after += blob.tar_size
            else:
                squashed = False
                copied, clamped = the_plan.own_content, 0  # every byte stays where it was
                layout.discard(blob.digest)
                for layer in layers[keep:]:
                    keep_as_it_is(layer)
                tar_after += sum(the_plan.tar_sizes[keep:])
        first, last = keep + 1, len(layers)
        span = f"layer {first}" if first == last else f"layers {first}-{last}"
        note = f"keelhaul slim: {span} squashed into one"
        if the_plan.removed:
            note += f" without {', '.join(sorted(the_plan.removed))}"
        config = copy.deepcopy(image.config)
        config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
        config["history"] = _history(image, keep, squashed, note,
                                     _created(image, options.source_date_epoch))  # fmt: skip
        checks: list[smoke.Smoke] = []
        check = None
        if options.verify is not None:
            if image.source.startswith("docker:"):
                checks.append(smoke.check(image.source.removeprefix("docker:"), options.verify,
                                          image.config))  # fmt: skip
            check = smoke.checker(options.verify, config, checks)
        digest = layout.finish(_json(config), descriptors, check,
                               f"keelhaul-slim-check:{os.getpid()}-{id(layout):x}")  # fmt: skip
    except BaseException:
        layout.abandon()
        raise

    def stored(chosen: Any) -> Any:
        return sampled.compressed_size([(x.diff_id, x.media_type, x.compressed_size,
                                         the_plan.tar_sizes[x.index]) for x in chosen])  # fmt: skip

    before = stored(layers)
    # what the destination stores: the compressed blobs written, and a plain tar (docker:
    # only) priced as the source's is
    plain = [x for d, x in zip(descriptors, sources, strict=True)
             if x is not None and d["mediaType"] == LAYER_TYPES[PLAIN]]  # fmt: skip
    written = sum(d["size"] for d in descriptors if d["mediaType"] != LAYER_TYPES[PLAIN])
    return SlimResult(
        source=image.source,
        destination=destination.text,
        manifest_digest=digest,
        layers_before=len(layers),
        layers_after=len(descriptors),
        kept=keep,
        why_kept=why,
        tar_before=sum(the_plan.tar_sizes),
        tar_after=tar_after,
        compressed_before=before.bytes,
        compressed_after=written + (stored(plain).bytes if plain else 0),
        compressed_basis=before.describe(),
        own_content=the_plan.own_content,
        copied=copied,
        removed={k: (len(v), sum(s for _, s in v)) for k, v in sorted(the_plan.removed.items())},
        whiteouts=len(the_plan.whiteouts) if squashed else 0,
        links_clamped=clamped,
        smoke=checks,
        not_squashed=not_squashed,
        compressed_kept=compressed_kept,
    )


def _stored_compressed(layer: Layer, tar_size: int) -> bool:
    """The source stores the layer compressed (its media type says so, or its blob is clearly
    smaller than its tar: a docker-archive names every layer a plain tar)."""
    return stored_compressed(layer.media_type) or layer.compressed_size * 50 < tar_size * 49


def _no_gain(
    own: Sequence[Layer], the_plan: Plan, blob: BlobWriter, copied: int, compress: bool
) -> str | None:
    """Why the squashed layer (``blob``, holding ``copied`` file bytes) is not worth writing
    instead of the own layers as they are; None when it is. When every own layer is stored
    compressed and the destination stores compressed blobs, the blobs are compared: the
    squashed one must be smaller. Otherwise (plain tars, from ``docker save``, which slim
    would compress alike; or a ``docker:`` destination, which unpacks) it must drop file
    bytes: a tar without them differs only in headers and padding."""
    hidden = max(the_plan.own_content - copied, 0)
    tars = sum(the_plan.tar_sizes[x.index] for x in own)
    count = f"the {len(own)} layer(s) it replaces"
    if compress and all(_stored_compressed(x, the_plan.tar_sizes[x.index]) for x in own):
        now = sum(x.compressed_size for x in own)
        if blob.size < now:
            return None
        return (f"the squashed layer would be {blob.size:,} bytes compressed, {count} are "
                f"{now:,} as they are, with {hidden:,} hidden bytes to drop")  # fmt: skip
    if hidden and blob.tar_size < tars:
        return None
    return (f"the squashed layer would drop no file bytes: its tar is {blob.tar_size:,} "
            f"bytes, {count} {tars:,}, a difference of tar headers and padding only")  # fmt: skip


def _kept(
    layout: Layout, layer: Layer, options: SlimOptions, compress: bool
) -> tuple[dict[str, Any], bool]:
    """A layer kept as it is: its blob copied byte for byte (checked against its digest), or,
    when that blob is a plain tar and ``compress``, or the source cannot give the blob, its tar
    compressed (the same DiffID, checked); and whether it was (re)compressed."""
    name = layer_name(layer)
    if layer.blob is not None:
        with layer.blob() as chunks:
            first = b""
            for first in chunks:
                if first:
                    break
            if not (compress and detect_compression(first[:8]) == PLAIN):
                digest, size, how = layout.copy(itertools.chain([first], chunks),
                                                layer.digest, name)  # fmt: skip
                return {"mediaType": LAYER_TYPES.get(how, LAYER_TYPES[PLAIN]), "digest": digest,
                        "size": size}, False  # fmt: skip
            with layout.layer(options.compression, options.level) as blob:
                blob(first)
                for chunk in chunks:
                    blob(chunk)
        if layer.digest != blob.diff_id:  # a plain blob's digest is its tar's
            raise SlimError(f"{name}: the blob is {blob.diff_id}, its manifest says "
                            f"{layer.digest}")  # fmt: skip
        if blob.diff_id != layer.diff_id:
            raise SlimError(f"{name}: its tar is {blob.diff_id}, the config says "
                            f"{layer.diff_id}")  # fmt: skip
        return {"mediaType": LAYER_TYPES[options.compression], "digest": blob.digest,
                "size": blob.size}, True  # fmt: skip
    how = options.compression if compress else PLAIN
    with layout.layer(how, options.level) as blob, layer.open() as stream:
        while data := stream.read(1 << 20):
            blob(data)
    if blob.diff_id != layer.diff_id:
        raise SlimError(f"{name}: its tar is {blob.diff_id}, the config says {layer.diff_id}")
    return {"mediaType": LAYER_TYPES[how], "digest": blob.digest,
            "size": blob.size}, how != PLAIN  # fmt: skip
